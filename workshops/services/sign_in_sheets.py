"""The sign-in sheet (签到表): the printed list funders and auditors ask for, one per session.

Before the session it has an empty signature line for every confirmed onsite person; after it,
the same sheet carries each person's check-in time and the count of those who signed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from ..extensions import db
from ..i18n import CATALOGUES
from ..models import Attendance, AttendanceMode, Registration, RegistrationStatus, Session, Workshop
from . import audit, pdf

# Phones are private: the sheet passes from hand to hand at the door, so it shows only enough of
# a number for a person to recognise their own line.
PHONE_DIGITS_SHOWN = 4


@dataclass(frozen=True)
class Line:
    """One person's line on the sheet."""

    number: int
    name: str
    latin_name: str
    organisation: str
    job_title: str
    phone_tail: str
    checked_in: str  # the local time of their check-in at the venue, "" if none (or not asked)


def sheet_languages(workshop: Workshop) -> list[str]:
    """The sheet speaks the workshop's languages: both (Chinese first) when it has both titles."""
    if workshop.title_zh and workshop.title_en:
        return ["zh", "en"]
    return ["zh"] if workshop.title_zh else ["en"]


def phone_tail(mobile: str) -> str:
    digits = "".join(ch for ch in mobile if ch.isdigit())
    return digits[-PHONE_DIGITS_SHOWN:] if len(digits) > PHONE_DIGITS_SHOWN else ""


def _expected(workshop: Workshop) -> list[Registration]:
    """Who is expected at the venue: confirmed onsite people, by organisation then name (people
    of one organisation sign one under another; those without an organisation come last)."""
    people = db.session.scalars(
        select(Registration).where(
            Registration.workshop_id == workshop.id,
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.mode == AttendanceMode.ONSITE,
        )
    ).all()
    return sorted(
        people,
        key=lambda p: (not p.organisation, p.organisation.casefold(), p.full_name.casefold(), p.id),
    )


def _checked_in_at(session: Session) -> dict[int, datetime]:
    """When each person was checked in at the venue for this session (online check-ins are no
    signature on a sheet at the door)."""
    return dict(
        db.session.execute(
            select(Attendance.registration_id, Attendance.checked_in_at).where(
                Attendance.session_id == session.id, Attendance.mode == AttendanceMode.ONSITE
            )
        ).all()
    )


def lines(session: Session, *, with_check_ins: bool) -> list[Line]:
    """The sheet's lines for the session, with check-in times when ``with_check_ins``."""
    workshop = session.workshop
    times = _checked_in_at(session) if with_check_ins else {}
    session_day = session.starts_at.astimezone(workshop.zone).date()

    def shown(moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(workshop.zone)
        # A late check-in on another day (a two-day session, a record added later) says the day.
        return local.strftime("%H:%M" if local.date() == session_day else "%m-%d %H:%M")

    return [
        Line(
            number=number,
            name=person.full_name,
            latin_name=person.latin_name,
            organisation=person.organisation,
            job_title=person.job_title,
            phone_tail=phone_tail(person.mobile),
            checked_in=shown(times.get(person.id)),
        )
        for number, person in enumerate(_expected(workshop), start=1)
    ]


def _when(session: Session, language: str) -> str:
    """E.g. "2027年3月31日 09:00–17:00 (GMT+08:00)", on the venue's clock."""
    zone = session.workshop.zone
    start, end = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
    locale = CATALOGUES[language]
    day = format_date(start, format="long", locale=locale)
    offset = start.strftime("%z")
    ends = (
        end.strftime("%H:%M")
        if end.date() == start.date()
        else f"{format_date(end, 'long', locale)} {end:%H:%M}"
    )
    return f"{day} {start:%H:%M}–{ends} (GMT{offset[:3]}:{offset[3:]})"


def _shortened(text: str, width: int = 110) -> str:
    """At most ``width`` (a CJK character counts two): the head of each page stays one line."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0x2E80 else 1
        if used > width:
            return text[:index] + "…"
    return text


def _css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string, safe inside the template's <style>: every character that
    could end the string or the element (quote, backslash, < > &, line ends) is a CSS escape, so
    the result is marked safe here, where that is known, and the template needs no ``|safe``."""
    escaped = "".join(f"\\{ord(ch):x} " if ch in '\\"<>&\n\r' else ch for ch in text)
    return Markup(f'"{escaped}"')  # noqa: S704 (escaped above, for CSS)


def _page_counter(language: str) -> Markup:
    """A CSS ``content`` value saying "Page X of Y" in ``language`` (counters filled by the printer)."""
    with force_locale(CATALOGUES[language]):
        text = _("Page %(page)s of %(pages)s", page="\x00page\x00", pages="\x00pages\x00")
    # Split at the markers: every second piece names a counter, the others are words.
    pieces = text.split("\x00")
    return Markup(" ").join(
        Markup(f"counter({piece})") if index % 2 else _css_string(piece)  # noqa: S704 (a counter's name)
        for index, piece in enumerate(pieces)
        if piece
    )


def _in_language(session: Session, language: str, count: int, signed: int, with_check_ins: bool) -> dict:
    """The sheet's words in one language."""
    workshop = session.workshop
    with force_locale(CATALOGUES[language]):
        return {
            "lang": "zh-CN" if language == "zh" else "en",
            "sheet": _("Sign-in sheet"),
            "programme": workshop.programme.localized("name", language) if workshop.programme else "",
            "workshop": workshop.localized("title", language),
            "session": session.localized("title", language),
            "when": _when(session, language),
            "venue_label": _("Venue"),
            "room_label": _("Room"),
            "number": _("No."),
            "name": _("Name"),
            "organisation": _("Organisation"),
            "job_title": _("Job title"),
            "phone": _("Phone (last 4 digits)"),
            "checked_in": _("Checked in"),
            "signature": _("Signature"),
            "count": _("%(signed)d of %(count)d signed in", signed=signed, count=count),
            "nobody": _("Nobody is registered to attend onsite."),
            "page": _page_counter(language),
        }


def sheet_pdf(session: Session, actor, *, with_check_ins: bool = False) -> bytes:
    """The session's sign-in sheet as an A4 PDF (audited: it lists people).

    Every confirmed onsite person once, phones shortened to their last digits; with
    ``with_check_ins`` (after the event) each check-in time at the venue and the count.
    """
    workshop = session.workshop
    rows = lines(session, with_check_ins=with_check_ins)
    signed = sum(bool(line.checked_in) for line in rows)
    words = [
        _in_language(session, language, len(rows), signed, with_check_ins)
        for language in sheet_languages(workshop)
    ]
    title = " — ".join(filter(None, [words[0]["sheet"], words[0]["workshop"], words[0]["session"]]))
    html = render_template(
        "staff/sign_in_sheet.html",
        workshop=workshop,
        session=session,
        rows=rows,
        words=words,
        with_check_ins=with_check_ins,
        title=title,
        running_head=_css_string(_shortened(title)),
        page_counter=Markup(' "   " ').join(w["page"] for w in words),
    )
    audit.record(
        "session.sign_in_sheet",
        workshop,
        actor,
        session=session.id,
        people=len(rows),
        check_ins=with_check_ins,
    )
    db.session.commit()
    return pdf.render_pdf(html)
