"""Background jobs that start with a preview: nothing is written until a coordinator confirms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Job
from . import audit
from .errors import ServiceError


def confirm_preview(job: Job, kind: str, task, action: str, actor) -> Job:
    """Move a previewed job to the queue, once, and hand it to its Celery task."""
    if job.kind != kind or job.status != "preview":
        raise ServiceError(_l("This import has already been confirmed."))
    job.status = "queued"
    audit.record(action, job, actor, rows=job.total)
    db.session.commit()
    task.delay(job.id)
    return job
