"""Certificates earned, not gamed: attendance judged in the mode it was attended in, only after
the workshop has ended, never issued by a download, and a rule change shown before it is made."""

import html
from datetime import UTC, datetime, timedelta

import pytest

from tests import meeting_exports as export
from tests.helpers import applicant
from workshops.models import (
    AuditEvent,
    Certificate,
    CheckInMethod,
    OutboxMessage,
    Registration,
    RegistrationSource,
    Role,
    Session,
)
from workshops.services import certificates, checkin, meeting_reports, outbox
from workshops.services import registration as registrations

M = timedelta(minutes=1)


def three_day_workshop(make_workshop, start: datetime):
    """A hybrid workshop of three day sessions (09:00-17:00 in Shanghai) from ``start``."""
    workshop = make_workshop(starts_at=start, ends_at=start + timedelta(days=2, hours=8), with_sessions=False)
    workshop.sessions = [
        Session(
            title_en=f"Day {day + 1}",
            title_zh=f"第{day + 1}天",
            starts_at=start + timedelta(days=day),
            ends_at=start + timedelta(days=day, hours=8),
        )
        for day in range(3)
    ]
    from workshops.extensions import db

    db.session.commit()
    return workshop


@pytest.fixture
def ended(make_workshop):
    return three_day_workshop(make_workshop, datetime(2026, 3, 30, 1, 0, tzinfo=UTC))


@pytest.fixture
def running(make_workshop):
    """Day 1 was yesterday, day 3 is tomorrow."""
    now = datetime.now(UTC).replace(microsecond=0)
    return three_day_workshop(make_workshop, now - timedelta(days=1, hours=2))


def person(workshop, n, mode="onsite", days=(), method=None, **extra):
    registration = registrations.register(
        workshop.id, applicant(n, mode=mode, **extra), source=RegistrationSource.WALK_IN
    ).registration
    method = method or (CheckInMethod.JOIN_LINK if mode == "online" else CheckInMethod.QR)
    for day in days:
        result = checkin.redeem(
            workshop.sessions[day], registration=registration, override=True, method=method
        )
        assert result.ok
    return registration


def count(db, model, *where) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_switching_to_online_after_the_workshop_earns_nothing_and_is_refused(
    client, auth, make_user, ended, db, mailbox
):
    """The trick of issue #17: onsite, one session of three, then 'online' on the ticket page."""
    mailbox.start()
    trickster = person(ended, 1, days=[0])
    outbox.deliver_due()
    mails_before = len(mailbox.to(trickster.email))
    rows_before = count(db, OutboxMessage, OutboxMessage.registration_id == trickster.id)

    refused = client.post(f"/r/{trickster.manage_token}/mode", data={"mode": "online"}, follow_redirects=True)
    assert "The workshop has started: the way you attend can no longer be changed." in page_text(refused)
    in_chinese = client.post(
        f"/r/{trickster.manage_token}/mode",
        data={"mode": "online"},
        headers={"Accept-Language": "zh-CN"},
        follow_redirects=True,
    )
    assert "研讨会已经开始" in page_text(in_chinese)
    db.session.expire_all()
    assert db.session.get(Registration, trickster.id).mode == "onsite"
    # No fresh ticket for a past event: nothing queued, nothing in the real mailbox.
    assert count(db, OutboxMessage, OutboxMessage.registration_id == trickster.id) == rows_before
    outbox.deliver_due()
    assert len(mailbox.to(trickster.email)) == mails_before
    # The ticket page no longer offers the change.
    assert "Change how you attend" not in page_text(client.get(f"/r/{trickster.manage_token}"))

    assert certificates.issue_due(now=ended.ends_at + timedelta(hours=1)) == 0
    download = client.get(f"/r/{trickster.manage_token}/certificate.pdf")
    assert download.status_code == 403
    assert "Attendance: 1 of the 3 sessions required." in page_text(download)
    assert count(db, Certificate) == 0

    # A coordinator may still change the mode (audited): the session attended at the venue is
    # still judged as onsite, so online's "one session" does not apply to it.
    coordinator = make_user(Role.COORDINATOR)
    auth.login(coordinator)
    staff_url = f"/staff/workshops/{ended.id}/registrations/{trickster.id}"
    assert "Change how this person attends" in page_text(client.get(staff_url))
    changed = client.post(f"{staff_url}/mode", data={"mode": "online"}, follow_redirects=True)
    assert "Attendance mode changed." in page_text(changed)
    db.session.expire_all()
    trickster = db.session.get(Registration, trickster.id)
    assert trickster.mode == "online"
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="registration.switch_mode")).one()
    assert (event.actor_id, event.details["mode"], event.details["old_mode"]) == (
        coordinator.id,
        "online",
        "onsite",
    )
    assert count(db, OutboxMessage, OutboxMessage.registration_id == trickster.id) == rows_before  # over
    state = certificates.eligibility(trickster)
    assert not state.eligible
    assert [str(m) for m in state.missing] == [
        "Attended at the venue: 1 of the 3 sessions required.",
        "Attended online: 0 of the 1 sessions required.",
    ]
    assert certificates.issue_if_eligible(trickster) is None
    assert count(db, Certificate) == 0


def test_switching_before_the_workshop_starts_still_works(client, make_workshop, db):
    future = three_day_workshop(make_workshop, datetime.now(UTC) + timedelta(days=10))
    registration = person(future, 2)
    answer = client.post(
        f"/r/{registration.manage_token}/mode", data={"mode": "online"}, follow_redirects=True
    )
    assert "Your attendance mode is changed." in page_text(answer)
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).mode == "online"


def test_a_download_while_the_workshop_runs_issues_nothing_even_with_every_session(client, running, db):
    keen = person(running, 3, days=[0, 1, 2])  # checked in ahead by a coordinator's override
    state = certificates.eligibility(keen)
    assert not state.eligible and not state.ended
    for _ in range(3):
        response = client.get(f"/r/{keen.manage_token}/certificate.pdf")
        assert response.status_code == 403 and response.mimetype == "text/html"
        assert "The workshop has not ended yet" in page_text(response)
    assert count(db, Certificate) == 0
    assert certificates.issue_due() == 0
    assert certificates.issue_if_eligible(keen) is None
    ticket = page_text(client.get(f"/r/{keen.manage_token}"))
    assert "Download your certificate" not in ticket and "The workshop has not ended yet" in ticket
    assert count(db, Certificate) == 0


def test_after_the_end_the_download_serves_only_what_the_job_issued(client, make_workshop, db):
    now = datetime.now(UTC)
    just_ended = three_day_workshop(make_workshop, now - timedelta(days=3))
    done = person(just_ended, 4, days=[0, 1, 2])
    earned = page_text(client.get(f"/r/{done.manage_token}/certificate.pdf"))
    assert "You have earned your certificate: it is being prepared" in earned
    assert count(db, Certificate) == 0
    assert certificates.issue_due() == 1  # the beat job
    response = client.get(f"/r/{done.manage_token}/certificate.pdf")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert count(db, Certificate) == 1


def zoom_report(session, rows):
    t = session.starts_at
    return export.zoom_current(
        [(name, email, t + 5 * M, t + (5 + minutes) * M, minutes, "No") for name, email, minutes in rows],
        t,
        session.ends_at,
    )


def test_online_people_earn_by_minutes_from_the_meeting_report(ended, make_user, db):
    ended.certificate_online_minutes = 240
    db.session.commit()
    long_stay = person(ended, 5, mode="online", full_name="王芳", email="wang@example.org")
    short_stay = person(ended, 6, mode="online", full_name="李娜", email="li@example.org")
    coordinator = make_user(Role.COORDINATOR)
    for day in (0, 1):
        session = ended.sessions[day]
        report = zoom_report(session, [("王芳", "wang@example.org", 150), ("李娜", "li@example.org", 60)])
        job = meeting_reports.preview_report(ended, session, "zoom.csv", report, 30, coordinator)
        meeting_reports.import_now(job, coordinator)
    minutes = dict(
        db.session.execute(
            db.select(Registration.full_name, db.func.sum(checkin.Attendance.minutes))
            .join(checkin.Attendance)
            .group_by(Registration.full_name)
        ).all()
    )
    assert minutes == {"王芳": 300, "李娜": 120}
    assert certificates.eligibility(long_stay).eligible
    short = certificates.eligibility(short_stay)
    assert not short.eligible
    assert [str(m) for m in short.missing] == ["Time online: 120 of the 240 minutes required."]
    assert certificates.issue_if_eligible(long_stay) is not None
    assert certificates.issue_if_eligible(short_stay) is None
    # A join link says someone clicked, not how long they stayed: under a minutes rule it counts none.
    clicked = person(ended, 7, mode="online", days=[2])
    assert certificates.eligibility(clicked).progress["online"].done == 0


def test_a_join_link_followed_by_the_report_gains_the_reports_minutes(ended, make_user, db):
    """They clicked their join link (an attendance with no minutes); the report imported the next
    morning says how long they stayed: the attendance keeps its time and method, and gains the
    minutes a minutes rule needs. Importing the report again changes nothing."""
    ended.certificate_online_minutes = 240
    db.session.commit()
    clicked = person(ended, 8, mode="online", days=[0, 1], full_name="赵敏", email="zhao@example.org")
    coordinator = make_user(Role.COORDINATOR)
    for _again in range(2):
        for day in (0, 1):
            session = ended.sessions[day]
            report = zoom_report(session, [("赵敏", "zhao@example.org", 150)])
            job = meeting_reports.preview_report(ended, session, "zoom.csv", report, 30, coordinator)
            meeting_reports.import_now(job, coordinator)
    rows = db.session.execute(
        db.select(checkin.Attendance.method, checkin.Attendance.minutes).where(
            checkin.Attendance.registration_id == clicked.id
        )
    ).all()
    assert sorted(rows) == [(CheckInMethod.JOIN_LINK, 150)] * 2
    assert certificates.eligibility(clicked).eligible


def test_a_join_link_followed_between_preview_and_import_still_gains_the_minutes(ended, make_user, db):
    """Counted in the preview; before the coordinator confirms, she follows her join link (late for
    a session still running): the import finds her recorded, and gives that attendance its minutes."""
    registration = person(ended, 9, mode="online", full_name="钱芳", email="qian@example.org")
    coordinator = make_user(Role.COORDINATOR)
    session = ended.sessions[0]
    report = zoom_report(session, [("钱芳", "qian@example.org", 200)])
    job = meeting_reports.preview_report(ended, session, "zoom.csv", report, 30, coordinator)
    checkin.redeem(session, registration=registration, override=True, method=CheckInMethod.JOIN_LINK)
    meeting_reports.import_now(job, coordinator)
    rows = db.session.execute(
        db.select(checkin.Attendance.method, checkin.Attendance.minutes).where(
            checkin.Attendance.registration_id == registration.id
        )
    ).all()
    assert rows == [(CheckInMethod.JOIN_LINK, 200)]


def test_each_mode_has_its_own_rule(ended, db):
    ended.certificate_min_sessions = 2  # at the venue: two of the three days
    ended.certificate_online_sessions = None  # online: one (the default)
    db.session.commit()
    onsite_two = person(ended, 10, days=[0, 1])
    onsite_one = person(ended, 11, days=[0])
    online_one = person(ended, 12, mode="online", days=[2])
    # Registered online, but came to the venue (ticket scanned) one day: judged as onsite for it.
    online_at_door = person(ended, 13, mode="online", days=[0], method=CheckInMethod.QR)
    # Registered onsite, came one day, watched another online (meeting report / join link).
    mixed = person(ended, 14, days=[0])
    checkin.redeem(ended.sessions[1], registration=mixed, override=True, method=CheckInMethod.JOIN_LINK)
    judged = {r.full_name: s.eligible for r, s in certificates.eligibility_of_confirmed(ended)}
    assert judged == {
        onsite_two.full_name: True,
        onsite_one.full_name: False,
        online_one.full_name: True,
        online_at_door.full_name: False,
        mixed.full_name: True,  # one session online meets the online rule
    }
    modes = db.session.execute(
        db.select(checkin.Attendance.registration_id, checkin.Attendance.mode).order_by(checkin.Attendance.id)
    ).all()
    assert [(rid, str(mode)) for rid, mode in modes][-2:] == [(mixed.id, "onsite"), (mixed.id, "online")]
    ended.certificate_online_sessions = 2
    db.session.commit()
    assert not certificates.eligibility(online_one).eligible
    assert not certificates.eligibility(mixed).eligible


def test_a_rule_change_lists_who_gains_and_loses_and_changes_nothing_until_confirmed(
    client, auth, make_user, ended, db
):
    ended.certificate_min_sessions = 2
    db.session.commit()
    two = person(ended, 20, days=[0, 1])
    three = person(ended, 21, days=[0, 1, 2])
    one = person(ended, 22, days=[0])
    by_hand = person(ended, 23, days=[0])
    for registration in (two, three):
        assert certificates.issue_if_eligible(registration) is not None
    certificates.grant(by_hand, "Spoke at day 2", None)
    assert count(db, Certificate) == 3
    auth.login(make_user(Role.COORDINATOR))
    url = f"/staff/workshops/{ended.id}/certificates"

    # Every session required: 参加者20 would lose; one session: 参加者22 would gain.
    page = page_text(client.post(url, data={"certificate_min_sessions": "3"}))
    assert "Would lose their certificate (1)" in page and "Would receive a certificate (0)" in page
    losses = page.split("Would lose their certificate")[1].split("</ul>")[0]
    assert "参加者20" in losses and "参加者23" not in losses  # granted by hand: kept
    db.session.expire_all()
    assert db.session.get(type(ended), ended.id).certificate_min_sessions == 2  # nothing saved
    assert count(db, Certificate, Certificate.revoked_at.is_not(None)) == 0

    page = page_text(client.post(url, data={"certificate_min_sessions": "1"}))
    gains = page.split("Would receive a certificate")[1].split("</ul>")[0]
    assert "参加者22" in gains and "参加者20" not in gains
    digest = page.split('name="confirm_digest" value="')[1].split('"')[0]
    assert count(db, Certificate) == 3

    # Meanwhile someone else earns it at one session: the confirmation no longer matches.
    late = person(ended, 24, days=[0])
    stale = page_text(client.post(url, data={"certificate_min_sessions": "1", "confirm_digest": digest}))
    assert "changed meanwhile: check again" in stale and "参加者24" in stale
    db.session.expire_all()
    assert db.session.get(type(ended), ended.id).certificate_min_sessions == 2
    assert count(db, Certificate) == 3

    digest = stale.split('name="confirm_digest" value="')[1].split('"')[0]
    done = page_text(
        client.post(
            url, data={"certificate_min_sessions": "1", "confirm_digest": digest}, follow_redirects=True
        )
    )
    assert "Certificate rules saved." in done and "Certificates issued: 2; revoked: 0." in done
    db.session.expire_all()
    holders = {c.registration_id for c in db.session.scalars(db.select(Certificate)) if c.valid}
    assert holders == {two.id, three.id, one.id, by_hand.id, late.id}

    # Back to every session: who attended fewer loses it (revoked, "rule changed"), by hand kept.
    page = page_text(client.post(url, data={"certificate_min_sessions": "3"}))
    digest = page.split('name="confirm_digest" value="')[1].split('"')[0]
    client.post(url, data={"certificate_min_sessions": "3", "confirm_digest": digest})
    db.session.expire_all()
    valid = {c.registration_id for c in db.session.scalars(db.select(Certificate)) if c.valid}
    assert valid == {three.id, by_hand.id}
    revoked = db.session.scalars(db.select(Certificate).where(Certificate.revoked_at.is_not(None))).all()
    assert {c.revoke_reason for c in revoked} == {certificates.RULE_CHANGED}
    verify = page_text(client.get(f"/verify/{revoked[0].code}"))
    assert "This certificate has been revoked." in verify
    actions = db.session.scalars(
        db.select(AuditEvent.action).where(
            AuditEvent.action.in_(["certificate.revoke", "certificate.settings"])
        )
    ).all()
    assert actions.count("certificate.revoke") == 3 and actions.count("certificate.settings") == 2

    # Back again: those the rule took it from get the same certificate (same serial) back.
    serials = {c.registration_id: c.serial for c in revoked}
    page = page_text(client.post(url, data={"certificate_min_sessions": "1"}))
    digest = page.split('name="confirm_digest" value="')[1].split('"')[0]
    client.post(url, data={"certificate_min_sessions": "1", "confirm_digest": digest})
    db.session.expire_all()
    again = {c.registration_id: c.serial for c in db.session.scalars(db.select(Certificate)) if c.valid}
    assert {rid: again[rid] for rid in serials} == serials


def test_rules_before_the_end_are_saved_at_once(client, auth, make_user, running, db):
    person(running, 30, days=[0, 1, 2])
    auth.login(make_user(Role.COORDINATOR))
    answer = client.post(
        f"/staff/workshops/{running.id}/certificates",
        data={"certificate_min_sessions": "1", "certificate_online_minutes": "90"},
        follow_redirects=True,
    )
    assert "Certificate rules saved." in page_text(answer)
    db.session.expire_all()
    saved = db.session.get(type(running), running.id)
    assert (saved.certificate_min_sessions, saved.certificate_online_minutes) == (1, 90)
    bad = client.post(
        f"/staff/workshops/{running.id}/certificates", data={"certificate_online_minutes": "-5"}
    )
    assert bad.status_code == 200 and "Between 1 and 10,000." in page_text(bad)
    assert count(db, Certificate) == 0


def test_found_by_name_at_the_door_counts_as_at_the_venue(ended, db):
    """Registered online, came to the venue one day of three: a ticket scan and a name search at
    the door are the same presence, judged by the onsite rule (all three days). Only a
    coordinator's manual check-in takes the registered mode."""
    scanned = person(ended, 20, mode="online", days=[0], method=CheckInMethod.QR)
    searched = person(ended, 21, mode="online", days=[0], method=CheckInMethod.SEARCH)
    assert not certificates.eligibility(scanned).eligible
    assert not certificates.eligibility(searched).eligible
    modes = db.session.scalars(
        db.select(checkin.Attendance.mode).where(checkin.Attendance.registration_id == searched.id)
    ).all()
    assert modes == ["onsite"]
    recorded_by_hand = person(ended, 22, mode="online", days=[0], method=CheckInMethod.MANUAL)
    assert certificates.eligibility(recorded_by_hand).eligible


def test_a_certificate_a_rule_change_took_comes_back_once_earned(make_user, ended, db):
    """Raised to three days, 参加者40 (two) loses hers; day 3 is recorded the next morning (the
    scanner phone synced late): the beat job gives it back, same serial, and she is told. One a
    coordinator revoked stays revoked."""
    ended.certificate_min_sessions = 2
    db.session.commit()
    late = person(ended, 40, days=[0, 1])
    decided = person(ended, 41, days=[0, 1])
    serial = certificates.issue_if_eligible(late).serial
    certificates.revoke(certificates.issue_if_eligible(decided), "Left after an hour", None)
    coordinator = make_user(Role.COORDINATOR)
    stricter = certificates.Rules(onsite_sessions=3)
    change = certificates.preview_rules(ended, stricter)
    assert [p.id for p in change.losses] == [late.id]
    certificates.set_rules(ended, stricter, coordinator, confirmed=change.digest)
    assert not certificates.certificate_of(late).valid
    for registration in (late, decided):
        checkin.redeem(ended.sessions[2], registration=registration, override=True, method=CheckInMethod.QR)
    assert certificates.issue_due(now=ended.ends_at + timedelta(days=1)) == 1
    restored = certificates.certificate_of(late)
    assert restored.valid and restored.serial == serial
    assert not certificates.certificate_of(decided).valid
    told = db.session.scalars(
        db.select(OutboxMessage.kind).where(OutboxMessage.registration_id == late.id)
    ).all()
    assert told.count("certificate_ready") == 2  # issued, then given back
    assert certificates.issue_due(now=ended.ends_at + timedelta(days=1)) == 0


def test_the_api_reports_each_modes_progress_in_its_own_unit(client, auth, make_user, ended, db):
    """Registered onsite, one day at the venue and one online: the onsite figures are onsite
    sessions only; under an online rule in minutes, an online person's required figure is no
    session count."""
    mixed = person(ended, 50, days=[0])
    checkin.redeem(ended.sessions[1], registration=mixed, override=True, method=CheckInMethod.JOIN_LINK)
    ended.certificate_online_minutes = 240
    db.session.commit()
    online = person(ended, 51, mode="online", days=[0])
    auth.login(make_user(Role.COORDINATOR))
    status = client.get(f"/api/v1/registrations/{mixed.id}/certificate").json
    assert (status["sessions_attended"], status["sessions_required"]) == (1, 3)
    assert {p["mode"]: (p["done"], p["needed"], p["unit"]) for p in status["progress"]} == {
        "onsite": (1, 3, "sessions"),
        "online": (0, 240, "minutes"),
    }
    status = client.get(f"/api/v1/registrations/{online.id}/certificate").json
    assert (status["sessions_attended"], status["sessions_required"]) == (1, None)
    assert [(p["mode"], p["unit"], p["met"]) for p in status["progress"]] == [("online", "minutes", False)]
    assert status["eligible"] is False
