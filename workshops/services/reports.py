"""The programme report for the ministry and the donor: who came, how many, what they thought.

What it counts, decided once here for the page, the XLSX and the PDF alike:

- **Held workshops**: published (not draft, not cancelled) and ended. With a period, the
  workshops starting in it; those of them not ended yet are listed apart as not yet held and
  count in no figure or rate: a workshop still to come has nobody at it yet, and would read as
  100 % no-show.
- **Participants**: people with at least one check-in at a held workshop. One person is one
  person across workshops: two registrations are the same person when their emails (compared
  lower-cased) or their mobiles (stored in E.164) match, and that chains (email at one, mobile
  at another, both at a third: one person). Anonymised registrations carry a keyed pseudonym of
  their email (or, for someone with only a mobile, of the mobile): both contacts of a live
  registration are compared through the same pseudonym, so anonymising an old workshop changes
  no total. A person is described (gender, organisation type, city) by their latest
  registration; percentages are of the unique participants.
- **Mode** is how people attended, from their check-ins (``Attendance.mode``: a ticket scanned
  at the door is onsite, a join link online), not what they registered for: onsite, online, or
  both (onsite at one workshop and online at another).
- **Documents**: the XLSX is a download of the export layer (``exports``: labels in the
  language asked for, counts and rates as typed cells); the PDF is bilingual unless one
  language is asked for.
- **Rates** (attendance, no-show, response) are over held workshops only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import current_app, render_template
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape
from sqlalchemy import func, select

from ..extensions import db
from ..i18n import CATALOGUES
from ..models import (
    Answer,
    Attendance,
    AttendanceMode,
    Certificate,
    Gender,
    OrganisationType,
    Programme,
    Question,
    Registration,
    RegistrationStatus,
    Response,
    Survey,
    Workshop,
    WorkshopStatus,
)
from ..models.i18n import current_language
from . import audit, exports, pdf, places
from .feedback import MIN_GROUP_SIZE, nps_of, too_few
from .privacy import pseudonym
from .surveys import TEMPLATE, ResponseRate, response_rates, with_survey

COMPARED = [key for key, kind, *_ in TEMPLATE if kind in ("rating", "nps")]
# The standard questions as a reader names them (the keys are for the database).
QUESTION_LABELS = {
    "relevance": _l("Relevance to their work (1–5)"),
    "content": _l("Quality of the content (1–5)"),
    "facilitators": _l("Facilitators (1–5)"),
    "organisation": _l("Organisation and logistics (1–5)"),
    "knowledge_before": _l("Knowledge before the workshop (1–5)"),
    "knowledge_after": _l("Knowledge after the workshop (1–5)"),
    "recommend": _l("Would recommend it (0–10)"),
}
QUESTION_SCALE = {key: 10 if key == "recommend" else 5 for key in COMPARED}
SATISFACTION = ("relevance", "content", "facilitators", "organisation")

# The ILO's tripartite constituents first, then the others, as a ministry's report lists them.
ORGANISATION_ORDER = (
    OrganisationType.GOVERNMENT,
    OrganisationType.EMPLOYERS,
    OrganisationType.WORKERS,
    OrganisationType.ENTERPRISE,
    OrganisationType.TVET,
    OrganisationType.RESEARCH,
    OrganisationType.OTHER,
)
NOT_GIVEN = _l("Not given")
# Report readers see the cities fewer than MIN_GROUP_SIZE people came from pooled under this.
OTHER_CITIES = _l("Other cities")
OTHER_CITIES_CODE = "\x00other"  # no city typed by anyone is this
# The province breakdown's line for places outside the list (abroad, or text nobody mapped yet).
OTHER_PLACES = _l("Other / outside mainland China")
OTHER_PLACES_CODE = "\x00elsewhere"
# Report readers see the provinces fewer than MIN_GROUP_SIZE people came from pooled under this.
OTHER_PROVINCES = _l("Other provinces")
OTHER_PROVINCES_CODE = "\x00provinces"
BREAKDOWN_TITLES = {
    "gender": _l("Gender"),
    "organisation_type": _l("Type of organisation"),
    "city": _l("City"),
    "province": _l("Province"),
    # Counted from the check-ins, not the registrations: how people actually came.
    "mode": _l("Attendance mode (as they attended)"),
}

# A sheet's name has at most 31 characters: the longer titles shortened (the header says it all).
SHEET_NAMES = {"mode": _l("Attendance mode")}


@dataclass(frozen=True)
class Share:
    """One line of a breakdown: how many participants, and what part of all of them."""

    code: str
    label: object  # a lazily translated label, or the city as people wrote it
    count: int | str  # str: FEW, for a report reader
    percent: float | None


@dataclass
class Period:
    """The workshops a report covers: starting in [start, end), or all held ones (both None)."""

    start: datetime | None = None
    end: datetime | None = None
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def describe(self, now: datetime) -> str:
        locale = get_locale()

        def day(moment: datetime) -> str:
            return format_date(moment.astimezone(self.zone), format="medium", locale=locale)

        # The end bound is the day after the last day chosen (the view makes it exclusive).
        last = self.end - timedelta(days=1) if self.end else None
        if self.start and last:
            return str(_l("Workshops starting %(start)s – %(end)s", start=day(self.start), end=day(last)))
        if self.start:
            return str(_l("Workshops starting from %(start)s", start=day(self.start)))
        if last:
            return str(_l("Workshops starting until %(end)s", end=day(last)))
        return str(_l("All workshops held until %(date)s", date=day(now)))


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _workshops(programme: Programme, start: datetime | None, end: datetime | None) -> list[Workshop]:
    query = select(Workshop).where(
        Workshop.programme_id == programme.id, Workshop.status == WorkshopStatus.PUBLISHED
    )
    if start:
        query = query.where(Workshop.starts_at >= start)
    if end:
        query = query.where(Workshop.starts_at < end)
    return list(db.session.scalars(query.order_by(Workshop.starts_at, Workshop.id)))


def _counted_registrations(ids: list[int]) -> dict[int, int]:
    """Active registrations per workshop; an unconfirmed hold is nobody yet."""
    return dict(
        db.session.execute(
            select(Registration.workshop_id, func.count())
            .where(
                Registration.workshop_id.in_(ids),
                Registration.status.in_(RegistrationStatus.active()),
                Registration.status != RegistrationStatus.UNVERIFIED,
            )
            .group_by(Registration.workshop_id)
        ).all()
    )


def _contacts(email: str, mobile: str) -> set[str]:
    """What identifies a registration's person, in the same pseudonym space as anonymised ones."""
    if email.endswith("@invalid"):  # anonymised: only its pseudonym is left
        return {email}
    return {pseudonym(contact) for contact in (email, mobile) if contact}


def people(rows) -> list[tuple[tuple, list[int]]]:
    """Each person of (registration id, email, mobile, *profile) rows: the profile of their
    latest registration, and the ids of all their registrations.

    Registrations sharing an email or a mobile are one person, transitively (a union-find over
    their contacts); the registration with the highest id (the latest) describes them."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    keyed = []
    for registration_id, email, mobile, *profile in rows:
        keys = sorted(_contacts(email or "", mobile or "")) or [f"registration-{registration_id}"]
        for key in keys:
            parent.setdefault(key, key)
        for key in keys[1:]:
            parent[root(key)] = root(keys[0])
        keyed.append((registration_id, keys[0], tuple(profile)))
    latest: dict[str, tuple[int, tuple]] = {}
    ids: dict[str, list[int]] = {}
    for registration_id, key, profile in keyed:
        person = root(key)
        ids.setdefault(person, []).append(registration_id)
        if person not in latest or registration_id > latest[person][0]:
            latest[person] = (registration_id, profile)
    return [(profile, ids[person]) for person, (_, profile) in latest.items()]


def unique_people(rows) -> list[tuple]:
    """One profile per person (see ``people``): that of their latest registration."""
    return [profile for profile, _ in people(rows)]


# How a person attended, over all their check-ins at the workshops counted: in one mode only,
# or both (onsite at one workshop, online at another, or a hybrid workshop's days).
BOTH_MODES = "both"
ATTENDED_MODE_LABELS = {
    **{mode.value: label for mode, label in AttendanceMode.labels().items()},
    BOTH_MODES: _l("Both onsite and online"),
}


def attended_modes(registration_ids: list[int]) -> dict[int, set[str]]:
    """The modes each registration's check-ins were attended in (``Attendance.mode``, set by
    ``mode_of`` from how they checked in): a person registered online who came to the door
    counts as onsite."""
    modes: dict[int, set[str]] = {}
    for registration_id, mode in db.session.execute(
        select(Attendance.registration_id, Attendance.mode)
        .where(Attendance.registration_id.in_(registration_ids or [-1]))
        .distinct()
    ):
        modes.setdefault(registration_id, set()).add(str(mode))
    return modes


def _attended_mode(ids: list[int], modes: dict[int, set[str]], registered: str) -> str:
    seen = set().union(*(modes.get(i, set()) for i in ids))
    if len(seen) > 1:
        return BOTH_MODES
    return next(iter(seen), registered)


def _shares(counter: Counter, order: list[tuple[str, object]], total: int) -> list[Share]:
    return [
        Share(code, label, counter.get(code, 0), percent(counter.get(code, 0), total))
        for code, label in order
    ]


# What a report reader sees instead of a count of fewer than MIN_GROUP_SIZE people.
FEW = f"<{MIN_GROUP_SIZE}"


def _few(count: int) -> int | str:
    """A count a report reader may see: none, or enough people not to point at anyone."""
    return count if count == 0 or count >= MIN_GROUP_SIZE else FEW


def _hidden_when_few(shares: list[Share]) -> list[Share]:
    return [
        Share(share.code, share.label, FEW, None)
        if isinstance(share.count, int) and _few(share.count) == FEW
        else share
        for share in shares
    ]


def _breakdowns(profiles: list[tuple], aggregates_only: bool = False) -> dict[str, list[Share]]:
    """For report readers (``aggregates_only``) no group of fewer than MIN_GROUP_SIZE people is
    counted, and cities where fewer came are pooled as "Other cities" (a city typed as a street
    address would otherwise name its one participant's workplace)."""
    total = len(profiles)
    counters = [Counter(str(p[i]) for p in profiles) for i in range(4)]
    gender, organisation, city, mode = counters
    if aggregates_only:
        pooled: Counter = Counter()
        for name, count in city.items():
            pooled[name if not name or count >= MIN_GROUP_SIZE else OTHER_CITIES_CODE] += count
        city = pooled
    # Cities by their division (a province where no city was given, free text where the list has
    # none), most frequent first; a blank one is "Not given", last.
    cities = sorted((c for c in city if c and c != OTHER_CITIES_CODE), key=lambda c: (-city[c], c))
    city_order: list[tuple[str, object]] = [(c, _place_label(c)) for c in cities]
    if city.get(OTHER_CITIES_CODE):
        city_order.append((OTHER_CITIES_CODE, OTHER_CITIES))
    if city.get(""):
        city_order.append(("", NOT_GIVEN))
    breakdown = {
        "gender": _shares(gender, [(g.value, label) for g, label in Gender.labels().items()], total),
        "organisation_type": _shares(
            organisation, [(t.value, OrganisationType.labels()[t]) for t in ORGANISATION_ORDER], total
        ),
        "city": _shares(city, city_order, total),
        "province": _by_province(profiles, aggregates_only),
        "mode": _shares(mode, list(ATTENDED_MODE_LABELS.items()), total),
    }
    if aggregates_only:
        breakdown = {key: _hidden_when_few(shares) for key, shares in breakdown.items()}
    return breakdown


def place_key(place_code: str, text: str) -> str:
    """What a person's place is counted by: the division's code, else the text as written."""
    return place_code if places.get(place_code) else (text or "").strip()


def _place_label(key: str) -> object:
    """A division by its name in the reader's language (lazily, like the other labels); free text
    as it was written."""
    if places.get(key) is None:
        return key
    return LazyString(lambda: places.full_label(key, current_language()))


def _by_province(profiles: list[tuple], aggregates_only: bool = False) -> list[Share]:
    """Participants by province (their city's, or the one they gave), most first; places outside
    the list together, then those who gave none. For report readers the provinces fewer came
    from are pooled, as the cities are."""
    counter = Counter(
        key[:2] if places.get(key) else (OTHER_PLACES_CODE if key else "")
        for key in (str(p[2]) for p in profiles)
    )
    if aggregates_only:
        pooled: Counter = Counter()
        for code, count in counter.items():
            small = code and code != OTHER_PLACES_CODE and count < MIN_GROUP_SIZE
            pooled[OTHER_PROVINCES_CODE if small else code] += count
        counter = pooled
    provinces = sorted((c for c in counter if c and c != OTHER_PLACES_CODE), key=lambda c: (-counter[c], c))
    provinces = [c for c in provinces if c != OTHER_PROVINCES_CODE]
    order: list[tuple[str, object]] = [(c, _place_label(c)) for c in provinces]
    if counter.get(OTHER_PROVINCES_CODE):
        order.append((OTHER_PROVINCES_CODE, OTHER_PROVINCES))
    if counter.get(OTHER_PLACES_CODE):
        order.append((OTHER_PLACES_CODE, OTHER_PLACES))
    if counter.get(""):
        order.append(("", NOT_GIVEN))
    return _shares(counter, order, len(profiles))


def _cross_table(profiles: list[tuple], aggregates_only: bool = False) -> dict:
    """Gender (rows) × organisation type (columns), with totals, counts of participants; for
    report readers a cell, row or column of fewer than MIN_GROUP_SIZE people shows FEW."""
    counts = Counter((str(p[0]), str(p[1])) for p in profiles)
    shown = _few if aggregates_only else (lambda count: count)
    rows = []
    totals = [0] * len(ORGANISATION_ORDER)
    for gender in Gender:
        cells = [counts.get((gender.value, kind.value), 0) for kind in ORGANISATION_ORDER]
        totals = [a + b for a, b in zip(totals, cells, strict=True)]
        rows.append(
            {
                "code": gender.value,
                "label": Gender.labels()[gender],
                "cells": [shown(cell) for cell in cells],
                "total": shown(sum(cells)),
            }
        )
    return {
        "columns": [
            {"code": kind.value, "label": OrganisationType.labels()[kind]} for kind in ORGANISATION_ORDER
        ],
        "rows": rows,
        "totals": [shown(total) for total in totals],
        "total": shown(sum(totals)),
    }


def programme_report(
    programme: Programme,
    start: datetime | None = None,
    end: datetime | None = None,
    author=None,
    now: datetime | None = None,
    aggregates_only: bool = False,
) -> dict:
    """Workshops held, unique participants and their profile, attendance, satisfaction and NPS.

    Only held workshops (module docstring) count; ``author`` is who asked for the report. For
    report readers (``aggregates_only``) every survey with too few answers shows no figures,
    named ones too, as on their feedback summary."""
    now = now or datetime.now(UTC)
    chosen = _workshops(programme, start, end)
    if start is None and end is None:
        chosen = [w for w in chosen if w.ends_at <= now]
    workshops = [w for w in chosen if w.ends_at <= now]
    planned = [w for w in chosen if w.ends_at > now]
    ids = [w.id for w in workshops] or [-1]
    present = select(Attendance.registration_id).distinct().subquery()
    confirmed = dict(
        db.session.execute(
            select(Registration.workshop_id, func.count())
            .where(Registration.workshop_id.in_(ids), Registration.status == RegistrationStatus.CONFIRMED)
            .group_by(Registration.workshop_id)
        ).all()
    )
    attended = dict(
        db.session.execute(
            select(Registration.workshop_id, func.count())
            .where(
                Registration.workshop_id.in_(ids),
                # Of the confirmed: someone checked in and cancelled since (or a walk-in still
                # pending) would make attendance pass 100 % and the no-show rate fall below 0.
                Registration.status == RegistrationStatus.CONFIRMED,
                Registration.id.in_(select(present.c.registration_id)),
            )
            .group_by(Registration.workshop_id)
        ).all()
    )
    # Answers of the compared questions: one query, grouped by workshop, question key and value.
    buckets: dict[tuple[int, str], Counter] = {}
    rows = db.session.execute(
        select(Survey.workshop_id, Question.key, Answer.number, func.count())
        .join(Question, Question.survey_id == Survey.id)
        .join(Answer, Answer.question_id == Question.id)
        .where(Survey.workshop_id.in_(ids), Question.key.in_(COMPARED), Answer.number.is_not(None))
        .group_by(Survey.workshop_id, Question.key, Answer.number)
    )
    for workshop_id, key, number, count in rows:
        buckets.setdefault((workshop_id, key), Counter())[number] += count
    issued = dict(
        db.session.execute(
            select(Registration.workshop_id, func.count(Certificate.id))
            .join(Certificate, Certificate.registration_id == Registration.id)
            .where(
                Registration.workshop_id.in_(ids),
                Certificate.revoked_at.is_(None),
                Certificate.withdrawn_at.is_(None),  # withdrawn at the holder's request: vouches for no one
            )
            .group_by(Registration.workshop_id)
        ).all()
    )
    responses = dict(
        db.session.execute(
            select(Survey.workshop_id, func.count(Response.id))
            .join(Response)
            .where(Survey.workshop_id.in_(ids))
            .group_by(Survey.workshop_id)
        ).all()
    )
    # Who was asked, and how many of them answered: counts of people, not answers, so they are
    # shown for an anonymous survey too (as its number of responses is).
    rates = response_rates(ids)

    # An anonymous survey with too few answers shows no figures here either (the same rule as
    # its own summary): its few answers would be those of the people known to have answered.
    anonymous = set(
        db.session.scalars(select(Survey.workshop_id).where(Survey.workshop_id.in_(ids), Survey.anonymous))
    )
    for workshop_id in {w.id for w in workshops} if aggregates_only else anonymous:
        if too_few(responses.get(workshop_id, 0)):
            buckets = {key: counter for key, counter in buckets.items() if key[0] != workshop_id}

    def mean(workshop_id, key):
        counter = buckets.get((workshop_id, key))
        total = sum(counter.values()) if counter else 0
        if counter is None or not total:
            return None
        return round(sum(v * n for v, n in counter.items()) / total, 2)

    per_workshop = []
    surveyed = with_survey(workshops)
    for w in workshops:
        satisfaction = [m for m in (mean(w.id, k) for k in SATISFACTION) if m]
        rate = rates.get(w.id, ResponseRate())
        per_workshop.append(
            {
                "workshop": w,
                "has_survey": w.id in surveyed,  # its feedback summary opens (a link only then)
                "confirmed": confirmed.get(w.id, 0),
                "attended": attended.get(w.id, 0),
                "no_show_rate": round(100 * (1 - attended.get(w.id, 0) / confirmed[w.id]), 1)
                if confirmed.get(w.id)
                else None,
                "responses": responses.get(w.id, 0),
                "invited": rate.invited,
                "answered": rate.answered,
                "response_rate": rate.percent,
                "certificates": issued.get(w.id, 0),
                "satisfaction": round(sum(satisfaction) / len(satisfaction), 2) if satisfaction else None,
                "nps": nps_of(dict(buckets.get((w.id, "recommend"), {}))),
                "means": {key: mean(w.id, key) for key in COMPARED},
            }
        )
    attendees = db.session.execute(
        select(
            Registration.id,
            Registration.email,
            Registration.mobile,
            Registration.gender,
            Registration.organisation_type,
            Registration.place_code,
            Registration.city,
            Registration.mode,
        ).where(Registration.workshop_id.in_(ids), Registration.id.in_(select(present.c.registration_id)))
    ).all()
    persons = people(
        (id_, email, mobile, str(gender), str(kind), place_key(code, city), str(mode))
        for id_, email, mobile, gender, kind, code, city, mode in attendees
    )
    # The mode (the profile's fourth field) is how each person attended, not how they registered.
    modes = attended_modes([row[0] for row in attendees])
    profiles = [
        (*profile[:3], _attended_mode(ids, modes, profile[3]), *profile[4:]) for profile, ids in persons
    ]
    planned_registrations = _counted_registrations([w.id for w in planned] or [-1])
    confirmed_total = sum(confirmed.values())
    attended_total = sum(attended.values())
    overall = ResponseRate(sum(r.invited for r in rates.values()), sum(r.answered for r in rates.values()))
    return {
        "programme": programme,
        "start": start,
        "end": end,
        "period": Period(start, end, ZoneInfo(current_app.config["TIMEZONE"])),
        "generated_at": now,
        "author": (getattr(author, "name", "") or getattr(author, "email", "")) if author else "",
        "workshops": per_workshop,
        "planned": [{"workshop": w, "registrations": planned_registrations.get(w.id, 0)} for w in planned],
        "workshops_held": len(workshops),
        "unique_participants": len(profiles),
        "attendances": attended_total,
        "certificates": sum(issued.values()),
        "registrations": sum(_counted_registrations(ids).values()),
        "confirmed": confirmed_total,
        "attendance_rate": percent(attended_total, confirmed_total),
        "no_show_rate": round(100 - 100 * attended_total / confirmed_total, 1) if confirmed_total else None,
        "invited": overall.invited,
        "answered": overall.answered,
        "response_rate": overall.percent,
        "breakdown": _breakdowns(profiles, aggregates_only),
        "cross_table": _cross_table(profiles, aggregates_only),
        "compared": COMPARED,
        "question_labels": QUESTION_LABELS,
        "question_scale": QUESTION_SCALE,
        "breakdown_titles": BREAKDOWN_TITLES,
    }


# ---- what the page, the XLSX and the PDF say at the top ---------------------------------------


def generated_line(report: dict) -> str:
    """E.g. "Generated 2026-12-01 20:15 (Asia/Shanghai) by Wang Fang", in the reader's language."""
    zone = report["period"].zone
    # The same unambiguous digits in both languages, to the minute.
    moment = format_datetime(report["generated_at"].astimezone(zone), "yyyy-MM-dd HH:mm", tzinfo=zone)
    if report["author"]:
        return str(
            _l(
                "Generated %(time)s (%(zone)s) by %(author)s",
                time=moment,
                zone=zone.key,
                author=report["author"],
            )
        )
    return str(_l("Generated %(time)s (%(zone)s)", time=moment, zone=zone.key))


def header_lines(report: dict) -> list[str]:
    return [report["period"].describe(report["generated_at"]), generated_line(report)]


# ---- the XLSX ---------------------------------------------------------------------------------


def said(words, language: str) -> str:
    """What ``words()`` says in ``language`` (zh or en); ``both``: Chinese / English, once if the same."""
    if language != "both":
        with force_locale(CATALOGUES[language]):
            return str(words())
    chinese, english = said(words, "zh"), said(words, "en")
    return chinese if chinese == english else f"{chinese} / {english}"


def _title(workshop: Workshop, language: str) -> str:
    if language == "both":
        return exports.workshop_title(workshop)
    return said(lambda: workshop.title, language)


def _label(label, language: str) -> str:
    """A category's label (lazily translated) in the download's language; a city as typed."""
    return label if isinstance(label, str) else exports.in_language(label, language)


def report_download(report: dict, language: str) -> exports.Download:
    """The report as a workbook of the export layer: a sheet per part, labels in ``language``
    (zh, en or both), counts as whole numbers, rates as percent cells, days as dates."""
    W, P, D = exports.WHOLE, exports.PERCENT, exports.DAY
    Column, Table, Typed = exports.Column, exports.Table, exports.Typed
    programme = report["programme"]
    period = said(lambda: report["period"].describe(report["generated_at"]), language)
    generated = said(lambda: generated_line(report), language)

    def text(label):
        return exports.in_language(label, language)

    overview = [
        [text(_l("Period")), period],
        [text(_l("Generated")), generated],
        [text(_l("Author")), report["author"] or None],
        [text(_l("Workshops held")), report["workshops_held"]],
        [text(_l("Unique participants")), report["unique_participants"]],
        [text(_l("Registrations (active)")), report["registrations"]],
        [text(_l("Confirmed")), report["confirmed"]],
        [text(_l("Attendances")), report["attendances"]],
        [text(_l("Attendance rate")), Typed(report["attendance_rate"], P)],
        [text(_l("No-show rate")), Typed(report["no_show_rate"], P)],
        [text(_l("Certificates issued")), report["certificates"]],
        [text(_l("Invited to the survey")), report["invited"]],
        [text(_l("Answered (of those invited)")), report["answered"]],
        [text(_l("Survey response rate")), Typed(report["response_rate"], P)],
    ]
    workshop = Column(_l("Workshop"))
    starts = Column(_l("Starts"), D)
    tables = [
        Table(_l("Overview"), [Column(_l("Figure")), Column(_l("Value"), exports.NUMBER)], overview),
        Table(
            _l("Workshops"),
            [
                workshop,
                starts,
                Column(_l("Format")),
                Column(_l("City")),
                Column(_l("Registered (confirmed)"), W),
                Column(_l("Attended"), W),
                Column(_l("No-show rate"), P),
                Column(_l("Satisfaction (1–5)"), exports.NUMBER),
                Column("NPS", exports.NUMBER),
                Column(_l("Invited to the survey"), W),
                Column(_l("Answered (of those invited)"), W),
                Column(_l("Survey response rate"), P),
                Column(_l("Certificates"), W),
            ],
            [
                [
                    _title(w["workshop"], language),
                    w["workshop"].local(w["workshop"].starts_at).date(),
                    text(w["workshop"].format.label),
                    w["workshop"].city or text(NOT_GIVEN),
                    w["confirmed"],
                    w["attended"],
                    w["no_show_rate"],
                    w["satisfaction"],
                    w["nps"],
                    w["invited"],
                    w["answered"],
                    w["response_rate"],
                    w["certificates"],
                ]
                for w in report["workshops"]
            ],
        ),
        # A row per workshop, a column per question: a programme of 40 workshops stays readable.
        Table(
            _l("Questions compared"),
            [workshop, starts]
            + [Column(report["question_labels"][key], exports.NUMBER) for key in report["compared"]],
            [
                [_title(w["workshop"], language), w["workshop"].local(w["workshop"].starts_at).date()]
                + [w["means"][key] for key in report["compared"]]
                for w in report["workshops"]
            ],
        ),
    ]
    titles = report.get("breakdown_titles", BREAKDOWN_TITLES)
    for name, shares in report["breakdown"].items():
        title = titles.get(name, name)
        tables.append(
            Table(
                SHEET_NAMES.get(name, title),
                [Column(title), Column(_l("Participants"), W), Column(_l("Share of participants"), P)],
                [[_label(s.label, language), s.count, s.percent] for s in shares],
            )
        )
    cross = report["cross_table"]
    tables.append(
        Table(
            _l("Gender × type of organisation"),
            [Column(_l("Gender"))]
            + [Column(c["label"], W) for c in cross["columns"]]
            + [Column(_l("Total"), W)],
            [[_label(r["label"], language), *r["cells"], r["total"]] for r in cross["rows"]]
            + [[text(_l("Total")), *cross["totals"], cross["total"]]],
        )
    )
    if report["planned"]:
        tables.append(
            Table(
                _l("Not yet held"),
                [workshop, starts, Column(_l("Registrations (active)"), W)],
                [
                    [
                        _title(p["workshop"], language),
                        p["workshop"].local(p["workshop"].starts_at).date(),
                        p["registrations"],
                    ]
                    for p in report["planned"]
                ],
            )
        )
    return exports.Download(
        title=_l("Programme report"),
        workshop_title=" / ".join(dict.fromkeys(n for n in (programme.name_zh, programme.name_en) if n)),
        zone=report["period"].zone.key,
        language=language,
        tables=tables,
        filters=[(_l("Period"), period)],
        made_at=report["generated_at"],
        made_by=report["author"],
    )


def report_xlsx(report: dict, actor, language: str = "en") -> bytes:
    audit.record("programme.report", report["programme"], actor, format="xlsx")
    db.session.commit()
    return exports.write_xlsx(report_download(report, language))


# ---- the PDF ----------------------------------------------------------------------------------


def _pdf_label(language: str):
    """The PDF's labels: Chinese with English under it (``both``), or the one language."""
    if language == "both":
        return pdf.both
    index = 0 if language == "zh" else 1
    return lambda text: Markup(escape(pdf.bilingual(text)[index]))


def report_pdf(report: dict, actor, language: str = "both") -> bytes:
    """The period, time and author on every page (a running head), figures, the per-question
    comparison with its charts; bilingual (Chinese, then English) unless one language is asked."""
    languages = ["zh", "en"] if language == "both" else [language]
    headers = {}
    for spoken in languages:
        with force_locale(CATALOGUES[spoken]):
            headers[spoken] = header_lines(report)
    programme = report["programme"]
    names = [n for n in (programme.name_zh, programme.name_en) if n] or [programme.code]
    if language != "both":
        names = [said(lambda: programme.name, language) or names[0]]
    answered = _l("%(answered)d answered of %(invited)d invited")
    counts = {"answered": report["answered"], "invited": report["invited"]}
    html = render_template(
        "staff/programme_report_pdf.html",
        **report,
        languages=languages,
        document_lang="en" if languages == ["en"] else "zh-CN",
        # The PDF's metadata title (what a reader's file list and tab show).
        document_title=f"{said(lambda: _l('Programme report'), language).replace(' / ', ' ')} · "
        + " / ".join(dict.fromkeys(names)),
        programme_names=list(dict.fromkeys(names)),
        headers=headers,
        both=_pdf_label(language),
        answered_lines=[said(lambda: str(answered) % counts, spoken) for spoken in languages],
        # A workshop's title in each language of the PDF (once, if it has only one).
        titles_of=lambda workshop: list(dict.fromkeys(_title(workshop, spoken) for spoken in languages)),
        N_=lambda message: message,  # marks a message id for extraction; both() translates it
        not_given=NOT_GIVEN,
    )
    audit.record("programme.report", report["programme"], actor, format="pdf")
    db.session.commit()
    return pdf.render_pdf(html)
