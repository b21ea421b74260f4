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
