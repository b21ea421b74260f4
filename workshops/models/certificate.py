from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .tokens import new_token, selector_index

if TYPE_CHECKING:  # only for the relationships' types; the mapper resolves them by name
    from .registration import Registration


class Certificate(Base):
    """A certificate of attendance: a serial for people, a random code for verification."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), unique=True
    )
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    # Random, not derived from the serial: certificates cannot be enumerated.
    code: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    # The holder asked to be forgotten: the certificate no longer vouches for anyone, and the
    # verify page says so without a name (services.privacy.erase).
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    granted_by_hand: Mapped[bool] = mapped_column(Boolean, default=False)
    grant_reason: Mapped[str] = mapped_column(Text, default="")
    # The rendered PDF, kept so downloads and ZIPs never re-render (cleared when details change).
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    registration: Mapped[Registration] = relationship()  # noqa: F821

    @property
    def valid(self) -> bool:
        return self.revoked_at is None and self.withdrawn_at is None

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class SerialCounter(Base):
    """The last serial number used per prefix and year (QA-2026-000123), locked while issuing."""

    __tablename__ = "serial_counter"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class CertificateAsset(Base):
    """A logo or a signatory (name, title, signature image) for a programme's or a workshop's certificates."""

    __tablename__ = "certificate_asset"
    __table_args__ = (
        CheckConstraint("kind IN ('logo', 'signatory')", name="kind_known"),
        CheckConstraint("programme_id IS NOT NULL OR workshop_id IS NOT NULL", name="has_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="CASCADE"), index=True
    )
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    title_en: Mapped[str] = mapped_column(String(200), default="")
    title_zh: Mapped[str] = mapped_column(String(200), default="")
    image: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(40), default="image/png")


selector_index("ix_certificate_code_selector", Certificate.code)
