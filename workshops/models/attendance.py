from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .enums import AttendanceMode, CheckInMethod, enum_column

if TYPE_CHECKING:  # only for the relationships' types; the mapper resolves them by name
    from .checkin import CheckInLink
    from .registration import Registration
    from .user import User
    from .workshop import Session


class Attendance(Base):
    """A check-in: one registration present at one session, recorded once."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("registration_id", "session_id"),
        CheckConstraint("minutes IS NULL OR minutes >= 0", name="minutes_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by the unique (registration_id, session_id) constraint, whose leading column it is.
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id", ondelete="CASCADE"), index=True)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[CheckInMethod] = mapped_column(enum_column(CheckInMethod, "checkin_method"))
    # How the person attended this session (not how they are registered now): certificates are
    # judged on it, so switching mode afterwards changes nothing (``mode_of``).
    mode: Mapped[AttendanceMode] = mapped_column(enum_column(AttendanceMode, "attendance_mode"))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    by_link_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_link.id", ondelete="SET NULL"))
    device: Mapped[str] = mapped_column(String(100), default="")
    # The same scan sent again (same nonce) is recognised per person and session, so two phones
    # may happen to pick the same nonce: not unique.
    client_nonce: Mapped[str | None] = mapped_column(String(64))
    # From a meeting platform's report: the person's minutes in the session, and the file's name.
    minutes: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(255))

    registration: Mapped[Registration] = relationship()  # noqa: F821
    session: Mapped[Session] = relationship()  # noqa: F821
    by_user: Mapped[User | None] = relationship()  # noqa: F821
    by_link: Mapped[CheckInLink | None] = relationship()  # noqa: F821


# Check-ins that only happen in one place: a ticket scanned, a name found on the scanner or a
# walk-in at the door, a join link or a meeting report online. A coordinator's manual check-in
# takes the registration's mode. (A name search counted as online for someone registered online
# would let one day at the door pass an online rule of one session.)
_METHOD_MODES = {
    CheckInMethod.QR: AttendanceMode.ONSITE,
    CheckInMethod.SEARCH: AttendanceMode.ONSITE,
    CheckInMethod.WALK_IN: AttendanceMode.ONSITE,
    CheckInMethod.JOIN_LINK: AttendanceMode.ONLINE,
    CheckInMethod.MEETING_IMPORT: AttendanceMode.ONLINE,
}


def mode_of(method: CheckInMethod, registered_mode: str) -> AttendanceMode:
    """The mode a check-in by ``method`` was attended in, for a person registered in ``registered_mode``."""
    return _METHOD_MODES.get(CheckInMethod(method), AttendanceMode(registered_mode))
