from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    literal_column,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnClause

from ..divisions import full_label
from .base import Base, UTCDateTime, utcnow
from .enums import (
    AttendanceMode,
    Gender,
    OrganisationType,
    RegistrationSource,
    RegistrationStatus,
    WorkshopStatus,
    enum_column,
)
from .i18n import current_language
from .tokens import new_token, selector_index

if TYPE_CHECKING:  # only for the relationships' types; the mapper resolves them by name
    from .workshop import Workshop

_ACTIVE = "status IN ('pending', 'confirmed', 'waitlisted', 'unverified')"
# A person may give only an email or only a mobile: "" (none given) is nobody's contact.
_ACTIVE_EMAIL = f"{_ACTIVE} AND email <> ''"
_ACTIVE_MOBILE = f"{_ACTIVE} AND mobile <> ''"


ERASED_EMAIL_DOMAIN = "@invalid"


class Registration(Base):
    """One person at one workshop. Participants never need an account."""

    __tablename__ = "registration"
    __table_args__ = (
        # One active registration per (workshop, email) and per (workshop, mobile); cancelled
        # ones may repeat.
        Index(
            "uq_registration_active_email",
            "workshop_id",
            "email",
            unique=True,
            sqlite_where=text(_ACTIVE_EMAIL),
            postgresql_where=text(_ACTIVE_EMAIL),
        ),
        Index(
            "uq_registration_active_mobile",
            "workshop_id",
            "mobile",
            unique=True,
            sqlite_where=text(_ACTIVE_MOBILE),
            postgresql_where=text(_ACTIVE_MOBILE),
        ),
        Index("ix_registration_line", "workshop_id", "mode", "status", "created_at"),
        UniqueConstraint("manage_token"),
        UniqueConstraint("ticket_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(200))
    # Optional Latin spelling for the certificate (e.g. "Li Hua").
    latin_name: Mapped[str] = mapped_column(String(200), default="")
    # Stored lower-cased so the uniqueness rule ignores case; "" for someone who gave only a mobile.
    email: Mapped[str] = mapped_column(String(254))
    # E.164 (+8613812345678, services.contacts); "" for someone who gave only an email.
    mobile: Mapped[str] = mapped_column(String(40), default="")
    organisation: Mapped[str] = mapped_column(String(300), default="")
    organisation_type: Mapped[OrganisationType] = mapped_column(
        enum_column(OrganisationType, "organisation_type"), default=OrganisationType.OTHER
    )
    job_title: Mapped[str] = mapped_column(String(200), default="")
    gender: Mapped[Gender] = mapped_column(enum_column(Gender, "gender"), default=Gender.UNDISCLOSED)
    # Where the person comes from: a GB/T 2260 division (services.places: a 4-digit city or a
    # 2-digit province), "" for "other / outside mainland China" or text not yet mapped; ``city``
    # keeps free text for those (and, for rows mapped later, the text as it was written).
    place_code: Mapped[str] = mapped_column(String(6), default="", server_default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    mode: Mapped[AttendanceMode] = mapped_column(enum_column(AttendanceMode, "attendance_mode"))
    needs: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(10), default="en")
    status: Mapped[RegistrationStatus] = mapped_column(enum_column(RegistrationStatus, "registration_status"))
    source: Mapped[RegistrationSource] = mapped_column(
        enum_column(RegistrationSource, "registration_source"), default=RegistrationSource.WEB
    )
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    # An unverified (public, email not yet confirmed) registration: until when it holds its
    # place, and whether that place is a seat (it found one free) or only a chance to join the
    # line. Both cleared when the link is followed.
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    holds_seat: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    manage_token: Mapped[str] = mapped_column(String(64), default=new_token)
    ticket_token: Mapped[str] = mapped_column(String(64), default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    workshop: Mapped[Workshop] = relationship()  # noqa: F821

    @property
    def place(self) -> str:
        """Where the person comes from, in the reader's language: the division, else the text."""
        return full_label(self.place_code, current_language()) or self.city

    @property
    def is_active(self) -> bool:
        return self.status in RegistrationStatus.active()

    @hybrid_property
    def erased(self) -> bool:
        """The person was erased (services.privacy): the email is a pseudonym on the reserved
        ``.invalid`` domain (RFC 2606), which reaches nobody and must never be written to."""
        return self.email.endswith(ERASED_EMAIL_DOMAIN)

    @erased.inplace.expression
    @classmethod
    def _erased_expression(cls):
        return cls.email.like(f"%{ERASED_EMAIL_DOMAIN}")

    @property
    def takes_part(self) -> bool:
        """Still has a ticket: active, at a workshop not cancelled. Only then do the person's emails
        and ticket page offer the QR code, the calendar file and the links to change or cancel."""
        return self.is_active and self.workshop.status != WorkshopStatus.CANCELLED

    @classmethod
    def seat_clause(cls, now):
        """Takes a seat of its mode: confirmed, or an unverified hold on a seat not yet expired.

        The one definition of a taken seat (registration decisions and the public seat count): an
        expired hold stops counting at once, whether or not the sweep has cancelled it yet."""
        return or_(
            cls.status == RegistrationStatus.CONFIRMED,
            and_(
                cls.status == RegistrationStatus.UNVERIFIED,
                cls.holds_seat.is_(True),
                cls.hold_expires_at > now,
            ),
        )

    @classmethod
    def active_clause(cls):
        """``status IN ('pending', 'confirmed', 'waitlisted', 'unverified')``, values written into the SQL.

        As bound parameters, PostgreSQL's generic plan for a prepared statement cannot
        prove the partial index ``uq_registration_active_email`` applies, and a duplicate
        check scanned every registration of the workshop (measured: 800 rows for one).
        """
        return cls.status.in_(
            bindparam(
                "active_statuses", list(RegistrationStatus.active()), expanding=True, literal_execute=True
            )
        )

    @classmethod
    def same_contact_clause(cls, email, mobile):
        """Registered under this email or under this mobile (either may be "" or a bound parameter).

        ``<> ''`` is written into the SQL, like the statuses of ``active_clause``: the partial
        unique indexes leave out the empty contact, and a generic plan must see that it may use
        them. An empty value then matches nobody.
        """
        nothing: ColumnClause[str] = literal_column("''")
        return or_(
            and_(cls.email == email, cls.email != nothing),
            and_(cls.mobile == mobile, cls.mobile != nothing),
        )


# Tickets and ticket pages are found by their selector, then compared in constant time (see tokens).
selector_index("ix_registration_manage_token_selector", Registration.manage_token)
selector_index("ix_registration_ticket_token_selector", Registration.ticket_token)
