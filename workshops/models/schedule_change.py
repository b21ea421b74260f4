"""What a change to a published workshop's time or place told the people registered, and the
calendar events it took away (so their calendars can be told too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

# What only one mode's people are told: the way in they use (the meeting link is private to
# registered online participants, the room and the venue matter to those who come).
ONSITE_ONLY = frozenset({"venue", "city", "session_room"})
ONLINE_ONLY = frozenset({"meeting_url"})


@dataclass(frozen=True)
class ChangedItem:
    """One line of a change notice, ready for a template: times as aware datetimes."""

    what: str  # workshop_time, venue, city, meeting_url, session_time, session_room, session_added, ...
    title: str = ""  # the session's, in the reader's language
    old: object = None
    new: object = None
    room: str = ""


def _moments(value):
    """[start, end] ISO strings back to datetimes; other values as they are."""
    if isinstance(value, list):
        return tuple(datetime.fromisoformat(part) for part in value)
    return value


class ChangeNotice(Base):
    """A change of time, place or meeting link the registered people were told about (one save).

    The outbox renders each email from this row at delivery, in the person's language: the
    workshop itself holds only the new details by then.
    """

    __tablename__ = "change_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    # [{"what": ..., "title_en": ..., "title_zh": ..., "old": ..., "new": ...}], times in UTC ISO.
    items: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def items_for(self, mode: str | None, language: str) -> list[ChangedItem]:
        """What a person attending in ``mode`` is told, in ``language`` (no mode: everything)."""
        hidden = {"onsite": ONLINE_ONLY, "online": ONSITE_ONLY}.get(str(mode), frozenset())
        other = "en" if language == "zh" else "zh"
        return [
            ChangedItem(
                what=item["what"],
                title=item.get(f"title_{language}") or item.get(f"title_{other}") or "",
                old=_moments(item.get("old")),
                new=_moments(item.get("new")),
                room=item.get("room", "") if mode != "online" else "",
            )
            for item in self.items
            if item["what"] not in hidden
        ]


class CancelledCalendarEvent(Base):
    """A calendar event people may hold that no longer takes place (a removed session): the next
    calendar file sent with a change notice carries it as CANCELLED under its old UID."""

    __tablename__ = "cancelled_calendar_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    summary_en: Mapped[str] = mapped_column(String(600), default="")
    summary_zh: Mapped[str] = mapped_column(String(600), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
