"""Certificates of attendance: earned by attendance (and the survey, if asked), verifiable by QR.

Serials are sequential per programme and year (QA-2026-000123): the counter row
is locked while a serial is taken, so two app servers never hand out the same
one; a certificate keeps its serial forever, so regenerating gives the same PDF.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from celery import shared_task
from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    Attendance,
    AttendanceMode,
    Certificate,
    CertificateAsset,
    EmailKind,
    Job,
    JobFile,
    JobKind,
    JobStatus,
    Registration,
    RegistrationStatus,
    SerialCounter,
    Survey,
    Workshop,
    tokens,
)
from ..models.base import lock_for_update, utcnow
from ..urls import external_url
from . import audit, jobs, outbox, pdf, surveys, tickets
from .certificate_assets import assets_of
from .errors import InvalidInput, NotAllowed


@dataclass
class Eligibility:
    eligible: bool
    attended: int
    required: int
    survey_needed: bool
    survey_done: bool
    certificate: Certificate | None

    @property
    def missing(self) -> list:
        """What the person still lacks, in words."""
        reasons = []
        if self.attended < self.required:
            reasons.append(
                _l(
                    "Attendance: %(done)d of the %(needed)d sessions required.",
                    done=self.attended,
                    needed=self.required,
                )
            )
        if self.survey_needed and not self.survey_done:
            reasons.append(_l("The feedback survey is not answered yet."))
        return reasons


def sessions_required(workshop: Workshop, registration: Registration) -> int:
    """The workshop's setting, else all sessions onsite and one online."""
    total = max(len(workshop.sessions), 1)
    if workshop.certificate_min_sessions:
        return min(workshop.certificate_min_sessions, total)
    return 1 if registration.mode == AttendanceMode.ONLINE else total


def _survey(workshop: Workshop) -> Survey | None:
    return db.session.scalar(select(Survey).where(Survey.workshop_id == workshop.id))


def _judge(
    registration: Registration,
    workshop: Workshop,
    survey_needed: bool,
    attended: int,
    survey_done: bool,
    certificate: Certificate | None,
) -> Eligibility:
    """The rule itself, on facts already loaded (see ``eligibility``)."""
    required = sessions_required(workshop, registration)
    earned = (
        registration.status == RegistrationStatus.CONFIRMED
        and attended >= required
        and (survey_done or not survey_needed)
    )
    if certificate is not None and certificate.granted_by_hand:
        earned = certificate.valid
    return Eligibility(earned, attended, required, survey_needed, survey_done, certificate)


def _eligibilities(workshop: Workshop, people: Sequence[Registration], among) -> list[Eligibility]:
    """The eligibility of each of the workshop's ``people``, their facts loaded for all at once.

    ``among`` names the same people to SQL (their ids, or a query of their ids), so the
    number of queries does not grow with the number of people.
    """
    if not people:
        return []
    attended = dict(
        db.session.execute(
            select(Attendance.registration_id, func.count())
            .where(Attendance.registration_id.in_(among))
            .group_by(Attendance.registration_id)
        ).all()
    )
    survey = _survey(workshop)
    survey_needed = bool(workshop.certificate_requires_survey and survey is not None and survey.questions)
    answered = surveys.answered_among(survey, among) if survey is not None else set()
    issued = {
        certificate.registration_id: certificate
        for certificate in db.session.scalars(
            select(Certificate).where(Certificate.registration_id.in_(among))
        )
    }
    return [
        _judge(
            person,
            workshop,
            survey_needed,
            attended.get(person.id, 0),
            person.id in answered,
            issued.get(person.id),
        )
        for person in people
    ]


def eligibility(registration: Registration) -> Eligibility:
    """Whether the person has earned a certificate, and what they still lack.

    Earned when confirmed, with the sessions required attended, and the survey answered if
    the workshop asks for it and it has questions; a certificate granted by hand counts
    instead, until it is revoked.
    """
    return _eligibilities(registration.workshop, [registration], [registration.id])[0]


def eligibility_of_confirmed(workshop: Workshop) -> list[tuple[Registration, Eligibility]]:
    """Every confirmed person of the workshop, in name order, with their eligibility.

    The rule of ``eligibility``, in the same few queries for 5 people or 500.
    """
    confirmed = (Registration.workshop_id == workshop.id, Registration.status == RegistrationStatus.CONFIRMED)
    people = db.session.scalars(select(Registration).where(*confirmed).order_by(Registration.full_name)).all()
    states = _eligibilities(workshop, people, select(Registration.id).where(*confirmed))
    return list(zip(people, states, strict=True))


def _next_serial(workshop: Workshop) -> str:
    prefix = (workshop.programme.code if workshop.programme else "WS")[:16]
    year = workshop.starts_at.astimezone(workshop.zone).year  # the year on the venue's calendar
    this_counter = (SerialCounter.prefix == prefix, SerialCounter.year == year)
    lock_for_update(db.session, SerialCounter.__table__, *this_counter)
    query = (
        select(SerialCounter).where(*this_counter).with_for_update().execution_options(populate_existing=True)
    )
    counter = db.session.scalars(query).one_or_none()
    if counter is None:
        # The year's first certificate: two workers may both get here. The loser's insert
        # fails on the key (inside a savepoint) and it then waits for the winner's row.
        try:
            with db.session.begin_nested():
                db.session.add(SerialCounter(prefix=prefix, year=year, last=0))
        except IntegrityError:
            pass
        counter = db.session.scalars(query).one()
    counter.last += 1
    return f"{prefix}-{year}-{counter.last:06d}"


def issue(registration: Registration, *, by_hand: bool = False, reason: str = "", actor=None) -> Certificate:
    """The person's certificate, issued once (with the next serial) and reused afterwards."""
    existing = db.session.scalar(select(Certificate).where(Certificate.registration_id == registration.id))
    if existing is not None:
        if by_hand and not existing.valid:
            existing.revoked_at, existing.revoke_reason = None, ""
            existing.granted_by_hand, existing.grant_reason = True, reason
            audit.record("certificate.grant", existing, actor, reason=reason)
            db.session.commit()
        return existing
    certificate = Certificate(
        registration=registration,
        serial=_next_serial(registration.workshop),
        granted_by_hand=by_hand,
        grant_reason=reason,
    )
    db.session.add(certificate)
    outbox.queue_registration_email(registration, EmailKind.CERTIFICATE_READY)
    if actor is not None or by_hand:
        db.session.flush()
        audit.record(
            "certificate.grant" if by_hand else "certificate.issue", certificate, actor, reason=reason
        )
    try:
        db.session.commit()
    except IntegrityError:  # issued meanwhile by another worker: use theirs
        db.session.rollback()
        theirs = db.session.scalar(select(Certificate).where(Certificate.registration_id == registration.id))
        if theirs is None:  # another conflict: fail loudly (the job is retried) rather than skip the person
            raise
        return theirs
    return certificate


def issue_if_eligible(registration: Registration) -> Certificate | None:
    state = eligibility(registration)
    if state.certificate is not None:
        return state.certificate if state.certificate.valid else None
    return issue(registration) if state.eligible else None


@surveys.answers_received.connect
def _issue_if_survey_was_last_step(survey: Survey, registration: Registration, **_extra) -> None:
    if survey.workshop.certificate_requires_survey:
        issue_if_eligible(registration)


def issue_due(now=None, within_days: int = 30) -> int:
    """After a workshop ends, issue the certificates people have earned (they are emailed).

    Run by beat; people who earn theirs later (a survey answered) get it then.
    """
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Registration)
        .join(Workshop)
        .where(
            Workshop.ends_at <= now,
            Workshop.ends_at > now - timedelta(days=within_days),
            Registration.status == RegistrationStatus.CONFIRMED,
            surveys.attended(),
            ~select(Certificate.id).where(Certificate.registration_id == Registration.id).exists(),
        )
        .order_by(Registration.id)
    ).all()
    return sum(issue_if_eligible(registration) is not None for registration in candidates)


def grant(registration: Registration, reason: str, actor) -> Certificate:
    """A coordinator's decision: a certificate despite the rule (audited, with a reason)."""
    if not reason.strip():
        raise InvalidInput({"reason": _l("Give a reason; it is kept in the audit log.")})
    return issue(registration, by_hand=True, reason=reason.strip(), actor=actor)


def certificate_of(registration: Registration) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.registration_id == registration.id))


def revoke(certificate: Certificate, reason: str, actor) -> None:
    if not reason.strip():
        raise InvalidInput({"reason": _l("Give a reason; it is kept in the audit log.")})
    if not certificate.valid:
        raise NotAllowed(_l("This certificate is already revoked."))
    certificate.revoked_at, certificate.revoke_reason = utcnow(), reason.strip()
    audit.record("certificate.revoke", certificate, actor, reason=reason)
    db.session.commit()


def by_code(code: str) -> Certificate | None:
    if not tokens.well_formed(code):
        return None
    return tokens.pick(
        db.session.scalars(select(Certificate).where(tokens.matches(Certificate.code, code))), "code", code
    )


# ---- the PDF -----------------------------------------------------------------------


def _assets(workshop: Workshop) -> tuple[list, list]:
    """The workshop's own logos/signatories, else its programme's."""
    available: list[CertificateAsset] = assets_of(workshop)
    assets = [a for a in available if a.workshop_id == workshop.id] or [
        a for a in available if a.workshop_id != workshop.id
    ]
    logos = [pdf.image_data_uri(a.image, a.content_type) for a in assets if a.kind == "logo" and a.image]
    signatories = [
        {
            "name_en": a.name_en,
            "name_zh": a.name_zh,
            "title_en": a.title_en,
            "title_zh": a.title_zh,
            "signature": pdf.image_data_uri(a.image, a.content_type) if a.image else None,
        }
        for a in assets
        if a.kind == "signatory"
    ]
    return logos, signatories


def name_size(name: str) -> str:
    """Long names shrink so the certificate stays one page."""
    width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in name)
    return "xl" if width <= 16 else "l" if width <= 28 else "m" if width <= 44 else "s"


def _context(certificate: Certificate, verify_url: str, logos, signatories) -> dict:
    registration = certificate.registration
    return {
        "certificate": certificate,
        "registration": registration,
        "workshop": registration.workshop,
        "verify_url": verify_url,
        "qr": pdf.png_data_uri(tickets.qr_matrix_png(verify_url)),
        "logos": logos,
        "signatories": signatories,
        "name_class": name_size(registration.full_name),
    }


def _document(certificates: list[Certificate]):
    pages, cache = [], {}
    for certificate in certificates:
        workshop = certificate.registration.workshop
        if workshop.id not in cache:
            cache[workshop.id] = _assets(workshop)
        url = external_url("certificates.verify", code=certificate.code)
        pages.append(_context(certificate, url, *cache[workshop.id]))
    return pdf.render_document(render_template("certificates/certificate.html", pages=pages))


def render(certificates: list[Certificate]) -> bytes:
    """One PDF of one or many certificates (many in one document is much cheaper per page)."""
    return _document(certificates).write_pdf()


def pdf_of(certificate: Certificate) -> bytes:
    """The person's PDF, rendered once and kept."""
    if certificate.pdf is None:
        certificate.pdf = render([certificate])
        db.session.commit()
    return certificate.pdf


CHUNK = 50


def set_rules(workshop: Workshop, *, min_sessions: int | None, requires_survey: bool, actor) -> None:
    """The workshop's certificate rules: sessions to attend (None: all onsite, one online) and
    whether the survey is required too."""
    workshop.certificate_min_sessions = min_sessions
    workshop.certificate_requires_survey = requires_survey
    audit.record("certificate.settings", workshop, actor, min_sessions=min_sessions, survey=requires_survey)
    db.session.commit()


def last_batch(workshop: Workshop, *, finished: bool = False) -> Job | None:
    """The workshop's latest certificate batch (``finished``: the latest one that is done)."""
    query = select(Job).where(Job.workshop_id == workshop.id, Job.kind == JobKind.CERTIFICATES)
    if finished:
        query = query.where(Job.status == JobStatus.DONE)
    return db.session.scalar(query.order_by(Job.id.desc()).limit(1))


def queue_batch(workshop: Workshop, actor):
    """Issue and render every eligible person's certificate in the background.

    The chunks are shared out between ``CERTIFICATE_WORKERS`` tasks, so a batch uses
    every worker process (the layout is CPU-bound).
    """
    people = db.session.scalars(
        select(Registration.id)
        .where(Registration.workshop_id == workshop.id, Registration.status == RegistrationStatus.CONFIRMED)
        .order_by(Registration.id)
    ).all()
    job = Job(
        kind=JobKind.CERTIFICATES,
        status=JobStatus.QUEUED,
        workshop_id=workshop.id,
        created_by_id=getattr(actor, "id", None),
        total=len(people),
        payload={"registrations": people},
    )
    db.session.add(job)
    db.session.flush()
    audit.record("certificate.batch", workshop, actor, people=len(people))
    db.session.commit()
    jobs.dispatch(job)
    return job


def _part_name(index: int) -> str:
    return f"part-{index:06d}.pdf"


def run_batch(job_id: int, part: int = 0, parts: int = 1) -> None:
    """Render this task's share of the chunks: issue, lay out 50 pages as one document,
    keep the chunk (for the merged PDF) and each page (the person's own PDF).

    Memory stays bounded by the chunk. A chunk's file marks it done, so a restarted
    worker resumes where it stopped and no chunk is rendered twice.
    """
    job = db.session.get(Job, job_id)
    if job is None or job.finished:
        return
    people = job.payload["registrations"]
    chunks = [people[i : i + CHUNK] for i in range(0, len(people), CHUNK)]
    if job.status == JobStatus.QUEUED:
        job.status = JobStatus.RUNNING
        db.session.commit()
    for index in range(part, len(chunks), parts):
        done = db.session.scalar(
            select(JobFile.id).where(JobFile.job_id == job_id, JobFile.name == _part_name(index))
        )
        if done is not None:
            continue
        people = [db.session.get(Registration, rid) for rid in chunks[index]]
        issued = [c for c in (issue_if_eligible(p) for p in people if p is not None) if c]  # None: erased
        valid = [c for c in issued if c.valid]
        data = b""
        if valid:
            # One layout for the chunk: written whole (the merged download joins these parts)
            # and page by page (each person's own PDF, with only their glyphs embedded).
            document = _document(valid)
            data = document.write_pdf()
            for certificate, page in zip(valid, document.pages, strict=True):
                certificate.pdf = document.copy([page]).write_pdf()
            del document
        db.session.add(
            JobFile(job_id=job_id, name=_part_name(index), content_type="application/pdf", data=data)
        )
        try:
            db.session.flush()
        except IntegrityError:  # another run of this job finished the chunk first: keep theirs
            db.session.rollback()
            continue
        db.session.execute(
            Job.__table__.update()
            .where(Job.id == job_id)
            .values(done=Job.done + len(chunks[index]), heartbeat_at=utcnow())
        )
        db.session.commit()
        db.session.expunge_all()  # keep the session (and memory) small between chunks
    _finish_batch(job_id, len(chunks))


def _finish_batch(job_id: int, chunk_count: int) -> None:
    """The last task to finish marks the job done (the job row is locked to decide)."""
    lock_for_update(db.session, Job.__table__, Job.id == job_id)
    job = db.session.scalars(
        select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    files = db.session.execute(
        select(func.count()).select_from(JobFile).where(JobFile.job_id == job_id)
    ).scalar_one()
    if job.finished or files < chunk_count:
        db.session.commit()
        return
    count = db.session.execute(
        select(func.count())
        .select_from(Certificate)
        .join(Registration)
        .where(Registration.workshop_id == job.workshop_id, Certificate.revoked_at.is_(None))
    ).scalar_one()
    job.status = JobStatus.DONE
    job.result = {"issued": count, "not_eligible": job.total - count}
    job.finished_at = utcnow()
    db.session.commit()


def workshop_certificates(workshop: Workshop) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .join(Registration)
            .where(
                Registration.workshop_id == workshop.id,
                Certificate.revoked_at.is_(None),
                Certificate.withdrawn_at.is_(None),  # the holder's data were erased at their request
            )
            .order_by(Certificate.serial)
        )
    )


def zip_of(certificates: list[Certificate]):
    """A ZIP with one PDF per person, named by serial and name, written to a temporary file."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
        for certificate in certificates:
            safe = "".join(
                ch for ch in certificate.registration.full_name if ch.isalnum() or ch in " -_"
            ).strip()
            archive.writestr(f"{certificate.serial} {safe}.pdf", pdf_of(certificate))
    spool.seek(0)
    return spool


def merged_pdf(job) -> bytes:
    """The batch's certificates as one PDF, joined from its chunk files (no re-rendering)."""
    from pypdf import PdfWriter  # only here, like WeasyPrint in services.pdf (memory)

    writer = PdfWriter()
    ids = db.session.scalars(select(JobFile.id).where(JobFile.job_id == job.id).order_by(JobFile.name)).all()
    for file_id in ids:
        data = db.session.get_one(JobFile, file_id).data  # one file in memory at a time
        if data:  # a chunk where nobody had earned a certificate is empty
            writer.append(io.BytesIO(data))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@jobs.carried_out_by(JobKind.CERTIFICATES, split=True)
@shared_task(name="certificates.generate", ignore_result=True, acks_late=True)
def generate_certificates_task(job_id: int, part: int = 0, parts: int = 1) -> None:
    run_batch(job_id, part, parts)


@shared_task(name="certificates.issue_due", ignore_result=True)
def issue_due_task() -> int:
    """Beat: issue (and announce) the certificates earned at workshops that have ended."""
    return issue_due()
