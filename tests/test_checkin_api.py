"""The check-in API as the scanner page uses it: who may scan, offline sync, search, undo."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import applicant
from workshops.models import Attendance, CheckInLink, Role, ScanLog
from workshops.services import registration as registrations


@pytest.fixture
def running(make_workshop):
    now = datetime.now(UTC)
    return make_workshop(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1, hours=7))


@pytest.fixture
def organiser(auth, make_user, running, db):
    user = make_user(Role.ORGANISER)
    user.workshops.append(running)
    db.session.commit()
    auth.login(user)
    return user


def person(workshop, n=1, **overrides):
    return registrations.register(workshop.id, applicant(n, **overrides)).registration


def scan(client, session, token, nonce="", **extra):
    return client.post(
        "/api/v1/checkin",
        json={"session_id": session.id, "token": token, "nonce": nonce, "device": "door-1", **extra},
    )


def test_organiser_scans_and_sees_reason_name_and_who_was_first(client, organiser, running):
    registration = person(running, full_name="李华", organisation="重庆工程职业技术学院")
    first = scan(client, running.sessions[0], registration.ticket_token, "n1")
    assert first.status_code == 200
    assert first.json["reason"] == "ok" and first.json["person"]["name"] == "李华"
    again = scan(client, running.sessions[0], registration.ticket_token, "n2").json
    assert again["reason"] == "already_checked_in" and again["checked_in_by"] == "Organiser"
    assert again["checked_in_at"] == first.json["checked_in_at"]
    zh = client.post(
        "/api/v1/checkin",
        json={"session_id": running.sessions[0].id, "token": "bogus"},
        headers={"Accept-Language": "zh-CN"},
    ).json
    assert (
        zh["reason"] == "unknown_ticket"
        and zh["message"] != "Unknown ticket: this code is not a valid ticket (or it was re-issued)."
    )


def test_offline_sync_replayed_twice_and_from_two_devices_makes_one_attendance(
    client, organiser, running, db
):
    registration = person(running)
    earlier = (datetime.now(UTC) - timedelta(minutes=15)).isoformat()
    session_id = running.sessions[0].id
    batch = {
        "scans": [
            {
                "session_id": session_id,
                "token": registration.ticket_token,
                "nonce": "phone-a-1",
                "device": "phone-a",
                "scanned_at": earlier,
            },
            {
                "session_id": session_id,
                "token": registration.ticket_token,
                "nonce": "phone-b-7",
                "device": "phone-b",
                "scanned_at": earlier,
            },
        ]
    }
    first = client.post("/api/v1/checkin/sync", json=batch).json["results"]
    assert [r["reason"] for r in first] == ["ok", "already_checked_in"]
    replay = client.post("/api/v1/checkin/sync", json=batch).json["results"]
    assert [r["reason"] for r in replay] == ["ok", "already_checked_in"]
    assert replay[0]["attendance_id"] == first[0]["attendance_id"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 1
    devices = db.session.scalars(db.select(ScanLog.device).order_by(ScanLog.id)).all()
    assert devices == ["phone-a", "phone-b", "phone-a", "phone-b"]  # the second phone's scan is visible
    attendance = db.session.scalars(db.select(Attendance)).one()
    assert attendance.checked_in_at.isoformat() == earlier  # the original time


def test_roster_search_counters_and_undo(client, organiser, running, db):
    registration = person(running, full_name="王芳")
    person(running, 2, full_name="张伟", mode="online")
    roster = client.get(f"/api/v1/workshops/{running.id}/roster?session_id={running.sessions[0].id}").json
    assert {p["name"] for p in roster["people"]} == {"王芳", "张伟"}
    assert roster["counters"]["onsite"] == {"checked_in": 0, "expected": 1}
    found = client.get(f"/api/v1/workshops/{running.id}/search?session_id={running.sessions[0].id}&q=王").json
    assert [p["name"] for p in found] == ["王芳"]
    answer = client.post(
        "/api/v1/checkin",
        json={"session_id": running.sessions[0].id, "registration_id": found[0]["id"], "method": "search"},
    ).json
    assert answer["reason"] == "ok"
    counters = client.get(f"/api/v1/sessions/{running.sessions[0].id}/counters").json["counters"]
    assert counters["onsite"]["checked_in"] == 1
    assert client.delete(f"/api/v1/attendances/{answer['attendance_id']}").status_code == 204
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 0
    assert scan(client, running.sessions[0], registration.ticket_token).json["reason"] == "ok"


def test_organiser_of_another_workshop_cannot_scan_search_or_read_the_roster(
    client, auth, make_user, running, make_workshop, db
):
    other = make_workshop(title_en="Other")
    registration = person(running)
    outsider = make_user(Role.ORGANISER)
    outsider.workshops.append(other)
    db.session.commit()
    session_id = running.sessions[0].id
    requests = [
        ("post", "/api/v1/checkin", {"session_id": session_id, "token": registration.ticket_token}),
        (
            "post",
            "/api/v1/checkin/sync",
            {"scans": [{"session_id": session_id, "token": registration.ticket_token}]},
        ),
        ("get", f"/api/v1/workshops/{running.id}/roster?session_id={session_id}", None),
        ("get", f"/api/v1/workshops/{running.id}/search?session_id={session_id}&q=a", None),
        ("get", f"/api/v1/sessions/{session_id}/counters", None),
    ]
    for method, url, body in requests:  # anonymous
        assert getattr(client, method)(url, json=body).status_code == 403
    auth.login(outsider)
    for method, url, body in requests:
        assert getattr(client, method)(url, json=body).status_code == 403, url
    assert client.get(f"/checkin/{running.id}/sessions/{session_id}").status_code == 403
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 0


def test_volunteer_link_scans_one_workshop_until_expired_or_revoked(
    client, make_user, running, make_workshop, db
):
    coordinator = make_user(Role.COORDINATOR)
    other = make_workshop(title_en="Other")
    from workshops.services import checkin_access

    link = checkin_access.create_link(running, "Door B", datetime.now(UTC) + timedelta(hours=2), coordinator)
    registration = person(running)
    response = client.get(f"/checkin/v/{link.token}")
    assert response.status_code == 302
    page = client.get(f"/checkin/{running.id}/sessions/{running.sessions[0].id}").get_data(as_text=True)
    assert "Scan tickets" in page or "qr-scanner" in page
    assert scan(client, running.sessions[0], registration.ticket_token).json["reason"] == "ok"
    assert db.session.scalars(db.select(Attendance)).one().by_link_id == link.id
    assert (
        client.get(f"/api/v1/workshops/{other.id}/roster?session_id={other.sessions[0].id}").status_code
        == 403
    )
    assert client.get("/staff/").status_code == 302  # a link is not a staff account

    checkin_access.revoke_link(link, coordinator)
    assert scan(client, running.sessions[0], registration.ticket_token).status_code == 403
    assert client.get(f"/checkin/v/{link.token}").status_code == 403
    # The page already open on the phone says so too (not "sign in", which a volunteer cannot).
    reopened = client.get(f"/checkin/{running.id}/sessions/{running.sessions[0].id}")
    assert reopened.status_code == 403 and "This check-in link does not work" in reopened.get_data(
        as_text=True
    )

    expired = CheckInLink(workshop=running, label="old", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    db.session.add(expired)
    db.session.commit()
    assert "This check-in link does not work" in client.get(f"/checkin/v/{expired.token}").get_data(
        as_text=True
    )
    # A link that expires while the volunteer's page is open: the API refuses from then on.
    soon = checkin_access.create_link(running, "Door C", datetime.now(UTC) + timedelta(hours=1), coordinator)
    client.get(f"/checkin/v/{soon.token}")
    assert scan(client, running.sessions[0], person(running, 2).ticket_token, "s1").json["reason"] == "ok"
    soon.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert scan(client, running.sessions[0], person(running, 3).ticket_token, "s2").status_code == 403
    assert client.get("/checkin/v/forged-token").status_code == 403


def test_checkin_api_requires_the_csrf_token_when_csrf_is_on(make_app, make_user, running, db):
    app = make_app(WTF_CSRF_ENABLED=True)
    user = make_user(Role.COORDINATOR)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/login", data={"email": user.email, "password": "correct horse battery", "csrf_token": token}
    )
    body = {"session_id": running.sessions[0].id, "token": "x"}
    assert client.post("/api/v1/checkin", json=body).status_code == 400
    assert (
        client.post("/api/v1/checkin", json=body, headers={"X-CSRFToken": token}).json["reason"]
        == "unknown_ticket"
    )


def test_coordinator_creates_and_withdraws_links_from_the_workshop_page(client, auth, make_user, running, db):
    auth.login(make_user(Role.COORDINATOR))
    response = client.post(
        f"/staff/workshops/{running.id}/checkin-links", data={"label": "Door A", "hours": "8"}
    )
    assert response.status_code == 302
    link = db.session.scalars(db.select(CheckInLink)).one()
    page = client.get(f"/staff/workshops/{running.id}").get_data(as_text=True)
    assert f"http://workshops.test/checkin/v/{link.token}" in page
    client.post(f"/staff/workshops/{running.id}/checkin-links/{link.id}/revoke")
    db.session.expire_all()
    assert db.session.get(CheckInLink, link.id).revoked_at is not None
    bad = client.post(
        f"/staff/workshops/{running.id}/checkin-links",
        data={"label": "x", "hours": "0"},
        follow_redirects=True,
    )
    assert "Between 1 hour and 14 days." in bad.get_data(as_text=True)


def test_walk_in_from_the_scanner_registers_and_checks_in(client, organiser, running, db):
    session = running.sessions[0]
    data = {
        "full_name": "刘洋",
        "email": "liu@example.org",
        "organisation_type": "enterprise",
        "gender": "man",
        "mode": "onsite",
        "language": "zh",
    }
    response = client.post(f"/staff/workshops/{running.id}/walk-in?session_id={session.id}", data=data)
    assert response.headers["Location"].endswith(f"/checkin/{running.id}/sessions/{session.id}")
    attendance = db.session.scalars(db.select(Attendance)).one()
    assert attendance.method.value == "walk_in" and attendance.registration.full_name == "刘洋"


def test_nobody_of_another_workshop_is_shown_by_id_or_by_ticket(client, organiser, running, make_workshop):
    """An organiser of A who tries B's registration ids (or holds B's ticket) learns nothing
    about B's people."""
    other = person(make_workshop(title_en="Workshop B"), full_name="赵六", organisation="Secret Works")
    by_id = client.post(
        "/api/v1/checkin",
        json={"session_id": running.sessions[0].id, "registration_id": other.id, "nonce": "x"},
    ).json
    assert by_id["reason"] == "wrong_workshop" and by_id["person"] is None
    by_ticket = scan(client, running.sessions[0], other.ticket_token, "y").json
    assert by_ticket["reason"] == "wrong_workshop" and by_ticket["person"] is None
    page = client.get(f"/checkin/{running.id}/sessions/{running.sessions[0].id}/log").get_data(as_text=True)
    assert "赵六" not in page and "This ticket is for another workshop." in page


def test_only_an_organiser_may_admit_outside_the_session(client, make_user, auth, make_workshop, db):
    later = make_workshop(starts_at=datetime.now(UTC) + timedelta(days=3))
    coordinator = make_user(Role.COORDINATOR)
    from workshops.services import checkin_access

    link = checkin_access.create_link(later, "Door 2", datetime.now(UTC) + timedelta(days=5), coordinator)
    volunteer_guest, staff_guest = person(later), person(later, 2)
    client.get(f"/checkin/v/{link.token}")
    page = client.get(f"/checkin/{later.id}/sessions/{later.sessions[0].id}").get_data(as_text=True)
    assert 'data-may-override=""' in page
    refused = scan(client, later.sessions[0], volunteer_guest.ticket_token, "v1", override=True).json
    assert refused["reason"] == "outside_session"
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 0
    auth.login(coordinator)
    admitted = scan(client, later.sessions[0], staff_guest.ticket_token, "c1", override=True).json
    assert admitted["reason"] == "ok"


def test_a_sync_batch_with_a_forbidden_session_records_nothing(client, organiser, running, make_workshop, db):
    mine = person(running)
    other = make_workshop(title_en="Workshop B")
    response = client.post(
        "/api/v1/checkin/sync",
        json={
            "scans": [
                {
                    "session_id": running.sessions[0].id,
                    "token": mine.ticket_token,
                    "nonce": "a",
                    "device": "p",
                },
                {"session_id": other.sessions[0].id, "token": mine.ticket_token, "nonce": "b", "device": "p"},
            ]
        },
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 403
    assert (
        response.json["message"] != "You may not check people in at this workshop."
    )  # in the user's language
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(ScanLog)) == 0


def test_the_scan_log_shows_the_second_phone_and_offline_scans(client, organiser, running, db):
    registration = person(running, full_name="钱七")
    earlier = (datetime.now(UTC) - timedelta(minutes=15)).isoformat()
    scans = [
        {
            "session_id": running.sessions[0].id,
            "token": registration.ticket_token,
            "nonce": f"n{n}",
            "device": device,
            "scanned_at": earlier,
        }
        for n, device in enumerate(["phone-a", "phone-b"])
    ]
    client.post("/api/v1/checkin/sync", json={"scans": scans})
    scan(client, running.sessions[0], "not-a-ticket", "n3")
    page = client.get(f"/checkin/{running.id}/sessions/{running.sessions[0].id}/log").get_data(as_text=True)
    assert page.count("钱七") == 2 and "phone-a" in page and "phone-b" in page
    assert "Already checked in." in page and "Unknown ticket" in page and "synced at" in page
    zh = client.get(
        f"/checkin/{running.id}/sessions/{running.sessions[0].id}/log", headers={"Accept-Language": "zh-CN"}
    ).get_data(as_text=True)
    assert "Already checked in." not in zh and "钱七" in zh


def test_other_session_lets_the_organiser_leave_the_running_session(client, organiser, running):
    assert client.get(f"/checkin/{running.id}").status_code == 302  # one session runs: straight to it
    page = client.get(f"/checkin/{running.id}?choose=1").get_data(as_text=True)
    assert running.sessions[1].title in page


def test_a_signed_in_organiser_of_another_workshop_holding_a_volunteer_link_scans_as_the_volunteer(
    client, auth, make_user, running, make_workshop, db
):
    from workshops.services import checkin_access

    coordinator = make_user(Role.COORDINATOR)
    link = checkin_access.create_link(running, "Door 3", datetime.now(UTC) + timedelta(hours=5), coordinator)
    elsewhere = make_user(Role.ORGANISER)
    elsewhere.workshops.append(make_workshop(title_en="Workshop B"))
    db.session.commit()
    auth.login(elsewhere)
    client.get(f"/checkin/v/{link.token}")
    page = client.get(f"/checkin/{running.id}/sessions/{running.sessions[0].id}").get_data(as_text=True)
    assert 'data-may-override=""' in page and "Walk-in registration" not in page and "Scan log" not in page
    assert client.get(f"/checkin/{running.id}/sessions/{running.sessions[0].id}/log").status_code == 403


def test_a_volunteer_cannot_backdate_a_scan_into_an_earlier_session_nor_undo_others(
    client, make_user, make_workshop, db
):
    """A link scans from when it was made; an implausible time is refused, not a 500."""
    from workshops.services import checkin, checkin_access

    now = datetime.now(UTC)
    workshop = make_workshop(starts_at=now - timedelta(days=1, hours=2), ends_at=now + timedelta(hours=8))
    yesterday, today = workshop.sessions
    coordinator = make_user(Role.COORDINATOR)
    guest, other = person(workshop), person(workshop, 2)
    by_staff = checkin.redeem(
        today, registration=other, override=True, scanner=checkin.Scanner(user_id=coordinator.id)
    ).attendance
    link = checkin_access.create_link(workshop, "Door", now + timedelta(hours=5), coordinator)
    client.get(f"/checkin/v/{link.token}")
    during_yesterday = (yesterday.starts_at + timedelta(hours=1)).isoformat()
    answer = scan(client, yesterday, guest.ticket_token, "b1", scanned_at=during_yesterday).json
    assert answer["reason"] == "outside_session"
    silly = scan(client, yesterday, guest.ticket_token, "b2", scanned_at="0001-01-01T00:00:00+14:00")
    assert silly.status_code == 422 and "scanned_at" in silly.json["errors"]["json"]
    assert client.delete(f"/api/v1/attendances/{by_staff.id}").status_code == 403
    mine = scan(client, today, guest.ticket_token, "b3").json
    assert (
        mine["reason"] == "ok"
        and client.delete(f"/api/v1/attendances/{mine['attendance_id']}").status_code == 204
    )
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 1  # the staff's stays


def test_walk_in_of_someone_registered_without_their_ticket_checks_them_in(client, organiser, running, db):
    registration = person(running, full_name="孙八", email="sun@example.org")
    session = running.sessions[0]
    data = {
        "full_name": "孙八",
        "email": "sun@example.org",
        "organisation_type": "enterprise",
        "gender": "man",
        "mode": "onsite",
        "language": "zh",
    }
    response = client.post(
        f"/staff/workshops/{running.id}/walk-in?session_id={session.id}", data=data, follow_redirects=True
    )
    assert "孙八 was already registered, and is now checked in." in response.get_data(as_text=True)
    assert db.session.scalars(db.select(Attendance)).one().registration_id == registration.id
    someone_else = client.post(
        f"/staff/workshops/{running.id}/walk-in?session_id={session.id}",
        data=dict(data, full_name="周九"),
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "This email or mobile number is registered to 孙八: check the name" in someone_else
    again = client.post(
        f"/staff/workshops/{running.id}/walk-in?session_id={session.id}", data=data, follow_redirects=True
    )
    assert "孙八 is already checked in." in again.get_data(as_text=True)


# ---- a volunteer's link admits one person per action (issue 16) ---------------------------


def volunteer(client, running, coordinator, label="Door B"):
    """The test client enters with a fresh check-in link for ``running``, as a volunteer's phone."""
    from workshops.services import checkin_access

    link = checkin_access.create_link(running, label, datetime.now(UTC) + timedelta(hours=8), coordinator)
    assert client.get(f"/checkin/v/{link.token}").status_code == 302
    return link


def by_name(session, registration, nonce, method="search"):
    return {
        "session_id": session.id,
        "registration_id": registration.id,
        "method": method,
        "nonce": nonce,
        "device": "phone-v",
    }


def test_a_links_batch_of_search_checkins_checks_in_nobody_and_says_why(client, make_user, running, db):
    session = running.sessions[0]
    link = volunteer(client, running, make_user(Role.COORDINATOR))
    people = [person(running, n) for n in range(22)]
    # The whole roster by name in one batch (one calls itself a QR scan: no ticket is no ticket),
    # and two tickets really scanned.
    scans = [by_name(session, p, f"n{n}", "qr" if n == 5 else "search") for n, p in enumerate(people[:20])]
    scans += [
        {"session_id": session.id, "token": p.ticket_token, "nonce": f"t{n}", "device": "phone-v"}
        for n, p in enumerate(people[20:])
    ]
    results = client.post("/api/v1/checkin/sync", json={"scans": scans}).json["results"]
    assert [r["reason"] for r in results] == ["ticket_needed"] * 20 + ["ok", "ok"]
    assert {r["message"] for r in results[:20]} == {
        "A check-in link checks people in by name only online, one at a time: scan their ticket."
    }
    checked_in = db.session.scalars(db.select(Attendance.registration_id)).all()
    assert sorted(checked_in) == [people[20].id, people[21].id]
    refused = db.session.scalars(db.select(ScanLog).where(ScanLog.reason == "ticket_needed")).all()
    assert len(refused) == 20 and {(s.method, s.by_link_id) for s in refused} == {("search", link.id)}
    # One at a time, online, the same volunteer may check someone in by name.
    alone = client.post("/api/v1/checkin", json=by_name(session, people[0], "alone")).json
    assert alone["reason"] == "ok"


def test_a_links_search_checkins_in_chinese_say_why_in_chinese(client, make_user, running):
    session = running.sessions[0]
    volunteer(client, running, make_user(Role.COORDINATOR))
    body = {"scans": [by_name(session, person(running), "zh")]}
    answer = client.post("/api/v1/checkin/sync", json=body, headers={"Accept-Language": "zh-CN"}).json
    assert answer["results"][0]["message"] == "签到链接只能在联网时按姓名逐一签到：请扫描其入场码。"


def test_staff_keep_search_checkins_in_a_batch_each_in_the_audit_log(client, organiser, running, db):
    from workshops.models import AuditEvent

    session = running.sessions[0]
    people = [person(running, n) for n in range(3)]
    body = {"scans": [by_name(session, p, f"s{n}") for n, p in enumerate(people)]}
    assert [r["reason"] for r in client.post("/api/v1/checkin/sync", json=body).json["results"]] == ["ok"] * 3
    assert client.post("/api/v1/checkin/sync", json=body).status_code == 200  # sent again: no new check-in
    audited = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "checkin.search_offline")
    ).all()
    assert sorted(e.details["registration_id"] for e in audited) == sorted(p.id for p in people)
    assert {e.actor_id for e in audited} == {organiser.id}
    # A ticket in a batch, or a check-in by name online, is not such an event.
    client.post("/api/v1/checkin/sync", json={"scans": [{"session_id": session.id, "token": "x" * 43}]})
    assert client.post("/api/v1/checkin", json=by_name(session, person(running, 9), "one")).json["ok"]
    assert (
        db.session.scalar(db.select(db.func.count()).where(AuditEvent.action == "checkin.search_offline"))
        == 3
    )


def test_the_31st_search_checkin_through_a_link_in_an_hour_is_refused_and_the_coordinator_sees_it(
    client, app, make_user, running, db
):
    session = running.sessions[0]
    coordinator = make_user(Role.COORDINATOR)
    volunteer(client, running, coordinator)
    assert app.config["LINK_SEARCH_CHECKINS_PER_HOUR"] == 30
    people = [person(running, n) for n in range(33)]
    answers = [
        client.post("/api/v1/checkin", json=by_name(session, p, f"n{n}")).json
        for n, p in enumerate(people[:31])
    ]
    assert [a["reason"] for a in answers] == ["ok"] * 30 + ["search_limit"]
    assert answers[30]["message"].startswith("This check-in link has checked in too many people by name")
    # Undoing one does not buy another; a ticket still admits; another link has its own hour.
    assert client.delete(f"/api/v1/attendances/{answers[0]['attendance_id']}").status_code == 204
    assert client.post("/api/v1/checkin", json=by_name(session, people[32], "again")).json["reason"] == (
        "search_limit"
    )
    assert scan(client, session, people[31].ticket_token, "ticket").json["reason"] == "ok"
    other = app.test_client()
    from workshops.services import checkin_access

    link_c = checkin_access.create_link(
        running, "Door C", datetime.now(UTC) + timedelta(hours=8), coordinator
    )
    other.get(f"/checkin/v/{link_c.token}")
    assert other.post("/api/v1/checkin", json=by_name(session, people[32], "c")).json["reason"] == "ok"
    # The coordinator's page: per link, check-ins by name in the last hour and the refused ones.
    staff = app.test_client()
    staff.post("/login", data={"email": coordinator.email, "password": "correct horse battery"})
    page = staff.get(f"/staff/workshops/{running.id}").get_data(as_text=True)
    door_b = page[page.index("Door B") : page.index("Door B") + 600]
    assert "Checked in by name in the last hour: 30 of 30" in door_b and "refused: 2" in door_b
    door_c = page[page.index("Door C") : page.index("Door C") + 600]
    assert "Checked in by name in the last hour: 1 of 30" in door_c and "refused" not in door_c
    # An hour later the link may again.
    db.session.execute(db.update(ScanLog).values(received_at=datetime.now(UTC) - timedelta(minutes=61)))
    db.session.commit()
    assert client.post("/api/v1/checkin", json=by_name(session, people[0], "later")).json["reason"] == "ok"


def test_a_link_checks_in_by_name_in_no_burst(make_app, make_user, running, db):
    from workshops.services import checkin_access

    app = make_app(RATELIMIT_ENABLED=True, LINK_SEARCH_CHECKIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    link = checkin_access.create_link(
        running, "Door D", datetime.now(UTC) + timedelta(hours=8), make_user(Role.COORDINATOR)
    )
    client.get(f"/checkin/v/{link.token}")
    session = running.sessions[0]
    people = [person(running, n) for n in range(6)]
    statuses = [
        client.post("/api/v1/checkin", json=by_name(session, p, f"b{n}")).status_code
        for n, p in enumerate(people[:4])
    ]
    assert statuses == [200, 200, 200, 429]
    assert scan(client, session, people[4].ticket_token, "t").json["reason"] == "ok"  # tickets: no limit
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 4


# ---- the phone forgets when it may no longer scan (issue 16) -------------------------------


def test_signing_out_tells_the_browser_to_forget_the_scanner(client, organiser):
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_every_way_of_signing_out_tells_the_browser_to_forget(client, auth, make_user):
    auth.login(make_user(Role.ORGANISER))
    everywhere = client.post("/account/sign-out-everywhere")
    assert everywhere.status_code == 302 and everywhere.headers["Clear-Site-Data"] == '"cache", "storage"'
    auth.login(make_user(Role.ORGANISER))
    switched = client.get("/login?switch=1")  # "sign in as someone else" from a 403 page
    assert switched.status_code == 200 and switched.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert "Clear-Site-Data" not in client.get("/login").headers  # nobody signed out: nothing to forget


def test_a_withdrawn_or_expired_link_tells_the_phone_to_forget(client, make_user, running, db):
    from workshops.services import checkin_access

    coordinator = make_user(Role.COORDINATOR)
    session = running.sessions[0]
    link = volunteer(client, running, coordinator)
    working = [
        client.get(f"/checkin/{running.id}/sessions/{session.id}"),
        client.get(f"/api/v1/workshops/{running.id}/roster?session_id={session.id}"),
        scan(client, session, person(running).ticket_token, "a"),
    ]
    assert [r.status_code for r in working] == [200, 200, 200]
    assert all("Clear-Site-Data" not in r.headers for r in working)

    checkin_access.revoke_link(link, coordinator)
    refused = [
        client.get(f"/checkin/{running.id}/sessions/{session.id}"),
        client.get(f"/api/v1/workshops/{running.id}/roster?session_id={session.id}"),
        client.get(f"/api/v1/workshops/{running.id}/search?session_id={session.id}&q=a"),
        client.get(f"/api/v1/sessions/{session.id}/counters"),
        scan(client, session, person(running, 2).ticket_token, "b"),
        client.post("/api/v1/checkin/sync", json={"scans": [{"session_id": session.id, "token": "x"}]}),
        client.get(f"/checkin/v/{link.token}"),
        client.get("/checkin/"),
    ]
    assert [r.status_code for r in refused] == [403] * 8
    assert [r.headers.get("Clear-Site-Data") for r in refused] == ['"cache", "storage"'] * 8
    assert refused[1].json["message"] == (
        "This check-in link does not work any more. Ask the coordinator for a new link."
    )

    expired = volunteer(client, running, coordinator, "Door E")
    expired.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    gone = client.get(f"/api/v1/workshops/{running.id}/roster?session_id={session.id}")
    assert gone.status_code == 403 and gone.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_a_staff_refusal_does_not_wipe_the_phone(client, auth, make_user, running, make_workshop, db):
    """An organiser of another workshop is refused here, but what their phone keeps for their own
    workshop stays (no Clear-Site-Data: only an ended sign-in or link wipes)."""
    outsider = make_user(Role.ORGANISER)
    outsider.workshops.append(make_workshop(title_en="Other"))
    db.session.commit()
    auth.login(outsider)
    refused = client.get(f"/api/v1/workshops/{running.id}/roster?session_id={running.sessions[0].id}")
    assert refused.status_code == 403 and "Clear-Site-Data" not in refused.headers


def test_the_scan_log_is_kept_by_no_cache(client, organiser, running):
    log = client.get(f"/checkin/{running.id}/sessions/{running.sessions[0].id}/log")
    assert log.status_code == 200 and "no-store" in log.headers["Cache-Control"]
