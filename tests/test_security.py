"""Security by default: headers, cookies, no external assets."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_page_carries_the_security_headers(client, make_workshop):
    workshop = make_workshop()
    for url in ("/", f"/workshops/{workshop.id}", "/login", "/api/v1/workshops/", "/healthz"):
        headers = client.get(url).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in headers  # plain HTTP in tests


def test_hsts_behind_https(make_app):
    app = make_app(PROXY_FIX=True)
    response = app.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_is_httponly_and_lax(client, make_user):
    from tests.conftest import PASSWORD
    from workshops.models import Role

    user = make_user(Role.COORDINATOR)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_templates_never_bypass_autoescaping_or_load_from_outside():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, path
        assert not re.search(r'(src|href)="https?://(?!workshops\.test)', text), path


def test_admins_read_the_audit_log(client, auth, make_user, make_workshop):
    from workshops.models import Role

    admin = make_user(Role.ADMIN)
    auth.login(make_user(Role.COORDINATOR))
    client.post("/staff/programmes/new", data={"code": "QA", "name_en": "Quality Apprenticeship"})
    assert client.get("/staff/audit").status_code == 403
    auth.logout()
    auth.login(admin)
    page = client.get("/staff/audit?action=programme.").get_data(as_text=True)
    assert "programme.save" in page
    assert "programme.save" not in client.get("/staff/audit?action=registration.").get_data(as_text=True)


def test_nul_characters_are_refused_in_words_and_nothing_is_written(client, make_workshop, db):
    """PostgreSQL cannot store NUL: found by fuzzing the API (a 500 before)."""
    from tests.helpers import form_data
    from workshops.models import Registration

    workshop = make_workshop()
    page = client.post(
        f"/workshops/{workshop.id}/register?lang=zh",
        data=form_data(1, full_name="李\x00华"),
        headers={"Accept-Language": "zh-CN"},
    )
    assert page.status_code == 400
    assert "NUL" in page.get_data(as_text=True)
    api = client.post(
        f"/api/v1/workshops/{workshop.id}/registrations",
        json={"full_name": "Li\u0000", "email": "li@example.org", "mode": "onsite", "consent": True},
    )
    assert api.status_code == 400 and "NUL character" in api.json["message"]
    assert client.get("/api/v1/workshops/?city=%00").status_code == 400
    assert client.get("/api/v1/workshops/?city=Chongqing").status_code == 200
    assert db.session.query(Registration).count() == 0
    # Text that merely shows the escape is fine; absurdly nested JSON is refused in words.
    written = client.post(
        f"/api/v1/workshops/{workshop.id}/registrations",
        json={"full_name": "Li \\u0000 Hua", "email": "li@example.org", "mode": "onsite", "consent": True},
    )
    assert written.status_code == 201, written.json
    nested = client.post(
        f"/api/v1/workshops/{workshop.id}/registrations", data="[" * 100000, content_type="application/json"
    )
    assert nested.status_code == 400 and "nested too deeply" in nested.json["message"]


def test_ids_beyond_the_database_range_are_not_found_not_errors(client):
    assert client.get("/workshops/9223372036854775808").status_code == 404
    assert client.get("/api/v1/workshops/2147483648").status_code == 404
    assert client.post("/api/v1/checkin", json={"session_id": 2**40, "token": "x"}).status_code in (
        401,
        403,
        422,
    )


def test_tokens_are_matched_whole_not_by_their_indexed_start(client, make_workshop, db):
    """The database only matches a token's first characters; the rest is compared in constant time."""
    from tests.helpers import applicant
    from workshops.services import checkin
    from workshops.services import registration as registrations

    workshop = make_workshop()
    person = registrations.register(workshop.id, applicant(1)).registration
    forged_page = person.manage_token[:8] + "x" * (len(person.manage_token) - 8)
    assert client.get(f"/r/{forged_page}").status_code == 404
    assert client.get(f"/r/{person.manage_token[:8]}").status_code == 404
    assert client.get(f"/r/{person.manage_token}").status_code == 200
    session = workshop.sessions[0]
    forged_ticket = person.ticket_token[:8] + "A" * (len(person.ticket_token) - 8)
    assert checkin.redeem(session, token=forged_ticket, override=True).reason == checkin.Reason.UNKNOWN_TICKET
    assert checkin.redeem(session, token=person.ticket_token, override=True).reason == checkin.Reason.OK
