"""Meeting platforms' attendance exports, read: which platform, whose rows, what times.

No database here. ``read_report`` takes the uploaded bytes and returns a ``Report``: the rows
of the file that stand for joins (or, for some platforms, for whole participants), each with
the people it stands for (a shared device's ``A&B`` row stands for two), their email and phone
numbers, and the join, leave and duration the platform wrote. ``services.meeting_reports``
matches those people to registrations and adds up their minutes.

The platform is recognised by the file's content (its header row, its sections, its sheets),
never by its name: what the shapes look like is in /work/shared/REAL_FILES.md. A layout that
is not recognised is read with the columns the coordinator chose (``mapping``).

Every value from the file is bounded before it is parsed (a cell's length, a number's digits,
the rows and columns read, the workbook's unpacked size), so no upload costs more than a
moment of CPU, and every problem is a message for the person who uploaded it.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from flask_babel import lazy_gettext as _l

from .contacts import InvalidMobile, nfkc, normalise_mobile, normalise_name
from .errors import InvalidInput

MAX_BYTES = 10 * 1024 * 1024  # uploads stop at MAX_UPLOAD_BYTES first; this bounds the command line
MAX_UNPACKED = 50 * 1024 * 1024  # an XLSX is a zip: what it may unpack to
MAX_CELLS = 250_000  # filled cells of all sheets together: openpyxl reads ~100,000 a second
MAX_ROWS = 20_000  # data rows of a sheet: a full-day webinar of a few thousand people, rejoins included
MAX_COLUMNS = 120  # a webinar adds a column per registration question
HEADER_SEARCH_ROWS = 40  # a report's title, summary or preamble come before its header
MAX_VALUE = 64  # a time or a duration longer than this is not one (and is never parsed)
# A cell's text, and all the text read: an XLSX cell may point at one shared string of megabytes,
# and 250,000 cells at the same one would be gigabytes to clean and match (minutes of CPU).
# Longer than any name, device or answer to a webinar's question, and than a value that is read
# to say what is wrong with it (a duration of 8,000 digits is one row's problem, not the file's).
MAX_CELL_CHARS = 10_000
MAX_TEXT_CHARS = 20_000_000  # 250,000 cells of 80 characters

# The six things a coordinator can point at when a layout is not recognised.
FIELDS = ("name", "email", "phone", "join", "leave", "duration")


class Platform:
    """The layouts recognised, by their header rows and sections (REAL_FILES.md)."""

    ZOOM = "zoom"  # meeting participants, one row per join (current and legacy headers)
    ZOOM_UNIQUE = "zoom_unique"  # "Show unique users": one row per person, no times
    ZOOM_WEBINAR = "zoom_webinar"  # Attendee Report: several sections in one CSV
    TENCENT_DETAIL = "tencent_detail"  # 成员参会明细 / 成员观看明细: one row per join
    TENCENT_OVERVIEW = "tencent_overview"  # 成员参会概况: one row per person
    FEISHU = "feishu"  # 参会人明细: one row per person, cumulative duration
    COLUMNS = "columns"  # another layout whose columns are named like these
    MAPPED = "mapped"  # the coordinator said which column is which
    UNKNOWN = "unknown"  # nothing recognised: the coordinator must map the columns

    TENCENT = (TENCENT_DETAIL, TENCENT_OVERVIEW)


def label(cell: str) -> str:
    """A header cell as compared: full-width forms folded, case and spacing ignored, no colon."""
    text = nfkc(cell).replace("\ufeff", "").casefold()
    return re.sub(r"\s+", " ", text).strip().rstrip(":").strip()


# Header names for each field; a recognised platform's own names come first.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "name (original name)",
        "user name (original name)",
        "name (originalname)",
        "用户昵称(入会昵称)",
        "参会人",
        "name",
        "participant",
        "participant name",
        "display name",
        "user name",
        "姓名",
        "昵称",
        "用户昵称",
        "入会昵称",
        "参会者",
        "参会人员",
        "用户名",
    ),
    "email": ("email", "user email", "e-mail", "email address", "邮箱", "用户邮箱", "电子邮箱"),
    "phone": ("phone", "phone number", "mobile", "手机号", "手机", "手机号码", "电话", "联系电话"),
    "join": ("join time", "入会时间", "首次入会时间", "join"),
    "leave": ("leave time", "退会时间", "离会时间", "最后退会时间", "leave"),
    "duration": (
        "duration (minutes)",
        "total duration (minutes)",
        "time in session (minutes)",
        "参会时长",
        "累计参会时长",
        "duration",
        "duration (mins)",
        "参会时长(分钟)",
        "时长(分钟)",
        "时长",
        "dauer (minuten)",
    ),
    "waiting": ("in waiting room",),
    "role": ("身份", "role", "角色"),
    "attended": ("attended",),
    "first_name": ("first name",),
    "last_name": ("last name",),
}

# What a platform's header row must hold (labels), most specific first.
SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (
    (Platform.ZOOM_WEBINAR, frozenset({"attended", "user name (original name)"})),
    (Platform.TENCENT_DETAIL, frozenset({"用户昵称(入会昵称)", "入会时间", "退会时间"})),
    (Platform.TENCENT_OVERVIEW, frozenset({"用户昵称(入会昵称)", "首次入会时间", "最后退会时间"})),
    (Platform.FEISHU, frozenset({"参会人", "入会时间", "离会时间"})),
    (Platform.ZOOM, frozenset({"name (original name)", "join time", "leave time"})),
    (Platform.ZOOM, frozenset({"name (originalname)", "join time", "leave time"})),
    (Platform.ZOOM_UNIQUE, frozenset({"name (original name)", "total duration (minutes)"})),
)

# Preamble and summary labels that give the meeting's start, and the host's name or email.
START_LABELS = ("start time", "actual start time", "预定开始时间", "开始时间", "会议开始时间", "会议时间")
HOST_NAME_LABELS = ("host", "user name", "主持人")
HOST_EMAIL_LABELS = ("user email", "host email")

HOST_WORDS = {
    "主持人": "host",
    "联席主持人": "cohost",
    "host": "host",
    "co-host": "cohost",
    "cohost": "cohost",
}
YES = {"yes", "y", "true", "是", "1"}
NO_VALUE = {"", "-", "--", "—", "——", "n/a", "na", "null", "none"}
STILL_INSIDE = {"-", "--", "—", "——"}

# A bot takes notes; a device is a phone or a room that no one named.
_BOT = re.compile(
    r"note[\s-]?taker|otter(\.ai)?\b|fireflies|read\.ai|fathom|tl;?dv|meetgeek|\bbot\b|机器人|会议纪要|妙记|会议助手",
    re.I,
)
_DEVICE = re.compile(
    r"(iphone|ipad|android|galaxy|huawei|xiaomi|redmi|oppo|vivo|oneplus|macbook|zoom ?rooms?|zoom user)\b"
    r"[\w\s().'-]*",
    re.I,
)
_POSSESSIVE_DEVICE = re.compile(r"^(.+?)(?:'s|’s|的)\s*(?:iphone|ipad|android|手机|电脑|平板)\b.*$", re.I)
# A mainland mobile written anywhere (a name cell, a phone cell, a registration question), not a
# masked one (138****5678) and not the middle of a longer number.
_MOBILE = re.compile(r"(?<![\d*])(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?![\d*])")
# Columns whose digits are never a phone: identifiers, addresses, times.
_NOT_PHONE = re.compile(r"(^|\W)(id|ip)(\W|$)|用户id|工号|ip|时间|时长|time|duration|版本|version|号$")
_AMPERSAND = re.compile(r"\s*[&＆]\s*")
_DASHES = re.compile(r"\s*[-－—–_/|｜,，、]+\s*")


def name_key(text: str) -> str:
    """A name as compared: case, spaces, punctuation, emoji and digits ignored (``张三13800000000``,
    ``05-张三`` and ``张 三`` are all ``张三``; ``LI HUA`` is ``Li Hua``)."""
    return re.sub(r"[\W\d_]+", "", normalise_name(text).casefold())


@dataclass(slots=True)  # one per person per row: thousands of them
class Someone:
    """One person a row stands for, as the file writes them."""

    label: str  # shown in the preview
    keys: tuple[str, ...]  # name keys to look up, best first
    phones: tuple[str, ...]  # E.164 mobiles found for them in the row
    email: str  # lower case; "" when none (or the row is a shared device's)
    kind: str = ""  # "", "host", "cohost", "bot", "device"


@dataclass(slots=True)
class Entry:
    """One row of the report: one join (or one participant), and who it stands for."""

    line: int  # the file's line (CSV) or the sheet's row number (XLSX)
    name: str  # the name cell as written
    people: list[Someone]
    joined: datetime | None = None
    left: datetime | None = None
    inside: bool = False  # leave time "--": still in the meeting when the report was made
    seconds: int | None = None  # the platform's own duration for the row


@dataclass
class Report:
    platform: str
    sheet: str  # the sheet the lines are in ("" for a CSV)
    header_line: int
    columns: list[str]  # the header row as written (for choosing columns)
    fields: dict[str, int]  # the column of each field
    entries: list[Entry] = field(default_factory=list)
    meeting_start: datetime | None = None
    notes: list[dict] = field(default_factory=list)  # what was assumed or left out, as codes

    def note(self, code: str, **params) -> None:
        self.notes.append({"code": code, **params})


@dataclass
class Sheet:
    name: str
    rows: list[list[str]]  # every cell as text; row i is line i + 1
    lines: list[int] | None = None  # a CSV's physical line of each row, when not i + 1

    def line(self, index: int) -> int:
        return self.lines[index] if self.lines is not None else index + 1


def _problem(message) -> InvalidInput:
    return InvalidInput({"file": message})


# ---- bytes to sheets of text --------------------------------------------------------------


def read_sheets(data: bytes) -> list[Sheet]:
    """The file's sheets (a CSV is one), recognised by the bytes, not by the file's name."""
    if len(data) > MAX_BYTES:
        raise _problem(_l("The file is larger than %(n)d MB.", n=MAX_BYTES // (1024 * 1024)))
    head = data[:8]
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_sheets(data)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: Excel 97-2003, or a protected workbook
        raise _problem(
            _l(
                "This is an old Excel file (.xls) or a workbook with a password. Open it in Excel or WPS"
                " and save it as .xlsx (Excel Workbook) without a password, then upload that."
            )
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = _decode(data, "utf-16")
    elif b"\x00" in data[:4096]:
        raise _not_a_spreadsheet()
    else:
        text = _decode(data, "utf-8-sig", "gb18030")
    probe = text.lstrip()[:2000].lower()
    if probe.startswith("<") and ("<table" in probe or "<html" in probe):  # a web page saved as .xls
        raise _problem(
            _l(
                "This is a web page saved with a spreadsheet's name. Open it in Excel or WPS and save it"
                " as .xlsx, then upload that."
            )
        )
    return [_csv_sheet(text)]


def _not_a_spreadsheet() -> InvalidInput:
    return _problem(
        _l(
            "This file is not a spreadsheet (it may be a picture or a PDF). Export the attendance report"
            " from the meeting platform again, as .xlsx or .csv."
        )
    )


def _decode(data: bytes, *encodings: str) -> str:
    # Excel and WPS on Chinese Windows save CSV as GBK (code page 936); gb18030 reads it all.
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _problem(_l("The file's text encoding is not recognised. Save it as CSV UTF-8 or XLSX."))


def _csv_sheet(text: str) -> Sheet:
    sample = text[:20000]
    delimiter = max((",", "\t", ";"), key=lambda d: (sample.count(d), d == ","))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise _too_many_rows()
            _check_lengths(row[:MAX_COLUMNS], start)
            rows.append(row[:MAX_COLUMNS])
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error:
        raise _not_a_spreadsheet() from None
    return Sheet("", rows, lines)


def _too_many_rows() -> InvalidInput:
    return _problem(_l("The file has more than %(n)d rows; split it into smaller files.", n=MAX_ROWS))


def _check_lengths(cells: list[str], line: int) -> int:
    """The characters of a row, once no cell of it is longer than a meeting report's cell can be."""
    total = 0
    for index, cell in enumerate(cells):
        if len(cell) > MAX_CELL_CHARS:
            raise _problem(
                _l(
                    "Cell %(cell)s has more than %(n)d characters: is this the meeting's attendance report?",
                    cell=f"{_column_letters(index)}{line}",
                    n=MAX_CELL_CHARS,
                )
            )
        total += len(cell)
    return total


def _column_letters(index: int) -> str:
    """A column's letters in a spreadsheet program (0 → A, 26 → AA)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _xlsx_sheets(data: bytes) -> list[Sheet]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _problem(_l("This file is not a readable XLSX workbook.")) from None
    if "xl/workbook.xml" not in names:
        raise _problem(_l("This file is not a readable XLSX workbook."))
    if unpacked > MAX_UNPACKED:
        raise _problem(_l("The file is larger than %(n)d MB.", n=MAX_UNPACKED // (1024 * 1024)))
    sheets = []
    filled = chars = 0
    # openpyxl warns about what other tools write (no default style, unknown extensions).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # an untrusted file: any failure inside the parser means "unreadable"
            raise _problem(_l("This file is not a readable XLSX workbook.")) from None
        try:
            for worksheet in workbook.worksheets:
                # Exporters write wrong dimensions: read every row, at most MAX_COLUMNS wide.
                worksheet.reset_dimensions()
                rows: list[list[str]] = []
                for values in worksheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
                    if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                        raise _too_many_rows()
                    cells = [_cell_text(value) for value in values]
                    while cells and not cells[-1]:
                        cells.pop()
                    filled += len(cells)
                    chars += _check_lengths(cells, len(rows) + 1)
                    if chars > MAX_TEXT_CHARS:
                        raise _problem(
                            _l(
                                "The workbook holds more than %(n)d characters of text. Delete the sheets"
                                " and columns you do not need, or split it, and upload it again.",
                                n=MAX_TEXT_CHARS,
                            )
                        )
                    if filled > MAX_CELLS:
                        raise _problem(
                            _l(
                                "The workbook has more than %(n)d filled cells. Delete the sheets and"
                                " columns you do not need, or split it, and upload it again.",
                                n=MAX_CELLS,
                            )
                        )
                    rows.append(cells)
                sheets.append(Sheet(str(worksheet.title), rows))
        except InvalidInput:
            raise
        except Exception:
            raise _problem(_l("This file is not a readable XLSX workbook.")) from None
        finally:
            workbook.close()
    return sheets


def _blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


# ---- which layout ------------------------------------------------------------------------


@dataclass
class Layout:
    platform: str
    sheet: int
    header: int  # index of the header row in the sheet
    fields: dict[str, int]


def _fields(labels: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            if alias in labels:
                found[name] = labels.index(alias)
                break
    return found


def recognise(sheets: list[Sheet]) -> Layout | None:
    """The platform's layout: a header row by its signature, in the sheet that holds it. Tencent's
    per-join sheet is preferred to its overview; another layout is accepted by its column names."""
    found: dict[str, Layout] = {}
    for number, sheet in enumerate(sheets):
        webinar = _webinar_header(sheet)
        if webinar is not None:
            found.setdefault(Platform.ZOOM_WEBINAR, Layout(Platform.ZOOM_WEBINAR, number, webinar, {}))
        for index, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
            labels = [label(cell) for cell in row]
            present = set(labels)
            for platform, signature in SIGNATURES:
                if signature <= present:
                    found.setdefault(platform, Layout(platform, number, index, _fields(labels)))
                    break
    for platform, _signature in SIGNATURES:
        if platform in found:
            layout = found[platform]
            if platform == Platform.ZOOM_WEBINAR:
                layout.fields = _fields([label(c) for c in sheets[layout.sheet].rows[layout.header]])
            return layout
    return _by_column_names(sheets)


def _by_column_names(sheets: list[Sheet]) -> Layout | None:
    """The row naming most known columns (the later one on a tie: a summary above a table may
    share a column or two with it), if it has someone to match and a time to count."""
    best: tuple[int, int, int] | None = None
    for number, sheet in enumerate(sheets):
        for index, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
            fields = _fields([label(cell) for cell in row])
            who = {"name", "email", "phone"} & set(fields)
            when = "duration" in fields or {"join", "leave"} <= set(fields)
            if who and when:
                score = len(set(fields) & set(FIELDS))
                if best is None or score >= best[0]:
                    best = (score, number, index)
        if best is not None:
            break  # the first sheet with such a table
    if best is None:
        return None
    _score, number, index = best
    return Layout(Platform.COLUMNS, number, index, _fields([label(c) for c in sheets[number].rows[index]]))


def candidate_header(sheets: list[Sheet]) -> tuple[int, int]:
    """Where the header of an unrecognised layout probably is: the fullest of the first rows of the
    first sheet with anything in it (the earliest on a tie)."""
    for number, sheet in enumerate(sheets):
        widths = [sum(1 for cell in row if cell.strip()) for row in sheet.rows[:HEADER_SEARCH_ROWS]]
        most = max(widths, default=0)
        if most:
            return number, widths.index(most)
    return 0, 0


def _webinar_header(sheet: Sheet) -> int | None:
    """The Attendee Details section's header row of a Zoom webinar report, if this is one."""
    for index, row in enumerate(sheet.rows):
        if row and label(row[0]) == "attendee details" and _single(row):
            following = next(
                (i for i in range(index + 1, len(sheet.rows)) if not _blank(sheet.rows[i])), None
            )
            return following
    return None


def _single(row: list[str]) -> bool:
    return sum(1 for cell in row if cell.strip()) == 1


# ---- times and durations -----------------------------------------------------------------

_CLOCK = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:[.,]\d{1,6})?\s*(?P<ampm>[ap]\.?m\.?|上午|下午)?"
_ZONE = (
    r"(?:\s*\(?\s*(?:(?P<z>z|utc|gmt)\s*(?P<off>[+-]\d{1,2}(?::?\d{2})?)?|(?P<off2>[+-]\d{2}:?\d{2}))\s*\)?)?"
)
_ISO = re.compile(
    rf"(?P<y>\d{{4}})\s*[-/.年]\s*(?P<mo>\d{{1,2}})\s*[-/.月]\s*(?P<d>\d{{1,2}})\s*日?(?:(?:t|\s+){_CLOCK})?{_ZONE}",
    re.I,
)
_SLASH = re.compile(
    rf"(?P<a>\d{{1,2}})[/.-](?P<b>\d{{1,2}})[/.-](?P<y>\d{{4}}),?(?:\s+{_CLOCK})?{_ZONE}", re.I
)
_NAMED = re.compile(
    rf"(?P<mon>[a-z]{{3}})[a-z]*\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}}),?(?:\s+(?:at\s+)?{_CLOCK})?{_ZONE}",
    re.I,
)
_ONLY_CLOCK = re.compile(rf"{_CLOCK}{_ZONE}", re.I)
_MONTHS = {m: n for n, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}


class Unreadable(ValueError):
    """A value that is there but cannot be read as what its column holds."""


@dataclass
class Clock:
    """How this file writes times: its zone, which way round its d/m dates go, and the day a time
    without a date is on."""

    zone: tzinfo
    day_first: bool = False
    day: date | None = None
    naive_seen: bool = False
    time_only_seen: bool = False

    def read(self, raw: str) -> datetime | None:
        """An aware datetime; None for an empty cell; raises Unreadable otherwise."""
        text = nfkc(raw)
        if text.lower() in NO_VALUE:
            return None
        if len(text) > MAX_VALUE:
            raise Unreadable(raw)
        day: date | None = None
        match = _ISO.fullmatch(text)
        try:
            if match:
                day = date(int(match["y"]), int(match["mo"]), int(match["d"]))
            elif match := _SLASH.fullmatch(text):
                first, second = int(match["a"]), int(match["b"])
                day_n, month = (first, second) if self.day_first else (second, first)
                day = date(int(match["y"]), month, day_n)
            elif match := _NAMED.fullmatch(text):
                if match["mon"].lower() not in _MONTHS:
                    raise Unreadable(raw)
                day = date(int(match["y"]), _MONTHS[match["mon"].lower()], int(match["d"]))
            elif match := _ONLY_CLOCK.fullmatch(text):
                if self.day is None:
                    raise Unreadable(raw)
                day, self.time_only_seen = self.day, True
            else:
                raise Unreadable(raw)
            moment = datetime.combine(day, _clock(match))
        except ValueError:  # day 31 of a 30-day month, hour 25...
            raise Unreadable(raw) from None
        zone = _zone(match)
        if zone is None:
            self.naive_seen = True
        return moment.replace(tzinfo=zone or self.zone)


def _clock(match: re.Match) -> time:
    if match["h"] is None:
        return time(0, 0)
    hour, minute, second = int(match["h"]), int(match["mi"]), int(match["s"] or 0)
    half = (match["ampm"] or "").lower().replace(".", "")
    if half:
        if not 1 <= hour <= 12:
            raise ValueError("12-hour clock")
        hour = hour % 12 + (12 if half in ("pm", "下午") else 0)
    return time(hour, minute, second)


def _zone(match: re.Match) -> tzinfo | None:
    offset = match["off"] or match["off2"]
    if offset:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
        if hours > 14 or minutes > 59:
            raise ValueError("offset")
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    return UTC if match["z"] else None


def _slash_dates(values: list[str]) -> list[tuple[int, int]]:
    found = []
    for raw in values:
        text = nfkc(raw)
        if len(text) <= MAX_VALUE and (match := _SLASH.fullmatch(text)):
            found.append((int(match["a"]), int(match["b"])))
    return found


def day_first(values: list[str], session_day: date | None) -> tuple[bool, bool]:
    """Which way round this file's ``01/06/2023`` dates are, and whether that was assumed.

    A part over 12 settles it; otherwise the reading that puts the meeting on the session's day;
    otherwise the exporting account's locale: a 12-hour clock is the United States' month first,
    a 24-hour one day first (REAL_FILES.md), assumed."""
    pairs = _slash_dates(values)
    if not pairs:
        return False, False
    if any(a > 12 for a, _b in pairs):
        return True, False
    if any(b > 12 for _a, b in pairs):
        return False, False
    if all(a == b for a, b in pairs):
        return False, False
    if session_day is not None:
        days = {(session_day.day, session_day.month): True, (session_day.month, session_day.day): False}
        hits = {days[pair] for pair in pairs if pair in days}
        if len(hits) == 1:
            return hits.pop(), False
    # A 12-hour clock is the United States' locale (every such export seen is month first); a
    # 24-hour one is most likely day first, but that is a guess the preview owns up to.
    if any(re.search(r"[ap]\.?m\.?|上午|下午", raw, re.I) for raw in values[:200]):
        return False, False
    return True, True


_HMS = re.compile(r"(\d{1,4}):([0-5]?\d):([0-5]?\d)")
_HM = re.compile(r"(\d{1,4}):(\d{2})")
_NUMBER = re.compile(r"\d{1,6}(?:\.\d{1,6})?")
_UNITS = re.compile(
    r"(?:(?P<h>\d{1,4}(?:\.\d{1,3})?)\s*(?:小时|时|hours?|hrs?|h))?\s*"
    r"(?:(?P<m>\d{1,6}(?:\.\d{1,3})?)\s*(?:分钟|分|minutes?|mins?|m))?\s*"
    r"(?:(?P<s>\d{1,7})\s*(?:秒钟|秒|seconds?|secs?|s))?"
)


def duration_seconds(raw: str) -> int | None:
    """A platform's duration in seconds: minutes (``83``, ``83.5``), ``H:MM:SS``, ``h:mm`` (``45:30``
    is mm:ss), ``83分钟``, ``1小时23分钟``, ``1.5 hours``, ``90 min``. None for an empty cell or
    ``--``; raises Unreadable for anything else (``1e999``, 8,000 digits: refused, never parsed)."""
    text = nfkc(raw).lower()
    if text in NO_VALUE:
        return None
    if len(text) > MAX_VALUE:
        raise Unreadable(raw)
    if _NUMBER.fullmatch(text):
        return round(float(text) * 60)
    if match := _HMS.fullmatch(text):
        hours, minutes, seconds = (int(part) for part in match.groups())
        return hours * 3600 + minutes * 60 + seconds
    if match := _HM.fullmatch(text):
        first, second = (int(part) for part in match.groups())
        return first * 3600 + second * 60 if first < 24 else first * 60 + second
    match = _UNITS.fullmatch(text)
    if match and any(match.groupdict().values()):
        h, m, s = (float(match[unit] or 0) for unit in ("h", "m", "s"))
        return round(h * 3600 + m * 60 + s)
    raise Unreadable(raw)


def _shown(raw: str) -> str:
    text = raw.strip()
    return text if len(text) <= 24 else text[:24] + "…"


# ---- names and people --------------------------------------------------------------------


def _mobiles(text: str) -> list[str]:
    found = []
    for match in _MOBILE.finditer(nfkc(text)):
        try:
            found.append(normalise_mobile(match.group()))
        except InvalidMobile:
            continue
    return found


def _phone_cell(text: str) -> list[str]:
    """A phone column's value: one number in any writing (``+86 138 1234 5678``, ``137-0000-1234``),
    or mobiles inside free text; a masked ``+86138****5678`` gives nothing."""
    if "*" in text:
        return []
    try:
        number = normalise_mobile(text)
    except InvalidMobile:
        return _mobiles(text)
    return [number] if number else []


def _last_parentheses(text: str) -> tuple[str, str] | None:
    """``nickname(in-meeting name)`` split at its last ASCII parentheses, if it ends with them."""
    match = re.fullmatch(r"(.*)\(([^()]*)\)\s*", text, re.S)
    return (match[1], match[2]) if match else None


def _whole(name: str) -> set[str]:
    """The keys of a name cell as a whole and of each side of its last parentheses."""
    split = _last_parentheses(name) or ("", "")
    return {name_key(text) for text in (name, *split)} - {""}


def _candidates(texts: list[str]) -> tuple[str, ...]:
    """Name keys for a person, best first: for each way of writing given, the whole, then a
    possessive device (``Maria's iPhone``), two words the other way round (``磊 王``,
    ``Fernandes, Maria``), a family name written twice (``王磊 王``), then the parts around dashes
    and commas (``张三-人社局``, ``陈静, 人社局``)."""
    keys: list[str] = []

    def add(text: str) -> None:
        key = name_key(text)
        if len(key) >= 2 and key not in keys:
            keys.append(key)

    for text in texts:
        add(text)
        plain = nfkc(text)
        if match := _POSSESSIVE_DEVICE.match(plain):
            add(match[1])
        words = normalise_name(re.sub(r"[\d,，]+", " ", plain)).split()
        if len(words) == 2:
            first, last = words
            add(last + first)
            if first.startswith(last) and first != last:
                add(first)
        parts = [part for part in _DASHES.split(plain) if name_key(part)]
        if len(parts) > 1:
            for part in parts:
                add(part)
    return tuple(keys)


def _kind(text: str) -> str:
    plain = nfkc(text)
    if _BOT.search(plain):
        return "bot"
    if _DEVICE.fullmatch(plain.strip()):
        return "device"
    return ""


def people_in(
    name: str, platform: str, email: str = "", phones: tuple[str, ...] = (), extra=()
) -> list[Someone]:
    """Who a row's name cell stands for.

    Tencent writes ``account nickname(in-meeting name)``: the real name is inside the last ASCII
    parentheses (the nickname may hold full-width ones), often with a phone or an organisation
    after it. Zoom writes ``display name (original name)``. ``A&B`` (or ``A＆B``) is two people
    at one device: both attended, each found by their own name and digits, so the row's email
    and phone columns are nobody's in particular and are not used for them."""
    raw = (name or "").strip()
    split = _last_parentheses(raw)
    if platform in Platform.TENCENT:
        texts = [split[1], split[0]] if split else [raw]
    else:
        texts = [split[0], split[1]] if split and split[0].strip() else [raw]
    texts = [text.strip() for text in texts if text.strip()]
    if not texts:
        texts = [raw]
    kind = _kind(raw)
    shared = next((text for text in texts if _AMPERSAND.search(nfkc(text))), None)
    if shared is not None and not kind:
        parts = [part for part in _AMPERSAND.split(nfkc(shared)) if part.strip()]
        if len(parts) > 1:
            return [
                Someone(label=part, keys=_candidates([part]), phones=tuple(_mobiles(part)), email="")
                for part in parts
            ]
    found = tuple(dict.fromkeys([*_mobiles(raw), *phones]))
    return [Someone(label=raw, keys=_candidates([*texts, *extra]), phones=found, email=email, kind=kind)]


# ---- a sheet's rows to entries -----------------------------------------------------------


def _summary(rows: list[list[str]]) -> dict[str, str]:
    """A report's own details above its table: Zoom's summary (a header row and its values) and
    Tencent's preamble (``会议主题:`` in column A, the value in B)."""
    details: dict[str, str] = {}
    for index, row in enumerate(rows):
        labels = [label(cell) for cell in row]
        if "topic" in labels and any(start in labels for start in START_LABELS):
            values = next((r for r in rows[index + 1 :] if not _blank(r)), [])
            for position, name in enumerate(labels):
                if name and position < len(values) and values[position].strip():
                    details.setdefault(name, values[position].strip())
        elif len(row) >= 2 and row[0].strip().endswith((":", "：")) and row[1].strip():
            details.setdefault(label(row[0]), row[1].strip())
    return details


def _value(row: list[str], column: int | None) -> str:
    if column is None or column >= len(row):
        return ""
    return row[column].strip()


@dataclass
class _Section:
    start: int  # first data row
    end: int  # after the last
    header: int
    role: str  # "host", "panelist", ""


def _webinar_sections(sheet: Sheet) -> list[_Section]:
    """The sections of a Zoom webinar report: a title row, its own header, its rows."""
    titles = [
        index
        for index, row in enumerate(sheet.rows)
        if row and _single(row) and label(row[0]).endswith(("details", "attended"))
    ]
    sections = []
    for position, title in enumerate(titles):
        end = titles[position + 1] if position + 1 < len(titles) else len(sheet.rows)
        header = next((i for i in range(title + 1, end) if not _blank(sheet.rows[i])), None)
        if header is None:
            continue
        name = label(sheet.rows[title][0])
        role = "host" if name.startswith("host") else "panelist" if name.startswith("panelist") else ""
        sections.append(_Section(header + 1, end, header, role))
    return sections


def _roles_by_name(sheet: Sheet) -> dict[str, str]:
    """Tencent's overview names each user's part (主持人, 联席主持人): by their name cell."""
    for index, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        labels = [label(cell) for cell in row]
        fields = _fields(labels)
        if "role" in fields and "name" in fields:
            roles = {}
            for data in sheet.rows[index + 1 :]:
                role = HOST_WORDS.get(label(_value(data, fields["role"])), "")
                if role:
                    roles[_value(data, fields["name"])] = role
            return roles
    return {}


def read_report(
    data: bytes, zone: tzinfo, session_day: date | None = None, mapping: dict[str, int] | None = None
) -> Report:
    """The report's entries, by the platform's layout or by the coordinator's ``mapping``
    (field -> column index of the header row shown in the preview)."""
    sheets = read_sheets(data)
    if all(_blank(row) for sheet in sheets for row in sheet.rows):
        raise _problem(_l("The file is empty."))
    layout = recognise(sheets)
    if mapping is not None:
        number, header = (layout.sheet, layout.header) if layout else candidate_header(sheets)
        kept = {k: v for k, v in (layout.fields if layout else {}).items() if k not in FIELDS}
        platform = layout.platform if layout and layout.platform != Platform.COLUMNS else Platform.MAPPED
        layout = Layout(platform, number, header, {**kept, **mapping})
    if layout is None:
        number, header = candidate_header(sheets)
        report = Report(Platform.UNKNOWN, sheets[number].name, sheets[number].line(header), [], {})
        report.columns = [cell.strip() for cell in sheets[number].rows[header]]
        if not any(not _blank(row) for row in sheets[number].rows[header + 1 :]):
            raise _problem(_l("The file has no rows under its header row."))
        return report
    sheet = sheets[layout.sheet]
    header_row = sheet.rows[layout.header]
    report = Report(
        layout.platform,
        sheet.name if len(sheets) > 1 or sheet.name else "",
        sheet.line(layout.header),
        [cell.strip() for cell in header_row],
        dict(layout.fields),
    )
    if layout.platform == Platform.ZOOM_WEBINAR:
        sections = _webinar_sections(sheet) or [
            _Section(layout.header + 1, len(sheet.rows), layout.header, "")
        ]
    else:
        sections = [_Section(layout.header + 1, len(sheet.rows), layout.header, "")]
    details = _summary(sheet.rows[: min(s.header for s in sections)])
    roles: dict[str, str] = {}
    if layout.platform in Platform.TENCENT:
        for other in sheets:
            roles.update(_roles_by_name(other))
            if not details:
                details = _summary(other.rows[:HEADER_SEARCH_ROWS])
    _entries(report, sheet, layout.header, sections, details, roles, zone, session_day)
    if layout.platform == Platform.TENCENT_OVERVIEW:
        report.note("overview_only")
    if layout.platform == Platform.COLUMNS:
        report.note("by_column_names")
    return report


def _entries(report, sheet, header, sections, details, roles, zone, session_day) -> None:
    """The entries of every section (a webinar's host, panelist and attendee sections each have
    their own header; the layout's own header is read with the fields recognised or chosen)."""
    time_values = [details.get(name, "") for name in START_LABELS]
    for section in sections:
        fields = (
            report.fields
            if section.header == header
            else _fields([label(c) for c in sheet.rows[section.header]])
        )
        for column in (fields.get("join"), fields.get("leave")):
            if column is not None:
                time_values.extend(_value(row, column) for row in sheet.rows[section.start : section.end])
    first, assumed = day_first(time_values, session_day)
    clock = Clock(zone, day_first=first)
    start_text = next((details[name] for name in START_LABELS if details.get(name)), "")
    try:
        report.meeting_start = clock.read(start_text) if start_text else None
    except Unreadable:
        report.meeting_start = None
    clock.day = report.meeting_start.astimezone(zone).date() if report.meeting_start else session_day
    host_name = name_key(next((details[n] for n in HOST_NAME_LABELS if details.get(n)), ""))
    host_email = next((details[n] for n in HOST_EMAIL_LABELS if details.get(n)), "").lower()
    waiting = never_joined = 0
    for section in sections:
        labels = [label(cell) for cell in sheet.rows[section.header]]
        fields = report.fields if section.header == header else _fields(labels)
        timing = {fields.get(name) for name in ("join", "leave", "duration")}
        phone_columns = [
            index
            for index, text in enumerate(labels)
            if index not in timing
            and index not in (fields.get("name"), fields.get("phone"))
            and not _NOT_PHONE.search(text)
        ]
        for index in range(section.start, section.end):
            row = sheet.rows[index]
            if _blank(row):
                continue
            if report.platform == Platform.ZOOM_WEBINAR and not section.role:
                attended = label(_value(row, fields.get("attended")))
                if attended and attended not in YES:
                    never_joined += 1
                    continue
            if label(_value(row, fields.get("waiting"))) in YES:
                waiting += 1
                continue
            entry = _entry(report, sheet.line(index), row, fields, clock, phone_columns)
            role = section.role if section.role == "host" else ""
            role = role or HOST_WORDS.get(label(_value(row, fields.get("role"))), "")
            role = role or roles.get(entry.name, "")
            if not role and (host_name or host_email):
                person = entry.people[0] if len(entry.people) == 1 else None
                if person and (
                    (host_email and person.email == host_email)
                    or (host_name and host_name in _whole(entry.name))
                ):
                    role = "host"
            if role:
                for person in entry.people:
                    person.kind = role
            report.entries.append(entry)
    if not report.entries and never_joined:
        raise _problem(_l("Nobody in this report attended: every registrant's row says Attended = No."))
    if not report.entries:
        raise _problem(_l("The file has no rows under its header row."))
    if report.meeting_start is None:
        joins = [entry.joined for entry in report.entries if entry.joined]
        report.meeting_start = min(joins) if joins else None
    if waiting:
        report.note("waiting_room", n=waiting)
    if never_joined:
        report.note("never_joined", n=never_joined)
    if assumed:
        report.note("day_first" if first else "month_first")
    if clock.naive_seen:
        report.note("zone", zone=str(zone))
    if clock.time_only_seen and clock.day is not None:
        report.note("time_only", day=clock.day.isoformat())


def _entry(report, line, row, fields, clock, phone_columns) -> Entry:
    name = _value(row, fields.get("name"))
    email = nfkc(_value(row, fields.get("email"))).lower()
    if "@" not in email or "*" in email:
        email = ""
    phones = _phone_cell(_value(row, fields.get("phone")))
    for column in phone_columns:
        phones.extend(_mobiles(_value(row, column)))
    extra: tuple[str, ...] = ()
    if "first_name" in fields or "last_name" in fields:
        first, last = _value(row, fields.get("first_name")), _value(row, fields.get("last_name"))
        extra = tuple(text for text in (f"{last}{first}", f"{first} {last}") if text.strip())
    people = people_in(name or email, report.platform, email, tuple(dict.fromkeys(phones)), extra)
    entry = Entry(line, name or email, people)
    column = fields.get("join")
    try:
        entry.joined = clock.read(_value(row, column)) if column is not None else None
        column = fields.get("leave")
        leave = _value(row, column) if column is not None else ""
        entry.inside = nfkc(leave) in STILL_INSIDE and entry.joined is not None
        entry.left = None if entry.inside else clock.read(leave) if leave else None
    except Unreadable as error:
        raise _problem(
            _l(
                'Line %(line)d: "%(value)s" in the column "%(column)s" is not a date and time'
                " this app reads.",
                line=line,
                value=_shown(str(error)),
                column=_column_name(report, column),
            )
        ) from None
    column = fields.get("duration")
    try:
        entry.seconds = duration_seconds(_value(row, column)) if column is not None else None
    except Unreadable as error:
        raise _problem(
            _l(
                'Line %(line)d: "%(value)s" in the column "%(column)s" is not a duration (minutes, or'
                " hours:minutes:seconds).",
                line=line,
                value=_shown(str(error)),
                column=_column_name(report, column),
            )
        ) from None
    return entry


def _column_name(report: Report, column: int | None) -> str:
    if column is not None and column < len(report.columns) and report.columns[column]:
        return report.columns[column]
    return str((column or 0) + 1)
