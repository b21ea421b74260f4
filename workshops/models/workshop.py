from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, Numeric, String, Text, true
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .enums import WorkshopFormat, WorkshopStatus, enum_column
from .i18n import Bilingual

if TYPE_CHECKING:  # only for the relationships' types; the mapper resolves them by name
    from .programme import Programme


class Workshop(Bilingual, Base):
    """One workshop, training or forum: the unit people register for."""

    __tablename__ = "workshop"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("onsite_capacity >= 0", name="onsite_capacity_not_negative"),
        CheckConstraint("online_capacity >= 0", name="online_capacity_not_negative"),
        CheckConstraint("training_hours >= 0", name="training_hours_not_negative"),
        CheckConstraint(
            "registration_closes_at IS NULL OR registration_closes_at <= ends_at",
            name="registration_closes_before_end",
        ),
        CheckConstraint(
            "registration_opens_at IS NULL OR registration_closes_at IS NULL"
            " OR registration_opens_at < registration_closes_at",
            name="registration_opens_before_close",
        ),
        CheckConstraint("reminder_days_before BETWEEN 0 AND 30", name="reminder_days_before_in_range"),
        CheckConstraint("reminder_hour BETWEEN 0 AND 23", name="reminder_hour_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="SET NULL"), index=True
    )
    title_en: Mapped[str] = mapped_column(String(300))
    title_zh: Mapped[str] = mapped_column(String(300), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_zh: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[WorkshopFormat] = mapped_column(enum_column(WorkshopFormat, "workshop_format"))
    status: Mapped[WorkshopStatus] = mapped_column(
        enum_column(WorkshopStatus, "workshop_status"), default=WorkshopStatus.DRAFT, index=True
    )
    city: Mapped[str] = mapped_column(String(100), default="", index=True)
    venue: Mapped[str] = mapped_column(String(300), default="")
    # Shown only to registered online participants.
    meeting_url: Mapped[str] = mapped_column(String(500), default="")
    # IANA zone the organisers think in; times are stored in UTC.
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    onsite_capacity: Mapped[int] = mapped_column(Integer, default=0)
    online_capacity: Mapped[int] = mapped_column(Integer, default=0)
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Registering needs an email or a mobile number; with this, both.
    asks_email_and_mobile: Mapped[bool] = mapped_column(Boolean, default=False)
    # A public registration (form or API) holds its place only once its email link is followed
    # (seats for real people, no mail-bombing); off for closed nominations.
    confirm_contact: Mapped[bool] = mapped_column(Boolean, default=True)
    training_hours: Mapped[Decimal] = mapped_column(Numeric(5, 1), default=Decimal("0"))
    # Certificates: sessions a person must attend onsite (empty: all) and the survey.
    certificate_min_sessions: Mapped[int | None] = mapped_column(Integer)
    certificate_requires_survey: Mapped[bool] = mapped_column(Boolean, default=False)
    # ... and online: sessions (empty: one), or instead minutes in all (from meeting reports).
    certificate_online_sessions: Mapped[int | None] = mapped_column(Integer)
    certificate_online_minutes: Mapped[int | None] = mapped_column(Integer)
    # Reminders (services.reminders): this many days before the first day, at this hour on the
    # venue's clock, and an hour before each online session; or none when off.
    sends_reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    reminder_days_before: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    reminder_hour: Mapped[int] = mapped_column(Integer, default=18, server_default="18")
    # The calendar files' SEQUENCE: raised whenever what they say changes, so a calendar that holds
    # the events updates them (services.calendar).
    calendar_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Why and when it was cancelled (services.scheduling.cancel_workshop): each person is told in
    # their language, and the public page says it.
    cancellation_reason_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    cancellation_reason_zh: Mapped[str] = mapped_column(Text, default="", server_default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Programme.workshops is declared from this side, so a programme's module need not know workshops.
    programme: Mapped[Programme | None] = relationship(backref=backref("workshops", lazy="select"))
    sessions: Mapped[list[Session]] = relationship(
        back_populates="workshop", cascade="all, delete-orphan", order_by="Session.starts_at"
    )

    @property
    def title(self) -> str:
        return self.localized("title")

    @property
    def description(self) -> str:
        return self.localized("description")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime | None) -> datetime | None:
        """A stored UTC moment as the clock on the venue wall shows it."""
        return moment.astimezone(self.zone) if moment else None

    @property
    def modes(self) -> tuple[str, ...]:
        """Attendance modes this format allows."""
        return {
            WorkshopFormat.ONSITE: ("onsite",),
            WorkshopFormat.ONLINE: ("online",),
            WorkshopFormat.HYBRID: ("onsite", "online"),
        }[self.format]

    def capacity_for(self, mode: str) -> int:
        return self.onsite_capacity if mode == "onsite" else self.online_capacity


class Session(Bilingual, Base):
    """One part of the agenda (Day 1 morning, study tour); attendance is per session."""

    __tablename__ = "session"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    title_en: Mapped[str] = mapped_column(String(200))
    title_zh: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    room: Mapped[str] = mapped_column(String(200), default="")

    workshop: Mapped[Workshop] = relationship(back_populates="sessions")

    @property
    def title(self) -> str:
        return self.localized("title")
