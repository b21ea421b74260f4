"""Abuse from outside (issue 16): proxies believed only when told, personal pages never cached,
the PDF fetcher kept inside static/, the organiser's API read no wider than their page."""

from __future__ import annotations

import importlib
import io
import os
import time
import zipfile

import pytest

from tests.helpers import applicant, form_data
from workshops.config import ConfigError, load_config
from workshops.models import Role

# What these tests check (headers, bounds and parsers) does not depend on the database.
pytestmark = pytest.mark.one_database

# ---- proxies trusted only when told --------------------------------------------------------


def _login_codes(client, email: str, addresses: list[str]) -> list[int]:
    return [
        client.post(
            "/login",
            data={"email": email, "password": "wrong"},
            headers={"X-Forwarded-For": address},
        ).status_code
        for address in addresses
    ]


def test_a_spoofed_forwarded_for_does_not_lift_the_login_limit_without_proxy_fix(
    make_app, make_user, monkeypatch
):
    monkeypatch.delenv("PROXY_FIX", raising=False)
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    assert app.config["PROXY_FIX"] == 0
    user = make_user(Role.COORDINATOR)
    spoofed = [f"198.51.100.{n}" for n in range(5)]
    assert _login_codes(app.test_client(), user.email, spoofed) == [200, 200, 200, 429, 429]


def test_a_spoofed_forwarded_for_does_not_lift_the_registration_limit(make_app, make_workshop, monkeypatch):
    monkeypatch.delenv("PROXY_FIX", raising=False)
    workshop = make_workshop()
    client = make_app(RATELIMIT_ENABLED=True, REGISTRATION_RATE_LIMIT="2 per minute").test_client()
    codes = [
        client.post(
            f"/workshops/{workshop.id}/register",
            data=form_data(n),
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        ).status_code
        for n in range(3)
    ]
    assert codes == [302, 302, 429]


def test_behind_one_proxy_the_last_hop_is_the_client(make_app, make_user, monkeypatch):
    monkeypatch.setenv("PROXY_FIX", "1")
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    assert app.config["PROXY_FIX"] == 1
    user = make_user(Role.COORDINATOR)
    client = app.test_client()
    # What the client wrote before nginx's own entry is not believed: one client, one limit.
    same_client = [f"198.51.100.{n}, 203.0.113.7" for n in range(4)]
    assert _login_codes(client, user.email, same_client) == [200, 200, 200, 429]
    # nginx's entry (the last hop) names another client: a limit of its own.
    assert _login_codes(client, user.email, ["203.0.113.8"]) == [200]


@pytest.mark.parametrize(
    ("value", "proxies"), [("", 0), ("0", 0), ("false", 0), ("1", 1), ("true", 1), ("2", 2)]
)
def test_proxy_fix_is_the_number_of_proxies_and_off_in_production_unless_set(
    monkeypatch, tmp_path, value, proxies
):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 50)
    monkeypatch.setenv("PROXY_FIX", value)
    assert load_config(str(tmp_path))["PROXY_FIX"] == proxies


def test_a_proxy_fix_that_is_not_a_number_stops_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("PROXY_FIX", "nginx")
    with pytest.raises(ConfigError, match="PROXY_FIX"):
        load_config(str(tmp_path))


def test_gunicorn_listens_on_loopback_unless_told(monkeypatch):
    import workshops.gunicorn_conf as conf

    monkeypatch.delenv("BIND", raising=False)
    assert importlib.reload(conf).bind == "127.0.0.1:8000"
    monkeypatch.setenv("BIND", "10.0.0.5:8000")
    assert importlib.reload(conf).bind == "10.0.0.5:8000"
    monkeypatch.delenv("BIND")
    importlib.reload(conf)


# ---- personal pages are never stored ------------------------------------------------------


def test_personal_pages_downloads_and_api_answers_are_never_stored(client, auth, make_user, make_workshop):
    from datetime import UTC, datetime, timedelta

    from workshops.models import RegistrationSource
    from workshops.services import checkin, survey_links, surveys
    from workshops.services import registration as registrations

    workshop = make_workshop()
    person = registrations.register(workshop.id, applicant(1)).registration
    now = datetime.now(UTC)
    ended = make_workshop(starts_at=now - timedelta(days=2), ends_at=now - timedelta(hours=1))
    attendee = registrations.register(ended.id, applicant(2), source=RegistrationSource.WALK_IN).registration
    checkin.redeem(ended.sessions[0], registration=attendee, override=True)
    surveys.apply_template(surveys.survey_for(ended), make_user(Role.COORDINATOR))
    session = workshop.sessions[0]
    personal = [
        f"/r/{person.manage_token}",
        f"/r/{person.manage_token}/my-data.json",
        f"/r/{person.manage_token}/calendar.ics",
        f"/s/{survey_links.survey_token(attendee)}",
    ]
    staff = [
        "/staff/",
        f"/staff/workshops/{workshop.id}/registrations",
        f"/staff/workshops/{workshop.id}/registrations/export.csv",
        f"/staff/workshops/{workshop.id}/registrations/export.xlsx",
        f"/staff/workshops/{workshop.id}/badges.pdf",
        f"/checkin/{workshop.id}/sessions/{session.id}/log",
        f"/api/v1/workshops/{workshop.id}/registrations",
        f"/api/v1/registrations/{person.id}",
        f"/api/v1/workshops/{workshop.id}/roster?session_id={session.id}",
        "/",  # a public page, signed in: it names the staff member
    ]
    for url in personal:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store, private", url
    auth.login(make_user(Role.COORDINATOR))
    for url in staff:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store, private", url
    # The scanner's pages name nobody and are kept by its service worker for a door without Wi-Fi:
    # by this browser only, asked for again whenever the server answers.
    for url in (f"/checkin/{workshop.id}", f"/checkin/{workshop.id}/sessions/{session.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "private, no-cache", url
    auth.logout()
    # What is the same for everyone may be kept.
    for url in ("/", f"/workshops/{workshop.id}", "/api/v1/workshops/", "/static/css/app.css"):
        response = client.get(url)
        response.close()  # the static file's handle
        assert response.status_code == 200, url
        assert "no-store" not in response.headers.get("Cache-Control", ""), url


# ---- the PDF fetcher stays inside static/ --------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "css/..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc/passwd",
        "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "%252e%252e%252f%252e%252e%252f%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "fonts/..%5C..%5C..%5C..%5Cetc%5Cpasswd",
    ],
)
def test_the_pdf_fetcher_decodes_before_it_checks(app, tail):
    from workshops.services import pdf

    static = app.static_folder
    with pytest.raises(pdf.BlockedURL):
        pdf.local_fetcher(f"file://{static}/{tail}")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "file://example.org/static/css/app.css",
        "FILE:///etc/passwd",
        "file:etc/passwd",
        "http://127.0.0.1/static/css/app.css",
        "https://fonts.googleapis.com/css",
        "ftp://example.org/x",
    ],
)
def test_the_pdf_fetcher_refuses_anything_but_static_files_and_data(app, url):
    from workshops.services import pdf

    with pytest.raises(pdf.BlockedURL):
        pdf.local_fetcher(url)


def test_the_pdf_fetcher_follows_no_symlink_out_of_static(tmp_path):
    from workshops.services import pdf

    static = tmp_path / "static"
    (static / "img").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for a PDF")
    (static / "img" / "logo.png").symlink_to(secret)
    (static / "img" / "real.png").write_bytes(b"\x89PNG")
    with pytest.raises(pdf.BlockedURL):
        pdf._check_local(f"file://{static}/img/logo.png", static.resolve())
    inside = pdf._check_local(f"file://{static}/img/%2E%2E/img/real.png?v=1", static.resolve())
    assert inside == (static / "img" / "real.png").resolve().as_uri()


def test_the_pdf_fetcher_still_reads_static_files_and_data(app):
    from workshops.services import pdf

    font = pdf.local_fetcher(f"file://{app.static_folder}/{pdf.FONT}")
    assert font.read(4) == b"ttcf"
    font.close()
    data = pdf.local_fetcher("data:text/plain;base64,aGk=")
    assert data.read() == b"hi"
    data.close()


# ---- the organiser's API read is the organiser's page --------------------------------------

ORGANISER_FIELDS = {
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
}


def test_an_organiser_reads_through_the_api_what_their_page_shows_and_each_read_is_audited(
    client, auth, make_user, make_workshop, db
):
    from workshops.models import AuditEvent
    from workshops.services import registration as registrations

    workshop = make_workshop()
    person = registrations.register(
        workshop.id, applicant(1, needs="wheelchair", job_title="HR")
    ).registration
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    auth.login(organiser)
    rows = client.get(f"/api/v1/workshops/{workshop.id}/registrations?status=confirmed").json
    assert [set(row) for row in rows] == [ORGANISER_FIELDS]
    assert rows[0]["mobile"] == person.mobile and rows[0]["email"] == "person1@example.org"
    assert set(client.get(f"/api/v1/registrations/{person.id}").json) == ORGANISER_FIELDS
    # What the page shows them, the API gives them; nothing else (gender, needs, job, consent).
    page = client.get(f"/staff/workshops/{workshop.id}/registrations").get_data(as_text=True)
    assert person.mobile in page and "wheelchair" not in page
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "registration.list_read"))
    [event] = list(events)
    assert (event.actor_id, event.target_type, event.target_id) == (organiser.id, "workshop", workshop.id)
    assert event.details == {"rows": 1, "status": "confirmed"}
    [one] = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "registration.read"))
    assert (one.actor_id, one.target_type, one.target_id) == (organiser.id, "registration", person.id)
    auth.logout()

    coordinator = make_user(Role.COORDINATOR)
    auth.login(coordinator)
    [row] = client.get(f"/api/v1/workshops/{workshop.id}/registrations").json
    assert row["needs"] == "wheelchair" and row["gender"] == "woman" and set(row) > ORGANISER_FIELDS
    assert "manage_token" not in row and "ticket_token" not in row
    actors = db.session.scalars(
        db.select(AuditEvent.actor_id).where(AuditEvent.action == "registration.list_read")
    ).all()
    assert sorted(actors) == sorted([organiser.id, coordinator.id])


# ---- every query parameter validated -------------------------------------------------------

NASTY = [
    "nope",
    "1e999",
    "-1",
    "99999999999999999999",
    "x",
    "²",
    "9999-12-31",
    "0001-01-01",
    "%ff",
    "' or 1=1",
]


def test_unknown_filter_values_are_a_400_in_words(client, auth, make_user, make_workshop):
    workshop = make_workshop()
    auth.login(make_user(Role.COORDINATOR))
    for url in (
        f"/staff/workshops/{workshop.id}/registrations?status=nope",
        f"/staff/workshops/{workshop.id}/registrations?mode=x",
        f"/staff/workshops/{workshop.id}/registrations/export.csv?organisation_type=1e999",
        "/?format=nope",
    ):
        response = client.get(url, headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 400, url
        assert "筛选条件没有这个选项" in response.get_data(as_text=True), url
    for url in (
        f"/api/v1/workshops/{workshop.id}/registrations?status=nope",
        "/api/v1/workshops/?format=nope",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "This filter has no such value" in response.json["message"], url
        assert "This filter has no such value" in str(response.json["errors"]), url
    # A known value still filters.
    assert client.get(f"/staff/workshops/{workshop.id}/registrations?status=confirmed").status_code == 200


def test_nasty_query_values_never_fail(client, auth, make_user, make_workshop, db):
    from workshops.models import Programme
    from workshops.services import registration as registrations

    workshop = make_workshop()
    registrations.register(workshop.id, applicant(1))
    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="学徒制")
    db.session.add(programme)
    db.session.commit()
    auth.login(make_user(Role.ADMIN))
    session = workshop.sessions[0].id
    templates = [
        "/?city={v}&format={v}",
        f"/staff/workshops/{workshop.id}/registrations?status={{v}}&mode={{v}}&organisation_type={{v}}"
        "&city={v}&q={v}",
        f"/staff/workshops/{workshop.id}/registrations/export.xlsx?status={{v}}&q={{v}}",
        f"/api/v1/workshops/{workshop.id}/registrations?status={{v}}&mode={{v}}&city={{v}}&q={{v}}",
        "/api/v1/workshops/?city={v}&format={v}",
        f"/staff/programmes/{programme.id}/report?from={{v}}&to={{v}}",
        f"/staff/programmes/{programme.id}/report.xlsx?from={{v}}",
        f"/staff/workshops/{workshop.id}/walk-in?session_id={{v}}",
        "/staff/audit?action={v}&actor={v}",
        f"/api/v1/workshops/{workshop.id}/roster?session_id={{v}}",
        f"/api/v1/workshops/{workshop.id}/search?session_id={session}&q={{v}}",
        f"/checkin/{workshop.id}?choose={{v}}",
    ]
    for template in templates:
        for value in NASTY:
            url = template.format(v=value)
            assert client.get(url).status_code < 500, url


# ---- every upload bounded before parsing ----------------------------------------------------


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def shared_strings_bomb(
    text: str, rows: int, columns: int, header: list[str] | None = None, merge: str = ""
) -> bytes:
    """A real XLSX whose every cell below the header points at one shared string: a few kB
    zipped, gigabytes of text for a reader that copies or cleans each cell."""
    header = header or ["Name"]
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    # A merged range fills only rows the sheet has: a last row far down makes them exist.
    last_row = int("".join(ch for ch in merge.split(":")[-1] if ch.isdigit())) if merge else 0
    titles = "".join(f'<c r="{_column(c)}1" t="s"><v>{c + 1}</v></c>' for c in range(len(header)))
    cells = [f'<row r="1">{titles}</row>']
    for row in range(2, rows + 2):
        cells.append(
            f'<row r="{row}">'
            + "".join(f'<c r="{_column(c)}{row}" t="s"><v>0</v></c>' for c in range(columns))
            + "</row>"
        )
    strings = "".join(f"<si><t>{value}</t></si>" for value in [text, *header])
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
        'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType='
        '"application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        f'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="{ct}'
        f'.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.'
        f'worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings'
        '+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rels}/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{rels}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns='
        f'"http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
        f'Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
        f'Type="{rels}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><sheetData>'
        + "".join(cells)
        + (f'<row r="{last_row}"><c r="B{last_row}" t="s"><v>1</v></c></row>' if last_row > rows + 1 else "")
        + "</sheetData>"
        + (f'<mergeCells count="1"><mergeCell ref="{merge}"/></mergeCells>' if merge else "")
        + "</worksheet>",
        "xl/sharedStrings.xml": f'<?xml version="1.0" encoding="UTF-8"?><sst {ns}>{strings}</sst>',
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text_ in parts.items():
            archive.writestr(name, text_)
    return buffer.getvalue()


def _refused_quickly(read, data: bytes, expected: str) -> None:
    """``read(data)`` refuses the file in Chinese words within a few seconds (on a loaded machine:
    the reading stops at the first cell beyond a bound, not after cleaning every copy)."""
    from flask_babel import force_locale

    from workshops.services.errors import InvalidInput

    started = time.perf_counter()
    with force_locale("zh_Hans_CN"):
        with pytest.raises(InvalidInput) as refused:
            read(data)
        message = str(refused.value.message)
    assert expected in message
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize(
    ("text", "rows", "columns", "nominations_message", "meeting_message"),
    [
        # One megabyte of text behind every cell: a meeting report cleaned each copy (hours).
        ("A" * 1_000_000, 2000, 20, "单元格 A2 超过 2000 个字符", "单元格 A2 超过 10000 个字符"),
        # Just under a cell's bound, 15,000 times: 30 million characters in all.
        ("B" * 1999, 150, 100, "文字超过 10000000 个字符", "文字超过 20000000 个字符"),
    ],
)
def test_a_workbook_of_repeated_shared_strings_is_refused_before_it_costs_minutes(
    app, text, rows, columns, nominations_message, meeting_message
):
    from zoneinfo import ZoneInfo

    from workshops.services import meeting_files
    from workshops.services.spreadsheets import read_table

    data = shared_strings_bomb(text, rows, columns)
    assert len(data) < 2_500_000  # as small as the reported upload, or smaller
    _refused_quickly(lambda d: read_table("list.xlsx", d), data, nominations_message)
    _refused_quickly(lambda d: meeting_files.read_report(d, ZoneInfo("Asia/Shanghai")), data, meeting_message)


def test_a_meeting_report_cell_of_a_megabyte_is_refused_in_a_csv_too(app):
    from zoneinfo import ZoneInfo

    from workshops.services import meeting_files

    # A duration of 8,000 digits is that row's problem (said for the row, never parsed); a name of
    # 100,000 characters is the file's.
    data = ("Name,Duration\n" + "王芳," + "9" * 8000 + "\n" + "x" * 100_000 + ",60\n").encode()
    _refused_quickly(lambda d: meeting_files.read_report(d, ZoneInfo("Asia/Shanghai")), data, "A3")


@pytest.mark.parametrize("column", ["²", "٣", "9" * 8000, "-1", "1e999", "0x1"])
def test_a_chosen_column_that_is_not_a_small_number_is_refused_in_words(app, column):
    from workshops.services import meeting_reports
    from workshops.services.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        meeting_reports._checked_mapping({"name": column, "duration": "2"}, ["Name", "Email", "Duration"])
    assert "Choose one of the file's columns." in str(refused.value.errors["name"])
    chosen = meeting_reports._checked_mapping({"name": "0", "duration": "2"}, ["Name", "Email", "Duration"])
    assert chosen == {"name": 0, "duration": 2}


# ---- any query string at the lists: never a 5xx ---------------------------------------------

PARAMETERS = [
    "status",
    "mode",
    "organisation_type",
    "gender",
    "city",
    "q",
    "format",
    "page",
    "session_id",
    "from",
    "to",
    "action",
    "actor",
    "choose",
]


def _query_values():
    from hypothesis import strategies as st

    text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
    numbers = st.integers().map(str) | st.floats(allow_nan=True, allow_infinity=True).map(repr)
    return st.sampled_from(NASTY + ["confirmed", "online", "tvet", "woman", "2026-03-31"]) | text | numbers


def test_any_query_string_at_the_staff_and_api_lists_is_answered_without_a_5xx(
    app, client, auth, make_user, make_workshop, db
):
    from urllib.parse import urlencode

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from workshops.models import Programme
    from workshops.services import registration as registrations

    workshop = make_workshop()
    for n in range(3):
        registrations.register(workshop.id, applicant(n))
    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="学徒制")
    db.session.add(programme)
    db.session.commit()
    auth.login(make_user(Role.ADMIN))
    session = workshop.sessions[0].id
    endpoints = [
        "/",
        "/staff/",
        "/staff/workshops",
        f"/staff/workshops/{workshop.id}",
        f"/staff/workshops/{workshop.id}/registrations",
        f"/staff/workshops/{workshop.id}/registrations/export.csv",
        f"/staff/workshops/{workshop.id}/walk-in",
        f"/staff/programmes/{programme.id}/report",
        "/staff/audit",
        f"/checkin/{workshop.id}",
        "/api/v1/workshops/",
        f"/api/v1/workshops/{workshop.id}/registrations",
        f"/api/v1/workshops/{workshop.id}/roster",
        f"/api/v1/workshops/{workshop.id}/search?session_id={session}",
        f"/api/v1/workshops/{workshop.id}/survey/summary",
    ]

    @settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", 25)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        endpoint=st.sampled_from(endpoints),
        query=st.lists(
            st.tuples(st.sampled_from(PARAMETERS) | st.text(max_size=10), _query_values()), max_size=6
        ),
    )
    def fuzz(endpoint, query):
        separator = "&" if "?" in endpoint else "?"
        url = endpoint + separator + urlencode(query)
        try:
            response = client.get(url)
        finally:
            db.session.rollback()  # what one request left open does not leak into the next
        assert response.status_code < 500, url
        if response.status_code in (400, 422) and not url.startswith("/api/"):
            assert "<h1" in response.get_data(as_text=True), url  # a page with words, not a bare error

    fuzz()


def test_a_merged_range_that_copies_a_long_text_everywhere_is_refused(app):
    from workshops.services.spreadsheets import read_table

    # One cell of 1,999 characters merged over 198,900 cells (within the cells a workbook may have).
    data = shared_strings_bomb("C" * 1999, 1, 1, merge="A2:CV1990")
    _refused_quickly(lambda d: read_table("list.xlsx", d), data, "文字超过 10000000 个字符")


def test_an_error_keeps_its_own_headers_in_both_the_page_and_the_json(client):
    """A 405 says what is allowed (RFC 9110 requires Allow), in the API's JSON and on a page."""
    api = client.get("/api/v1/checkin")
    assert api.status_code == 405 and api.is_json
    assert "POST" in api.headers["Allow"]
    page = client.get("/staff/workshops/1/cancel")
    assert page.status_code == 405 and page.mimetype == "text/html"
    assert "POST" in page.headers["Allow"]
