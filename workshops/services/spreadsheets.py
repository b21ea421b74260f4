"""Reading and writing CSV/XLSX files safely (nominations in, registration lists out).

Every file read through here is bounded before and while it is parsed, whoever reads it
(nominations, meeting reports): the upload size, what an XLSX unpacks to, its cells, columns
and merged ranges, the characters of a cell and the rows of a sheet. A file outside a bound is
refused with a message for the person who uploaded it, never half read.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from .errors import InvalidInput

MAX_ROWS = 5000
# A cell starting with one of these is run as a formula by Excel/WPS/LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# The bounds of a file read (see the module's docstring). A 5,000-row list of ten columns
# unpacks to about 3 MB and has 50,000 cells; a workbook beyond these is not a list of people.
DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # MAX_UPLOAD_BYTES, when no app is there to say
MAX_UNCOMPRESSED_BYTES = 40 * 1024 * 1024  # everything an XLSX unpacks to
MAX_ZIP_MEMBERS = 1000
MAX_CELLS = 200_000  # cells written in the workbook's sheets, merged areas included
MAX_COLUMNS = 100
MAX_CELL_CHARS = 2000
MAX_LINES = 20_000  # how far down a sheet may go, blank rows included
# All the text read. The XML's size does not bound it: every cell may point at the same shared
# string, so 200,000 cells of one 2,000-character string would be 400 million characters to copy.
MAX_TEXT_CHARS = 10_000_000  # 200,000 cells of 50 characters


def neutralise(value):
    """Make a CSV cell inert: text that would start a formula gets a leading apostrophe.

    Only CSV needs it: a spreadsheet program opening a CSV evaluates what looks like a formula.
    Reading a CSV takes the apostrophe off again (``_csv_rows``), so an export re-imports."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def restored(text: str) -> str:
    """A CSV cell as it was before ``neutralise`` (``'+86 139…`` → ``+86 139…``)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def text_cell(sheet, text: str):
    """A string cell of a write-only sheet, whatever the text starts with.

    An XLSX string cell is never run as a formula, so text is kept as it is (no apostrophe:
    ``+86 139…`` reads back as ``+86 139…``); only openpyxl itself would take ``=…`` for a
    formula, hence the type set here."""
    # XLSX cannot hold most control characters (a pasted vertical tab would fail the export).
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", text))
    cell.data_type = "s"
    return cell


def _xlsx_cell(sheet, value):
    if isinstance(value, str):
        return text_cell(sheet, value) if value.startswith("=") else ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def write_csv(header: list[str], rows) -> bytes:
    """CSV with a UTF-8 BOM so Excel in Chinese Windows shows Chinese names correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(sheets: dict[str, tuple[list[str], list]]) -> bytes:
    """An XLSX workbook, one sheet per entry, every text cell a string (never a formula)."""
    workbook = Workbook(write_only=True)
    for title, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append([_xlsx_cell(sheet, value) for value in header])
        for row in rows:
            sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _decode(data: bytes) -> str:
    # Excel on Chinese Windows saves CSV as GB18030/GBK; everything else as UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        {"file": _l("The file's text encoding is not recognised. Save it as CSV UTF-8 or XLSX.")}
    )


class Table(list):
    """A file's rows as dicts keyed by its header; ``header_line`` is where that header was."""

    header_line = 1


# Exports put a title, the meeting's own details or notes above the table: the header is
# looked for this far down.
HEADER_SEARCH_ROWS = 30


def _header_index(rows: list[list[str]], known: set[str]) -> int:
    """The row naming the most known columns (the later one on a tie: a meeting's summary comes
    before its participants' table and may share a column or two with it)."""
    scores = [
        (sum(cell.strip().lower() in known for cell in row), index)
        for index, row in enumerate(rows[:HEADER_SEARCH_ROWS])
    ]
    best, index = max(scores, default=(0, 0))
    return index if best else 0


def read_table(filename: str, data: bytes, known_headers: set[str] | None = None) -> Table:
    """Rows of a CSV or XLSX file as dicts keyed by the header row (all values text).

    With ``known_headers`` (lower case), the header is the row that names most of them and the
    rows above it are skipped; without, it is the first row."""
    rows = read_rows(filename, data)
    lines = [line for line, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)]
    rows = [rows[line - 1] for line in lines]
    start = _header_index(rows, known_headers) if known_headers else 0
    if len(rows) - start < 2:
        raise InvalidInput({"file": _l("The file has no rows under its header row.")})
    if len(rows) - start - 1 > MAX_ROWS:
        raise too_many_rows()
    header = [cell.strip() for cell in rows[start]]
    # Short rows (trailing empty cells left out) keep only the columns they have.
    table = Table(
        dict(zip(header, [cell.strip() for cell in row], strict=False)) for row in rows[start + 1 :]
    )
    table.header_line = lines[start]
    return table


def too_many_rows() -> InvalidInput:
    return InvalidInput(
        {"file": _l("The file has more than %(n)d rows; split it into smaller files.", n=MAX_ROWS)}
    )


# ---- reading a file as it comes, within bounds ----

# What a file's first bytes say it is, whatever its name.
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected Office file
_IMAGES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"%PDF-")
_OLD_FORMATS = (".xls", ".et")  # Excel 97-2003, WPS's own format


def max_upload_bytes() -> int:
    """MAX_UPLOAD_BYTES (the app's MAX_CONTENT_LENGTH): what a page accepts, and so a command."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") if has_app_context() else None
    return int(limit or DEFAULT_MAX_UPLOAD_BYTES)


def column_letter(index: int) -> str:
    """The column's name in a spreadsheet program (0 → A, 26 → AA)."""
    return get_column_letter(index + 1)


def _refuse(message) -> InvalidInput:
    return InvalidInput({"file": message})


def read_rows(filename: str, data: bytes) -> list[list[str]]:
    """The first sheet of an XLSX file (or a CSV file) as rows of text, within the bounds.

    ``rows[n - 1]`` is the row a spreadsheet program numbers ``n`` (blank rows are empty lists;
    trailing empty cells are left out). A merged range's value is in every cell it covers.
    What the file is comes from its first bytes (an XLSX named .csv is read as XLSX); an old
    .xls, an image or a protected workbook is refused with what to do about it."""
    name = (filename or "").lower()
    if not data:
        raise _refuse(_l("The file is empty."))
    if len(data) > max_upload_bytes():
        raise _refuse(
            _l(
                "The file is larger than %(n)d MB; split it into smaller files.",
                n=max(round(max_upload_bytes() / 2**20), 1),
            )
        )
    if name.endswith(_OLD_FORMATS):
        raise _refuse(
            _l("Old Excel files (.xls) cannot be read: open it in Excel or WPS and save it as .xlsx.")
        )
    if not name.endswith((".xlsx", ".csv")):
        raise _refuse(_l("Upload a .csv or .xlsx file."))
    if data.startswith(_OLE2):
        raise _refuse(
            _l(
                "This is an old Excel (.xls) file or a workbook protected by a password: open it in"
                " Excel or WPS, remove any password and save it as .xlsx."
            )
        )
    if data.startswith(_IMAGES):
        raise _refuse(_l("This file is an image or a PDF, not a spreadsheet: upload the .xlsx or .csv file."))
    if data.startswith(_ZIP):
        return _xlsx_rows(data)
    if name.endswith(".xlsx"):
        raise _refuse(_l("This file is not a readable XLSX workbook."))
    return _csv_rows(_decode(data))


def _csv_rows(text: str) -> list[list[str]]:
    if "\x00" in text:
        raise _refuse(_l("This does not look like a CSV file."))
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text))
    chars = 0
    try:
        for row in reader:
            rows.append(_bounded([restored(cell) for cell in row], len(rows) + 1))
            chars = _within_text_bound(chars, rows[-1])
    except csv.Error as error:  # a field beyond csv's own limit (128 KiB), a stray quote
        if "field limit" in str(error):
            raise _refuse(
                _l(
                    "Row %(line)d has a cell of more than %(n)d characters: is this the right file?",
                    line=len(rows) + 1,
                    n=MAX_CELL_CHARS,
                )
            ) from None
        raise _refuse(_l("This does not look like a CSV file.")) from None
    return rows


def _bounded(row: list[str], line: int) -> list[str]:
    """A row within the bounds of a line, trailing empty cells left out."""
    if line > MAX_LINES:
        raise _refuse(
            _l(
                "The sheet goes on beyond row %(n)d; a list has at most %(rows)d rows.",
                n=MAX_LINES,
                rows=MAX_ROWS,
            )
        )
    width = len(row)
    while width and not row[width - 1].strip():
        width -= 1
    if width > MAX_COLUMNS:
        raise _too_wide(line, width - 1)
    for index in range(width):
        if len(row[index]) > MAX_CELL_CHARS:
            raise _too_long(column_letter(index), line)
    return row[:width]


def _within_text_bound(chars: int, row: list[str]) -> int:
    """The characters read so far, this row's included, once they are within MAX_TEXT_CHARS."""
    chars += sum(len(cell) for cell in row)
    if chars > MAX_TEXT_CHARS:
        raise _refuse(
            _l(
                "This file holds more than %(n)d characters of text, far more than a list of people:"
                " is this the right file?",
                n=MAX_TEXT_CHARS,
            )
        )
    return chars


def _too_wide(line: int, index: int) -> InvalidInput:
    return _refuse(
        _l(
            "Row %(line)d has something in column %(column)s: a list has at most %(n)d columns.",
            line=line,
            column=column_letter(index),
            n=MAX_COLUMNS,
        )
    )


def _too_long(column: str, line: int) -> InvalidInput:
    return _refuse(
        _l(
            "Cell %(cell)s has more than %(n)d characters: is this the right file?",
            cell=f"{column}{line}",
            n=MAX_CELL_CHARS,
        )
    )


# What the sheets' XML says, read before openpyxl parses any of it. openpyxl's read-only mode
# (streaming: a 5,000-row list costs a few MB) does not expose merged ranges, so they are read
# here from each sheet's <mergeCell ref="C3:C7"/> elements, bounded like cells.
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s/>]")
_SHEET_DATA = re.compile(rb"<(?:\w+:)?sheetData[\s/>]")
_MERGE_REF = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=[\"']([A-Za-z]+)(\d+)(?::([A-Za-z]+)(\d+))?[\"']")
# A cell with content (not self-closing) in column AA or beyond: checked against MAX_COLUMNS.
_WIDE_CELL = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br=[\"']([A-Z]{2,3})(\d+)[\"'][^>]*?(?<!/)>")
_LONG_VALUE = re.compile(rb"<(?:\w+:)?v(?:\s[^>]*)?>[^<]{%d,}" % (MAX_CELL_CHARS + 1))
_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
# XML in another encoding than UTF-8 would hide a declaration from the check above.
_WIDE_XML = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_ARCHIVE_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError)

# A merged range: (first column, first row, last column, last row), 1-based.
Merge = tuple[int, int, int, int]


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _check_archive(data: bytes) -> dict[str, list[Merge]]:
    """Refuse a workbook whose parts are absurd, before any XML of it is parsed; the merged
    ranges of each sheet, by the sheet's path in the archive."""
    unreadable = _refuse(_l("This file is not a readable XLSX workbook."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except _ARCHIVE_ERRORS:
        raise unreadable from None
    # A member's size is what its header declares; zipfile never inflates a member beyond it.
    if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_UNCOMPRESSED_BYTES:
        raise _refuse(
            _l(
                "This workbook unpacks to more than %(n)d MB, far more than a list of people: save the"
                " sheet you need in a new workbook.",
                n=MAX_UNCOMPRESSED_BYTES >> 20,
            )
        )
    cells = 0
    merges: dict[str, list[Merge]] = {}
    with archive:
        for member in members:
            try:
                part = archive.read(member)
            except _ARCHIVE_ERRORS:
                raise unreadable from None
            # openpyxl parses with the standard library (defusedxml is not installed):
            # spreadsheet programs never write a document type, so none is let through.
            encoding = _XML_ENCODING.match(part[:200])
            if (
                part.startswith(_WIDE_XML)
                or (encoding is not None and encoding.group(1).lower() not in (b"utf-8", b"utf8"))
                or any(declaration in part for declaration in _DECLARATIONS)
            ):
                raise _refuse(
                    _l(
                        "This workbook holds XML that spreadsheet programs never write (a document type"
                        " or entities); it was not opened."
                    )
                )
            if not _SHEET_DATA.search(part):
                continue
            cells += sum(1 for _ in _CELL_TAG.finditer(part))
            ranges = merges.setdefault(member.filename, [])
            for first_col, first_row, last_col, last_row in _MERGE_REF.findall(part):
                merge = (
                    _column_number(first_col),
                    int(first_row),
                    _column_number(last_col or first_col),
                    int(last_row or first_row),
                )
                cells += max(merge[2] - merge[0] + 1, 1) * max(merge[3] - merge[1] + 1, 1)
                ranges.append(merge)
            if cells > MAX_CELLS:
                raise _refuse(
                    _l(
                        "This workbook has more than %(n)d cells, far more than a list of people: save the"
                        " sheet you need in a new workbook.",
                        n=MAX_CELLS,
                    )
                )
            for letters, line in _WIDE_CELL.findall(part):
                if _column_number(letters) > MAX_COLUMNS:
                    raise _too_wide(int(line), _column_number(letters) - 1)
            if _LONG_VALUE.search(part):
                raise _refuse(
                    _l(
                        "A cell of this workbook has more than %(n)d characters: is this the right file?",
                        n=MAX_CELL_CHARS,
                    )
                )
    return merges


def _open_workbook(data: bytes):
    """The workbook in openpyxl's read-only mode, once its parts are within the bounds, and
    its sheets' merged ranges."""
    merges = _check_archive(data)
    try:
        with warnings.catch_warnings():  # unsupported extensions (data validation) are dropped
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # any failure to parse someone's file is a file that cannot be read
        raise _refuse(_l("This file is not a readable XLSX workbook.")) from None
    if not workbook.worksheets:
        workbook.close()
        raise _refuse(_l("This workbook has no sheet of cells."))
    return workbook, merges


def cell_text(value) -> str:
    """A cell's value as the text a spreadsheet program shows for it (a whole number stored
    as 13812345678.0 is 13812345678)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _sheet_rows(sheet, merges: list[Merge]) -> list[list[str]]:
    """The sheet's rows as text, merged ranges filled, within the bounds."""
    rows: list[list[str]] = []
    chars = 0
    sheet.reset_dimensions()  # a sheet's declared size may be wrong (too small, too big): read all
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # No wider than the bounds: a styled empty cell in column XFD would make every row
            # 16,384 cells wide (a value beyond MAX_COLUMNS was refused above).
            for values in sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True):
                width = len(values)
                while width and values[width - 1] is None:
                    width -= 1
                rows.append(_bounded([cell_text(value) for value in values[:width]], len(rows) + 1))
                chars = _within_text_bound(chars, rows[-1])
    except InvalidInput:
        raise
    except Exception:  # the sheet's XML is parsed as it is read
        raise _refuse(_l("This file is not a readable XLSX workbook.")) from None
    for first_col, first_row, last_col, last_row in merges:
        top = rows[first_row - 1] if first_row <= len(rows) else []
        value = top[first_col - 1] if first_col <= len(top) else ""
        if not value.strip():
            continue
        for line in range(first_row, min(last_row, len(rows)) + 1):
            cells = rows[line - 1]
            for column in range(first_col, min(last_col, MAX_COLUMNS) + 1):
                if len(cells) < column:
                    cells.extend([""] * (column - len(cells)))
                if not cells[column - 1].strip():
                    cells[column - 1] = value
                    chars = _within_text_bound(chars, [value])  # a merged range copies its text too
    return rows


def _xlsx_rows(data: bytes) -> list[list[str]]:
    workbook, merges = _open_workbook(data)
    try:
        sheet = workbook.worksheets[0]
        rows = _sheet_rows(sheet, merges.get(sheet._worksheet_path.lstrip("/"), []))
        return rows
    finally:
        workbook.close()
