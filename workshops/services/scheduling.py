"""Scheduling: coordinators plan workshops, their agenda and programmes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    EmailKind,
    Programme,
    Registration,
    RegistrationStatus,
    Session,
    Workshop,
    WorkshopFormat,
    WorkshopStatus,
)
from ..models.base import utcnow
from . import audit, outbox, registration
from .errors import InvalidInput, NotAllowed

# The zones the workshop form offers: where the programme's workshops take place or are run from.
# Each is tested to exist in the zone database (there is no "Europe/Geneva": Switzerland is Zurich).
TIMEZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Bangkok", "Europe/Zurich", "UTC")
MAX_CAPACITY = 100_000  # seats of one mode: far above any hall, far below the database's integer


@dataclass
class WorkshopDetails:
    """Everything a coordinator types in to describe a workshop. Times are aware."""

    title_en: str
    starts_at: datetime
    ends_at: datetime
    format: WorkshopFormat
    title_zh: str = ""
    description_en: str = ""
    description_zh: str = ""
    city: str = ""
    venue: str = ""
    meeting_url: str = ""
    timezone: str = "Asia/Shanghai"
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    onsite_capacity: int = 0
    online_capacity: int = 0
    approval_required: bool = False
    asks_email_and_mobile: bool = False
    confirm_contact: bool = True
    training_hours: Decimal = Decimal("0")
    programme_id: int | None = None


@dataclass
class SessionDetails:
    title_en: str
    starts_at: datetime
    ends_at: datetime
    title_zh: str = ""
    room: str = ""


@dataclass
class ProgrammeDetails:
    code: str
    name_en: str
    name_zh: str = ""
    description_en: str = ""
    description_zh: str = ""


def wall_clock_problem(value: datetime | None):
    """Why a time typed on a venue's clock is not one moment: it falls in the hour the clocks skip
    (it would silently move by an hour) or in the hour they repeat (it would be one of two)."""
    if value is None or value.tzinfo is None:
        return None
    there = value.replace(tzinfo=None)
    if value.astimezone(UTC).astimezone(value.tzinfo).replace(tzinfo=None) != there:
        return _l("This time does not exist on the venue's clock (the clocks go forward then).")
    if value.replace(fold=0).utcoffset() != value.replace(fold=1).utcoffset():
        return _l("This time happens twice on the venue's clock (the clocks go back then): choose another.")
    return None


def check_workshop(details: WorkshopDetails) -> None:
    """Refuse workshop details that cannot describe a real event."""
    errors = {}
    for field in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        problem = wall_clock_problem(getattr(details, field))
        if problem:
            errors[field] = problem
    if not details.title_en.strip() and not details.title_zh.strip():
        errors["title_en"] = _l("Give the workshop a title in English or Chinese.")
    if details.ends_at <= details.starts_at:
        errors["ends_at"] = _l("The workshop must end after it starts.")
    for field in ("onsite_capacity", "online_capacity"):
        if not 0 <= getattr(details, field) <= MAX_CAPACITY:
            errors[field] = _l("Between 0 and %(most)s seats.", most=f"{MAX_CAPACITY:,}")
    if details.training_hours < 0:
        errors["training_hours"] = _l("Training hours cannot be negative.")
    if details.registration_closes_at and details.registration_closes_at > details.ends_at:
        errors["registration_closes_at"] = _l("Registration must close before the workshop ends.")
    if (
        details.registration_opens_at
        and details.registration_closes_at
        and details.registration_opens_at >= details.registration_closes_at
    ):
        errors["registration_opens_at"] = _l("Registration must open before it closes.")
    if details.format in (WorkshopFormat.ONLINE, WorkshopFormat.HYBRID) and details.meeting_url:
        if not details.meeting_url.startswith(("https://", "http://")):
            errors["meeting_url"] = _l("The meeting link must start with https://")
    try:
        ZoneInfo(details.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = _l("Unknown time zone.")
    if details.programme_id is not None and db.session.get(Programme, details.programme_id) is None:
        errors["programme_id"] = _l("Unknown programme.")
    if errors:
        raise InvalidInput(errors)


def create_workshop(details: WorkshopDetails, actor) -> Workshop:
    """Create a draft workshop. Rule: details must pass ``check_workshop``."""
    check_workshop(details)
    workshop = Workshop(**asdict(details), status=WorkshopStatus.DRAFT)
    db.session.add(workshop)
    db.session.flush()
    audit.record("workshop.create", workshop, actor)
    db.session.commit()
    return workshop


def update_workshop(workshop: Workshop, details: WorkshopDetails, actor) -> Workshop:
    """Change a workshop's details; the agenda must still fit inside its dates.

    Seats added by a capacity increase go to the waiting list at once.
    """
    check_workshop(details)
    workshop = registration.lock_workshop(workshop.id)
    outside = [s for s in workshop.sessions if s.starts_at < details.starts_at or s.ends_at > details.ends_at]
    if outside:
        raise InvalidInput({"starts_at": _l("Some sessions fall outside these dates; move them first.")})
    changed = {}
    for name, value in asdict(details).items():
        if getattr(workshop, name) != value:
            changed[name] = str(value)
            setattr(workshop, name, value)
    audit.record("workshop.update", workshop, actor, changed=sorted(changed))
    promoted = [r for mode in workshop.modes for r in registration.promote_waitlist(workshop, mode)]
    db.session.commit()
    if promoted:
        outbox.kick()
    return workshop


def duplicate_workshop(workshop: Workshop, actor) -> Workshop:
    """Copy a workshop and its agenda as a new draft (to plan the next edition)."""
    copy = Workshop(
        **{name: getattr(workshop, name) for name in WorkshopDetails.__dataclass_fields__},
        status=WorkshopStatus.DRAFT,
    )
    copy.title_en = f"{workshop.title_en} (copy)" if workshop.title_en else ""
    copy.title_zh = f"{workshop.title_zh}（副本）" if workshop.title_zh else ""
    copy.sessions = [
        Session(
            title_en=s.title_en, title_zh=s.title_zh, starts_at=s.starts_at, ends_at=s.ends_at, room=s.room
        )
        for s in workshop.sessions
    ]
    db.session.add(copy)
    db.session.flush()
    audit.record("workshop.duplicate", copy, actor, source_id=workshop.id)
    db.session.commit()
    return copy


def publish_workshop(workshop: Workshop, actor) -> Workshop:
    """Make a draft visible on the public list. A cancelled workshop stays cancelled."""
    if workshop.status == WorkshopStatus.CANCELLED:
        raise NotAllowed(_l("A cancelled workshop cannot be published again; duplicate it instead."))
    # Every mode the format offers needs seats: an onsite workshop with no onsite seat fills nobody.
    if workshop.format != WorkshopFormat.ONLINE and workshop.onsite_capacity == 0:
        raise NotAllowed(_l("Set the onsite seats before publishing."))
    if workshop.format != WorkshopFormat.ONSITE and workshop.online_capacity == 0:
        raise NotAllowed(_l("Set the online seats before publishing."))
    workshop.status = WorkshopStatus.PUBLISHED
    audit.record("workshop.publish", workshop, actor)
    db.session.commit()
    return workshop


REASON_LIMIT = 1000  # characters of a cancellation reason, per language


def people_to_tell(workshop: Workshop) -> int:
    """How many people cancelling the workshop would tell: its active registrations but the holds
    nobody confirmed (they are dropped without a word, as an expired hold is)."""
    return (
        db.session.scalar(
            select(func.count()).where(
                Registration.workshop_id == workshop.id,
                Registration.active_clause(),
                Registration.status != RegistrationStatus.UNVERIFIED,
            )
        )
        or 0
    )


def check_cancellation(workshop: Workshop, reason_en: str, reason_zh: str) -> None:
    """Refuse a cancellation without a reason (it is what everyone registered is told), a second
    one, and one after the workshop took place (who came keeps their attendance and certificate)."""
    if workshop.status == WorkshopStatus.CANCELLED:
        raise NotAllowed(_l("This workshop is already cancelled; everyone registered was told then."))
    if workshop.ends_at <= utcnow():
        raise NotAllowed(_l("This workshop has ended; it can no longer be cancelled."))
    reason_en, reason_zh = reason_en.strip(), reason_zh.strip()
    errors = {}
    if not reason_en and not reason_zh:
        errors["reason_en"] = _l("Give the reason, in English or Chinese: everyone registered is told it.")
    for field, text in (("reason_en", reason_en), ("reason_zh", reason_zh)):
        if len(text) > REASON_LIMIT:
            errors[field] = _l("Use at most %(n)d characters.", n=REASON_LIMIT)
    if errors:
        raise InvalidInput(errors)


def cancel_workshop(workshop: Workshop, actor, reason_en: str = "", reason_zh: str = "") -> int:
    """Cancel a workshop, with the reason in English and/or Chinese; returns how many were told.

    In one transaction: every active registration is cancelled, each person is told once in their
    language with the reason (email, and a text where SMS is set up), the messages not yet sent
    to them are withdrawn (a confirmation, a survey link, an announcement), and the audit log
    records it. Holds nobody confirmed are dropped and erased, as an expired hold is. There is no
    undo: the workshop stays visible, marked cancelled, and takes no registrations; a second
    cancellation is refused, and so is one after the workshop has ended. Tickets then answer
    ``workshop_cancelled`` and join links stop.
    """
    reason_en, reason_zh = reason_en.strip(), reason_zh.strip()
    workshop = registration.lock_workshop(workshop.id)  # no seat decision runs meanwhile
    try:
        check_cancellation(workshop, reason_en, reason_zh)  # again under the lock: once only
    except (InvalidInput, NotAllowed):
        db.session.rollback()
        raise
    workshop.status = WorkshopStatus.CANCELLED
    workshop.cancellation_reason_en, workshop.cancellation_reason_zh = reason_en, reason_zh
    workshop.cancelled_at = utcnow()
    people = db.session.scalars(
        select(Registration)
        .where(Registration.workshop_id == workshop.id, Registration.active_clause())
        .order_by(Registration.id)
    ).all()
    holds = [person for person in people if person.status == RegistrationStatus.UNVERIFIED]
    told = [person for person in people if person.status != RegistrationStatus.UNVERIFIED]
    for person in people:
        person.status = RegistrationStatus.CANCELLED
        person.decision_reason = "Workshop cancelled"
        person.holds_seat = False
        person.hold_expires_at = None
    ids = [person.id for person in people]
    outbox.withdraw_unsent(ids)  # before the one message each of them is now sent
    for person in told:
        outbox.queue_registration_email(person, EmailKind.WORKSHOP_CANCELLED)
    audit.record(
        "workshop.cancel",
        workshop,
        actor,
        reason_en=reason_en,
        reason_zh=reason_zh,
        registrations=ids,
        told=len(told),
    )
    if holds:
        registration.never_confirmed.send(workshop, people=holds)
    db.session.commit()
    outbox.kick()
    return len(told)


def _check_session(workshop: Workshop, details: SessionDetails) -> None:
    errors = {}
    for field in ("starts_at", "ends_at"):
        problem = wall_clock_problem(getattr(details, field))
        if problem:
            errors[field] = problem
    if not details.title_en.strip() and not details.title_zh.strip():
        errors["title_en"] = _l("Give the session a title in English or Chinese.")
    if details.ends_at <= details.starts_at:
        errors["ends_at"] = _l("The session must end after it starts.")
    elif details.starts_at < workshop.starts_at or details.ends_at > workshop.ends_at:
        errors["starts_at"] = _l("The session must take place within the workshop's dates.")
    if errors:
        raise InvalidInput(errors)


def add_session(workshop: Workshop, details: SessionDetails, actor) -> Session:
    """Add a part of the agenda; it must lie within the workshop's dates."""
    _check_session(workshop, details)
    session = Session(workshop=workshop, **asdict(details))
    db.session.add(session)
    db.session.flush()
    audit.record("session.create", session, actor, workshop_id=workshop.id)
    db.session.commit()
    return session


def update_session(session: Session, details: SessionDetails, actor) -> Session:
    _check_session(session.workshop, details)
    for name, value in asdict(details).items():
        setattr(session, name, value)
    audit.record("session.update", session, actor, workshop_id=session.workshop_id)
    db.session.commit()
    return session


def delete_session(session: Session, actor) -> None:
    audit.record("session.delete", session, actor, workshop_id=session.workshop_id, title=session.title_en)
    db.session.delete(session)
    db.session.commit()


def _check_programme(details: ProgrammeDetails, current: Programme | None = None) -> None:
    errors = {}
    code = details.code.strip().upper()
    if not code or not code.replace("-", "").isalnum() or len(code) > 16:
        errors["code"] = _l("Use up to 16 letters or digits for the code, e.g. QA.")
    else:
        clash = db.session.execute(db.select(Programme).filter_by(code=code)).scalar_one_or_none()
        if clash is not None and clash is not current:
            errors["code"] = _l("Another programme already uses this code.")
    if not details.name_en.strip() and not details.name_zh.strip():
        errors["name_en"] = _l("Give the programme a name in English or Chinese.")
    if errors:
        raise InvalidInput(errors)


def save_programme(details: ProgrammeDetails, actor, programme: Programme | None = None) -> Programme:
    """Create or rename a programme; codes are unique (they prefix certificate serials)."""
    _check_programme(details, programme)
    if programme is None:
        programme = Programme()
        db.session.add(programme)
    programme.code = details.code.strip().upper()
    programme.name_en = details.name_en.strip()
    programme.name_zh = details.name_zh.strip()
    programme.description_en = details.description_en
    programme.description_zh = details.description_zh
    db.session.flush()
    audit.record("programme.save", programme, actor)
    db.session.commit()
    return programme
