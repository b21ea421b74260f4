"""Registration: seats per mode never exceeded, a waiting list, approval, emails through the outbox.

Every decision that depends on free seats locks the workshop row first and
counts after locking, so concurrent submissions cannot confirm more people than
there are seats (``lock_workshop``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from blinker import Namespace
from celery import shared_task
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only

from ..extensions import db
from ..models import (
    AttendanceMode,
    EmailKind,
    Gender,
    OrganisationType,
    Registration,
    RegistrationSource,
    RegistrationStatus,
    Workshop,
    WorkshopStatus,
    tokens,
)
from ..models.base import lock_for_update, utcnow
from ..models.tokens import new_token
from . import audit, confirmation_links, contacts, outbox, places, sms
from .errors import InvalidInput, NotAllowed

Status = RegistrationStatus
# How long an unverified public registration holds its place (the email link is valid as long).
HOLD_FOR = timedelta(minutes=30)
# "Already registered" sends the person's email again at most this often (no mail-bombing).
RESEND_AT_MOST_EVERY = timedelta(hours=1)
# Where a public registration comes from: these need their email link followed (if the workshop
# asks); staff-made ones (walk-ins, imports) do not.
PUBLIC_SOURCES = (RegistrationSource.WEB, RegistrationSource.API)
# Sent with the registrations cancelled before anyone showed their address was theirs (holds that
# expired, registrations cancelled as spam): whoever typed them in may have typed a stranger's
# details, so privacy (which builds on this module) erases them in the same transaction rather
# than keeping them for the retention period.
never_confirmed = Namespace().signal("registrations-never-confirmed")
LIMITS = {
    "full_name": 200,
    "latin_name": 200,
    "email": 254,
    "mobile": 40,
    "organisation": 300,
    "job_title": 200,
    "city": 100,
    "needs": 1000,
}


@dataclass
class Applicant:
    """What a person gives when registering (from the form, the API, an import or a walk-in)."""

    full_name: str = ""
    email: str = ""
    mode: str = ""
    latin_name: str = ""
    mobile: str = ""
    organisation: str = ""
    organisation_type: str = OrganisationType.OTHER.value
    job_title: str = ""
    gender: str = Gender.UNDISCLOSED.value
    city: str = ""  # free text: "other / outside mainland China", or a place to match
    province: str = ""  # the province chosen in a form (places.OTHER for "other")
    place_code: str = ""  # the city (or province) chosen, a GB/T 2260 code (services.places)
    needs: str = ""
    language: str = "en"
    consent: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Applicant:
        """Build from any mapping of strings, ignoring unknown keys and trimming text."""
        values: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if name in data and data[name] is not None:
                value = data[name]
                values[name] = value.strip() if isinstance(value, str) else value
        return cls(**values)


class UnknownWorkshop(NotAllowed):
    """No workshop (or only a draft, which the public must not see) has this id."""


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    PENDING = "pending"
    UNVERIFIED = "unverified"  # held until the email link is followed
    ALREADY_REGISTERED = "already_registered"


@dataclass
class RegistrationResult:
    registration: Registration
    outcome: Outcome
    promoted: list[Registration] = field(default_factory=list)


@dataclass(frozen=True)
class Contact:
    """How to reach a person, as registrations store it: a lower-cased email, an E.164 mobile;
    either may be "" but not both."""

    email: str = ""
    mobile: str = ""


def usable_mobile(number: str) -> str:
    """The number as stored (E.164), or "" if it cannot be a mobile (for lookups before checking)."""
    try:
        return contacts.normalise_mobile(number[: LIMITS["mobile"]])
    except contacts.InvalidMobile:
        return ""


@lru_cache(maxsize=1024)  # checked before the duplicate lookup and again with the rest
def normalised_email(address: str) -> str:
    """The address as registrations store it (lower case, normalised), or "" if it is not one."""
    if not address or len(address) > LIMITS["email"]:
        return ""
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return ""


def same_name(registered: str, typed: str) -> bool:
    """Names as people type them: case and spaces do not matter (“Li Hua”, “lihua”, “李 华”)."""
    return "".join(registered.split()).casefold() == "".join((typed or "").split()).casefold()


def check_applicant(applicant: Applicant, workshop: Workshop, require_consent: bool = True) -> Contact:
    """Refuse details that cannot make a registration; returns the normalised contact.

    The one place where registration input is judged, whatever the channel. A person is
    reached by email or by text message: one of the two is needed, both if the workshop asks.
    """
    errors = {}
    if not applicant.full_name:
        errors["full_name"] = _l("Enter your full name.")
    for name, limit in LIMITS.items():
        if len(getattr(applicant, name) or "") > limit:
            errors[name] = _l("Use at most %(n)d characters.", n=limit)
    email = mobile = ""
    if applicant.email and "email" not in errors:
        email = normalised_email(contacts.nfkc(applicant.email))
        if not email:
            errors["email"] = _l("Enter a valid email address, like name@example.com.")
    if applicant.mobile and "mobile" not in errors:
        try:
            mobile = contacts.normalise_mobile(applicant.mobile)
        except contacts.InvalidMobile as why:
            errors["mobile"] = why.args[0]
    if workshop.asks_email_and_mobile:
        if not applicant.email:
            errors["email"] = _l("Enter your email address.")
        if not applicant.mobile:
            errors["mobile"] = _l("Enter your mobile number.")
    elif not applicant.email and not applicant.mobile:
        errors["email"] = _l("Enter an email address or a mobile number: we send your ticket there.")
    if applicant.mode not in workshop.modes:
        errors["mode"] = (
            _l("Choose onsite or online.")
            if len(workshop.modes) > 1
            else _l("This workshop is %(format)s only.", format=workshop.format.label)
        )
    if applicant.organisation_type not in {t.value for t in OrganisationType}:
        errors["organisation_type"] = _l("Choose the type of your organisation.")
    if applicant.gender not in {g.value for g in Gender}:
        errors["gender"] = _l("Choose one of the options (or prefer not to say).")
    if applicant.language not in ("en", "zh"):
        errors["language"] = _l("Choose English or Chinese.")
    if require_consent and not applicant.consent:
        errors["consent"] = _l("Please agree to the privacy notice to register.")
    try:
        place = places.resolve(applicant.province, applicant.place_code, applicant.city)
    except InvalidInput as error:
        errors.update(error.errors)
    if errors:
        raise InvalidInput(errors)
    # Stored as resolved: the division, and free text only where the list has none.
    applicant.place_code, applicant.city = place
    return Contact(email, mobile)


# What a registration takes from the applicant as it was checked, when made and when corrected
# (email, mobile, mode and the vocabularies are normalised on the way).
COPIED_AS_GIVEN = (
    "full_name",
    "latin_name",
    "organisation",
    "job_title",
    "city",
    "place_code",
    "needs",
    "language",
)


def lock_workshop(workshop_id: int) -> Workshop:
    """Lock the workshop row for the rest of this transaction and return it fresh."""
    lock_for_update(db.session, Workshop.__table__, Workshop.id == workshop_id)
    # NO KEY UPDATE: rows that merely reference the workshop (scan log, registrations of
    # other transactions) can still be inserted meanwhile; seat decisions still queue.
    query = select(Workshop).where(Workshop.id == workshop_id).with_for_update(key_share=True)
    return db.session.scalars(query.execution_options(populate_existing=True)).one()


# What a seat decision reads from the workshop: re-read under the lock, the rest need not be.
SEAT_RULES = (
    "status",
    "format",
    "onsite_capacity",
    "online_capacity",
    "approval_required",
    "confirm_contact",
    "registration_opens_at",
    "registration_closes_at",
    "ends_at",
)


_LOCK_FOR_SEAT_DECISION = (
    select(Workshop)
    .options(load_only(*(getattr(Workshop, name) for name in SEAT_RULES)))
    .where(Workshop.id == bindparam("workshop_id"))
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


def lock_for_seat_decision(workshop: Workshop) -> None:
    """``lock_workshop`` for a workshop already loaded: lock it and re-read only ``SEAT_RULES``
    (into the same object: the session has one object per row)."""
    lock_for_update(db.session, Workshop.__table__, Workshop.id == workshop.id)
    db.session.execute(_LOCK_FOR_SEAT_DECISION, {"workshop_id": workshop.id}).scalar_one()


# The two queries every registration makes, built once: building a statement and its
# cache key costs more CPU than PostgreSQL spends running it.
_WORKSHOP_AND_ACTIVE = (
    select(Workshop, Registration.id)  # the registration itself is loaded only if there is one
    .options(load_only(*(getattr(Workshop, name) for name in SEAT_RULES)))  # not the long texts
    .outerjoin(
        Registration,
        (Registration.workshop_id == Workshop.id)
        & Registration.active_clause()
        & Registration.same_contact_clause(bindparam("email"), bindparam("mobile")),
    )
    .where(Workshop.id == bindparam("workshop_id"))
    .execution_options(populate_existing=True)
)
_SEATS_HELD = (
    select(func.count())
    .select_from(Registration)
    .where(
        Registration.workshop_id == bindparam("workshop_id"),
        Registration.mode == bindparam("mode"),
        Registration.seat_clause(bindparam("now")),
    )
)


def _workshop_and_active(workshop_id: int, contact: Contact) -> tuple[Workshop | None, Registration | None]:
    """The workshop and, if there is one, the active registration of this email or mobile, in
    one query."""
    row = db.session.execute(
        _WORKSHOP_AND_ACTIVE, {"workshop_id": workshop_id, "email": contact.email, "mobile": contact.mobile}
    ).first()
    if row is None:
        return None, None
    workshop, existing_id = row
    return workshop, (db.session.get(Registration, existing_id) if existing_id else None)


def seats_held(workshop: Workshop, mode: str) -> int:
    """Confirmed seats and unexpired holds on a seat (an expired hold no longer counts, swept or not)."""
    return db.session.execute(
        _SEATS_HELD, {"workshop_id": workshop.id, "mode": AttendanceMode(mode), "now": utcnow()}
    ).scalar_one()


def has_free_seat(workshop: Workshop, mode: str) -> bool:
    return seats_held(workshop, mode) < workshop.capacity_for(mode)


def find_active(workshop_id: int, contact: Contact) -> Registration | None:
    """The active registration at this workshop with this email or this mobile, if any."""
    if not (contact.email or contact.mobile):
        return None
    return db.session.scalar(
        select(Registration)
        .where(
            Registration.workshop_id == workshop_id,
            Registration.active_clause(),
            Registration.same_contact_clause(contact.email, contact.mobile),
        )
        .order_by(Registration.id)
        .limit(1)
    )


def registration_closed_reason(workshop: Workshop, now: datetime):
    if workshop.status == WorkshopStatus.CANCELLED:
        return _l("This workshop has been cancelled; registration is closed.")
    if workshop.status != WorkshopStatus.PUBLISHED:
        return _l("This workshop is not open for registration.")
    if workshop.registration_opens_at and now < workshop.registration_opens_at:
        return _l("Registration has not opened yet.")
    if now >= (workshop.registration_closes_at or workshop.ends_at):
        return _l("Registration for this workshop is closed.")
    return None


def _check_open(workshop: Workshop, now: datetime, staff: bool) -> None:
    """Staff (walk-ins, imports) may register outside the registration window, never for a
    cancelled workshop."""
    reason = registration_closed_reason(workshop, now)
    if reason and not (staff and workshop.status != WorkshopStatus.CANCELLED):
        db.session.rollback()
        raise NotAllowed(reason)


def register(
    workshop_id: int,
    applicant: Applicant,
    source: RegistrationSource = RegistrationSource.WEB,
    actor=None,
    now: datetime | None = None,
    notify: bool = True,
    commit: bool = True,
) -> RegistrationResult:
    """Register a person: confirmed if a seat of their mode is free, else waitlisted;
    pending when the workshop needs approval (a walk-in at the door never waits for it).
    One active registration per email.

    Staff (walk-ins, imports) may register outside the registration window. ``notify=False``
    queues no email (an import of the people who came to a workshop that has ended).
    Someone registered already is sent their email again at most hourly, but not from the
    door: a walk-in found under their contact is being let in, not told again.
    ``commit=False``: the caller goes on in the same transaction and commits (a walk-in checked
    in at once); call it first in that transaction (a refusal or a lost race rolls it back).
    """
    result = _register(workshop_id, applicant, source, actor, now or utcnow(), notify)
    if commit:
        db.session.commit()
        outbox.kick()
    return result


def _register(
    workshop_id: int,
    applicant: Applicant,
    source: RegistrationSource,
    actor,
    now: datetime,
    notify: bool,
) -> RegistrationResult:
    """``register`` up to its commit."""
    staff = source in (RegistrationSource.WALK_IN, RegistrationSource.IMPORT)
    public = source in PUBLIC_SOURCES and actor is None
    # Before the lock, in one query: someone already registered needs no seat (the
    # unique index still catches two first attempts racing each other, see below).
    given = Contact(normalised_email(contacts.nfkc(applicant.email)), usable_mobile(applicant.mobile))
    workshop, existing = _workshop_and_active(workshop_id, given)
    if workshop is None or (workshop.status == WorkshopStatus.DRAFT and not staff):
        db.session.rollback()
        raise UnknownWorkshop(_l("This workshop does not exist."))
    contact = check_applicant(applicant, workshop, require_consent=not staff)
    _check_open(workshop, now, staff)
    if (
        existing is not None
        and existing.status == Status.UNVERIFIED
        and staff
        and not _expired(existing)
        # At the door staff see the person, not whose address it is: a walk-in typing an address
        # held under another name (a spammer's hold of it, say) must not confirm that name.
        and (source != RegistrationSource.WALK_IN or same_name(existing.full_name, applicant.full_name))
    ):
        # Staff registering someone whose own hold is still unconfirmed vouch for them: the hold
        # becomes their registration (a nominee who registered online too keeps the place).
        workshop, existing = _locked(existing)
        if existing.status == Status.UNVERIFIED:
            _settle_hold(workshop, existing, approval=source != RegistrationSource.WALK_IN, notify=notify)
            if actor is not None:
                audit.record("registration.create", existing, actor, source=source.value)
            return RegistrationResult(existing, Outcome(existing.status.value))
    if existing is not None and not _expired(existing):
        if notify and source != RegistrationSource.WALK_IN:
            _resend_at_most_hourly(existing)
        return RegistrationResult(existing, Outcome.ALREADY_REGISTERED)

    lock_for_seat_decision(workshop)  # every seat decision of this workshop now waits for ours
    _check_open(workshop, now, staff)  # it may have been cancelled or closed meanwhile
    _expired_count, promoted = _expire_holds_of(workshop)  # their seats pass on before we count
    # Someone who is not staff proves the address is theirs before the place is theirs: until
    # then it is a hold, on a seat if one is free (so nobody else takes it meanwhile).
    # The link goes by email, or by text to someone who gave only a mobile when texts are sent
    # (without SMS such a person cannot be sent one: confirmed at once, within the rate limits).
    hold = public and workshop.confirm_contact and bool(contact.email or sms.sends(EmailKind.CONTACT_CHECK))
    holds_seat = False
    if hold:
        status = Status.UNVERIFIED
        holds_seat = not workshop.approval_required and has_free_seat(workshop, applicant.mode)
    elif workshop.approval_required and source != RegistrationSource.WALK_IN:
        status = Status.PENDING
    elif has_free_seat(workshop, applicant.mode):
        status = Status.CONFIRMED
    else:
        status = Status.WAITLISTED
    registration = Registration(
        workshop_id=workshop.id,
        email=contact.email,
        status=status,
        source=source,
        consent_at=now if applicant.consent else None,
        mode=AttendanceMode(applicant.mode),
        organisation_type=OrganisationType(applicant.organisation_type),
        gender=Gender(applicant.gender),
        mobile=contact.mobile,
        hold_expires_at=utcnow() + HOLD_FOR if hold else None,
        holds_seat=holds_seat,
        **{name: getattr(applicant, name) for name in COPIED_AS_GIVEN},
    )
    db.session.add(registration)
    try:
        db.session.flush()  # the email and the audit event refer to the new id
    except IntegrityError:  # the unique index caught a race the lock should have prevented
        db.session.rollback()
        existing = find_active(workshop_id, contact)
        if existing is None:
            raise
        return RegistrationResult(existing, Outcome.ALREADY_REGISTERED)
    if notify:
        outbox.queue_status_email(registration)
    if actor is not None:
        audit.record("registration.create", registration, actor, source=source.value)
    return RegistrationResult(registration, Outcome(status.value), promoted)


def _expired(registration: Registration) -> bool:
    """An unverified hold past its time: no longer anybody's place, whether swept yet or not."""
    return (
        registration.status == Status.UNVERIFIED
        and registration.hold_expires_at is not None
        and registration.hold_expires_at <= utcnow()
    )


def _resend_at_most_hourly(registration: Registration) -> None:
    """The person's current email again ("already registered"), unless one was queued to them in
    the last hour: registering a victim's address 25 times sends them one email, not 25."""
    if not outbox.written_since(registration, utcnow() - RESEND_AT_MOST_EVERY):
        outbox.queue_status_email(registration)


def _expire_holds_of(workshop: Workshop) -> tuple[int, list[Registration]]:
    """Cancel the workshop's unverified holds whose time is up; seats they held go to the line.

    Call with the workshop locked. No email: the person never confirmed the address (and is erased,
    ``never_confirmed``). Returns how many expired and who was promoted."""
    due = db.session.scalars(
        select(Registration).where(
            Registration.workshop_id == workshop.id,
            Registration.status == Status.UNVERIFIED,
            Registration.hold_expires_at <= utcnow(),
        )
    ).all()
    freed = set()
    for registration in due:
        if registration.holds_seat:
            freed.add(registration.mode)
        registration.status = Status.CANCELLED
        registration.decision_reason = "Email not confirmed within 30 minutes"
        registration.holds_seat = False
        registration.hold_expires_at = None
    if due:
        never_confirmed.send(workshop, people=due)
        db.session.flush()  # before a new registration of the same address is inserted
    return len(due), [person for mode in sorted(freed) for person in promote_waitlist(workshop, mode)]


def expire_holds() -> int:
    """The sweep: cancel every unverified hold past its time, one workshop at a time (the seat
    decisions count expired holds as free anyway; this passes their seats to the waiting list)."""
    workshop_ids = db.session.scalars(
        select(Registration.workshop_id)
        .where(Registration.status == Status.UNVERIFIED, Registration.hold_expires_at <= utcnow())
        .distinct()
    ).all()
    expired = 0
    promoted = False
    for workshop_id in workshop_ids:
        count, people = _expire_holds_of(lock_workshop(workshop_id))
        db.session.commit()  # one workshop at a time: each lock is short
        expired += count
        promoted = promoted or bool(people)
    if promoted:
        outbox.kick()
    return expired


LINK_EXPIRED = _l(
    "This confirmation link has expired and the place was not kept. Register again if seats are free."
)


class LinkNotValid(NotAllowed):
    """The email link is unknown, forged, or its hold has expired."""


def confirm_contact(token: str) -> Registration:
    """The person followed the link in their email: the hold becomes their registration.

    Confirmed if it held a seat (or one is free now), else on the waiting list; pending when the
    workshop needs approval. Then the usual email (ticket, waiting list, pending) follows. A link
    followed twice answers the same; an expired one asks the person to register again. Refused
    when the workshop was cancelled (or unpublished) meanwhile."""
    registration = confirmation_links.registration_for_token(token)
    if registration is None:
        raise LinkNotValid(_l("This confirmation link is not valid. Register again from the workshop page."))
    workshop, registration = _locked(registration)
    if registration.status != Status.UNVERIFIED:
        db.session.rollback()
        if registration.is_active:
            return registration  # confirmed already (the link was opened twice)
        raise LinkNotValid(LINK_EXPIRED)
    if _expired(registration):
        _count, promoted = _expire_holds_of(workshop)
        db.session.commit()
        if promoted:
            outbox.kick()
        raise LinkNotValid(LINK_EXPIRED)
    if workshop.status != WorkshopStatus.PUBLISHED:
        # Cancelled (or unpublished) since the hold was made: nothing to confirm into. A
        # registration window that closed meanwhile does not count: the hold was made in time.
        db.session.rollback()
        raise NotAllowed(registration_closed_reason(workshop, utcnow()))
    _settle_hold(workshop, registration)
    audit.record("registration.confirm_contact", registration, None, result=registration.status.value)
    db.session.commit()
    outbox.kick()
    return registration


def _settle_hold(
    workshop: Workshop, registration: Registration, approval: bool = True, notify: bool = True
) -> None:
    """An unverified hold becomes a registration: confirmed if it held a seat, or if one is free
    now and nobody of its mode waits for one (the waiting list came first); else waitlisted;
    pending when the workshop needs approval. Its usual email is queued (``notify``).
    Call with the workshop locked."""
    _expire_holds_of(workshop)  # seats of expired holds go to the line before anyone else
    if approval and workshop.approval_required:
        status = Status.PENDING
    elif registration.holds_seat or (
        not _anyone_waits(workshop, registration.mode) and has_free_seat(workshop, registration.mode)
    ):
        status = Status.CONFIRMED
    else:
        status = Status.WAITLISTED
    registration.status = status
    registration.holds_seat = False
    registration.hold_expires_at = None
    if notify:
        outbox.queue_status_email(registration)


def _anyone_waits(workshop: Workshop, mode: str) -> bool:
    return bool(
        db.session.scalar(
            select(
                select(Registration.id)
                .where(
                    Registration.workshop_id == workshop.id,
                    Registration.mode == AttendanceMode(mode),
                    Registration.status == Status.WAITLISTED,
                )
                .exists()
            )
        )
    )


def cancel_as_spam(workshop: Workshop, registration_ids: list[int], actor) -> int:
    """Cancel many registrations of one workshop as spam, in one transaction: no email to them
    (unsent ones are withdrawn too), one audit event, and the seats they held pass on to the line.
    Their people are erased (``never_confirmed``): staff judged them not real registrations.

    Only active registrations of this workshop are touched; others among the ids are ignored."""
    if not registration_ids:
        raise InvalidInput({"registrations": _l("Select the registrations to cancel as spam.")})
    workshop = lock_workshop(workshop.id)
    chosen = db.session.scalars(
        select(Registration).where(
            Registration.workshop_id == workshop.id,
            Registration.id.in_(registration_ids),
            Registration.active_clause(),
        )
    ).all()
    freed = set()
    for registration in chosen:
        if _takes_seat(registration):
            freed.add(registration.mode)
        registration.status = Status.CANCELLED
        registration.decision_reason = "Cancelled as spam"
        registration.holds_seat = False
        registration.hold_expires_at = None
    ids = [registration.id for registration in chosen]
    outbox.withdraw_unsent(ids)
    audit.record("registration.cancel_spam", workshop, actor, registrations=ids, count=len(ids))
    never_confirmed.send(workshop, people=list(chosen))
    db.session.flush()
    for mode in sorted(freed):
        promote_waitlist(workshop, mode)
    db.session.commit()
    outbox.kick()
    return len(ids)


def _takes_seat(registration: Registration) -> bool:
    return registration.status == Status.CONFIRMED or (
        registration.status == Status.UNVERIFIED and registration.holds_seat and not _expired(registration)
    )


def promote_waitlist(workshop: Workshop, mode: str) -> list[Registration]:
    """Confirm the earliest waitlisted people of a mode while seats are free.

    Call with the workshop locked; each promoted person is emailed.
    """
    promoted: list[Registration] = []
    free = workshop.capacity_for(mode) - seats_held(workshop, mode)
    if free <= 0 or workshop.status == WorkshopStatus.CANCELLED:
        return promoted
    line = db.session.scalars(
        select(Registration)
        .where(
            Registration.workshop_id == workshop.id,
            Registration.mode == mode,
            Registration.status == Status.WAITLISTED,
        )
        .order_by(Registration.created_at, Registration.id)
        .limit(free)
    )
    for registration in line:
        registration.status = Status.CONFIRMED
        outbox.queue_registration_email(registration, EmailKind.PROMOTED)
        promoted.append(registration)
    return promoted


def promote_waiting_lists(now: datetime | None = None) -> int:
    """The sweep behind every other promotion: give free seats to the waiting list of each
    upcoming workshop (a promotion that never happened, e.g. a seat freed by a direct data fix)."""
    now = now or utcnow()
    waiting = db.session.scalars(
        select(Registration.workshop_id)
        .join(Workshop)
        .where(
            Registration.status == Status.WAITLISTED,
            Workshop.status == WorkshopStatus.PUBLISHED,
            Workshop.ends_at > now,
        )
        .distinct()
    ).all()
    promoted = 0
    for workshop_id in waiting:
        workshop = lock_workshop(workshop_id)
        promoted += sum(len(promote_waitlist(workshop, mode)) for mode in workshop.modes)
        db.session.commit()  # one workshop at a time: each lock is short
    if promoted:
        outbox.kick()
    return promoted


def _locked(registration: Registration) -> tuple[Workshop, Registration]:
    workshop = lock_workshop(registration.workshop_id)
    db.session.refresh(registration)
    return workshop, registration


def leave(
    registration: Registration, status: RegistrationStatus, reason: str, actor, **details
) -> list[Registration]:
    """The person no longer takes part (cancelled or declined); a seat they held goes to the line.

    Adds to the current transaction (call it first in it: a refusal rolls back); the caller
    commits, then kicks the outbox. ``cancel`` and ``reject`` do both."""
    workshop, registration = _locked(registration)
    if not registration.is_active:
        db.session.rollback()
        raise NotAllowed(_l("This registration is already cancelled or was declined."))
    held_seat = _takes_seat(registration)
    unverified = registration.status == Status.UNVERIFIED
    registration.status = status
    registration.holds_seat = False
    registration.hold_expires_at = None
    registration.decision_reason = reason
    outbox.withdraw_unsent([registration.id])  # a confirmation not yet out is no longer true
    if not unverified:  # nobody has shown an unverified address is theirs: nothing more goes there
        outbox.queue_status_email(registration)
    audit.record(
        f"registration.{'cancel' if status == Status.CANCELLED else 'reject'}",
        registration,
        actor,
        reason=reason,
        **details,
    )
    return promote_waitlist(workshop, registration.mode) if held_seat else []


def _leave_now(
    registration: Registration, status: RegistrationStatus, reason: str, actor, **details
) -> list[Registration]:
    promoted = leave(registration, status, reason, actor, **details)
    db.session.commit()
    outbox.kick()
    return promoted


def cancel(registration: Registration, actor=None, reason: str = "") -> list[Registration]:
    """Cancel a registration; a freed seat goes to the next person on the waiting list."""
    return _leave_now(
        registration, Status.CANCELLED, reason, actor, by="participant" if actor is None else "staff"
    )


def approve(registration: Registration, actor) -> RegistrationResult:
    """Approve a pending registration: confirmed if a seat is free, else onto the waiting list."""
    workshop, registration = _locked(registration)
    if registration.status != Status.PENDING:
        db.session.rollback()
        raise NotAllowed(_l("Only registrations waiting for approval can be approved."))
    registration.status = (
        Status.CONFIRMED if has_free_seat(workshop, registration.mode) else Status.WAITLISTED
    )
    outbox.queue_status_email(registration)
    audit.record("registration.approve", registration, actor, result=registration.status.value)
    db.session.commit()
    outbox.kick()
    return RegistrationResult(registration, Outcome(registration.status.value))


def reject(registration: Registration, actor, reason: str) -> list[Registration]:
    """Decline a registration with a reason (emailed); a freed seat is passed on."""
    if not reason.strip():
        raise InvalidInput({"reason": _l("Give a reason; it is sent to the person.")})
    return _leave_now(registration, Status.REJECTED, reason.strip(), actor)


def move_up(registration: Registration, actor) -> None:
    """Confirm a waitlisted person ahead of the line (a coordinator's decision), if a seat is free."""
    workshop, registration = _locked(registration)
    if registration.status != Status.WAITLISTED:
        db.session.rollback()
        raise NotAllowed(_l("Only people on the waiting list can be moved up."))
    if not has_free_seat(workshop, registration.mode):
        db.session.rollback()
        raise NotAllowed(
            _l(
                "No %(mode)s seat is free. Raise the capacity first.",
                mode=AttendanceMode(registration.mode).label,
            )
        )
    registration.status = Status.CONFIRMED
    outbox.queue_registration_email(registration, EmailKind.PROMOTED)
    audit.record("registration.move_up", registration, actor)
    db.session.commit()
    outbox.kick()


def switch_mode(registration: Registration, mode: str, actor=None) -> list[Registration]:
    """Move a registration to the other mode if a seat is free there; the old seat is passed on.

    A participant may switch only until the workshop starts (attendance, and the certificate it
    earns, belong to the mode attended in); after that only staff (``actor``) may, audited.
    """
    workshop, registration = _locked(registration)
    if actor is None and workshop.starts_at <= utcnow():
        db.session.rollback()
        raise NotAllowed(
            _l("The workshop has started: the way you attend can no longer be changed. Ask the organisers.")
        )
    if mode not in workshop.modes or mode == registration.mode:
        db.session.rollback()
        raise InvalidInput({"mode": _l("Choose the other attendance mode.")})
    if not registration.is_active:
        db.session.rollback()
        raise NotAllowed(_l("This registration is already cancelled or was declined."))
    if registration.status == Status.UNVERIFIED:
        db.session.rollback()
        raise NotAllowed(_l("Confirm your email address first: follow the link we sent you."))
    old_mode, held_seat = registration.mode, registration.status == Status.CONFIRMED
    if registration.status in (Status.CONFIRMED, Status.WAITLISTED):
        if not has_free_seat(workshop, mode):
            db.session.rollback()
            raise NotAllowed(_l("There is no free seat in that mode. You keep your current place."))
        registration.status = Status.CONFIRMED
    registration.mode = AttendanceMode(mode)
    if workshop.ends_at > utcnow():  # a ticket for an event that is over would only confuse
        outbox.queue_status_email(registration)
    audit.record("registration.switch_mode", registration, actor, mode=mode, old_mode=old_mode.value)
    promoted = promote_waitlist(workshop, old_mode) if held_seat else []
    db.session.commit()
    outbox.kick()
    return promoted


def resend_confirmation(registration: Registration, actor=None) -> None:
    """Send the person's current status email again (lost email, changed phone)."""
    outbox.queue_status_email(registration)
    audit.record("registration.resend", registration, actor)
    db.session.commit()
    outbox.kick()


def update_details(registration: Registration, applicant: Applicant, actor) -> Registration:
    """Staff correct a person's details (name spelling, organisation); seats are unchanged."""
    workshop = registration.workshop
    applicant.mode = registration.mode  # mode changes go through switch_mode (seats)
    contact = check_applicant(applicant, workshop, require_consent=False)
    if registration.is_active:
        _refuse_contact_of_another(registration, contact)
    for name in COPIED_AS_GIVEN:
        setattr(registration, name, getattr(applicant, name))
    registration.organisation_type = OrganisationType(applicant.organisation_type)
    registration.gender = Gender(applicant.gender)
    registration.email, registration.mobile = contact.email, contact.mobile
    audit.record("registration.update", registration, actor)
    try:
        db.session.commit()
    except IntegrityError:  # another registration took it meanwhile
        db.session.rollback()
        _refuse_contact_of_another(registration, contact)
        raise
    return registration


def _refuse_contact_of_another(registration: Registration, contact: Contact) -> None:
    for field_name, value in (("email", contact.email), ("mobile", contact.mobile)):
        other = find_active(registration.workshop_id, Contact(**{field_name: value})) if value else None
        if other is not None and other.id != registration.id:
            message = {
                "email": _l("Another active registration at this workshop uses this email."),
                "mobile": _l("Another active registration at this workshop uses this mobile number."),
            }[field_name]
            raise InvalidInput({field_name: message})


def rotate_ticket(registration: Registration, actor) -> None:
    """Issue a new ticket (lost phone, forwarded email): the old QR code, join link and ticket-page
    link stop working, and the person is emailed the new ones. (Both tokens: a forwarded email
    carries both, and a badge's QR must not lead to the page where a registration is cancelled.)"""
    registration.ticket_token = new_token()
    registration.manage_token = new_token()
    # One transaction: the old QR never stops working without the new one on its way.
    outbox.queue_status_email(registration)
    audit.record("registration.rotate_ticket", registration, actor)
    db.session.commit()
    outbox.kick()


def find_by_manage_token(token: str) -> Registration | None:
    if not tokens.well_formed(token):
        return None
    candidates = db.session.scalars(
        select(Registration).where(tokens.matches(Registration.manage_token, token))
    )
    return tokens.pick(candidates, "manage_token", token)


@shared_task(name="registrations.expire_holds", ignore_result=True)
def expire_holds_task() -> int:
    """Beat: cancel unverified holds past their 30 minutes, so their seats pass on."""
    return expire_holds()


@shared_task(name="registrations.promote_waiting_lists", ignore_result=True)
def promote_waiting_lists_task() -> int:
    """Beat: give free seats to waiting lists not promoted when the seat came free."""
    return promote_waiting_lists()
