from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .enums import OutboxStatus, enum_column

if TYPE_CHECKING:  # only for the relationships' types; the mapper resolves them by name
    from .registration import Registration
    from .schedule_change import ChangeNotice


class EmailKind(enum.StrEnum):
    """What an outbox email is about; each kind has its subject and template in services.outbox."""

    CONTACT_CHECK = "contact_check"  # the link that turns an unverified hold into a registration
    CONFIRMATION = "confirmation"
    PROMOTED = "promoted"  # a seat came free for someone on the waiting list
    WAITLISTED = "waitlisted"
    PENDING = "pending"  # waiting for a coordinator's approval
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    SURVEY_INVITATION = "survey_invitation"
    SURVEY_REMINDER = "survey_reminder"
    SURVEY_LINK = "survey_link"  # asked for at the room poster: the personal link, sent, never shown
    CERTIFICATE_READY = "certificate_ready"
    ANNOUNCEMENT = "announcement"  # a coordinator's message (written whole, not from a template)
    REMINDER = "reminder"  # before the workshop (services.reminders, written whole when due)
    SESSION_REMINDER = "session_reminder"  # an hour before an online session, with the join link
    WORKSHOP_CHANGED = "workshop_changed"  # the time, place or meeting link changed (old → new)
    WORKSHOP_CANCELLED = "workshop_cancelled"  # the whole workshop is off, with the coordinator's reason


class Channel(enum.StrEnum):
    """How an outbox message reaches the person."""

    EMAIL = "email"  # the recipient is an email address
    SMS = "sms"  # the recipient is a mobile number in E.164 (+8613812345678)


class OutboxMessage(Base):
    """An email or a text message, written in the same transaction as the change that caused it.

    A worker delivers it later with retries, so an SMTP or SMS provider outage loses nothing.
    """

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    channel: Mapped[Channel] = mapped_column(
        enum_column(Channel, "outbox_channel"), default=Channel.EMAIL, server_default=Channel.EMAIL.value
    )
    # The email address, or the E.164 number of a text message.
    recipient: Mapped[str] = mapped_column(String(254))
    # Rendered by the sender, in the recipient's language, just before delivery
    # (a text message has its text in body_text and no subject).
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    # Names of attachments built at delivery time ("ticket_qr", "calendar"),
    # so a rotated ticket is never sent out stale.
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # A WORKSHOP_CHANGED email's content: the change it tells (old → new).
    change_notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("change_notice.id", ondelete="SET NULL"), index=True
    )

    registration: Mapped[Registration | None] = relationship()  # noqa: F821
    change_notice: Mapped[ChangeNotice | None] = relationship()  # noqa: F821
