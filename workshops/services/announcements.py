"""Messages from coordinators to a workshop's participants (venue change, reminders).

Writing hundreds of emails is bulk work: the request only records a job; a
worker writes the outbox rows in chunks, each chunk in one transaction with
the job's progress, so a restarted worker neither skips nor repeats anyone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from celery import shared_task
from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..i18n import CATALOGUES
from ..models import (
    EmailKind,
    Job,
    JobKind,
    JobStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Workshop,
)
from ..models.base import lock_for_update, utcnow
from ..urls import external_url
from . import audit, jobs, outbox
from .errors import InvalidInput

CHUNK = 100
AUDIENCES = {
    "confirmed": (RegistrationStatus.CONFIRMED,),
    "waitlisted": (RegistrationStatus.WAITLISTED,),
    "pending": (RegistrationStatus.PENDING,),
    # Not the unverified holds: nobody has shown those addresses are theirs (a spammer's list).
    "active": (RegistrationStatus.PENDING, RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED),
}


@dataclass
class Announcement:
    audience: str
    subject_en: str
    body_en: str
    subject_zh: str = ""
    body_zh: str = ""
    mode: str = ""


def recipients(workshop: Workshop, audience: str, mode: str = "") -> list[int]:
    """The registrations an announcement is emailed to: those with an email address (texts are
    for the outbox's own kinds; someone who registered with a mobile only is not written to)."""
    query = select(Registration.id).where(
        Registration.workshop_id == workshop.id,
        Registration.status.in_(AUDIENCES[audience]),
        Registration.email != "",
    )
    if mode:
        query = query.where(Registration.mode == mode)
    return list(db.session.scalars(query.order_by(Registration.id)))


def queue_announcement(workshop: Workshop, announcement: Announcement, actor) -> Job:
    """Record the message and its recipients as a job; a worker writes the emails."""
    errors = {}
    if announcement.audience not in AUDIENCES:
        errors["audience"] = _l("Choose who should receive the message.")
    if announcement.mode and announcement.mode not in workshop.modes:
        errors["mode"] = _l("Choose onsite or online.")
    for language in ("en", "zh"):
        subject, body = (
            getattr(announcement, f"subject_{language}"),
            getattr(announcement, f"body_{language}"),
        )
        if bool(subject.strip()) != bool(body.strip()):
            errors[f"body_{language}"] = _l("Give both a subject and a message, or leave both empty.")
        if len(subject) > 200:
            errors[f"subject_{language}"] = _l("Use at most %(n)d characters.", n=200)
        if len(body) > 10000:
            errors[f"body_{language}"] = _l("Use at most %(n)d characters.", n=10000)
    if not (announcement.subject_en.strip() or announcement.subject_zh.strip()):
        errors.setdefault("subject_en", _l("Write the message in English, Chinese or both."))
    if errors:
        raise InvalidInput(errors)
    people = recipients(workshop, announcement.audience, announcement.mode)
    if not people:
        raise InvalidInput({"audience": _l("Nobody matches: no message was sent.")})
    job = Job(
        kind=JobKind.ANNOUNCEMENT,
        status=JobStatus.QUEUED,
        workshop_id=workshop.id,
        created_by_id=getattr(actor, "id", None),
        total=len(people),
        payload={"announcement": asdict(announcement), "recipients": people},
    )
    db.session.add(job)
    db.session.flush()
    audit.record(
        "workshop.announcement",
        workshop,
        actor,
        recipients=len(people),
        subject=announcement.subject_en or announcement.subject_zh,
    )
    db.session.commit()
    jobs.dispatch(job)
    return job


def _message_for(registration: Registration, announcement: Announcement) -> OutboxMessage:
    # Each person reads it in their language, or in the other one if only that was written.
    language = (
        registration.language
        if getattr(announcement, f"subject_{registration.language}", "").strip()
        else ("zh" if registration.language == "en" else "en")
    )
    subject = getattr(announcement, f"subject_{language}")
    body = getattr(announcement, f"body_{language}")
    with force_locale(CATALOGUES.get(language, "en")):
        context = {
            "registration": registration,
            "body": body,
            "subject": subject,
            "title": registration.workshop.localized("title", language),
            "ticket_url": external_url("registration.ticket", token=registration.manage_token),
        }
        return OutboxMessage(
            kind=EmailKind.ANNOUNCEMENT,
            recipient=registration.email,
            registration=registration,
            subject=subject,
            body_text=render_template("emails/announcement.txt", **context),
            body_html=render_template("emails/announcement.html", **context),
        )


def write_announcement(job_id: int) -> None:
    """Write the outbox rows of an announcement, a chunk per transaction, resuming where it stopped."""
    job = db.session.get(Job, job_id)
    if job is None or job.finished:
        return
    announcement = Announcement(**job.payload["announcement"])
    people = job.payload["recipients"]
    job.status = JobStatus.RUNNING
    db.session.commit()
    while True:
        # The job row is locked for each chunk and its progress read afresh: if the job was
        # handed out twice (its first worker seemed dead), the two runs take turns, never the same chunk.
        lock_for_update(db.session, Job.__table__, Job.id == job_id)
        job = db.session.scalars(
            select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
        ).one()
        if job.done >= job.total or job.finished:
            break
        chunk = people[job.done : job.done + CHUNK]
        rows = db.session.scalars(select(Registration).where(Registration.id.in_(chunk))).all()
        for registration in rows:
            db.session.add(_message_for(registration, announcement))
        job.done += len(chunk)
        job.heartbeat_at = utcnow()
        db.session.commit()
    if job.finished:
        db.session.commit()
        return
    job.status = JobStatus.DONE
    job.result = {"sent": job.total}
    job.finished_at = utcnow()
    db.session.commit()
    outbox.kick()


@jobs.carried_out_by(JobKind.ANNOUNCEMENT)
@shared_task(name="announcements.write", ignore_result=True, acks_late=True)
def write_announcement_task(job_id: int) -> None:
    write_announcement(job_id)
