"""Background jobs (Celery). The same tasks run on Redis in production and on the
server-less SQLite broker that ``make run`` uses."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="outbox.deliver", ignore_result=True)
def deliver_outbox() -> dict:
    """Send every email that is due (also run every 10 s by beat as a sweep)."""
    from .services import outbox

    return outbox.deliver_due()


BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "outbox.deliver", "schedule": 10.0},
    "survey-invitations": {"task": "surveys.invite", "schedule": 300.0},
    "certificates-due": {"task": "certificates.issue_due", "schedule": 600.0},
    "worker-heartbeat": {"task": "worker.heartbeat", "schedule": 30.0},
    # Every JOB_SWEEP_SECONDS (set in init_celery from the app's config).
    "stalled-jobs": {"task": "jobs.resume_stalled", "schedule": 60.0},
    "waiting-lists": {"task": "registrations.promote_waiting_lists", "schedule": 300.0},
    "retention-purge": {"task": "privacy.purge_expired", "schedule": 86400.0},
}


@shared_task(name="registrations.import", ignore_result=True, acks_late=True)
def run_import(job_id: int) -> None:
    """Register the confirmed rows of a nominations import, with progress on its Job."""
    from .services import nominations

    nominations.run_import(job_id)


@shared_task(name="announcements.write", ignore_result=True, acks_late=True)
def write_announcement(job_id: int) -> None:
    """Write one outbox email per recipient of a coordinator's message, with progress."""
    from .services import announcements

    announcements.write_announcement(job_id)


@shared_task(name="attendance.meeting_import", ignore_result=True, acks_late=True)
def run_meeting_import(job_id: int) -> None:
    """Record online attendance from a confirmed meeting report preview."""
    from .services import meeting_reports

    meeting_reports.run_meeting_import(job_id)


@shared_task(name="surveys.invite", ignore_result=True)
def send_survey_invitations() -> dict:
    """Invite attendees when a workshop ends, and remind them after the set number of days."""
    from .services import surveys

    return surveys.send_due_invitations()


@shared_task(name="certificates.generate", ignore_result=True, acks_late=True)
def generate_certificates(job_id: int, part: int = 0, parts: int = 1) -> None:
    """Issue and render one share of a workshop's certificates, with progress on its Job."""
    from .services import certificates

    certificates.run_batch(job_id, part, parts)


@shared_task(name="certificates.issue_due", ignore_result=True)
def issue_due_certificates() -> int:
    """Issue (and announce) the certificates earned at workshops that have ended."""
    from .services import certificates

    return certificates.issue_due()


@shared_task(name="worker.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Prove a worker is consuming jobs; /healthz reads the time."""
    from .services import health

    health.beat("worker")


@shared_task(name="jobs.resume_stalled", ignore_result=True)
def resume_stalled_jobs() -> list[int]:
    """Hand out again the jobs whose worker died (see services.jobs.resume_stalled)."""
    from .services import jobs

    return jobs.resume_stalled()


@shared_task(name="registrations.promote_waiting_lists", ignore_result=True)
def promote_waiting_lists() -> int:
    """Give free seats to waiting lists that were not promoted when the seat came free."""
    from .services import registration

    return registration.promote_waiting_lists()


@shared_task(name="privacy.purge_expired", ignore_result=True)
def purge_expired() -> int:
    """Anonymise workshops older than the retention period (DATA_RETENTION_DAYS)."""
    from .services import privacy

    return privacy.purge_expired()
