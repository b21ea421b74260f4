"""Sessions that can be ended: a copied session cookie or remember cookie opens nothing after
sign-out, a password change, "sign out everywhere" or disabling the account; disabling and
enabling from the command line and the admins' page; sign-ins in the audit log."""

import json
import re

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from workshops.extensions import db as _db
from workshops.models import AuditEvent, Role, User
from workshops.services import users

NEW_PASSWORD = "a new long password"


def sign_in(app, user, remember=True):
    """A fresh browser signed in as ``user``; returns it and the cookies it was given."""
    browser = app.test_client()
    response = browser.post(
        "/login", data={"email": user.email, "password": PASSWORD, "remember": "y" if remember else ""}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    names = ("session", "remember_token") if remember else ("session",)
    cookies = {name: browser.get_cookie(name).value for name in names}
    return browser, cookies


def replay(app, name, value, url="/staff/"):
    """What a copy of one cookie opens, in another browser (someone who copied it)."""
    thief = app.test_client()
    thief.set_cookie(name, value)
    return thief.get(url)


def opens(response) -> bool:
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    if response.status_code == 401:
        return False
    assert response.status_code == 200, response.status_code
    return True


def audit_actions(user=None) -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if user is not None:
        query = query.where(AuditEvent.target_type == "staff_user", AuditEvent.target_id == user.id)
    return list(_db.session.scalars(query))


def end_by_logout(app, browser, user):
    assert browser.post("/logout").status_code == 302


def end_by_password_change(app, browser, user):
    response = browser.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    # The browser that changed it stays signed in, with the new token.
    assert opens(browser.get("/staff/"))


def end_by_sign_out_everywhere(app, browser, user):
    assert browser.post("/account/sign-out-everywhere").status_code == 302
    assert not opens(browser.get("/staff/"))


def end_by_disable(app, browser, user):
    admin = User(email="boss@example.org", role=Role.ADMIN, name="Boss")
    admin.set_password(PASSWORD)
    _db.session.add(admin)
    _db.session.commit()
    admin_browser, _ = sign_in(app, admin, remember=False)
    assert admin_browser.post(f"/staff/users/{user.id}/disable").status_code == 302
    assert not opens(browser.get("/staff/"))


ENDINGS = [end_by_logout, end_by_password_change, end_by_sign_out_everywhere, end_by_disable]


@pytest.mark.parametrize("end", ENDINGS, ids=lambda f: f.__name__)
def test_copied_cookies_open_nothing_once_the_session_is_ended(app, make_user, make_workshop, end):
    user = make_user(Role.COORDINATOR)
    workshop = make_workshop()
    api = f"/api/v1/workshops/{workshop.id}/registrations"
    browser, cookies = sign_in(app, user)
    # Copied before: both cookies open the pages and the API.
    for name, value in cookies.items():
        assert opens(replay(app, name, value)), name
        assert opens(replay(app, name, value, api)), name

    end(app, browser, user)

    for name, value in cookies.items():
        page = replay(app, name, value)
        assert page.status_code == 302 and "/login" in page.headers["Location"], name
        assert replay(app, name, value, api).status_code == 401, name


def test_a_password_change_ends_the_other_devices_sessions_not_this_one(app, make_user):
    user = make_user(Role.ORGANISER)
    laptop, _ = sign_in(app, user)
    phone, _ = sign_in(app, user)
    end_by_password_change(app, laptop, user)
    assert opens(laptop.get("/staff/"))
    assert not opens(phone.get("/staff/"))
    assert "user.password_change" in audit_actions(user)


def test_a_session_made_before_this_release_carries_the_id_and_opens_nothing(app, make_user):
    """Old cookies hold the account's id ("1"): the loader takes only a session token."""
    user = make_user(Role.ADMIN)
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert not opens(browser.get("/staff/"))


def test_a_disabled_account_cannot_sign_in_even_with_its_password(app, client, make_user, db):
    user = make_user(Role.COORDINATOR)
    users.set_disabled(user, True)
    page = client.post("/login", data={"email": user.email, "password": PASSWORD}).get_data(as_text=True)
    assert "Wrong email or password." in page
    assert not opens(client.get("/staff/"))
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.sign_in_failed")).one()
    assert failed.details["reason"] == "account disabled"


def test_disable_and_enable_from_the_command_line(app, runner, make_user, db):
    user = make_user(Role.ORGANISER)
    browser, _ = sign_in(app, user)

    result = runner.invoke(args=["users", "disable", user.email.upper()])
    assert result.exit_code == 0, result.output
    assert f"{user.email} is disabled and signed out everywhere." in result.output
    assert not opens(browser.get("/staff/"))
    assert "disabled" in runner.invoke(args=["users", "list"]).output
    assert sign_in_status(app, user) == 200  # refused: the form again

    result = runner.invoke(args=["users", "enable", user.email])
    assert result.exit_code == 0 and f"{user.email} can sign in again." in result.output
    assert sign_in_status(app, user) == 302
    assert audit_actions(user)[-4:] == ["user.disable", "user.sign_in_failed", "user.enable", "user.sign_in"]

    unknown = runner.invoke(args=["users", "disable", "nobody@example.org"])
    assert unknown.exit_code != 0 and "No staff account has the email nobody@example.org." in unknown.output


def sign_in_status(app, user) -> int:
    return app.test_client().post("/login", data={"email": user.email, "password": PASSWORD}).status_code


def test_the_admins_page_lists_accounts_and_disables_and_enables_them(app, client, auth, make_user, db):
    admin = make_user(Role.ADMIN)
    organiser = make_user(Role.ORGANISER)
    auth.login(admin)
    page = client.get("/staff/users").get_data(as_text=True)
    assert organiser.email in page and admin.email in page
    assert f"/staff/users/{organiser.id}/disable" in page
    assert f"/staff/users/{admin.id}/disable" not in page  # not one's own

    response = client.post(f"/staff/users/{organiser.id}/disable", follow_redirects=True)
    assert f"{organiser.email} is disabled and signed out everywhere." in response.get_data(as_text=True)
    assert f"/staff/users/{organiser.id}/enable" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, organiser.id).active is False
    assert sign_in_status(app, organiser) == 200

    response = client.post(f"/staff/users/{organiser.id}/enable", follow_redirects=True)
    assert f"{organiser.email} can sign in again." in response.get_data(as_text=True)
    assert sign_in_status(app, organiser) == 302

    # An admin cannot lock themselves out by hand.
    response = client.post(f"/staff/users/{admin.id}/disable", follow_redirects=True)
    assert "You cannot disable your own account." in response.get_data(as_text=True)
    assert client.get("/staff/users").status_code == 200

    changes = AuditEvent.action.in_(["user.disable", "user.enable"])
    events = db.session.scalars(select(AuditEvent).where(changes).order_by(AuditEvent.id)).all()
    assert [(e.action, e.target_id, e.actor_id) for e in events] == [
        ("user.disable", organiser.id, admin.id),
        ("user.enable", organiser.id, admin.id),
    ]
    assert client.post("/staff/users/999999/disable").status_code == 404


def test_only_admins_open_the_accounts_page(app, client, auth, make_user):
    coordinator = make_user(Role.COORDINATOR)
    other = make_user(Role.ORGANISER)
    auth.login(coordinator)
    assert client.get("/staff/users").status_code == 403
    assert client.post(f"/staff/users/{other.id}/disable").status_code == 403
    assert sign_in_status(app, other) == 302


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def test_disabling_and_signing_out_everywhere_need_the_csrf_token(make_app, make_user, db):
    app = make_app(WTF_CSRF_ENABLED=True)
    admin = make_user(Role.ADMIN)
    organiser = make_user(Role.ORGANISER)
    browser = app.test_client()
    token = csrf_token(browser.get("/login").get_data(as_text=True))
    browser.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})

    assert browser.post(f"/staff/users/{organiser.id}/disable").status_code == 400
    assert browser.post("/account/sign-out-everywhere").status_code == 400
    db.session.expire_all()
    assert db.session.get(User, organiser.id).active is True
    assert opens(browser.get("/staff/"))

    token = csrf_token(browser.get("/staff/users").get_data(as_text=True))
    assert browser.post(f"/staff/users/{organiser.id}/disable", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, organiser.id).active is False

    token = csrf_token(browser.get("/account/password").get_data(as_text=True))
    assert browser.post("/account/sign-out-everywhere", data={"csrf_token": token}).status_code == 302
    assert not opens(browser.get("/staff/"))


def test_the_account_page_offers_sign_out_everywhere(client, auth, make_user):
    auth.login(make_user(Role.ORGANISER))
    page = client.get("/account/password").get_data(as_text=True)
    assert 'action="/account/sign-out-everywhere"' in page and "Sign out everywhere" in page


def test_sign_ins_and_sign_outs_are_in_the_audit_log_without_the_password(app, client, make_user, db):
    user = make_user(Role.COORDINATOR)
    attempt = "Guess-N0-1 secret"
    client.post("/login", data={"email": user.email, "password": attempt})
    client.post("/login", data={"email": "stranger@example.org", "password": attempt})
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    client.post("/account/sign-out-everywhere")
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    client.post("/logout")

    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.target_id, e.actor_id) for e in events] == [
        ("user.sign_in_failed", user.id, None),
        ("user.sign_in_failed", None, None),
        ("user.sign_in", user.id, user.id),
        ("user.sign_out_everywhere", user.id, user.id),
        ("user.sign_in", user.id, user.id),
        ("user.sign_out", user.id, user.id),
    ]
    assert events[0].details == {"email": user.email, "reason": "wrong password"}
    # An address that opens no account is not kept, only its keyed hash (grouping its attempts).
    assert events[1].details == {
        "email_key": users.sign_in_key("stranger@example.org"),
        "reason": "unknown account",
    }
    assert "stranger" not in json.dumps(events[1].details)
    assert all(attempt not in json.dumps(e.details) and PASSWORD not in json.dumps(e.details) for e in events)
