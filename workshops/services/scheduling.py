"""Scheduling: coordinators plan workshops, their agenda and programmes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
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
from . import audit, calendar, change_notices, outbox, registration, reminders
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
    sends_reminders: bool = True
    reminder_days_before: int = 1
    reminder_hour: int = 18


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
    errors.update(_reminder_problems(details, errors))
    if errors:
        raise InvalidInput(errors)


def _reminder_problems(details: WorkshopDetails, errors: dict) -> dict:
    """Reminder settings that say no moment before the workshop (checked even when reminders are
    off, so turning them on later cannot store a time the database refuses)."""
    problems = {}
    if not 0 <= details.reminder_days_before <= reminders.MAX_DAYS_BEFORE:
        problems["reminder_days_before"] = _l("Between 0 and %(most)s days.", most=reminders.MAX_DAYS_BEFORE)
    if not 0 <= details.reminder_hour <= 23:
        problems["reminder_hour"] = _l("An hour between 0 and 23.")
    if problems or not details.sends_reminders or "timezone" in errors or "starts_at" in errors:
        return problems
    moment = reminders.reminder_moment(
        details.starts_at, details.timezone, details.reminder_days_before, details.reminder_hour
    )
    if moment >= details.starts_at:
        problems["reminder_hour"] = _l(
            "The reminder would go out after the workshop starts: choose an earlier hour or more days."
        )
    return problems


def _check_programme_of(details: WorkshopDetails, actor) -> None:
    """A coordinator limited to programmes schedules only in theirs (and always in one)."""
    if actor is not None and not actor.sees_programme(details.programme_id):
        raise InvalidInput({"programme_id": _l("Choose one of your programmes.")})


def create_workshop(details: WorkshopDetails, actor) -> Workshop:
    """Create a draft workshop. Rule: details must pass ``check_workshop``, in a programme the
    actor sees."""
    check_workshop(details)
    _check_programme_of(details, actor)
    workshop = Workshop(**asdict(details), status=WorkshopStatus.DRAFT)
    db.session.add(workshop)
    db.session.flush()
    audit.record("workshop.create", workshop, actor)
    db.session.commit()
    return workshop


def update_workshop(
    workshop: Workshop, details: WorkshopDetails, actor, notify: bool | None = None
) -> Workshop:
    """Change a workshop's details; the agenda must still fit inside its dates.

    Seats added by a capacity increase go to the waiting list at once. A change of time, place or
    meeting link of a published workshop needs ``notify`` decided (``change_notices.settle``).
    """
    check_workshop(details)
    _check_programme_of(details, actor)
    workshop = registration.lock_workshop(workshop.id)
    outside = [s for s in workshop.sessions if s.starts_at < details.starts_at or s.ends_at > details.ends_at]
    if outside:
        raise InvalidInput({"starts_at": _l("Some sessions fall outside these dates; move them first.")})
    events, before = calendar.events(workshop), change_notices.snapshot(workshop)
    changed = {}
    for name, value in asdict(details).items():
        if getattr(workshop, name) != value:
            changed[name] = str(value)
            setattr(workshop, name, value)
    audit.record("workshop.update", workshop, actor, changed=sorted(changed))
    promoted = [r for mode in workshop.modes for r in registration.promote_waitlist(workshop, mode)]
    calendar.record_change(workshop, events)
    told = change_notices.settle(workshop, before, actor, notify)
    db.session.commit()
    if promoted or told:
        outbox.kick()
    return workshop


def _details_of(workshop: Workshop) -> WorkshopDetails:
    return WorkshopDetails(**{name: getattr(workshop, name) for name in WorkshopDetails.__dataclass_fields__})


def _on_the_wall(moment: datetime, zone, by: timedelta) -> datetime:
    """The moment ``by`` later on the venue's clock: a 09:00 session moved by a day is at 09:00
    the next day, also when the clocks change in between (then it is 23 or 25 hours later)."""
    return (moment.astimezone(zone).replace(tzinfo=None) + by).replace(tzinfo=zone)


def move_workshop(workshop: Workshop, new_start: datetime, actor, notify: bool | None = None) -> Workshop:
    """Move a workshop to a new start in one step: its end, every session and the registration
    window move with it, by the same time on the venue's clock.

    Rules: the new start and every moved time must each be one moment on the venue's clock (not
    in an hour the clocks skip or repeat); the registration opening stays where it is once it has
    passed (people registering now can go on); the result must pass ``check_workshop``. A
    published workshop's people are told, or not, as ``notify`` says (``change_notices.settle``).
    """
    if workshop.status == WorkshopStatus.CANCELLED:
        raise NotAllowed(_l("A cancelled workshop cannot be moved."))
    zone = workshop.zone
    new_start = new_start.replace(tzinfo=zone) if new_start.tzinfo is None else new_start.astimezone(zone)
    if not 2000 <= new_start.year <= 2999:  # and the moved times stay within what a date can hold
        raise InvalidInput({"starts_at": _l("Choose a start between the years 2000 and 2999.")})
    problem = wall_clock_problem(new_start)
    if problem:
        raise InvalidInput({"starts_at": problem})
    workshop = registration.lock_workshop(workshop.id)
    by = new_start.replace(tzinfo=None) - workshop.starts_at.astimezone(zone).replace(tzinfo=None)

    def moved(moment: datetime) -> datetime:
        return _on_the_wall(moment, zone, by)

    opens = workshop.registration_opens_at
    details = replace(
        _details_of(workshop),
        starts_at=moved(workshop.starts_at),
        ends_at=moved(workshop.ends_at),
        registration_opens_at=opens if opens is None or opens <= utcnow() else moved(opens),
        registration_closes_at=(
            moved(workshop.registration_closes_at) if workshop.registration_closes_at else None
        ),
    )
    sessions = {s.id: (moved(s.starts_at), moved(s.ends_at)) for s in workshop.sessions}
    try:
        check_workshop(details)
    except InvalidInput as error:
        raise InvalidInput({"starts_at": next(iter(error.errors.values()))}) from None
    for session in workshop.sessions:
        for when in sessions[session.id]:
            if wall_clock_problem(when):
                raise InvalidInput(
                    {
                        "starts_at": _l(
                            "The session “%(title)s” would fall in an hour the venue's clocks skip or"
                            " repeat: choose another start.",
                            title=session.title,
                        )
                    }
                )
    if by == timedelta(0):
        db.session.rollback()  # nothing to move: the lock goes
        return workshop
    events, before = calendar.events(workshop), change_notices.snapshot(workshop)
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        setattr(workshop, name, getattr(details, name))
    for session in workshop.sessions:
        session.starts_at, session.ends_at = sessions[session.id]
    audit.record(
        "workshop.move",
        workshop,
        actor,
        old_start=before.starts_at.isoformat(),
        new_start=details.starts_at.isoformat(),
        sessions=len(sessions),
    )
    calendar.record_change(workshop, events)
    told = change_notices.settle(workshop, before, actor, notify)
    db.session.commit()
    if told:
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


def _check_session(workshop: Workshop, details: SessionDetails, within_dates: bool = True) -> None:
    errors = {}
    for field in ("starts_at", "ends_at"):
        problem = wall_clock_problem(getattr(details, field))
        if problem:
            errors[field] = problem
    if not details.title_en.strip() and not details.title_zh.strip():
        errors["title_en"] = _l("Give the session a title in English or Chinese.")
    if details.ends_at <= details.starts_at:
        errors["ends_at"] = _l("The session must end after it starts.")
    elif within_dates and (details.starts_at < workshop.starts_at or details.ends_at > workshop.ends_at):
        errors["starts_at"] = _l("The session must take place within the workshop's dates.")
    if errors:
        raise InvalidInput(errors)


def _locked_agenda(workshop_id: int) -> Workshop:
    """The workshop, locked, with its agenda as it is now: two agenda changes saved at once are
    compared (and told) one after the other."""
    workshop = registration.lock_workshop(workshop_id)
    db.session.expire(workshop, ["sessions"])
    return workshop


def add_session(workshop: Workshop, details: SessionDetails, actor, notify: bool | None = None) -> Session:
    """Add a part of the agenda; it must lie within the workshop's dates (one far outside them
    is a typo more often than a plan). Telling people: as ``update_workshop``."""
    _check_session(workshop, details)
    workshop = _locked_agenda(workshop.id)
    events, before = calendar.events(workshop), change_notices.snapshot(workshop)
    session = Session(workshop=workshop, **asdict(details))
    db.session.add(session)
    db.session.flush()
    audit.record("session.create", session, actor, workshop_id=workshop.id)
    calendar.record_change(workshop, events)
    told = change_notices.settle(workshop, before, actor, notify)
    db.session.commit()
    if told:
        outbox.kick()
    return session


def _dates_around_agenda(workshop: Workshop, old_first: datetime, old_last: datetime) -> None:
    """The workshop's dates after a session moved: they stretch to hold the agenda, and a start
    (or end) that was the agenda's first start (last end) follows it. So sessions can be moved
    one by one, each save a whole change, without widening the dates first and shrinking after.
    A shrinking end stays after the registration's close."""
    first = min(s.starts_at for s in workshop.sessions)
    last = max(s.ends_at for s in workshop.sessions)
    start = first if first < workshop.starts_at or workshop.starts_at == old_first else workshop.starts_at
    end = last if last > workshop.ends_at or workshop.ends_at == old_last else workshop.ends_at
    closes = workshop.registration_closes_at
    if closes is not None and end < closes:
        end = max(last, min(workshop.ends_at, closes))
    workshop.starts_at, workshop.ends_at = start, end


def update_session(session: Session, details: SessionDetails, actor, notify: bool | None = None) -> Session:
    """Change a part of the agenda. Moved outside the workshop's dates, the dates follow it
    (``_dates_around_agenda``). Telling people: as ``update_workshop``."""
    _check_session(session.workshop, details, within_dates=False)
    workshop = _locked_agenda(session.workshop_id)
    events, before = calendar.events(workshop), change_notices.snapshot(workshop)
    old_first = min(s.starts_at for s in workshop.sessions)
    old_last = max(s.ends_at for s in workshop.sessions)
    for name, value in asdict(details).items():
        setattr(session, name, value)
    _dates_around_agenda(workshop, old_first, old_last)
    if (workshop.starts_at, workshop.ends_at) != (before.starts_at, before.ends_at):
        try:
            check_workshop(_details_of(workshop))
        except InvalidInput:
            db.session.rollback()  # nothing of the refused change stays in the session
            raise
    audit.record("session.update", session, actor, workshop_id=session.workshop_id)
    calendar.record_change(workshop, events)
    told = change_notices.settle(workshop, before, actor, notify)
    db.session.commit()
    if told:
        outbox.kick()
    return session


def delete_session(session: Session, actor, notify: bool | None = None) -> None:
    """Remove a part of the agenda; calendars that hold it are sent it as cancelled with the next
    change notice. Telling people: as ``update_workshop``."""
    workshop = _locked_agenda(session.workshop_id)
    events, before = calendar.events(workshop), change_notices.snapshot(workshop)
    audit.record("session.delete", session, actor, workshop_id=session.workshop_id, title=session.title_en)
    workshop.sessions.remove(session)
    calendar.record_change(workshop, events)
    told = change_notices.settle(workshop, before, actor, notify)
    db.session.commit()
    if told:
        outbox.kick()


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
