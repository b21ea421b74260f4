"""Personal data: erasing a person, anonymising old workshops, and a participant's own export.

One rule in one place: ``erase`` is what both "Delete my data" and the retention purge do to
a registration, in every table that can hold something about the person. It keeps what the
programme report counts (gender, organisation type, city, mode, attendance, answers to rating
questions) and replaces who the person was. The email (the mobile, for someone who registered
without one) becomes a keyed pseudonym, so one person still counts once across workshops, but
cannot be recovered. ``tests/test_erasure.py`` reads every table afterwards and looks for them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from flask import current_app
from sqlalchemy import delete as delete_rows
from sqlalchemy import exists, insert, or_, select, update

from ..extensions import db
from ..models import (
    Answer,
    Attendance,
    Certificate,
    ImportMapping,
    Job,
    JobFile,
    JobKind,
    JobStatus,
    OutboxMessage,
    OutboxStatus,
    Question,
    Registration,
    RegistrationStatus,
    Response,
    ScanLog,
    Survey,
    SurveyParticipation,
    Workshop,
)
from ..models.base import utcnow
from ..models.registration import ERASED_EMAIL_DOMAIN
from ..models.tokens import new_token
from ..urls import external_url
from . import audit, outbox
from . import registration as registrations
from .contacts import nfkc

ANONYMOUS = "—"


def _alone(texts: list[str], neighbours: str) -> re.Pattern:
    return re.compile(f"(?<![{neighbours}])(?:{'|'.join(map(re.escape, texts))})(?![{neighbours}])")


# Jobs whose payload or files carry people: the uploads of imports, the merged certificate and
# badge PDFs, the lists made by download jobs (services.downloads).
IMPORTS = (JobKind.IMPORT, JobKind.MEETING_IMPORT)
FILES_WITH_PEOPLE = (*IMPORTS, JobKind.CERTIFICATES, JobKind.BADGES, JobKind.EXPORT)
# Jobs that lay out whom they list as they go: one running while someone in it is erased stops.
LISTS_OF_PEOPLE = (JobKind.BADGES, JobKind.EXPORT)
STOPPED = (
    "Someone in this list asked to be forgotten while it was being made: make it again. "
    "制作期间有人要求删除其个人信息，请重新生成。"
)
# What a finished import keeps of its payload: how it was read, never whom it was about.
IMPORT_SUMMARY = ("filename", "session_id", "min_minutes", "platform", "notify", "warnings", "notes")


def pseudonym(email: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, email.lower().encode(), hashlib.sha256).hexdigest()[:24]
    return f"anon-{digest}{ERASED_EMAIL_DOMAIN}"


# ---- what names a person in free text ------------------------------------------------------


_SEPARATORS = re.compile(r"[\s\-().]")


@dataclass(frozen=True)
class Marks:
    """How a person can be recognised in text someone else wrote (an import row, a reason, a
    meeting report's nickname column): their names and email, and their phone in any spacing
    (E.164 or the national 11 digits). A match stands alone among Latin letters and digits, so
    参加者1 is not found in 参加者10, while a Chinese name is found inside a Chinese sentence."""

    registration_id: int
    words: re.Pattern | None
    numbers: re.Pattern | None

    @classmethod
    def of(cls, registration: Registration) -> Marks:
        names = [registration.full_name, registration.latin_name, registration.email]
        # A one-letter "name" would match everyone's text: such a name names no one.
        words = sorted({nfkc(w).casefold() for w in names if w and len(nfkc(w)) >= 2}, key=len, reverse=True)
        digits = re.sub(r"\D", "", registration.mobile or "")
        numbers = sorted({n for n in (digits, digits[2:] if digits.startswith("86") else "") if len(n) >= 8})
        return cls(
            registration_id=registration.id,
            words=_alone(words, "0-9a-z") if words else None,
            numbers=_alone(numbers, "0-9") if numbers else None,
        )

    def in_text(self, text: str) -> bool:
        folded = nfkc(text).casefold()
        if self.words is not None and self.words.search(folded):
            return True
        return self.numbers is not None and bool(self.numbers.search(_SEPARATORS.sub("", folded)))

    def in_value(self, value: Any) -> bool:
        if isinstance(value, str):
            return self.in_text(value)
        if isinstance(value, dict):
            return any(self.in_text(str(key)) or self.in_value(item) for key, item in value.items())
        if isinstance(value, list):
            return any(self.in_value(item) for item in value)
        return False

    def stands_for(self, item: Any) -> bool:
        """A row of a list (an import's row, a meeting report's person or unmatched name) that is
        about this person: it goes whole."""
        return isinstance(item, dict) and (
            item.get("registration_id") == self.registration_id or self.in_value(item)
        )

    def scrub(self, value: Any) -> Any:
        """``value`` (JSON) without the person: their rows left out of lists, a text naming them
        replaced, a key naming them dropped; everything else as it was."""
        if isinstance(value, str):
            return ANONYMOUS if self.in_text(value) else value
        if isinstance(value, list):
            return [self.scrub(item) for item in value if not self.stands_for(item)]
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items() if not self.in_text(str(key))}
        return value


# ---- erasure --------------------------------------------------------------------------------


def _forget_messages(registration: Registration) -> None:
    """Emails and texts to the person: those not sent yet are dropped (nothing reaches them after
    being forgotten); the others keep their kind, channel, status and dates but lose the address,
    the subject, the words and the server's answer (which quotes the address). A message with the
    address and no registration (its registration deleted) is theirs too."""
    addresses = [a for a in (registration.email, registration.mobile) if a]
    theirs = OutboxMessage.registration_id == registration.id
    if addresses:
        theirs = or_(theirs, OutboxMessage.registration_id.is_(None) & OutboxMessage.recipient.in_(addresses))
    db.session.execute(delete_rows(OutboxMessage).where(theirs, OutboxMessage.status == OutboxStatus.PENDING))
    db.session.execute(
        update(OutboxMessage)
        .where(theirs)
        .values(recipient="", subject="", body_text="", body_html="", last_error="")
        .execution_options(synchronize_session=False)
    )


def _forget_answers(registration: Registration, marks: Marks) -> None:
    """Their free-text answers go (they may name the person); numbers stay for the statistics.
    Someone else's answer (an anonymous one too) that names them loses its text as well."""
    texts = db.session.scalars(
        select(Answer)
        .join(Response, Answer.response_id == Response.id)
        .join(Survey, Response.survey_id == Survey.id)
        .where(
            Survey.workshop_id == registration.workshop_id,
            Answer.text != "",
            or_(Response.registration_id.is_(None), Response.registration_id != registration.id),
        )
    )
    for answer in texts:
        if marks.in_text(answer.text):
            answer.text = ""
    response_ids = select(Response.id).where(Response.registration_id == registration.id)
    db.session.execute(
        update(Answer)
        .where(Answer.response_id.in_(response_ids), Answer.number.is_(None))
        .values(text="")
        .execution_options(synchronize_session=False)
    )
    # That they answered stays, as an anonymous survey keeps it (a row apart from the answers): the
    # response rate of a workshop past its retention period does not fall when its people go.
    db.session.execute(
        insert(SurveyParticipation).from_select(
            ["survey_id", "registration_id"],
            select(Response.survey_id, Response.registration_id).where(
                Response.registration_id == registration.id,
                ~exists().where(
                    SurveyParticipation.survey_id == Response.survey_id,
                    SurveyParticipation.registration_id == registration.id,
                ),
            ),
        )
    )
    db.session.execute(
        update(Response)
        .where(Response.registration_id == registration.id)
        .values(registration_id=None)
        .execution_options(synchronize_session=False)
    )


def _forget_check_ins(registration: Registration) -> None:
    """Attendance stays (the programme counts it); which phone scanned it, with which nonce, goes."""
    db.session.execute(
        update(Attendance)
        .where(Attendance.registration_id == registration.id)
        .values(device="", client_nonce=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ScanLog)
        .where(ScanLog.registration_id == registration.id)
        .values(device="", client_nonce="", token_hint="")
        .execution_options(synchronize_session=False)
    )


def _forget_certificate(registration: Registration, at_request: bool) -> Certificate | None:
    """The PDF (with the name) goes. At the holder's request the certificate is withdrawn: it no
    longer vouches for anyone. After the retention period it stays valid without a name, so the
    paper certificate's serial can still be checked against the workshop."""
    certificate = db.session.scalar(select(Certificate).where(Certificate.registration_id == registration.id))
    if certificate is None:
        return None
    certificate.pdf = None
    certificate.grant_reason = certificate.revoke_reason = ""
    if at_request and certificate.withdrawn_at is None:
        certificate.withdrawn_at = utcnow()
    return certificate


def _forget_in_jobs(registration: Registration, marks: Marks) -> list[tuple[str, int]]:
    """The workshop's jobs: their payloads and results without the person (an import row, a
    meeting report's line or name), the stored uploads and merged PDFs gone (a file cannot be
    searched, and holds everyone). Returns the jobs, for the audit events about them."""
    workshop_jobs = db.session.scalars(select(Job).where(Job.workshop_id == registration.workshop_id)).all()
    for job in workshop_jobs:
        payload, result = marks.scrub(job.payload or {}), marks.scrub(job.result or {})
        if payload != job.payload:
            job.payload = payload
        if result != job.result:
            job.result = result
        if marks.in_text(job.error or ""):
            job.error = ANONYMOUS
    with_files = [job.id for job in workshop_jobs if job.kind in FILES_WITH_PEOPLE]
    if with_files:
        db.session.execute(delete_rows(JobFile).where(JobFile.job_id.in_(with_files)))
    # A list or badge sheet being made now read the person before this: its run loses the job
    # (``jobs.still_mine`` fails), so it keeps no file with them; the coordinator makes it again.
    for job in workshop_jobs:
        if job.kind in LISTS_OF_PEOPLE and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            job.status, job.runner, job.finished_at, job.error = JobStatus.FAILED, None, utcnow(), STOPPED
    return [("job", job.id) for job in workshop_jobs]


def _forget_in_mappings(workshop: Workshop, marks: Marks) -> None:
    """A remembered column mapping holds headers; a file without a header row gives a person's
    row as its header."""
    scope = ImportMapping.workshop_id == workshop.id
    if workshop.programme_id is not None:
        scope = or_(scope, ImportMapping.programme_id == workshop.programme_id)
    for mapping in db.session.scalars(select(ImportMapping).where(scope)):
        columns, constants = marks.scrub(mapping.columns or {}), marks.scrub(mapping.constants or {})
        if columns != mapping.columns:
            mapping.columns = columns
        if constants != mapping.constants:
            mapping.constants = constants


def erase(registration: Registration, *, at_request: bool) -> bool:
    """Erase or pseudonymise the person of ``registration`` everywhere they appear: the
    registration, their answers, attendance and scans, emails and texts, the workshop's jobs and
    files, the remembered import mapping, the audit trail and their certificate (withdrawn when
    ``at_request``). Adds to the current transaction; the caller commits. False when erased already."""
    if registration.erased:
        return False
    marks = Marks.of(registration)
    workshop = registration.workshop
    # Read before their answers are unlinked from them: the audit events about these are theirs.
    responses = db.session.scalars(select(Response.id).where(Response.registration_id == registration.id))
    about = [("registration", registration.id), *(("response", id_) for id_ in responses)]
    _forget_messages(registration)
    _forget_answers(registration, marks)
    _forget_check_ins(registration)
    certificate = _forget_certificate(registration, at_request)
    jobs = _forget_in_jobs(registration, marks)
    _forget_in_mappings(workshop, marks)
    if certificate is not None:
        about.append(("certificate", certificate.id))
    audit.forget(about, [("workshop", workshop.id), *jobs], marks.scrub)
    # Someone who gave only a phone is known by it: without it all of them would be one person.
    registration.email = pseudonym(registration.email or registration.mobile)
    registration.full_name, registration.latin_name = ANONYMOUS, ""
    registration.mobile = registration.organisation = registration.job_title = ""
    registration.needs = registration.decision_reason = ""
    registration.manage_token, registration.ticket_token = new_token(), new_token()
    return True


def anonymise_ended_before(moment: datetime, actor=None) -> int:
    """Anonymise every registration of workshops that ended before ``moment``."""
    people = db.session.scalars(
        select(Registration).join(Workshop).where(Workshop.ends_at < moment, ~Registration.erased)
    ).all()
    for registration in people:
        erase(registration, at_request=False)
    audit.record("privacy.anonymise", None, actor, ended_before=moment.isoformat(), registrations=len(people))
    db.session.commit()
    return len(people)


# ---- import previews ------------------------------------------------------------------------


def forget_imports(now: datetime | None = None) -> int:
    """Imports hold the people of their file, registered or not. A finished one keeps only how its
    file was read (the counts are in its result) and loses its upload; a preview nobody confirmed
    within IMPORT_PREVIEW_HOURS is closed and loses both. Returns how many jobs lost data."""
    moment = now or utcnow()
    abandoned_before = moment - timedelta(hours=current_app.config["IMPORT_PREVIEW_HOURS"])
    imports = db.session.scalars(
        select(Job).where(
            Job.kind.in_([str(kind) for kind in IMPORTS]),
            or_(
                Job.status.in_([JobStatus.DONE, JobStatus.FAILED]),
                (Job.status == JobStatus.PREVIEW) & (Job.created_at < abandoned_before),
            ),
        )
    ).all()
    changed = []
    for job in imports:
        if job.status == JobStatus.PREVIEW:
            job.status, job.finished_at = JobStatus.FAILED, moment
            job.error = (  # read in either language, as the job's other errors
                "Not confirmed in time: the preview and its file were removed; upload the file again. "
                "未及时确认：预览及其文件已删除，请重新上传文件。"
            )
        summary = {key: value for key, value in (job.payload or {}).items() if key in IMPORT_SUMMARY}
        if summary != job.payload:
            job.payload = summary
            changed.append(job.id)
    ids = [job.id for job in imports]
    holding = select(JobFile.job_id).distinct().where(JobFile.job_id.in_(ids))
    with_files = list(db.session.scalars(holding)) if ids else []
    if with_files:
        db.session.execute(delete_rows(JobFile).where(JobFile.job_id.in_(with_files)))
        changed += with_files
    db.session.commit()
    return len(set(changed))


# ---- files made by download jobs --------------------------------------------------------------


def export_files_kept_since(now: datetime) -> datetime:
    """A download job's file is kept for its download only: those finished before this are dropped."""
    return now - timedelta(hours=current_app.config["EXPORT_KEEP_HOURS"])


def forget_exports(now: datetime | None = None) -> int:
    """Drop the files of download jobs finished more than EXPORT_KEEP_HOURS ago (a list of
    registrations or answers is made to be taken, not kept). Returns how many were dropped."""
    old = select(Job.id).where(
        Job.kind == JobKind.EXPORT, Job.finished_at < export_files_kept_since(now or utcnow())
    )
    dropped = getattr(db.session.execute(delete_rows(JobFile).where(JobFile.job_id.in_(old))), "rowcount", 0)
    db.session.commit()
    return dropped or 0


def purge_expired(now: datetime | None = None) -> int:
    """Beat's retention purge: import previews and finished imports lose their people, old
    download files are dropped, and workshops that ended more than DATA_RETENTION_DAYS ago are
    anonymised (0 turns that off). Programme figures stay, as with the command. Returns the
    registrations anonymised."""
    forget_imports(now)
    forget_exports(now)
    days = current_app.config["DATA_RETENTION_DAYS"]
    if days <= 0:
        return 0
    return anonymise_ended_before((now or utcnow()) - timedelta(days=days))


# ---- registrations nobody confirmed ------------------------------------------------------------


@registrations.never_confirmed.connect
def _erase_never_confirmed(_workshop: Workshop, people: list[Registration]) -> None:
    """Holds that expired and registrations cancelled as spam: nobody showed the address was theirs
    (it may be a victim's), so they are erased now, in the transaction that cancels them."""
    for registration in people:
        erase(registration, at_request=False)


# ---- the person's own download and deletion ---------------------------------------------------

REGISTRATION_FIELDS = (
    "full_name",
    "latin_name",
    "email",
    "mobile",
    "organisation",
    "organisation_type",
    "job_title",
    "gender",
    "place_code",  # GB/T 2260 (services.places): 3204 is 江苏省常州市
    "city",
    "mode",
    "needs",
    "language",
    "status",
    "source",
    "decision_reason",
    "consent_at",
    "created_at",
    "updated_at",
)


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _messages(registration: Registration) -> list[dict]:
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.registration_id == registration.id)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return [
        {
            "kind": message.kind,
            "channel": str(message.channel),
            "to": message.recipient,
            "status": str(message.status),
            "created_at": _when(message.created_at),
            "sent_at": _when(message.sent_at),
            "subject": message.subject,
            "body": message.body_text,
        }
        for message in messages
    ]


def _check_ins(registration: Registration) -> tuple[list[dict], list[dict], list[dict]]:
    """(attendance at the door, online attendance, every scan of the person's ticket)."""
    attendance = db.session.scalars(
        select(Attendance)
        .where(Attendance.registration_id == registration.id)
        .order_by(Attendance.checked_in_at)
    ).all()
    online_methods = ("join_link", "meeting_import")

    def entry(a: Attendance) -> dict:
        return {
            "session": a.session.title_en,
            "session_zh": a.session.title_zh,
            "checked_in_at": a.checked_in_at.isoformat(),
            "method": str(a.method),
        }

    at_door = [entry(a) for a in attendance if str(a.method) not in online_methods]
    online = [
        entry(a) | {"minutes": a.minutes, "source": a.source or ""}
        for a in attendance
        if str(a.method) in online_methods
    ]
    sessions = {s.id: s for s in registration.workshop.sessions}
    scans = [
        {
            "scanned_at": scan.scanned_at.isoformat(),
            "session": sessions[scan.session_id].title_en if scan.session_id in sessions else "",
            "method": scan.method,
            "result": scan.reason,
            "offline": scan.offline,
        }
        for scan in db.session.scalars(
            select(ScanLog).where(ScanLog.registration_id == registration.id).order_by(ScanLog.scanned_at)
        )
    ]
    return at_door, online, scans


def _answers(registration: Registration) -> list[dict]:
    rows = db.session.execute(
        select(Answer, Question)
        .join(Response, Answer.response_id == Response.id)
        .join(Question, Answer.question_id == Question.id)
        .where(Response.registration_id == registration.id)
        .order_by(Question.position, Answer.id)
    ).all()
    return [
        {
            "question_id": question.id,
            "question": question.text_en,
            "question_zh": question.text_zh,
            "number": answer.number,
            "text": answer.text,
        }
        for answer, question in rows
    ]


def _certificate(registration: Registration) -> dict | None:
    certificate = db.session.scalar(select(Certificate).where(Certificate.registration_id == registration.id))
    if certificate is None:
        return None
    status = "withdrawn" if certificate.withdrawn else "revoked" if certificate.revoked_at else "valid"
    return {
        "serial": certificate.serial,
        "status": status,
        "issued_at": _when(certificate.issued_at),
        "revoked_at": _when(certificate.revoked_at),
        "verify_url": external_url("certificates.verify", code=certificate.code),
    }


def export(registration: Registration) -> dict:
    """Everything held about the person at this workshop, for their own download (audited)."""
    at_door, online, scans = _check_ins(registration)
    data = {
        "workshop": {
            "id": registration.workshop_id,
            "title_en": registration.workshop.title_en,
            "title_zh": registration.workshop.title_zh,
        },
        "registration": {name: str(getattr(registration, name) or "") for name in REGISTRATION_FIELDS},
        "messages": _messages(registration),
        "attendance": at_door,
        "online_attendance": online,
        "scans": scans,
        "survey_answers": _answers(registration),
        "certificate": _certificate(registration),
    }
    audit.record("privacy.export", registration, None)
    db.session.commit()
    return data


def delete(registration: Registration) -> None:
    """The person asked to be forgotten: cancel (passing the seat on) and erase, in one
    transaction (the emails to whoever gets the seat are written in it too)."""
    if registration.is_active:
        registrations.leave(
            registration,
            RegistrationStatus.CANCELLED,
            "deleted at the person's request",
            None,
            by="participant",
        )
    # Recorded before erasing, so that this event too loses the address the request came from.
    audit.record("privacy.delete", registration, None)
    erase(registration, at_request=True)
    db.session.commit()
    outbox.kick()


@shared_task(name="privacy.purge_expired", ignore_result=True)
def purge_expired_task() -> int:
    """Beat (hourly): import previews past IMPORT_PREVIEW_HOURS, workshops past DATA_RETENTION_DAYS."""
    return purge_expired()
