"""Jinja helpers that show times the way people at the venue read them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_babel import gettext as _

from .models import JobKind, JobStatus
from .models.i18n import current_language
from .urls import external_url


def _zone(zone) -> ZoneInfo:
    if zone is None:
        return ZoneInfo(current_app.config["TIMEZONE"])
    if isinstance(zone, str):
        return ZoneInfo(zone)
    return zone.zone  # a Workshop


def local_datetime(moment: datetime | None, zone=None, format: str = "medium") -> str:
    """E.g. '31 Mar 2027, 09:00 (GMT+08:00)' or '2027年3月31日 09:00 (GMT+08:00)'."""
    if moment is None:
        return ""
    tz = _zone(zone)
    local = moment.astimezone(tz)
    text = format_datetime(local, format=format, tzinfo=tz, locale=get_locale())
    return f"{text} ({local.strftime('GMT%z')[:-2]}:{local.strftime('%z')[-2:]})"


def local_date(moment: datetime | None, zone=None, format: str = "medium") -> str:
    if moment is None:
        return ""
    return format_date(moment.astimezone(_zone(zone)), format=format, locale=get_locale())


def local_time(moment: datetime | None, zone=None) -> str:
    if moment is None:
        return ""
    tz = _zone(zone)
    return format_time(moment.astimezone(tz), format="HH:mm", tzinfo=tz, locale=get_locale())


def local_input(moment: datetime | None, zone=None) -> str:
    """Value for an <input type="datetime-local"> in the workshop's zone."""
    return moment.astimezone(_zone(zone)).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _offset(local: datetime) -> str:
    return f"(GMT{local.strftime('%z')[:-2]}:{local.strftime('%z')[-2:]})"


def local_span(starts_at: datetime, ends_at: datetime, zone=None) -> str:
    """E.g. '31 Mar 2027, 09:00–17:00 (GMT+08:00)', with the end's date when it is another day."""
    tz = _zone(zone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    comma = " " if get_locale() is not None and get_locale().language == "zh" else ", "
    first = f"{local_date(start, zone)}{comma}{local_time(start, zone)}"
    last = f"{local_date(end, zone)}{comma}{local_time(end, zone)} {_offset(end)}"
    if start.utcoffset() != end.utcoffset():  # the clocks change in between: both offsets
        return f"{first} {_offset(start)} – {last}"
    if start.date() == end.date():
        return f"{first}–{local_time(end, zone)} {_offset(end)}"
    return f"{first} – {last}"


def change_lines(items, workshop) -> list[str]:
    """A change notice's items (``ChangeNotice.items_for``) as sentences in the current language."""

    def shown(value) -> str:
        if isinstance(value, tuple):
            return local_span(value[0], value[1], workshop)
        return value or "—"

    lines = []
    for item in items:
        values = {"old": shown(item.old), "new": shown(item.new), "session": item.title}
        if item.what == "workshop_time":
            lines.append(_("Dates: %(old)s → %(new)s", **values))
        elif item.what == "venue":
            lines.append(_("Venue: %(old)s → %(new)s", **values))
        elif item.what == "city":
            lines.append(_("City: %(old)s → %(new)s", **values))
        elif item.what == "meeting_url":
            lines.append(_("The meeting link has changed."))
        elif item.what == "session_time":
            lines.append(_("“%(session)s”: %(old)s → %(new)s", **values))
        elif item.what == "session_room":
            lines.append(_("Room of “%(session)s”: %(old)s → %(new)s", **values))
        elif item.what == "session_added" and item.room:
            lines.append(_("New session “%(session)s”: %(new)s, %(room)s", room=item.room, **values))
        elif item.what == "session_added":
            lines.append(_("New session “%(session)s”: %(new)s", **values))
        elif item.what == "session_removed":
            lines.append(_("“%(session)s” (%(old)s) no longer takes place.", **values))
    return lines


def register(app: Flask) -> None:
    app.add_template_filter(local_datetime)
    app.add_template_filter(local_date)
    app.add_template_filter(local_time)
    app.add_template_filter(local_input)
    app.add_template_filter(local_span)
    app.add_template_global(change_lines)
    app.add_template_global(external_url)
    app.add_template_global(JobKind, "JobKind")
    app.add_template_global(JobStatus, "JobStatus")

    @app.context_processor
    def language_context():
        return {
            "current_language": current_language(),
            "languages": [("en", "English"), ("zh", "中文")],
            "html_lang": "zh-CN" if current_language() == "zh" else "en",
            "current_path": request.full_path.rstrip("?") if request else "/",
        }
