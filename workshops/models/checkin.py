from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .tokens import new_token, selector_index

if TYPE_CHECKING:  # only for the relationships' types; the mapper resolves them by name
    from .workshop import Workshop


class CheckInLink(Base):
    """A volunteer's way in: scan for one workshop, no account, until it expires or is revoked."""

    __tablename__ = "checkin_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    label: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    workshop: Mapped[Workshop] = relationship()  # noqa: F821

    def usable_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and moment < self.expires_at


class ScanLog(Base):
    """Every scan attempt, failed ones too: what was presented, where, and what the answer was."""

    __tablename__ = "scan_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # When the device scanned (may be earlier than received, for offline scans).
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("session.id", ondelete="CASCADE"))
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id", ondelete="SET NULL"))
    # The first characters only: enough to trace a bad scan, useless to forge one.
    token_hint: Mapped[str] = mapped_column(String(12), default="")
    reason: Mapped[str] = mapped_column(String(30))
    method: Mapped[str] = mapped_column(String(20), default="qr")
    device: Mapped[str] = mapped_column(String(100), default="")
    client_nonce: Mapped[str] = mapped_column(String(64), default="")
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    by_link_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_link.id", ondelete="SET NULL"))


selector_index("ix_checkin_link_token_selector", CheckInLink.token)
