"""The fixed vocabularies of the domain, with their translated labels."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Enum


class Labelled(enum.StrEnum):
    """A string enum whose members carry a translatable label."""

    @property
    def label(self) -> str:
        return str(self.labels()[self])

    @classmethod
    def labels(cls) -> dict:
        # Each vocabulary below overrides this with its translated labels.
        return {member: member.value for member in cls}

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, label) for member, label in cls.labels().items()]


class WorkshopFormat(Labelled):
    ONSITE = "onsite"
    ONLINE = "online"
    HYBRID = "hybrid"

    @classmethod
    def labels(cls):
        return {cls.ONSITE: _l("Onsite"), cls.ONLINE: _l("Online"), cls.HYBRID: _l("Hybrid")}


class WorkshopStatus(Labelled):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"

    @classmethod
    def labels(cls):
        return {cls.DRAFT: _l("Draft"), cls.PUBLISHED: _l("Published"), cls.CANCELLED: _l("Cancelled")}


class AttendanceMode(Labelled):
    ONSITE = "onsite"
    ONLINE = "online"

    @classmethod
    def labels(cls):
        return {cls.ONSITE: _l("Onsite"), cls.ONLINE: _l("Online")}


class RegistrationStatus(Labelled):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    # A public registration whose email link has not been followed yet: a hold, for at most
    # HOLD_MINUTES, on a seat (or a place in line) that nobody else gets meanwhile.
    UNVERIFIED = "unverified"

    @classmethod
    def labels(cls):
        return {
            cls.UNVERIFIED: _l("Email not confirmed yet (hold)"),
            cls.PENDING: _l("Pending approval"),
            cls.CONFIRMED: _l("Confirmed"),
            cls.WAITLISTED: _l("Waiting list"),
            cls.CANCELLED: _l("Cancelled"),
            cls.REJECTED: _l("Rejected"),
        }

    @classmethod
    def active(cls) -> tuple[RegistrationStatus, ...]:
        """Statuses that hold a place (or a place in line) at the workshop."""
        return (cls.PENDING, cls.CONFIRMED, cls.WAITLISTED, cls.UNVERIFIED)


class RegistrationSource(Labelled):
    WEB = "web"
    WALK_IN = "walk_in"
    IMPORT = "import"
    API = "api"

    @classmethod
    def labels(cls):
        return {
            cls.WEB: _l("Web form"),
            cls.WALK_IN: _l("Walk-in"),
            cls.IMPORT: _l("Import"),
            cls.API: _l("API"),
        }


class OrganisationType(Labelled):
    ENTERPRISE = "enterprise"
    TVET = "tvet"
    GOVERNMENT = "government"
    EMPLOYERS = "employers"
    WORKERS = "workers"
    RESEARCH = "research"
    OTHER = "other"

    @classmethod
    def labels(cls):
        return {
            cls.ENTERPRISE: _l("Enterprise"),
            cls.TVET: _l("TVET institution"),
            cls.GOVERNMENT: _l("Government agency"),
            cls.EMPLOYERS: _l("Employers' organisation"),
            cls.WORKERS: _l("Workers' organisation"),
            cls.RESEARCH: _l("Research / academic"),
            cls.OTHER: _l("Other"),
        }


class Gender(Labelled):
    WOMAN = "woman"
    MAN = "man"
    ANOTHER = "another"
    UNDISCLOSED = "undisclosed"

    @classmethod
    def labels(cls):
        return {
            cls.WOMAN: _l("Woman"),
            cls.MAN: _l("Man"),
            cls.ANOTHER: _l("Another gender"),
            cls.UNDISCLOSED: _l("Prefer not to say"),
        }


class Role(Labelled):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    ORGANISER = "organiser"
    # A ministry department or the donor: programme reports and feedback as aggregates, no
    # personal data at all.
    REPORTER = "reporter"

    @classmethod
    def labels(cls):
        return {
            cls.ADMIN: _l("Administrator"),
            cls.COORDINATOR: _l("Coordinator"),
            cls.ORGANISER: _l("Organiser"),
            cls.REPORTER: _l("Report reader"),
        }


class CheckInMethod(Labelled):
    QR = "qr"
    SEARCH = "search"
    WALK_IN = "walk_in"
    JOIN_LINK = "join_link"
    MEETING_IMPORT = "meeting_import"
    MANUAL = "manual"

    @classmethod
    def labels(cls):
        return {
            cls.QR: _l("QR scan"),
            cls.SEARCH: _l("Search"),
            cls.WALK_IN: _l("Walk-in"),
            cls.JOIN_LINK: _l("Join link"),
            cls.MEETING_IMPORT: _l("Meeting report"),
            cls.MANUAL: _l("Manual"),
        }


class OutboxStatus(Labelled):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"

    @classmethod
    def labels(cls):
        return {cls.PENDING: _l("Waiting to send"), cls.SENT: _l("Sent"), cls.FAILED: _l("Failed")}


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, storing values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )
