"""Background jobs: handing them to the workers, confirming previewed ones, and rescuing
those whose worker died."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from celery import Task, shared_task
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, and_, func, or_, select

from ..extensions import db
from ..models import Job, JobKind, JobStatus
from ..models.base import utcnow
from . import audit
from .errors import ServiceError

log = logging.getLogger(__name__)


# The Celery task that carries out each kind of job, declared by the service that owns the
# kind (``@jobs.carried_out_by``): this module hands jobs out without importing those services.
_TASKS: dict[JobKind, tuple[Task, bool]] = {}


def carried_out_by(kind: JobKind, *, split: bool = False) -> Callable[[Task], Task]:
    """Declare the Celery task that runs jobs of ``kind``, called with the job's id.

    ``split``: the job is shared among CERTIFICATE_WORKERS copies of the task, each called
    ``(job_id, part, parts)``.
    """

    def declare(task: Task) -> Task:
        _TASKS[kind] = (task, split)
        return task

    return declare


def declared_kinds() -> set[JobKind]:
    """The job kinds whose task is declared (all of them, once the services are imported)."""
    return set(_TASKS)


def confirm_preview(job: Job, kind: JobKind, action: str, actor) -> Job:
    """Move a previewed job to the queue, once, and hand it to its Celery task."""
    if job.kind != kind or job.status != JobStatus.PREVIEW:
        raise ServiceError(_l("This import has already been confirmed."))
    job.status = JobStatus.QUEUED
    audit.record(action, job, actor, rows=job.total)
    dispatch(job)
    return job


def _calls_for(job: Job) -> list[tuple[Task, tuple]]:
    """The Celery task calls that carry a job out."""
    task, split = _TASKS[JobKind(job.kind)]
    if not split:
        return [(task, (job.id,))]
    parts = max(int(current_app.config.get("CERTIFICATE_WORKERS", 2)), 1)
    return [(task, (job.id, part, parts)) for part in range(parts)]


def _send(job: Job) -> bool:
    calls = _calls_for(job)  # a kind without a declared task is a bug, not a broker outage
    try:
        for task, args in calls:
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
    # Session.execute is typed as returning any Result; an UPDATE's is a CursorResult.
    taken = cast(
        CursorResult,
        db.session.execute(
            Job.__table__.update()
            .where(
                Job.id == job_id,
                or_(
                    Job.status == JobStatus.QUEUED,
                    and_(
                        Job.status == JobStatus.RUNNING,
                        func.coalesce(Job.heartbeat_at, Job.created_at) < now - lease,
                    ),
                ),
            )
            .values(status=JobStatus.RUNNING, runner=runner, heartbeat_at=now)
        ),
    ).rowcount
    db.session.commit()
    return runner if taken == 1 else None


def still_mine(job_id: int, runner: str) -> bool:
    """Beat for this run (in the caller's transaction); False if the job was handed to another run."""
    beat = Job.__table__.update().where(Job.id == job_id, Job.runner == runner).values(heartbeat_at=utcnow())
    return cast(CursorResult, db.session.execute(beat)).rowcount == 1


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
            Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
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
        job.status, job.runner, job.heartbeat_at = JobStatus.QUEUED, None, now
    db.session.commit()  # all claimed first: an overlapping sweep skips them
    for job in stalled:
        try:
            _send(job)
        except Exception:  # one job's bug (a kind without a task) must not starve the others
            log.exception("jobs: job %s (%s) cannot be handed out", job.id, job.kind)
    return [job.id for job in stalled]


@shared_task(name="jobs.resume_stalled", ignore_result=True)
def resume_stalled_task() -> list[int]:
    """Beat's sweep (every JOB_SWEEP_SECONDS): hand out again the jobs whose worker died."""
    return resume_stalled()
