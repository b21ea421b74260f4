"""One export layer: the registrations and survey downloads, as their readers take them.

A download is a ``Download``: a title naming the workshop, the filters applied, when it was made
and one or more ``Table``s of typed ``Column``s. What a person reads is in the language asked
for (``?lang=zh|en|both``, by default the page's): headers are the pages' own lazily
translated labels (``both``: ``姓名 Name``, which the nominations import reads as well), and
values — enum labels, choice answers — are in that language (the page's, for ``both``).
Times are in the workshop's zone, named in the header.

XLSX is for people: a title, the filters and the time made above the header, the header frozen
under them, an auto-filter, column widths, and typed cells (whole numbers, numbers, datetimes a
spreadsheet can sort, sum and average). Its text cells are strings and never formulas, so
``+86 139…`` and ``=HYPERLINK(…)`` read back exactly as they were. CSV is for programs: the
header on the first line and the same values, text that a spreadsheet would run as a formula
neutralised with an apostrophe (``spreadsheets.neutralise``), the one place it is needed.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from ..i18n import CATALOGUES
from ..models.base import utcnow
from ..models.i18n import current_language
from .errors import InvalidInput
from .spreadsheets import column_letter, neutralise, text_cell

# The header languages a download can be asked for.
LANGUAGES = ("zh", "en", "both")
TEXT, WHOLE, NUMBER, MOMENT = "text", "whole", "number", "moment"
# A calendar day (a workshop's first day); a percentage given as 0–100 (e.g. 33.3), written as
# the fraction a spreadsheet's percent format shows (0.333 → 33.3%) so it sums and averages.
DAY, PERCENT = "day", "percent"
MOMENT_FORMAT = "yyyy-mm-dd hh:mm"
DAY_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
NUMBER_FORMAT = "0.##"
# The title and the line of filters come first; the header is the third row.
HEADER_ROW = 3
# Column widths are measured on the first rows only (a 10,000-row list is not read twice).
WIDTH_SAMPLE = 200
MIN_WIDTH, MAX_WIDTH = 6, 60
# A download made by a job reports its progress (rows written, rows in all) this often.
PROGRESS_EVERY = 500
# Told (rows written, rows in all) as a download is written: a job's progress bar.
Progress = Callable[[int, int], None]


def chosen_language(value: str | None) -> str:
    """The header language asked for (``?lang=``); none asked: the page's language."""
    value = (value or "").strip().lower()
    if not value:
        return current_language()
    if value not in LANGUAGES:
        raise InvalidInput({"lang": _l("Choose the headers' language: zh, en or both.")})
    return value


def values_language(language: str) -> str:
    """The language values are written in: the one asked for, the page's for bilingual headers."""
    return current_language() if language == "both" else language


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Labels and messages in ``language`` (zh or en) for the values of a download."""
    with force_locale(CATALOGUES[values_language(language)]):
        yield


def in_language(label: Any, language: str) -> str:
    """A (lazy) label as the header of a download in ``language``; ``both``: Chinese, then English."""
    if language != "both":
        with force_locale(CATALOGUES[language]):
            return str(label)
    chinese, english = in_language(label, "zh"), in_language(label, "en")
    return english if chinese == english else f"{chinese} {english}"


@dataclass(frozen=True)
class Column:
    """One column: its label (a lazy string, or text as it is), what its cells hold, and for
    times the zone they are in (named in the header)."""

    label: Any
    kind: str = TEXT
    zone: str = ""

    def header(self, language: str) -> str:
        text = in_language(self.label, language) if not isinstance(self.label, str) else self.label
        return f"{text} ({self.zone})" if self.zone else text


@dataclass(frozen=True)
class Typed:
    """A cell of another kind than its column's: a rate among counts (a report's overview)."""

    value: Any
    kind: str


@dataclass
class Table:
    """A sheet of a workbook (the one table of a CSV)."""

    name: Any
    columns: list[Column]
    rows: list[list]


@dataclass
class Download:
    """What a download is made of; ``made_at`` is when, in the workshop's ``zone``."""

    title: Any
    workshop_title: str
    zone: str
    language: str
    tables: list[Table]
    # What the list was narrowed to: (the filter's label, its value as the reader reads it).
    filters: list[tuple[Any, str]] = field(default_factory=list)
    made_at: datetime = field(default_factory=utcnow)
    # Who asked for it, named after the time it was made (a report sent upward says so).
    made_by: str = ""


def workshop_title(workshop) -> str:
    """The workshop's title in both its languages (either alone if it has one)."""
    titles = [title for title in (workshop.title_zh, workshop.title_en) if title]
    return " / ".join(dict.fromkeys(titles))


def local(moment: datetime | None, zone: str) -> datetime | None:
    """A stored (UTC) time as the wall-clock time of the zone, without tzinfo (what a
    spreadsheet cell holds)."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)


# ---- the lines above the header ----


def title_line(download: Download) -> str:
    return f"{in_language(download.title, download.language)}: {download.workshop_title}"


def details_line(download: Download) -> str:
    language = download.language
    if download.filters:
        with speaking(language):
            shown = "; ".join(f"{in_language(label, language)}: {value}" for label, value in download.filters)
    else:
        shown = in_language(_l("none (everyone)"), language)
    made = local(download.made_at, download.zone)
    line = (
        f"{in_language(_l('Filters'), language)}: {shown} · "
        f"{in_language(_l('Made at'), language)}: {made:%Y-%m-%d %H:%M} ({download.zone})"
    )
    if download.made_by:
        line += f" · {in_language(_l('Made by'), language)}: {download.made_by}"
    return line


# ---- XLSX ----


def _clean(text: str) -> str:
    # XLSX cannot hold most control characters (a pasted vertical tab would fail the export).
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _xlsx_value(sheet, column: Column, value):
    if isinstance(value, Typed):
        column, value = Column(column.label, value.kind), value.value
    if value is None or value == "":
        return None
    if column.kind == MOMENT and isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = MOMENT_FORMAT
        return cell
    if column.kind == DAY and isinstance(value, date):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = DAY_FORMAT
        return cell
    if column.kind == PERCENT and isinstance(value, int | float) and not isinstance(value, bool):
        cell = WriteOnlyCell(sheet, round(value / 100, 6))
        cell.number_format = PERCENT_FORMAT
        return cell
    if column.kind in (WHOLE, NUMBER) and isinstance(value, int | float) and not isinstance(value, bool):
        if column.kind == NUMBER and not float(value).is_integer():
            cell = WriteOnlyCell(sheet, value)
            cell.number_format = NUMBER_FORMAT
            return cell
        return value
    text = str(value)
    return text_cell(sheet, text) if text.startswith("=") else _clean(text)


def _shown(value) -> str:
    if isinstance(value, Typed):
        value = value.value
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return "" if value is None else str(value)


def _width(text: str) -> int:
    # A Chinese character takes two columns' width of a Latin one.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _widths(headers: list[str], rows: list[list]) -> list[int]:
    widths = [_width(header) for header in headers]
    for row in rows[:WIDTH_SAMPLE]:
        for index, value in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], _width(_shown(value)))
    return [min(max(width + 2, MIN_WIDTH), MAX_WIDTH) for width in widths]


_FORBIDDEN_IN_SHEET_NAMES = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


def sheet_name(name: Any, language: str, taken: set[str]) -> str:
    """A sheet's name as Excel allows it: at most 31 characters, none of []:*?/\\, unique."""
    text = (in_language(name, language) if not isinstance(name, str) else name).translate(
        _FORBIDDEN_IN_SHEET_NAMES
    )
    text = " ".join(text.split())[:31] or "Sheet"
    candidate, number = text, 2
    while candidate.lower() in taken:
        suffix = f" {number}"
        candidate, number = text[: 31 - len(suffix)] + suffix, number + 1
    taken.add(candidate.lower())
    return candidate


def _told(rows: list[list], progress: Progress | None, total: int, before: int = 0) -> Iterator[list]:
    """The rows, telling ``progress`` (``before`` + rows given, ``total``) every PROGRESS_EVERY rows."""
    for number, row in enumerate(rows, start=1):
        yield row
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(before + number, total)


def write_xlsx(download: Download, progress: Progress | None = None) -> bytes:
    """The download as an XLSX workbook: each table under its title lines (``HEADER_ROW``)."""
    workbook = Workbook(write_only=True)
    language = download.language
    title, details = title_line(download), details_line(download)
    taken: set[str] = set()
    bold = Font(bold=True)
    total, before = sum(len(table.rows) for table in download.tables), 0
    for table in download.tables:
        rows = _told(table.rows, progress, total, before)
        before += len(table.rows)
        sheet = workbook.create_sheet(title=sheet_name(table.name, language, taken))
        headers = [column.header(language) for column in table.columns]
        for index, width in enumerate(_widths(headers, table.rows)):
            sheet.column_dimensions[column_letter(index)].width = width
        sheet.freeze_panes = f"A{HEADER_ROW + 1}"
        if headers:
            last = f"{column_letter(len(headers) - 1)}{HEADER_ROW + max(len(table.rows), 1)}"
            sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}"
        heading = text_cell(sheet, title)
        heading.font = Font(bold=True, size=13)
        sheet.append([heading])
        sheet.append([text_cell(sheet, details)])
        header_cells = []
        for header in headers:
            cell = text_cell(sheet, header)
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)
        columns = table.columns
        for row in rows:
            sheet.append(
                [_xlsx_value(sheet, column, value) for column, value in zip(columns, row, strict=False)]
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    if progress is not None:
        progress(total, total)
    return buffer.getvalue()


# ---- CSV ----


def _csv_value(value):
    if isinstance(value, Typed):
        value = value.value
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return neutralise(value)


def write_csv(download: Download, progress: Progress | None = None) -> bytes:
    """The download's first table as CSV (UTF-8 with a BOM, which Excel on Chinese Windows
    needs to show Chinese): the header on the first line, for the programs that read it."""
    table = download.tables[0]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(column.header(download.language)) for column in table.columns])
    for row in _told(table.rows, progress, len(table.rows)):
        writer.writerow([_csv_value(value) for value in row])
    if progress is not None:
        progress(len(table.rows), len(table.rows))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write(download: Download, fmt: str, progress: Progress | None = None) -> bytes:
    """The download as ``fmt`` (xlsx or csv); ``progress`` is told as rows are written."""
    return write_xlsx(download, progress) if fmt == "xlsx" else write_csv(download, progress)
