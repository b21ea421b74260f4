"""Calendar files (.ics) so people can put a workshop in their phone's calendar."""

from __future__ import annotations

from icalendar import Calendar, Event

from ..models import Session, Workshop
from ..models.base import utcnow


def workshop_ics(workshop: Workshop, url: str, language: str = "en") -> bytes:
    """An iCalendar file: one event per session, or one for the whole workshop."""
    calendar = Calendar()
    calendar.add("prodid", "-//workshops//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    title = workshop.localized("title", language)
    location = ", ".join(part for part in (workshop.venue, workshop.city) if part) or "Online"
    parts: list[Session | Workshop] = [*workshop.sessions] or [workshop]
    for index, part in enumerate(parts):
        event = Event()
        event.add("uid", f"workshop-{workshop.id}-{index}@workshops")
        event.add("dtstamp", utcnow())
        event.add("dtstart", part.starts_at)
        event.add("dtend", part.ends_at)
        summary = title if part is workshop else f"{title} — {part.localized('title', language)}"
        event.add("summary", summary)
        event.add("location", location)
        event.add("description", f"{workshop.localized('description', language)}\n\n{url}".strip())
        event.add("url", url)
        if workshop.status == "cancelled":
            event.add("status", "CANCELLED")
        calendar.add_component(event)
    return calendar.to_ical()
