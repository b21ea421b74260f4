"""Downloads made by a background job: the lists too long to make inside the request.

A registrations or survey-responses list of more than EXPORT_INSTANT_ROWS rows, and the
programme report PDF of a programme with more than REPORT_PDF_INSTANT_WORKSHOPS workshops or
REPORT_PDF_INSTANT_REGISTRATIONS registrations, are queued as an ``export`` job; its page
shows the progress bar and then a download link. The job's payload says what to make (the list,
its filter and language, the report's period), and the worker makes it with the very functions
the instant download calls (``roster.export``, ``feedback.export_raw``, ``reports.report_pdf``),
so a large file is the small one's, only later.

The file holds people, so it is served only to the person who asked, and only while they may
still see it (checked again at download time); a newer job of the same download drops the
older file, the retention purge drops files older than EXPORT_KEEP_HOURS
(``privacy.forget_exports``) and erasing a person drops the files of their workshop.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..i18n import CATALOGUES
from ..models import Job, JobFile, JobKind, JobStatus, Programme, Registration, Survey, User, Workshop
from ..models.base import utcnow
from ..models.i18n import current_language
from . import feedback, jobs, reports, roster
from .privacy import export_files_kept_since

log = logging.getLogger(__name__)

REGISTRATIONS, SURVEY_RESPONSES, PROGRAMME_REPORT = "registrations", "survey_responses", "programme_report"
CONTENT_TYPES = {
    "csv": "text/csv",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What the job page says a job of each download makes.
TITLES = {
    REGISTRATIONS: _l("Registrations"),
    SURVEY_RESPONSES: _l("Survey answers"),
    PROGRAMME_REPORT: _l("Programme report"),
}
# Read in either language, as the job's other errors.
FAILED = (
    "The download could not be made; try again, or ask an administrator. "
    "下载文件未能生成，请重试或联系管理员。"
)
NO_LONGER_ALLOWED = "The person who asked may no longer see this download. 申请人已无权查看此下载内容。"


# ---- when a download is made by a job ----------------------------------------------------------


def too_many_rows(rows: int) -> bool:
    """Whether a list of ``rows`` rows is made in the background (over EXPORT_INSTANT_ROWS)."""
    return rows > current_app.config["EXPORT_INSTANT_ROWS"]


def report_registrations(programme: Programme) -> int:
    """The registrations of the programme's workshops: what a report's PDF grows with (its
    held workshops' profiles, attendance and survey figures are counted over them)."""
    query = select(func.count(Registration.id)).join(Workshop).where(Workshop.programme_id == programme.id)
    return db.session.scalar(query) or 0


def report_workshops(programme: Programme) -> int:
    """The programme's workshops: what a report's PDF layout grows with (a line, a bar and a
    comparison row each)."""
    query = select(func.count(Workshop.id)).where(Workshop.programme_id == programme.id)
    return db.session.scalar(query) or 0


def report_pdf_in_background(programme: Programme) -> bool:
    config = current_app.config
    return (
        report_workshops(programme) > config["REPORT_PDF_INSTANT_WORKSHOPS"]
        or report_registrations(programme) > config["REPORT_PDF_INSTANT_REGISTRATIONS"]
    )


# ---- queueing ----------------------------------------------------------------------------------


def _same_download(job: Job, what: str, target: dict) -> bool:
    payload = job.payload or {}
    return payload.get("what") == what and all(payload.get(key) == value for key, value in target.items())


def _queue(what: str, actor, total: int, workshop_id: int | None, target: dict, details: dict) -> Job:
    """Queue the job making ``what`` for ``target`` (its workshop, survey or programme).

    The actor's earlier files of the same download are dropped (the new one replaces them:
    people's data does not pile up in job files)."""
    earlier = db.session.scalars(
        select(Job).where(
            Job.kind == JobKind.EXPORT, Job.created_by_id == actor.id, Job.workshop_id == workshop_id
        )
    ).all()
    replaced = [job.id for job in earlier if _same_download(job, what, target)]
    if replaced:
        db.session.execute(delete(JobFile).where(JobFile.job_id.in_(replaced)))
    job = Job(
        kind=JobKind.EXPORT,
        status=JobStatus.QUEUED,
        workshop_id=workshop_id,
        created_by_id=actor.id,
        total=max(total, 1),
        # The page's language: the values of a bilingual (``both``) download are written in it.
        payload={"what": what, **target, **details, "page_language": current_language()},
    )
    db.session.add(job)
    jobs.dispatch(job)  # commits; a task run at once (tests) runs in a session of its own
    job_id = job.id
    db.session.commit()
    return db.session.get_one(Job, job_id, populate_existing=True)


def queue_registrations(
    workshop: Workshop, fmt: str, actor, wanted: roster.RosterFilter, language: str
) -> Job:
    """Make the (filtered) registrations list of ``roster.export`` in the background."""
    return _queue(
        REGISTRATIONS,
        actor,
        roster.count(workshop, wanted),
        workshop.id,
        {"fmt": fmt},
        {"filter": vars(wanted), "language": language},
    )


def queue_responses(survey: Survey, fmt: str, actor, segment: feedback.Segment, language: str) -> Job:
    """Make the survey responses download of ``feedback.export_raw`` in the background."""
    return _queue(
        SURVEY_RESPONSES,
        actor,
        feedback.response_count(survey, segment),
        survey.workshop_id,
        {"fmt": fmt, "survey_id": survey.id},
        {"segment": segment.active(), "language": language},
    )


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def queue_report_pdf(
    programme: Programme,
    start: datetime | None,
    end: datetime | None,
    actor,
    aggregates_only: bool,
    language: str = "both",
) -> Job:
    """Make the programme report's PDF (``reports.report_pdf``, in ``language``) in the background."""
    return _queue(
        PROGRAMME_REPORT,
        actor,
        1,
        None,
        {"fmt": "pdf", "programme_id": programme.id},
        {
            "start": _moment(start),
            "end": _moment(end),
            "aggregates_only": aggregates_only,
            "language": language,
        },
    )


# ---- who may download --------------------------------------------------------------------------


def may_download(job: Job, user) -> bool:
    """Whether ``user`` may watch the job and take its file: the person who asked, while the
    instant download would still be theirs (a coordinator moved to other programmes, or made a
    report reader, no longer is; a report made with every figure is not a reader's)."""
    if job.kind != JobKind.EXPORT or job.created_by_id != getattr(user, "id", None):
        return False
    payload = job.payload or {}
    if payload.get("what") == PROGRAMME_REPORT:
        return bool(
            user.reads_reports
            and user.sees_programme(payload.get("programme_id"))
            and (user.can_schedule or payload.get("aggregates_only"))
        )
    workshop = db.session.get(Workshop, job.workshop_id) if job.workshop_id else None
    return workshop is not None and user.can_schedule and user.can_access_workshop(workshop)


def title_of(job: Job):
    """What the job makes, as its page names it."""
    return TITLES.get((job.payload or {}).get("what", ""), _l("Download"))


def made_file(job: Job) -> JobFile | None:
    """The file a finished export job made, while it is kept (None: not made yet, or dropped)."""
    if job.kind != JobKind.EXPORT or job.status != JobStatus.DONE:
        return None
    if job.finished_at is None or job.finished_at < export_files_kept_since(utcnow()):
        return None  # the retention purge drops it within the hour; it is not served meanwhile
    return db.session.scalar(select(JobFile).where(JobFile.job_id == job.id))


# ---- the worker --------------------------------------------------------------------------------


def _period(payload: dict) -> tuple[datetime | None, datetime | None]:
    start, end = payload.get("start"), payload.get("end")
    return (
        datetime.fromisoformat(start) if start else None,
        datetime.fromisoformat(end) if end else None,
    )


def _make(job: Job, actor: User, progress) -> tuple[str, bytes]:
    """The file's name and content, made by the function the instant download calls."""
    payload, fmt = job.payload, job.payload["fmt"]
    what = payload["what"]
    if what == PROGRAMME_REPORT:
        programme = db.session.get_one(Programme, payload["programme_id"])
        start, end = _period(payload)
        report = reports.programme_report(
            programme, start, end, author=actor, aggregates_only=bool(payload["aggregates_only"])
        )
        body = reports.report_pdf(report, actor, payload.get("language", "both"))
        progress(1, 1)
        return f"programme-{programme.code}-report.pdf", body
    workshop = db.session.get_one(Workshop, job.workshop_id)
    if what == REGISTRATIONS:
        wanted = roster.RosterFilter(**payload["filter"])
        body = roster.export(workshop, fmt, actor, wanted, payload["language"], progress)
        return f"registrations-workshop-{workshop.id}.{fmt}", body
    survey = db.session.get_one(Survey, payload["survey_id"])
    segment = feedback.Segment(**payload["segment"])
    body = feedback.export_raw(survey, fmt, actor, segment, payload["language"], progress)
    return f"survey-responses-workshop-{workshop.id}.{fmt}", body


def _fail(job_id: int, message: str) -> None:
    db.session.rollback()
    db.session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status=JobStatus.FAILED, error=message, finished_at=utcnow(), runner=None)
    )
    db.session.commit()


def run_export(job_id: int) -> None:
    """Make the job's download and keep it as its file; the progress moves as rows are written.

    The asker's right to it is checked again first (it may have changed since they asked). A run
    that loses its job to another (it stalled past the lease) keeps nothing.
    """
    runner = jobs.claim(job_id)
    if runner is None:
        return  # done, or taken by another run
    job = db.session.get_one(Job, job_id)
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    if actor is None or not may_download(job, actor):
        _fail(job_id, NO_LONGER_ALLOWED)
        return

    def progress(done: int, total: int) -> None:
        # Its own small transaction: the page polling the job sees the bar move.
        db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.runner == runner)
            .values(done=min(done, total), total=max(total, 1), heartbeat_at=utcnow())
        )
        db.session.commit()

    try:
        with force_locale(CATALOGUES[job.payload.get("page_language", "en")]):
            name, body = _make(job, actor, progress)
    except Exception:
        log.exception("downloads: export job %s failed", job_id)
        _fail(job_id, FAILED)
        return
    if not jobs.still_mine(job_id, runner):
        db.session.rollback()
        return  # handed to another run meanwhile: that run makes the file
    fmt = job.payload["fmt"]
    db.session.add(JobFile(job_id=job_id, name=name, content_type=CONTENT_TYPES[fmt], data=body))
    job = db.session.get_one(Job, job_id, populate_existing=True)
    job.status, job.finished_at, job.done = JobStatus.DONE, utcnow(), job.total
    job.result = {"bytes": len(body)}
    db.session.commit()


@jobs.carried_out_by(JobKind.EXPORT)
@shared_task(name="downloads.export", ignore_result=True, acks_late=True)
def export_task(job_id: int) -> None:
    run_export(job_id)
