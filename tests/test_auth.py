"""Staff accounts: sign-in, roles, password changes, rate limits, CSRF."""

import re

import pytest

from tests.conftest import PASSWORD
from workshops.models import Role, User


def test_passwords_are_stored_hashed(make_user):
    user = make_user(Role.COORDINATOR)
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_coordinator_signs_in_and_sees_the_dashboard(client, auth, make_user):
    user = make_user(Role.COORDINATOR)
    response = auth.login(user)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/")
    assert "Your workshops" in client.get("/staff/").get_data(as_text=True)


def test_wrong_password_gets_a_message_not_a_session(client, auth, make_user):
    user = make_user(Role.COORDINATOR)
    response = auth.login(user, password="not the password")
    assert response.status_code == 200
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_sign_in_redirect_never_leaves_the_site(client, make_user):
    user = make_user(Role.COORDINATOR)
    response = client.post("/login?next=//evil.example/x", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/staff/"


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/staff/workshops/new")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_organiser_gets_a_403_page_with_a_way_out_for_scheduling(client, auth, make_user):
    auth.login(make_user(Role.ORGANISER))
    response = client.get("/staff/workshops/new")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "You do not have access to this page" in page
    assert "/login?switch=1&amp;next=/staff/workshops/new" in page
    assert client.get("/login?switch=1").status_code == 200  # signed out, the form is shown
    assert client.get("/staff/").status_code == 302


def test_organiser_sees_only_assigned_workshops(client, auth, make_user, make_workshop, db):
    organiser = make_user(Role.ORGANISER)
    mine = make_workshop(title_en="Mine")
    theirs = make_workshop(title_en="Not mine")
    organiser.workshops.append(mine)
    db.session.commit()
    auth.login(organiser)
    page = client.get("/staff/").get_data(as_text=True)
    assert "Mine" in page and "Not mine" not in page
    assert client.get(f"/staff/workshops/{mine.id}").status_code == 200
    assert client.get(f"/staff/workshops/{theirs.id}").status_code == 403
    assert client.get("/staff/workshops/999999").status_code == 404


def test_password_change_needs_the_current_password(client, auth, make_user, db):
    user = make_user(Role.ORGANISER)
    auth.login(user)
    wrong = client.post(
        "/account/password",
        data={
            "current_password": "nope",
            "new_password": "a new long password",
            "confirm": "a new long password",
        },
    )
    assert "Your current password is not correct." in wrong.get_data(as_text=True)
    short = client.post(
        "/account/password", data={"current_password": PASSWORD, "new_password": "short", "confirm": "short"}
    )
    assert "Use at least 10 characters." in short.get_data(as_text=True)
    ok = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a new long password",
            "confirm": "a new long password",
        },
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("a new long password")


def test_disabled_account_cannot_sign_in(client, auth, make_user, db):
    user = make_user(Role.COORDINATOR)
    user.active = False
    db.session.commit()
    assert "Wrong email or password." in auth.login(user).get_data(as_text=True)


def test_sign_in_attempts_are_rate_limited(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    user = make_user(Role.COORDINATOR)
    client = app.test_client()
    codes = [
        client.post("/login", data={"email": user.email, "password": "wrong"}).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    assert "Too many attempts" in client.post("/login", data={}).get_data(as_text=True)


@pytest.fixture
def csrf_client(make_app, app):
    return make_app(WTF_CSRF_ENABLED=True).test_client()


def test_forms_refuse_posts_without_the_csrf_token(csrf_client, make_user):
    user = make_user(Role.COORDINATOR)
    response = csrf_client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = csrf_client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
