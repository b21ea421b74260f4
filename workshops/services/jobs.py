"""Background jobs: handing them to the workers, confirming previewed ones, and rescuing
those whose worker died."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from ..extensions import db
from ..models import Job
from ..models.base import utcnow
from . import audit
from .errors import ServiceError

log = logging.getLogger(__name__)


def confirm_preview(job: Job, kind: str, action: str, actor) -> Job:
    """Move a previewed job to the queue, once, and hand it to its Celery task."""
    if job.kind != kind or job.status != "preview":
        raise ServiceError(_l("This import has already been confirmed."))
    job.status = "queued"
    audit.record(action, job, actor, rows=job.total)
    dispatch(job)
    return job


def _tasks_for(job: Job) -> list[tuple]:
    """The Celery task calls that carry a job out, by kind."""
    from .. import tasks

    if job.kind == "announcement":
        return [(tasks.write_announcement, job.id)]
    if job.kind == "import":
        return [(tasks.run_import, job.id)]
    if job.kind == "meeting_import":
        return [(tasks.run_meeting_import, job.id)]
    if job.kind == "certificates":
        parts = max(int(current_app.config.get("CERTIFICATE_WORKERS", 2)), 1)
        return [(tasks.generate_certificates, job.id, part, parts) for part in range(parts)]
    return []


def _send(job: Job) -> bool:
    try:
        for task, *args in _tasks_for(job):
            task.delay(*args)
    except Exception as error:  # broker down: nothing is lost, the sweep retries
        log.warning("jobs: could not queue job %s (%s); the sweep will retry", job.id, error)
        return False
    return True


def dispatch(job: Job) -> bool:
    """Hand a queued job to the workers. If the broker is unreachable the job stays
    queued and the stalled-job sweep hands it out later; the coordinator still gets an answer."""
    job.heartbeat_at = utcnow()
    db.session.commit()
    return _send(job)


def claim(job_id: int) -> str | None:
    """Take a job for one run of its task; returns the run's token, or None if it is taken.

    A job is free when queued, or when its runner stopped beating for the lease (it was
    killed). A second copy of the task, handed out while the first still runs, finds the
    job taken and stops, so work that is not repeatable (imports) is never done twice.
    """
    now = utcnow()
    lease = timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    runner = secrets.token_hex(8)
    taken = db.session.execute(
        Job.__table__.update()
        .where(
            Job.id == job_id,
            or_(
                Job.status == "queued",
                and_(Job.status == "running", func.coalesce(Job.heartbeat_at, Job.created_at) < now - lease),
            ),
        )
        .values(status="running", runner=runner, heartbeat_at=now)
    ).rowcount
    db.session.commit()
    return runner if taken == 1 else None


def still_mine(job_id: int, runner: str) -> bool:
    """Beat for this run (in the caller's transaction); False if the job was handed to another run."""
    return (
        db.session.execute(
            Job.__table__.update().where(Job.id == job_id, Job.runner == runner).values(heartbeat_at=utcnow())
        ).rowcount
        == 1
    )


def resume_stalled(now: datetime | None = None) -> list[int]:
    """Hand out again the queued or running jobs that stopped moving.

    Their worker was killed (an unacknowledged task can sit in Redis for the
    broker's whole visibility timeout) or the broker was down when they were
    queued. Each job kind resumes from its recorded progress; imports take the
    job with ``claim``, announcements lock it per chunk and certificate chunks
    have unique files, so a second copy of a task repeats nothing.
    """
    now = now or utcnow()
    lease = timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    stalled = db.session.scalars(
        select(Job)
        .where(
            Job.status.in_(("queued", "running")),
            func.coalesce(Job.heartbeat_at, Job.created_at) < now - lease,
        )
        .order_by(Job.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    for job in stalled:
        log.warning(
            "jobs: job %s (%s) stalled at %s/%s; handing it out again", job.id, job.kind, job.done, job.total
        )
        # Free for the next run; the fresh beat keeps the next sweep from handing it out again.
        job.status, job.runner, job.heartbeat_at = "queued", None, now
    db.session.commit()  # all claimed first: an overlapping sweep skips them
    for job in stalled:
        _send(job)
    return [job.id for job in stalled]
