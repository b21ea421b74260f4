from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class SentReminder(Base):
    """A reminder written to one person about one start (services.reminders).

    Unique per person, kind and the start it was about: two sweeps racing write it once, and a
    workshop or session moved to another time can be reminded of again.
    """

    __tablename__ = "sent_reminder"
    __table_args__ = (UniqueConstraint("registration_id", "kind", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50))  # EmailKind.REMINDER or SESSION_REMINDER
    # The session an hour-before reminder was about (none for the day before).
    session_id: Mapped[int | None] = mapped_column(ForeignKey("session.id", ondelete="SET NULL"))
    # The workshop's (or session's) start as it was when reminded of.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
