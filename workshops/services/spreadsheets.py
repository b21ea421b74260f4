"""Reading and writing CSV/XLSX files safely (nominations in, registration lists out)."""

from __future__ import annotations

import csv
import io
import zipfile

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .errors import InvalidInput

MAX_ROWS = 5000
# A cell starting with one of these is run as a formula by Excel/WPS/LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Make a cell inert: text that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _xlsx_cell(value):
    # XLSX cannot hold most control characters (a pasted vertical tab would fail the export).
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return neutralise(value)


def write_csv(header: list[str], rows) -> bytes:
    """CSV with a UTF-8 BOM so Excel in Chinese Windows shows Chinese names correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(sheets: dict[str, tuple[list[str], list]]) -> bytes:
    """An XLSX workbook, one sheet per entry, every text cell neutralised."""
    workbook = Workbook(write_only=True)
    for title, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append(header)
        for row in rows:
            sheet.append([_xlsx_cell(value) for value in row])
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
    name = (filename or "").lower()
    if not data:
        raise InvalidInput({"file": _l("The file is empty.")})
    if name.endswith(".xlsx"):
        rows = _xlsx_rows(data)
    elif name.endswith(".csv"):
        text = _decode(data)
        if "\x00" in text:
            raise InvalidInput({"file": _l("This does not look like a CSV file.")})
        rows = list(csv.reader(io.StringIO(text)))
    else:
        raise InvalidInput({"file": _l("Upload a .csv or .xlsx file.")})
    lines = [line for line, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)]
    rows = [rows[line - 1] for line in lines]
    start = _header_index(rows, known_headers) if known_headers else 0
    if len(rows) - start < 2:
        raise InvalidInput({"file": _l("The file has no rows under its header row.")})
    if len(rows) - start - 1 > MAX_ROWS:
        raise InvalidInput(
            {"file": _l("The file has more than %(n)d rows; split it into smaller files.", n=MAX_ROWS)}
        )
    header = [cell.strip() for cell in rows[start]]
    # Short rows (trailing empty cells left out) keep only the columns they have.
    table = Table(
        dict(zip(header, [cell.strip() for cell in row], strict=False)) for row in rows[start + 1 :]
    )
    table.header_line = lines[start]
    return table


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise InvalidInput({"file": _l("This file is not a readable XLSX workbook.")}) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(["" if cell is None else str(cell) for cell in row])
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        workbook.close()
