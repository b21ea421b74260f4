"""Abuse from outside (issue 16): proxies believed only when told, personal pages never cached,
the PDF fetcher kept inside static/, the organiser's API read no wider than their page."""

from __future__ import annotations

import importlib

import pytest

from tests.helpers import applicant, form_data
from workshops.config import ConfigError, load_config
from workshops.models import Role

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
        f"/checkin/{workshop.id}/sessions/{session.id}",
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
        assert response.status_code == 422, url
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
