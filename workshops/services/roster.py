"""The staff view of a workshop's registrations: counts, filters, search and exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import AttendanceMode, OrganisationType, Registration, RegistrationStatus, Workshop
from ..models.enums import Labelled
from . import audit, exports, places
from .errors import InvalidInput
from .nominations import FIELD_LABELS

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


def _filtered(workshop: Workshop, wanted: RosterFilter | None, query):
    wanted = wanted or RosterFilter()
    query = query.where(Registration.workshop_id == workshop.id)
    for name in ("status", "mode", "organisation_type"):
        value = getattr(wanted, name)
        if value:
            query = query.where(getattr(Registration, name) == value)
    if wanted.city:
        query = query.where(places.registrations_from(wanted.city))
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
    return query


def registrations(
    workshop: Workshop, wanted: RosterFilter | None = None, limit: int | None = None
) -> list[Registration]:
    """Registrations of a workshop, filtered and searched (name, email, phone, organisation)."""
    query = _filtered(workshop, wanted, select(Registration))
    return list(db.session.scalars(query.order_by(Registration.created_at, Registration.id).limit(limit)))


def count(workshop: Workshop, wanted: RosterFilter | None = None) -> int:
    """How many registrations ``registrations`` would list."""
    return db.session.scalar(_filtered(workshop, wanted, select(func.count(Registration.id)))) or 0


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
    "place_code",
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


def cities(workshop: Workshop, language: str) -> list[tuple[str, str]]:
    """The places of a workshop's people as survey responses keep them (``places.snapshot``),
    each with its name in ``language`` (the survey summary's filter)."""
    rows = db.session.execute(
        select(Registration.place_code, Registration.city)
        .where(Registration.workshop_id == workshop.id)
        .where((Registration.place_code != "") | (Registration.city != ""))
        .distinct()
    )
    kept = sorted({places.snapshot(code, text) for code, text in rows})
    return [(value, places.snapshot_label(value, language)) for value in kept]


def place_options(workshop: Workshop, language: str) -> list[tuple[str, str]]:
    """The places of a workshop's registrations as the filter offers them (value, label): the
    divisions by their names, then the free text nobody mapped."""
    codes = db.session.scalars(
        select(Registration.place_code)
        .where(Registration.workshop_id == workshop.id, Registration.place_code != "")
        .distinct()
    )
    texts = db.session.scalars(
        select(Registration.city)
        .where(Registration.workshop_id == workshop.id, Registration.place_code == "")
        .where(Registration.city != "")
        .distinct()
        .order_by(Registration.city)
    )
    known = {code for code in codes if places.get(code)}
    known |= {code[:2] for code in known}  # each city's province too: all of Jiangsu at once
    divisions = [(code, places.full_label(code, language)) for code in sorted(known)]
    return divisions + [(text, text) for text in texts]


# The export's columns: the import's own labels where the import reads the field back (an
# exported list re-imports as it is), the page's for the rest; times in the workshop's zone.
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}  # each in its own script, as a switcher shows them
COLUMNS = [
    ("id", _l("Registration number"), exports.WHOLE),
    ("full_name", FIELD_LABELS["full_name"], exports.TEXT),
    ("latin_name", FIELD_LABELS["latin_name"], exports.TEXT),
    ("email", FIELD_LABELS["email"], exports.TEXT),
    ("mobile", FIELD_LABELS["mobile"], exports.TEXT),
    ("organisation", FIELD_LABELS["organisation"], exports.TEXT),
    ("organisation_type", FIELD_LABELS["organisation_type"], exports.TEXT),
    ("job_title", FIELD_LABELS["job_title"], exports.TEXT),
    ("gender", FIELD_LABELS["gender"], exports.TEXT),
    # The place as two columns a reader sorts by (the division's names; the text as written where
    # the list has none), read back by the import into the same division.
    ("province", FIELD_LABELS["province"], exports.TEXT),
    ("city", FIELD_LABELS["city"], exports.TEXT),
    ("mode", FIELD_LABELS["mode"], exports.TEXT),
    ("status", _l("Status"), exports.TEXT),
    ("source", _l("Registered through"), exports.TEXT),
    ("language", FIELD_LABELS["language"], exports.TEXT),
    ("needs", FIELD_LABELS["needs"], exports.TEXT),
    ("decision_reason", _l("Reason of the decision"), exports.TEXT),
    ("consent_at", _l("Consent given at"), exports.MOMENT),
    ("created_at", _l("Registered at"), exports.MOMENT),
    ("updated_at", _l("Last changed at"), exports.MOMENT),
]
FILTER_LABELS = {
    "status": _l("Status"),
    "mode": FIELD_LABELS["mode"],
    "organisation_type": FIELD_LABELS["organisation_type"],
    "city": FIELD_LABELS["city"],
    "q": _l("Search"),
}
CHOICE_TYPES = {"status": RegistrationStatus, "mode": AttendanceMode, "organisation_type": OrganisationType}


# The columns read from the table: the place's two come from its division code (and the text
# as written where it has none), so "province" is not one of them.
STORED = [name for name, _label, _kind in COLUMNS if name != "province"]


def _cell(row, name: str, zone: str, language: str, labels: dict):
    code = row.place_code
    if name == "province":
        return places.label(code[:2], language)
    if name == "city" and len(code) == 4:
        return places.label(code, language)
    value = getattr(row, name)
    if isinstance(value, datetime):
        return exports.local(value, zone)
    if isinstance(value, Labelled):
        # Translated once per value and download, not once per cell (50,000 in a 10,000-row list).
        # (A status and a mode may share a value, "onsite" say: the key is the vocabulary too.)
        key = (type(value), value)
        if key not in labels:
            labels[key] = value.label
        return labels[key]
    if name == "language":
        return LANGUAGE_NAMES.get(value, value)
    return value


def filters_shown(wanted: RosterFilter) -> list[tuple]:
    """The filters applied, each value as the reader reads it (a status by its label)."""
    shown = []
    for name, value in vars(wanted).items():
        if value:
            kind = CHOICE_TYPES.get(name)
            shown.append((FILTER_LABELS[name], kind(value).label if kind else value))
    return shown


def export(
    workshop: Workshop,
    fmt: str,
    actor,
    wanted: RosterFilter | None = None,
    language: str = "en",
    progress: exports.Progress | None = None,
) -> bytes:
    """Every field of the (filtered) list as CSV or XLSX, headers in ``language`` (zh, en or
    both: ``exports``); the export is audited. ``progress``: told as rows are written (a job's)."""
    wanted = wanted or RosterFilter()
    zone = workshop.timezone
    labels: dict = {}
    values_in = exports.values_language(language)
    # The exported columns alone (no 10,000 whole objects to build).
    query = _filtered(
        workshop,
        wanted,
        select(Registration.place_code, *(getattr(Registration, name) for name in STORED)),
    )
    found = db.session.execute(query.order_by(Registration.created_at, Registration.id))
    with exports.speaking(language):
        rows = [
            [_cell(row, name, zone, values_in, labels) for name, _label, _kind in COLUMNS] for row in found
        ]
        filters = filters_shown(wanted)
    columns = [
        exports.Column(label, kind, zone if kind == exports.MOMENT else "") for _name, label, kind in COLUMNS
    ]
    download = exports.Download(
        title=_l("Registrations"),
        workshop_title=exports.workshop_title(workshop),
        zone=zone,
        language=language,
        tables=[exports.Table(_l("Registrations"), columns, rows)],
        filters=filters,
    )
    audit.record("registration.export", workshop, actor, format=fmt, rows=len(rows), language=language)
    db.session.commit()
    return exports.write(download, fmt, progress)
