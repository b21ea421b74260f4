"""The nominations import parser, fuzzed (Hypothesis): any bytes, any CSV, any workbook gives
rows or a clear message for the file, never a crash; a preview never writes a registration."""

import io
import os
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from workshops.models import Job, JobFile, Registration
from workshops.services import nominations
from workshops.services.errors import InvalidInput
from workshops.services.spreadsheets import FORMULA_PREFIXES, read_table, write_xlsx

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 40))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

ALIASES = [alias for aliases in nominations.HEADERS.values() for alias in aliases]
# Text people paste into spreadsheets: Chinese, formulas, quotes, separators, control characters.
cell_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
) | st.sampled_from(
    [
        "李华",
        '=HYPERLINK("x")',
        "+86 138 0000 0000",
        "@SUM(A1)",
        "a@b.cn",
        "onsite",
        "线上",
        "女",
        '"',
        ",",
        "\n",
        "\x00",
        "person@example.org",
        "企业",
    ]
)
header_cell = st.sampled_from(ALIASES) | cell_text


def _file_message(error: InvalidInput) -> str:
    assert set(error.errors) == {"file"}
    message = str(error.errors["file"])
    assert message.strip()
    return message


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".CSV", ".txt", ""]))
def test_any_bytes_give_rows_or_a_message(app, data, suffix):
    with app.test_request_context():
        try:
            rows = read_table(f"nominations{suffix}", data)
        except InvalidInput as error:
            _file_message(error)
        else:
            assert rows and all(
                isinstance(k, str) and isinstance(v, str) for row in rows for k, v in row.items()
            )


def _csv(table, encoding):
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)
    return buffer.getvalue().encode(encoding, errors="replace")


def _xlsx(table):
    workbook = Workbook()
    sheet = workbook.active
    for row in table:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", cell) if isinstance(cell, str) else cell for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


tables = st.lists(header_cell, min_size=1, max_size=6).flatmap(
    lambda header: st.tuples(
        st.just(header),
        st.lists(
            st.lists(
                cell_text
                | st.integers(-(10**12), 10**12)
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.none(),
                min_size=len(header),
                max_size=len(header),
            ),
            max_size=8,
        ),
    )
)


@FUZZ
@given(table=tables, kind=st.sampled_from(["csv-utf8", "csv-gb18030", "xlsx"]))
def test_any_table_previews_row_by_row_and_writes_no_registration(app, make_workshop, db, table, kind):
    header, rows = table
    cells = [header] + [["" if cell is None else cell for cell in row] for row in rows]
    if kind == "xlsx":
        filename, data = "list.xlsx", _xlsx(cells)
    else:
        text_cells = [[str(cell) for cell in row] for row in cells]
        filename, data = "list.csv", _csv(text_cells, "utf-8" if kind == "csv-utf8" else "gb18030")
    workshop = make_workshop()
    with app.test_request_context():
        try:
            job = nominations.preview_import(workshop, filename, data, actor=None)
        except InvalidInput as error:
            _file_message(error)
            assert db.session.query(Job).count() == 0
        else:
            job = db.session.get(Job, job.id)
            reports = nominations.row_reports(job)
            assert reports or job.payload["skipped"]  # rows with no name or contact are listed as skipped
            for report in reports:
                assert report.ok or (report.reasons and all(reason.strip() for reason in report.reasons))
        db.session.rollback()
    assert db.session.query(Registration).count() == 0
    db.session.query(JobFile).delete()  # SQLite here enforces no foreign keys: no cascade
    db.session.query(Job).delete()
    db.session.commit()


def test_a_zip_that_is_not_a_workbook_is_explained(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with app.test_request_context():
        try:
            read_table("list.xlsx", buffer.getvalue())
        except InvalidInput as error:
            assert "XLSX" in _file_message(error)
        else:
            raise AssertionError("a zip without a workbook was read")


@FUZZ
@given(
    rows=st.lists(
        st.lists(cell_text | st.integers(-(10**6), 10**6) | st.none(), min_size=3, max_size=3), max_size=5
    )
)
def test_any_registration_text_exports_to_an_inert_workbook(rows):
    # Text is a string cell, never a formula, and kept as it is (no apostrophe in XLSX).
    data = write_xlsx({"Registrations": (["Name", "Email", "Organisation"], rows)})
    sheet = load_workbook(io.BytesIO(data)).active
    for line, written in zip(sheet.iter_rows(min_row=2), rows, strict=False):
        for cell, value in zip(line, written, strict=False):
            assert cell.data_type != "f"
            if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and cell.value:
                assert cell.data_type == "s" and not cell.value.startswith("'" + value[:1])


@FUZZ
@given(
    table=tables,
    titles=st.lists(cell_text, max_size=3),
    merges=st.lists(
        st.tuples(st.integers(1, 12), st.integers(1, 6), st.integers(0, 4), st.integers(0, 2)), max_size=4
    ),
)
def test_any_workbook_with_titles_and_merged_cells_previews_as_a_dry_run_decides(
    app, make_workshop, db, table, titles, merges
):
    """Title rows above the table and merged ranges anywhere: a preview or a message for the
    file, never a crash, and the command line's dry run decides every row as the preview did."""
    header, rows = table
    workbook = Workbook()
    sheet = workbook.active
    for title in titles:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", title)])
    for row in [header] + [["" if cell is None else cell for cell in row] for row in rows]:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", cell) if isinstance(cell, str) else cell for cell in row])
    for row, column, down, across in merges:
        sheet.merge_cells(start_row=row, start_column=column, end_row=row + down, end_column=column + across)
    buffer = io.BytesIO()
    workbook.save(buffer)
    workshop = make_workshop()
    with app.test_request_context():
        try:
            job = nominations.preview_import(workshop, "list.xlsx", buffer.getvalue(), actor=None)
        except InvalidInput as error:
            _file_message(error)
        else:
            dry = nominations.import_file(workshop, "list.xlsx", buffer.getvalue(), dry_run=True)
            previewed = nominations.row_reports(db.session.get(Job, job.id))
            assert [c["line"] for c in dry.created] == [r.line for r in previewed if r.ok]
            assert [r["line"] for r in dry.refused] == [r.line for r in previewed if not r.ok]
            assert dry.skipped == [line for line, _why in job.payload["skipped"]]
        db.session.rollback()
    assert db.session.query(Registration).count() == 0
    db.session.query(JobFile).delete()  # SQLite here enforces no foreign keys: no cascade
    db.session.query(Job).delete()
    db.session.commit()
