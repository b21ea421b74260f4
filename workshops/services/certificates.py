"""Certificates of attendance: earned by attendance (and the survey, if asked), verifiable by QR.

Serials are sequential per programme and year (QA-2026-000123): the counter row
is locked while a serial is taken, so two app servers never hand out the same
one; a certificate keeps its serial forever, so regenerating gives the same PDF.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from celery import shared_task
from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
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
from ..models.base import lock_for_share, lock_for_update, utcnow
from ..urls import external_url
from . import audit, certificate_assets, jobs, outbox, pdf, surveys, tickets
from .certificate_assets import assets_of
from .errors import InvalidInput, NotAllowed


@dataclass(frozen=True)
class Rules:
    """What earns a certificate. Onsite: sessions attended at the venue (None: all). Online:
    sessions attended online (None: one) or, if set, minutes online in all (meeting reports
    carry them; a join link alone counts no minutes). And the survey, if asked."""

    onsite_sessions: int | None = None
    online_sessions: int | None = None
    online_minutes: int | None = None
    requires_survey: bool = False

    @classmethod
    def of(cls, workshop: Workshop) -> Rules:
        return cls(
            onsite_sessions=workshop.certificate_min_sessions,
            online_sessions=workshop.certificate_online_sessions,
            online_minutes=workshop.certificate_online_minutes,
            requires_survey=bool(workshop.certificate_requires_survey),
        )

    def apply_to(self, workshop: Workshop) -> None:
        workshop.certificate_min_sessions = self.onsite_sessions
        workshop.certificate_online_sessions = self.online_sessions
        workshop.certificate_online_minutes = self.online_minutes
        workshop.certificate_requires_survey = self.requires_survey

    def progress(self, workshop: Workshop, attended: Attended) -> dict[AttendanceMode, Progress]:
        """How far the person got under each mode's rule, counting only what they attended in it."""
        total = max(len(workshop.sessions), 1)
        onsite = Progress(attended.onsite, min(self.onsite_sessions or total, total), "sessions")
        if self.online_minutes:
            online = Progress(attended.online_minutes, self.online_minutes, "minutes")
        else:
            online = Progress(attended.online, min(self.online_sessions or 1, total), "sessions")
        return {AttendanceMode.ONSITE: onsite, AttendanceMode.ONLINE: online}


@dataclass(frozen=True)
class Attended:
    """What a person's check-ins show: sessions attended in each mode, and minutes online."""

    onsite: int = 0
    online: int = 0
    online_minutes: int = 0

    def modes(self) -> set[AttendanceMode]:
        return {
            mode
            for mode, count in ((AttendanceMode.ONSITE, self.onsite), (AttendanceMode.ONLINE, self.online))
            if count
        }


@dataclass(frozen=True)
class Progress:
    done: int
    needed: int
    unit: str  # "sessions" or "minutes"

    @property
    def met(self) -> bool:
        return self.done >= self.needed


@dataclass
class Eligibility:
    eligible: bool
    attended: int  # sessions attended, in either mode
    required: int  # what the rule of the person's registered mode asks (sessions, or minutes online)
    survey_needed: bool
    survey_done: bool
    certificate: Certificate | None
    ended: bool = True
    # The rule of each mode the person is judged by (registered in, or attended in), and how far they got.
    progress: dict[AttendanceMode, Progress] = field(default_factory=dict)
    # Sessions attended in each mode (whatever the rules count).
    sessions: dict[AttendanceMode, int] = field(default_factory=dict)

    def sessions_in(self, mode: str) -> int:
        return self.sessions.get(AttendanceMode(mode), 0)

    @property
    def attendance_met(self) -> bool:
        return any(p.met for p in self.progress.values())

    @property
    def missing(self) -> list:
        """What the person still lacks, in words."""
        reasons = []
        if not self.ended:
            reasons.append(_l("The workshop has not ended yet: certificates are issued after it."))
        if not self.attendance_met:
            reasons.extend(
                _progress_words(mode, p, alone=len(self.progress) == 1) for mode, p in self.progress.items()
            )
        if self.survey_needed and not self.survey_done:
            reasons.append(_l("The feedback survey is not answered yet."))
        return reasons


def _progress_words(mode: AttendanceMode, progress: Progress, *, alone: bool):
    numbers = {"done": progress.done, "needed": progress.needed}
    if progress.unit == "minutes":
        return _l("Time online: %(done)d of the %(needed)d minutes required.", **numbers)
    if alone:
        return _l("Attendance: %(done)d of the %(needed)d sessions required.", **numbers)
    if mode == AttendanceMode.ONSITE:
        return _l("Attended at the venue: %(done)d of the %(needed)d sessions required.", **numbers)
    return _l("Attended online: %(done)d of the %(needed)d sessions required.", **numbers)


def sessions_required(workshop: Workshop, registration: Registration) -> int:
    """Sessions the rule of the person's registered mode asks for (minutes online: see ``Rules``)."""
    progress = Rules.of(workshop).progress(workshop, Attended())[AttendanceMode(registration.mode)]
    return progress.needed


def _survey(workshop: Workshop) -> Survey | None:
    return db.session.scalar(select(Survey).where(Survey.workshop_id == workshop.id))


def _judge(
    registration: Registration,
    workshop: Workshop,
    rules: Rules,
    survey_needed: bool,
    attended: Attended,
    survey_done: bool,
    certificate: Certificate | None,
) -> Eligibility:
    """The rule itself, on facts already loaded (see ``eligibility``)."""
    every_mode = rules.progress(workshop, attended)
    registered = AttendanceMode(registration.mode)
    judged_by = {registered} | attended.modes()
    progress = {mode: p for mode, p in every_mode.items() if mode in judged_by}
    ended = workshop.ends_at <= utcnow()
    earned = (
        registration.status == RegistrationStatus.CONFIRMED
        and ended
        and any(p.met for p in every_mode.values())
        and (survey_done or not survey_needed)
    )
    if certificate is not None and certificate.granted_by_hand:
        earned = certificate.valid
    return Eligibility(
        earned,
        attended.onsite + attended.online,
        every_mode[registered].needed,
        survey_needed,
        survey_done,
        certificate,
        ended,
        progress,
        {AttendanceMode.ONSITE: attended.onsite, AttendanceMode.ONLINE: attended.online},
    )


def _eligibilities(
    workshop: Workshop, people: Sequence[Registration], among, rules: Rules | None = None
) -> list[Eligibility]:
    """The eligibility of each of the workshop's ``people``, their facts loaded for all at once
    (under the workshop's rules, or the ``rules`` given: a preview of a change).

    ``among`` names the same people to SQL (their ids, or a query of their ids), so the
    number of queries does not grow with the number of people.
    """
    if not people:
        return []
    rules = rules or Rules.of(workshop)
    attended: dict[int, dict[AttendanceMode, tuple[int, int]]] = {}
    for rid, mode, sessions, minutes in db.session.execute(
        select(
            Attendance.registration_id,
            Attendance.mode,
            func.count(),
            func.coalesce(func.sum(Attendance.minutes), 0),
        )
        .where(Attendance.registration_id.in_(among))
        .group_by(Attendance.registration_id, Attendance.mode)
    ):
        attended.setdefault(rid, {})[AttendanceMode(mode)] = (sessions, int(minutes or 0))

    def facts(rid: int) -> Attended:
        modes = attended.get(rid, {})
        onsite, online = modes.get(AttendanceMode.ONSITE, (0, 0)), modes.get(AttendanceMode.ONLINE, (0, 0))
        return Attended(onsite=onsite[0], online=online[0], online_minutes=int(online[1]))

    survey = _survey(workshop)
    survey_needed = bool(rules.requires_survey and survey is not None and survey.questions)
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
            rules,
            survey_needed,
            facts(person.id),
            person.id in answered,
            issued.get(person.id),
        )
        for person in people
    ]


def eligibility(registration: Registration) -> Eligibility:
    """Whether the person has earned a certificate, and what they still lack.

    Earned once the workshop has ended, when confirmed, with the attendance a mode's rule asks
    for recorded in that mode (an onsite person who switches to online afterwards is still
    judged on the sessions attended at the venue), and the survey answered if the workshop asks
    for it and it has questions; a certificate granted by hand counts instead, until revoked.
    """
    return _eligibilities(registration.workshop, [registration], [registration.id])[0]


def _confirmed(workshop: Workshop):
    return (Registration.workshop_id == workshop.id, Registration.status == RegistrationStatus.CONFIRMED)


def eligibility_of_confirmed(
    workshop: Workshop, rules: Rules | None = None
) -> list[tuple[Registration, Eligibility]]:
    """Every confirmed person of the workshop, in name order, with their eligibility.

    The rule of ``eligibility``, in the same few queries for 5 people or 500.
    """
    confirmed = _confirmed(workshop)
    people = db.session.scalars(select(Registration).where(*confirmed).order_by(Registration.full_name)).all()
    states = _eligibilities(workshop, people, select(Registration.id).where(*confirmed), rules)
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


def _add_certificate(registration: Registration, *, by_hand: bool, reason: str, actor) -> Certificate:
    """A new certificate in the current transaction (the next serial), its email queued."""
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
    return certificate


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
    certificate = _add_certificate(registration, by_hand=by_hand, reason=reason, actor=actor)
    try:
        db.session.commit()
    except IntegrityError:  # issued meanwhile by another worker: use theirs
        db.session.rollback()
        theirs = db.session.scalar(select(Certificate).where(Certificate.registration_id == registration.id))
        if theirs is None:  # another conflict: fail loudly (the job is retried) rather than skip the person
            raise
        return theirs
    return certificate


RULE_FIELDS = (
    "certificate_min_sessions",
    "certificate_online_sessions",
    "certificate_online_minutes",
    "certificate_requires_survey",
)


def _hold_rules(workshop_id: int) -> None:
    """Hold the workshop's certificate rules while judging by them: a change of rules
    (``set_rules``, FOR UPDATE) waits for this transaction, and this one for it, so nobody is
    issued a certificate under rules that its preview no longer lists."""
    lock_for_share(db.session, Workshop.__table__, Workshop.id == workshop_id)
    db.session.expire(db.session.get(Workshop, workshop_id), RULE_FIELDS)


def issue_if_eligible(registration: Registration) -> Certificate | None:
    """Issue the person's certificate if they have earned it (the background job, a coordinator's
    batch: never a participant's download, which only serves one already issued).

    A certificate an earlier change of rules took away comes back once the person earns it
    (their last day recorded late, a meeting report the next morning); one a coordinator
    revoked does not."""
    _hold_rules(registration.workshop_id)
    state = eligibility(registration)
    certificate = state.certificate
    if certificate is not None and not certificate.valid and state.eligible and _regains(certificate):
        certificate.revoked_at, certificate.revoke_reason = None, ""
        audit.record("certificate.restore", certificate, None, reason="earned")
        outbox.queue_registration_email(registration, EmailKind.CERTIFICATE_READY)
        db.session.commit()
        return certificate
    if certificate is not None:
        db.session.commit()  # the lock goes; nothing changed
        return certificate if certificate.valid else None
    if not state.eligible:
        db.session.commit()
        return None
    return issue(registration)


def issued_certificate(registration: Registration) -> Certificate | None:
    """The person's certificate if it has been issued and still vouches for them, else None."""
    certificate = certificate_of(registration)
    return certificate if certificate is not None and certificate.valid else None


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
            # No certificate yet, or one a change of rules took away (it may be earned again).
            ~select(Certificate.id)
            .where(
                Certificate.registration_id == Registration.id,
                or_(Certificate.revoked_at.is_(None), Certificate.revoke_reason != RULE_CHANGED),
            )
            .exists(),
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
    """The logos and signatories on the workshop's certificates: its programme's, then its own."""
    assets: list[CertificateAsset] = assets_of(workshop)
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


@certificate_assets.assets_changed.connect
def _rerender_after_asset_change(_asset, workshop_ids: list[int], actor, **_extra) -> list[Job]:
    """The certificates of these workshops show a logo or signatory that changed: their kept
    PDFs are stale (cleared: a download meanwhile renders afresh), and one job per workshop
    renders them again with its merged PDF. Other workshops' certificates are not touched."""
    if not workshop_ids:
        return []
    of_these = select(Registration.id).where(Registration.workshop_id.in_(workshop_ids))
    db.session.execute(
        Certificate.__table__.update().where(Certificate.registration_id.in_(of_these)).values(pdf=None)
    )
    queued = []
    for workshop_id in workshop_ids:
        holders = db.session.scalars(
            select(Certificate.registration_id)
            .join(Registration)
            .where(
                Registration.workshop_id == workshop_id,
                Certificate.revoked_at.is_(None),
                Certificate.withdrawn_at.is_(None),
            )
            .order_by(Certificate.registration_id)
        ).all()
        if holders:
            job = Job(
                kind=JobKind.CERTIFICATES,
                status=JobStatus.QUEUED,
                workshop_id=workshop_id,
                created_by_id=getattr(actor, "id", None),
                total=len(holders),
                payload={"registrations": list(holders), "rerender": True},
            )
            db.session.add(job)
            queued.append(job)
    db.session.flush()
    return queued


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


# The revocation reason of a certificate the rules no longer earn: such a certificate comes back
# if the rules change back (one revoked by a coordinator's decision does not).
RULE_CHANGED = "rule changed"


@dataclass
class RuleChange:
    """Who would gain or lose a certificate if the workshop's rules became ``rules``."""

    rules: Rules
    gains: list[Registration]
    losses: list[Registration]

    @property
    def changes_anyone(self) -> bool:
        return bool(self.gains or self.losses)

    @property
    def digest(self) -> str:
        """What the coordinator was shown: a confirmation counts only for the same lists."""
        listed = f"{sorted(r.id for r in self.gains)}|{sorted(r.id for r in self.losses)}"
        return hashlib.sha256(listed.encode()).hexdigest()[:32]


def _regains(certificate: Certificate | None) -> bool:
    return certificate is None or (
        certificate.revoked_at is not None and certificate.revoke_reason == RULE_CHANGED
    )


def preview_rules(workshop: Workshop, rules: Rules) -> RuleChange:
    """The people a change of rules would give a certificate (earned now and not before, or
    taken away by an earlier change of rules) and take one from (holders who would not earn it;
    certificates granted by hand are kept). Nothing is changed."""
    now = eligibility_of_confirmed(workshop)
    then = eligibility_of_confirmed(workshop, rules)
    gains, losses = [], []
    for (person, before), (_same, after) in zip(now, then, strict=True):
        certificate = after.certificate
        if after.eligible and not (certificate is not None and certificate.valid):
            if _regains(certificate) and (not before.eligible or certificate is not None):
                gains.append(person)
        elif (
            certificate is not None
            and certificate.valid
            and not certificate.granted_by_hand
            and not after.eligible
        ):
            losses.append(person)
    return RuleChange(rules, gains, losses)


def set_rules(workshop: Workshop, rules: Rules, actor, *, confirmed: str | None = None) -> RuleChange:
    """Change the workshop's certificate rules, and issue or revoke what the change decides.

    When anyone would gain or lose a certificate, nothing is saved unless ``confirmed`` is the
    digest of the preview the coordinator saw (``preview_rules``); a change in between (a
    check-in, a certificate issued) asks again. Rules, certificates issued and certificates
    revoked (reason "rule changed") are one transaction, audited.
    """
    lock_for_update(db.session, Workshop.__table__, Workshop.id == workshop.id)
    db.session.scalars(select(Workshop.id).where(Workshop.id == workshop.id).with_for_update()).one()
    change = preview_rules(workshop, rules)
    if change.changes_anyone and confirmed != change.digest:
        db.session.rollback()
        raise RulesNeedConfirming(change)
    rules.apply_to(workshop)
    audit.record(
        "certificate.settings",
        workshop,
        actor,
        min_sessions=rules.onsite_sessions,
        online_sessions=rules.online_sessions,
        online_minutes=rules.online_minutes,
        survey=rules.requires_survey,
        gains=len(change.gains),
        losses=len(change.losses),
    )
    now = utcnow()
    for person in change.gains:
        certificate = certificate_of(person)
        if certificate is None:
            _add_certificate(person, by_hand=False, reason=RULE_CHANGED, actor=actor)
        else:
            certificate.revoked_at, certificate.revoke_reason = None, ""
            audit.record("certificate.restore", certificate, actor, reason=RULE_CHANGED)
    for person in change.losses:
        certificate = certificate_of(person)
        assert certificate is not None  # a loss is a holder
        certificate.revoked_at, certificate.revoke_reason = now, RULE_CHANGED
        audit.record("certificate.revoke", certificate, actor, reason=RULE_CHANGED)
    try:
        db.session.commit()
    except IntegrityError:  # the background job issued one meanwhile: look again
        db.session.rollback()
        raise RulesNeedConfirming(preview_rules(workshop, rules)) from None
    if change.gains:
        outbox.kick()
    return change


class RulesNeedConfirming(NotAllowed):
    """A change of rules that gives or takes certificates, not (or no longer) confirmed."""

    def __init__(self, change: RuleChange):
        super().__init__(_l("Check who would gain or lose a certificate, then confirm."))
        self.change = change


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
        .where(
            Registration.workshop_id == job.workshop_id,
            Certificate.revoked_at.is_(None),
            Certificate.withdrawn_at.is_(None),
        )
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
