"""Sign-in that tells nothing and cannot be hammered: per-address backoff stored in the database,
the same answer (words and time) for an account that does not exist."""

import hashlib
import re
import statistics
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from workshops.models import AuditEvent, Role, SignInThrottle, User
from workshops.models.base import utcnow
from workshops.services import users

WRONG = "Wrong email or password."


def locked(minutes: int) -> str:
    return f"Too many failed sign-ins with this email address. Try again in {minutes} min."


def answer(client, email: str, password: str = "not the password") -> str:
    """The message under the password field, or "signed in"."""
    response = client.post("/login", data={"email": email, "password": password})
    if response.status_code == 302:
        return "signed in"
    found = re.search(r'<p class="error" id="password-error">([^<]*)</p>', response.get_data(as_text=True))
    return found.group(1).replace("&#39;", "'") if found else response.get_data(as_text=True)[:200]


class Clock:
    def __init__(self, monkeypatch):
        self.now = utcnow()
        monkeypatch.setattr(users, "utcnow", lambda: self.now)

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def test_five_failures_lock_the_address_and_an_unknown_one_is_treated_the_same(client, make_user, clock):
    user = make_user(Role.COORDINATOR)
    for email in (user.email, "nobody@example.org"):
        assert [answer(client, email) for _ in range(5)] == [WRONG] * 5
        # Locked: even the right password is refused, with words that do not say whether the
        # account exists.
        assert answer(client, email, PASSWORD) == locked(1)
        assert answer(client, email.upper()) == locked(1)
    # Another account is not held back by these.
    other = make_user(Role.ORGANISER)
    assert answer(client, other.email, PASSWORD) == "signed in"


def test_the_lock_passes_and_grows_each_time(client, make_user, clock, db):
    user = make_user(Role.COORDINATOR)
    for _ in range(5):
        answer(client, user.email)
    clock.advance(seconds=30)
    assert answer(client, user.email, PASSWORD) == locked(1)
    clock.advance(seconds=31)
    for _ in range(5):
        assert answer(client, user.email) == WRONG
    assert answer(client, user.email, PASSWORD) == locked(2)
    clock.advance(minutes=2, seconds=1)
    for _ in range(5):
        answer(client, user.email)
    assert answer(client, user.email, PASSWORD) == locked(4)
    clock.advance(minutes=4, seconds=1)

    assert answer(client, user.email, PASSWORD) == "signed in"
    # Signed in: the count starts again from nothing.
    assert db.session.scalars(select(SignInThrottle)).all() == []
    locks = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.sign_in_locked")).all()
    assert [(e.target_id, e.details["email"]) for e in locks] == [(user.id, user.email)] * 3


def test_the_longest_lock_is_an_hour_and_a_quiet_day_forgets_the_locks(clock, make_user, db):
    user = make_user(Role.ADMIN)

    def fail_five_times_then_try_the_password() -> str:
        for _ in range(5):
            with pytest.raises(users.SignInRefused):
                users.authenticate(user.email, "nope")
        with pytest.raises(users.SignInRefused) as refused:
            users.authenticate(user.email, PASSWORD)
        return str(refused.value.message)

    assert fail_five_times_then_try_the_password() == locked(1)
    db.session.scalars(select(SignInThrottle)).one().lockouts = 9  # 2**9 minutes, were there no cap
    db.session.commit()
    clock.advance(minutes=1, seconds=1)
    assert fail_five_times_then_try_the_password() == locked(60)
    clock.advance(days=1, minutes=1)
    assert fail_five_times_then_try_the_password() == locked(1)


def test_failures_spread_out_over_more_than_the_window_do_not_lock(client, make_user, clock):
    user = make_user(Role.COORDINATOR)
    for _ in range(4):
        assert answer(client, user.email) == WRONG
    clock.advance(minutes=16)
    for _ in range(4):
        assert answer(client, user.email) == WRONG
    assert answer(client, user.email, PASSWORD) == "signed in"


def test_the_lock_holds_for_every_app_server(make_app, make_user, clock):
    """Two app servers on one database: failures on one lock the address on the other."""
    user = make_user(Role.COORDINATOR)
    first, second = make_app().test_client(), make_app().test_client()
    for browser in (first, second, first, second, first):
        assert answer(browser, user.email) == WRONG
    assert answer(second, user.email, PASSWORD) == locked(1)


def test_the_lockout_message_is_in_chinese_too(client, clock):
    for _ in range(5):
        answer(client, "nobody@example.org")
    response = client.post(
        "/login",
        data={"email": "nobody@example.org", "password": "x"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert "使用此邮箱登录失败的次数过多。请 1 分钟后再试。" in response.get_data(as_text=True)


def test_an_unknown_account_takes_as_long_to_refuse_as_a_wrong_password(app, make_user, db):
    """Medians of interleaved tries, so that a busy machine slows both alike."""
    user = make_user(Role.COORDINATOR)
    client = app.test_client()
    timings: dict[str, list[float]] = {"known": [], "unknown": []}

    def once(kind: str, email: str) -> None:
        start = time.perf_counter()
        response = client.post("/login", data={"email": email, "password": "not the password"})
        timings[kind].append(time.perf_counter() - start)
        assert WRONG in response.get_data(as_text=True)
        db.session.query(SignInThrottle).delete()  # no lockout in the way of the next try
        db.session.commit()

    once("known", user.email)  # warm up: templates, the dummy hash
    once("unknown", "warm@example.org")
    timings = {"known": [], "unknown": []}
    for index in range(10):
        once("known", user.email)
        once("unknown", f"nobody-{index}@example.org")
    known, unknown = statistics.median(timings["known"]), statistics.median(timings["unknown"])
    assert abs(unknown - known) <= 0.2 * known, (known, unknown)


def test_addresses_quiet_for_a_day_are_forgotten(clock, db):
    """A spray of made-up addresses leaves no pile of rows behind."""
    for index in range(3):
        with pytest.raises(users.SignInRefused):
            users.authenticate(f"made-up-{index}@example.org", "x")
    assert len(db.session.scalars(select(SignInThrottle)).all()) == 3
    clock.advance(days=1, seconds=1)
    with pytest.raises(users.SignInRefused):
        users.authenticate("today@example.org", "x")
    assert db.session.scalars(select(SignInThrottle.email_hash)).all() == [
        users.sign_in_key("today@example.org")
    ]


def test_an_address_that_opens_no_account_is_kept_only_as_a_keyed_hash(app, client, db):
    """People type a private address, or their password, into the email field: neither the audit
    log nor the throttle holds it, nor a plain hash a list of addresses would reverse."""
    typed = "My-Passw0rd-in-the-wrong-field"
    for _ in range(5):
        assert answer(client, typed) == WRONG
    answer(client, "private.person@example.org")

    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["user.sign_in_failed"] * 5 + ["user.sign_in_locked"] + [
        "user.sign_in_failed"
    ]
    stored = " ".join(str(e.details) for e in events) + " ".join(
        db.session.scalars(select(SignInThrottle.email_hash))
    )
    for plain in (typed, "private.person@example.org"):
        assert plain.lower() not in stored.lower()
        assert hashlib.sha256(plain.lower().encode()).hexdigest() not in stored
    # The repeated attempts are still one address's: the same key in the log and the throttle.
    key = users.sign_in_key(typed)
    assert {e.details["email_key"] for e in events[:6]} == {key}
    assert db.session.get(SignInThrottle, key).locked_until is not None
    # Keyed with SECRET_KEY: without the key, the address does not give the key.
    app.config["SECRET_KEY"] = "another-secret-key-of-at-least-32-bytes"
    assert users.sign_in_key(typed) != key


def test_an_open_session_cannot_be_used_to_guess_the_password(client, auth, make_user, clock, db):
    """Someone who finds a coordinator's computer signed in tries passwords on the password
    form: five wrong ones lock it, and sign-in with that address, for the same time."""
    user = make_user(Role.COORDINATOR)
    auth.login(user)

    def change(current: str) -> str:
        new = "a brand new passphrase"
        response = client.post(
            "/account/password", data={"current_password": current, "new_password": new, "confirm": new}
        )
        if response.status_code == 302:
            return "changed"
        found = re.search(r'id="current_password-error">([^<]*)<', response.get_data(as_text=True))
        return found.group(1) if found else response.get_data(as_text=True)[:200]

    assert [change(f"guess {n}") for n in range(5)] == ["Your current password is not correct."] * 5
    refused = "Too many wrong passwords. Try again in 1 min."
    assert change(PASSWORD) == refused  # locked: even the right one
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password(PASSWORD)
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_change_failed"))
    assert len(failed.all()) == 5
    client.post("/logout", data={})
    assert answer(client, user.email, PASSWORD) == locked(1)
    clock.advance(minutes=2)
    auth.login(user)
    assert change(PASSWORD) == "changed"
