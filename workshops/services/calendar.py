"""Calendar files (.ics) so people can put a workshop in their phone's calendar, and calendars
that already hold it can update it.

Each event keeps one UID for life (a session's from its id, a workshop without sessions from the
workshop's), and every file carries the workshop's ``calendar_sequence``, raised by
``record_change`` whenever what the file says changes: a calendar replaces the event it holds
with the same UID and a higher SEQUENCE. A removed session's event is kept as a
``CancelledCalendarEvent`` and sent as ``STATUS:CANCELLED`` under its old UID with the next change
notice; a cancelled workshop's events are all CANCELLED. Every file is ``METHOD:PUBLISH`` (no
organiser or attendee list: the file describes the event, it invites nobody), and is declared
with ``CONTENT_TYPE`` wherever it is sent or downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event
from sqlalchemy import delete, select

from ..extensions import db
from ..models import CancelledCalendarEvent, Session, Workshop, WorkshopStatus
from ..models.base import utcnow

METHOD = "PUBLISH"
CONTENT_TYPE = f"text/calendar; charset=utf-8; method={METHOD}"


@dataclass(frozen=True)
class EventDetails:
    """What one calendar event says, in both languages (compared to see whether it changed)."""

    summary_en: str
    summary_zh: str
    starts_at: datetime
    ends_at: datetime
    location: str
    description_en: str
    description_zh: str


def session_uid(session: Session) -> str:
    return f"session-{session.id}@workshops"


def workshop_uid(workshop: Workshop) -> str:
    return f"workshop-{workshop.id}@workshops"


def sequence(workshop: Workshop) -> int:
    """The SEQUENCE of the workshop's events; cancelling (for good) is one change more."""
    return workshop.calendar_sequence + (1 if workshop.status == WorkshopStatus.CANCELLED else 0)


def _location(workshop: Workshop, room: str = "") -> str:
    return ", ".join(part for part in (room, workshop.venue, workshop.city) if part) or "Online"


def events(workshop: Workshop) -> dict[str, EventDetails]:
    """The workshop's calendar events by UID: one per session, or one for the whole workshop."""

    def summary(language: str, session: Session | None) -> str:
        title = workshop.localized("title", language)
        return f"{title} — {session.localized('title', language)}" if session else title

    def details(part: Session | Workshop, session: Session | None, room: str) -> EventDetails:
        return EventDetails(
            summary_en=summary("en", session),
            summary_zh=summary("zh", session),
            starts_at=part.starts_at.astimezone(UTC),
            ends_at=part.ends_at.astimezone(UTC),
            location=_location(workshop, room),
            description_en=workshop.localized("description", "en"),
            description_zh=workshop.localized("description", "zh"),
        )

    if not workshop.sessions:
        return {workshop_uid(workshop): details(workshop, None, "")}
    return {session_uid(s): details(s, s, s.room) for s in workshop.sessions}


def record_change(workshop: Workshop, before: dict[str, EventDetails]) -> bool:
    """After a change (in the caller's transaction): raise the SEQUENCE if the events changed,
    and keep the events that are gone, to be sent as cancelled. Returns whether they changed.

    ``before`` is ``events(workshop)`` taken before the change. A draft's events were never
    sent to anyone, so nothing of theirs is kept."""
    db.session.flush()
    db.session.expire(workshop, ["sessions"])  # the agenda as the database now holds it
    after = events(workshop)
    if after == before:
        return False
    # Counted by the database: two changes saved at once each raise it (each calendar update counts).
    workshop.calendar_sequence = Workshop.calendar_sequence + 1
    # An event that is back (the whole workshop's, once its last session is removed) is no longer cancelled.
    db.session.execute(delete(CancelledCalendarEvent).where(CancelledCalendarEvent.uid.in_(list(after))))
    if workshop.status != WorkshopStatus.DRAFT:
        for uid in before.keys() - after.keys():
            gone = before[uid]
            db.session.add(
                CancelledCalendarEvent(
                    workshop_id=workshop.id,
                    uid=uid,
                    summary_en=gone.summary_en[:600],
                    summary_zh=gone.summary_zh[:600],
                    starts_at=gone.starts_at,
                    ends_at=gone.ends_at,
                )
            )
    return True


def workshop_ics(workshop: Workshop, url: str, language: str = "en", with_removed: bool = False) -> bytes:
    """An iCalendar file of the workshop's events; ``with_removed`` adds the removed sessions'
    events as cancelled (a change notice's file: the calendar drops what it held)."""
    calendar = Calendar()
    calendar.add("prodid", "-//workshops//EN")
    calendar.add("version", "2.0")
    calendar.add("method", METHOD)
    stamp, number = utcnow(), sequence(workshop)
    cancelled = workshop.status == WorkshopStatus.CANCELLED
    for uid, details in events(workshop).items():
        event = _event(uid, details, language, stamp, number, cancelled)
        event.add("description", f"{getattr(details, f'description_{language}')}\n\n{url}".strip())
        event.add("url", url)
        calendar.add_component(event)
    if with_removed:
        removed = db.session.scalars(
            select(CancelledCalendarEvent)
            .where(CancelledCalendarEvent.workshop_id == workshop.id)
            .order_by(CancelledCalendarEvent.id)
        )
        for gone in removed:
            summary = getattr(gone, f"summary_{language}") or gone.summary_en or gone.summary_zh
            details = EventDetails(summary, summary, gone.starts_at, gone.ends_at, "", "", "")
            calendar.add_component(_event(gone.uid, details, language, stamp, number, True))
    return calendar.to_ical()


def _event(uid: str, details: EventDetails, language: str, stamp, number: int, cancelled: bool) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("sequence", number)
    event.add("dtstart", details.starts_at)
    event.add("dtend", details.ends_at)
    event.add("summary", getattr(details, f"summary_{language}") or details.summary_en)
    if details.location:
        event.add("location", details.location)
    if cancelled:
        event.add("status", "CANCELLED")
    return event
