"""The staff view of a workshop's registrations: counts, filters, search and exports."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import AttendanceMode, OrganisationType, Registration, RegistrationStatus, Workshop
from . import audit
from .errors import InvalidInput
from .spreadsheets import write_csv, write_xlsx

# The filters that name one of a fixed list: anything else is a mistyped link, answered in words
# (compared with an enum column, PostgreSQL would refuse it with an error).
CHOICES = {
    "status": tuple(RegistrationStatus),
    "mode": tuple(AttendanceMode),
    "organisation_type": tuple(OrganisationType),
}


@dataclass
class RosterFilter:
    status: str = ""
    mode: str = ""
    organisation_type: str = ""
    city: str = ""
    q: str = ""

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in ("", *allowed):
                raise InvalidInput({name: _l("This filter has no such value; choose one from the list.")})

    @classmethod
    def from_args(cls, args) -> RosterFilter:
        return cls(**{name: (args.get(name) or "").strip()[:100] for name in cls.__dataclass_fields__})


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def registrations(
    workshop: Workshop, wanted: RosterFilter | None = None, limit: int | None = None
) -> list[Registration]:
    """Registrations of a workshop, filtered and searched (name, email, phone, organisation)."""
    wanted = wanted or RosterFilter()
    query = select(Registration).where(Registration.workshop_id == workshop.id)
    for name in ("status", "mode", "organisation_type", "city"):
        value = getattr(wanted, name)
        if value:
            query = query.where(getattr(Registration, name) == value)
    if wanted.q:
        pattern = f"%{_escape_like(wanted.q.lower())}%"
        digits = "".join(ch for ch in wanted.q if ch.isdigit())
        conditions = [
            func.lower(getattr(Registration, column)).like(pattern, escape="\\")
            for column in ("full_name", "latin_name", "email", "organisation")
        ]
        if len(digits) >= 3:
            conditions.append(
                func.replace(func.replace(Registration.mobile, " ", ""), "-", "").like(f"%{digits}%")
            )
        query = query.where(or_(*conditions))
    return list(db.session.scalars(query.order_by(Registration.created_at, Registration.id).limit(limit)))


# What every staff member of a workshop sees of a person on its registrations page (the page's
# columns): an organiser at the door needs to find and reach people. The rest (gender, job title,
# needs, language, consent) is for those who plan the workshop, in its edit page and export.
SEEN_BY_ALL_STAFF = (
    "id",
    "workshop_id",
    "full_name",
    "latin_name",
    "email",
    "mobile",
    "organisation",
    "organisation_type",
    "city",
    "mode",
    "status",
    "source",
)


def fields_seen_by(user) -> tuple[str, ...] | None:
    """The fields of a registration this staff member sees (None: every one)."""
    return None if user.can_schedule else SEEN_BY_ALL_STAFF


def read_list(workshop: Workshop, actor, wanted: RosterFilter | None = None) -> list[Registration]:
    """The (filtered) list as a program reads it: it carries names and contacts, so like an
    export it is audited (who, which workshop, which filters, how many people)."""
    wanted = wanted or RosterFilter()
    rows = registrations(workshop, wanted)
    filters = {name: value for name, value in vars(wanted).items() if value}
    audit.record("registration.list_read", workshop, actor, rows=len(rows), **filters)
    db.session.commit()
    return rows


def read_one(registration: Registration, actor) -> Registration:
    """One person's registration as a program reads it: audited like the list."""
    audit.record("registration.read", registration, actor)
    db.session.commit()
    return registration


def counts(workshop: Workshop) -> dict[tuple[str, str], int]:
    """Registrations per (status, mode)."""
    rows = db.session.execute(
        select(Registration.status, Registration.mode, func.count())
        .where(Registration.workshop_id == workshop.id)
        .group_by(Registration.status, Registration.mode)
    )
    return {(str(status), str(mode)): n for status, mode, n in rows}


def cities(workshop: Workshop) -> list[str]:
    query = select(Registration.city).where(Registration.workshop_id == workshop.id, Registration.city != "")
    return list(db.session.scalars(query.distinct().order_by(Registration.city)))


COLUMNS = [
    ("id", "ID"),
    ("full_name", "Full name"),
    ("latin_name", "Latin name"),
    ("email", "Email"),
    ("mobile", "Mobile"),
    ("organisation", "Organisation"),
    ("organisation_type", "Organisation type"),
    ("job_title", "Job title"),
    ("gender", "Gender"),
    ("city", "City / province"),
    ("mode", "Mode"),
    ("status", "Status"),
    ("source", "Source"),
    ("language", "Language"),
    ("needs", "Needs"),
    ("decision_reason", "Decision reason"),
    ("consent_at", "Consent (UTC)"),
    ("created_at", "Registered (UTC)"),
    ("updated_at", "Updated (UTC)"),
]


def _cell(registration: Registration, name: str):
    value = getattr(registration, name)
    if hasattr(value, "isoformat"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(value, "value"):
        return value.value
    return value


def export(workshop: Workshop, fmt: str, actor, wanted: RosterFilter | None = None) -> bytes:
    """Every field of the (filtered) list as CSV or XLSX; the export is audited."""
    rows = [[_cell(r, name) for name, _label in COLUMNS] for r in registrations(workshop, wanted)]
    header = [label for _name, label in COLUMNS]
    audit.record("registration.export", workshop, actor, format=fmt, rows=len(rows))
    db.session.commit()
    if fmt == "xlsx":
        return write_xlsx({"Registrations": (header, rows)})
    return write_csv(header, rows)
