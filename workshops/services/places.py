"""Where people come from, as data: mainland China's provinces and prefecture-level cities.

A registration's place is a GB/T 2260 code (``data/divisions.json`` 2-digit province or 4-digit city;
a municipality is its one city, 北京市 1101) with the free text kept only for what the list does
not hold ("other / outside mainland China", or text nobody has mapped yet). Free text from imports
and the API is matched here (``match``), and what a coordinator mapped once is remembered
(``PlaceAlias``) so the same spelling maps by itself the next time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import g
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, func, select, update

from ..divisions import MUNICIPALITIES, Division, divisions, full_label, get, label, match, normalise, tables
from ..extensions import db
from ..models import PlaceAlias, Registration, Response, Survey, Workshop
from ..models.place_alias import TEXT_LENGTH as PLACE_ALIAS_TEXT
from . import audit
from .errors import InvalidInput

__all__ = ["Division", "full_label", "get", "label", "match", "normalise"]  # the list's, re-offered here

# The province choice that means "not in the lists": the free text says where.
OTHER = "other"
OTHER_LABEL = _l("Other / outside mainland China")


def place_text(registration, language: str) -> str:
    """A person's place as a page shows it: the division, else what they wrote."""
    return full_label(registration.place_code, language) or registration.city


def snapshot(place_code: str, text: str) -> str:
    """A place as a survey response keeps it (like the gender, a copy taken when answering): the
    division's official Chinese name, else the text as written."""
    return full_label(place_code, "zh") or text


def snapshot_label(value: str, language: str) -> str:
    """A place a survey response keeps (``snapshot``) as a reader of ``language`` reads it: a
    division's name in that language (Changzhou, Jiangsu), else the text as written."""
    code = match(value) if value else None
    if code and full_label(code, "zh") == value:
        return full_label(code, language)
    return value


def province_choices(language: str) -> list[tuple[str, str]]:
    """The provinces for a select, in code order (the order of official lists), then "other"."""
    provinces = [d for code, d in divisions().items() if len(code) == 2]
    return [(d.code, d.label(language)) for d in provinces] + [(OTHER, str(OTHER_LABEL))]


def city_choices(language: str) -> dict[str, list[tuple[str, str]]]:
    """Each province's prefecture-level cities, by the province's label (a select's optgroups)."""
    table, cities_of, _keys = tables()
    return {
        table[province].label(language): [(code, table[code].label(language)) for code in codes]
        for province, codes in cities_of.items()
        if codes
    }


def remembered(text: str) -> str | None:
    """The division a coordinator mapped this text to (per app context: an import asks 5,000 times)."""
    if "place_aliases" not in g:
        g.place_aliases = dict(db.session.execute(select(PlaceAlias.text, PlaceAlias.place_code)).all())
    return g.place_aliases.get(normalise(text))


def resolve(province: str, place_code: str, text: str) -> tuple[str, str]:
    """The (code, free text) a registration stores from a province choice, a city choice and
    free text; ``InvalidInput`` for a code not in the list or a city outside the chosen province.

    Rule: a city chosen or matched keeps no free text (the code says it all); a province alone or
    "other" keeps the text (a county-level city, a place abroad)."""
    province, place_code, text = (province or "").strip(), (place_code or "").strip(), (text or "").strip()
    if province == OTHER:
        if not text:
            raise InvalidInput({"city": _l("Write your city and country, e.g. Geneva, Switzerland.")})
        return "", text
    chosen_province = get(province) if province else None
    if province and (chosen_province is None or chosen_province.is_city):
        raise InvalidInput({"province": _l("Choose a province from the list.")})
    if place_code:
        division = get(place_code)
        if division is None:
            raise InvalidInput({"place_code": _l("Choose your city from the list.")})
        if chosen_province is not None and division.province != chosen_province.code:
            raise InvalidInput(
                {
                    "place_code": _l(
                        "%(city)s is not in %(province)s: choose a city of that province, or another"
                        " province.",
                        city=division.label(_language()),
                        province=chosen_province.label(_language()),
                    )
                }
            )
        return division.code, "" if division.is_city else text
    if chosen_province is not None:
        if chosen_province.code in MUNICIPALITIES:
            return tables()[1][chosen_province.code][0], ""
        return chosen_province.code, text
    return from_text(text)


def from_text(text: str) -> tuple[str, str]:
    """(code, free text) for a place written as text: what a coordinator mapped it to (a province
    keeps the text: 江苏 仙桃 says more than 江苏), else the list's match (the text says no more
    than the code), else the text alone."""
    if not text:
        return "", ""
    code = remembered(text)
    if code is not None:
        return code, "" if len(code) == 4 else text
    code = match(text)
    return (code, "") if code is not None else ("", text)


def _language() -> str:
    locale = get_locale()
    return "zh" if locale is not None and locale.language == "zh" else "en"


def mapping_choices(language: str) -> dict[str, list[tuple[str, str]]]:
    """What a free-text place can be mapped to, by province: the province itself (a county-level
    city the list does not hold, Hong Kong), then its cities."""
    table, cities_of, _keys = tables()
    whole = str(_l("whole province"))
    return {
        table[province].label(language): [
            (province, f"{table[province].label(language)} ({whole})"),
            *((code, table[code].label(language)) for code in codes),
        ]
        for province, codes in cities_of.items()
    }


# ---- places to map ------------------------------------------------------------------------------


@dataclass
class Unmapped:
    text: str
    count: int


def unmapped(workshop_ids: list[int]) -> list[Unmapped]:
    """The free-text places of these workshops' registrations no division was found for, most
    frequent first (what a coordinator maps once)."""
    if not workshop_ids:
        return []
    rows = db.session.execute(
        select(Registration.city, func.count())
        .where(
            Registration.workshop_id.in_(workshop_ids), Registration.place_code == "", Registration.city != ""
        )
        .group_by(Registration.city)
        .order_by(func.count().desc(), Registration.city)
    )
    return [Unmapped(text, count) for text, count in rows]


def map_text(text: str, place_code: str, workshop_ids: list[int], actor) -> int:
    """Map a free-text place to a division: every registration of these workshops carrying the
    text gets the code (audited per workshop; the text stays, so a wrong mapping can be traced),
    and the text is remembered for later imports and registrations. Returns how many changed."""
    division = get(place_code)
    if division is None:
        raise InvalidInput({"place_code": _l("Choose your city from the list.")})
    text = (text or "").strip()
    key = normalise(text)
    # Only a text the page lists: what a registration of these workshops carries, unmapped.
    listed = select(Registration.id).where(
        Registration.workshop_id.in_(workshop_ids or [-1]),
        Registration.place_code == "",
        Registration.city == text,
    )
    if not key or len(key) > PLACE_ALIAS_TEXT or db.session.scalar(listed.limit(1)) is None:
        raise InvalidInput({"text": _l("There is no such place to map; reload the page.")})
    # Remembered for every later import and registration: only by an account that sees every
    # programme, so a city bureau's coordinator cannot remap another programme's places.
    if not actor.programme_limits:
        alias = db.session.get(PlaceAlias, key)
        if alias is None:
            db.session.add(PlaceAlias(text=key, place_code=division.code))
        else:
            alias.place_code = division.code
    # The answers given so far keep the place as the survey groups name it (``snapshot``).
    answered = select(Survey.id).where(Survey.workshop_id.in_(workshop_ids))
    db.session.execute(
        update(Response)
        .where(Response.survey_id.in_(answered), Response.city == text)
        .values(city=snapshot(division.code, text))
        .execution_options(synchronize_session=False)
    )
    changed = 0
    for workshop in db.session.scalars(select(Workshop).where(Workshop.id.in_(workshop_ids))):
        result = cast(
            CursorResult,
            db.session.execute(
                update(Registration)
                .where(
                    Registration.workshop_id == workshop.id,
                    Registration.place_code == "",
                    Registration.city == text,
                )
                .values(place_code=division.code)
                .execution_options(synchronize_session=False)
            ),
        )
        if result.rowcount:
            audit.record(
                "place.mapped", workshop, actor, text=text, place_code=division.code, rows=result.rowcount
            )
            changed += result.rowcount
    db.session.commit()
    g.pop("place_aliases", None)
    return changed


def registrations_from(wanted: str):
    """Registrations from a place: a division's code (a province with its cities) or its name (as
    survey responses keep it: 江苏省常州市), else free text as written (one nobody has mapped).
    The one rule for the roster's filter and the survey groups' response rates."""
    as_written = (Registration.place_code == "") & (Registration.city == wanted)
    division = get(wanted) or get(match(wanted) or "")  # ?city=天津 works too
    if division is None:
        return as_written
    if division.is_city:
        return (Registration.place_code == division.code) | as_written
    return Registration.place_code.startswith(division.code) | as_written
