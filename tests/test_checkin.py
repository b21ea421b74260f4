"""Check-in at the door: one decision order, idempotent scans, per-session attendance."""

import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import applicant
from workshops.models import Attendance, Role, ScanLog
from workshops.services import checkin, tickets
from workshops.services import registration as registrations
from workshops.services.checkin import Reason, Scanner


@pytest.fixture
def running(make_workshop):
    """A hybrid workshop whose first session is running now."""
    now = datetime.now(UTC)
    return make_workshop(
        starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1, hours=7), onsite_capacity=3
    )


def person(workshop, n=1, **overrides):
    return registrations.register(workshop.id, applicant(n, **overrides)).registration


def attendances(db):
    return db.session.scalar(db.select(db.func.count()).select_from(Attendance))


def test_a_rendered_ticket_decodes_and_redeems(running, db, tmp_path):
    registration = person(running)
    png = tmp_path / "ticket.png"
    png.write_bytes(tickets.ticket_qr_png(registration.ticket_token))
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True
    ).stdout.strip()
    result = checkin.redeem(running.sessions[0], token=decoded, scanner=Scanner(device="door-1"))
    assert result.reason == Reason.OK and result.registration.id == registration.id
    again = checkin.redeem(running.sessions[0], token=decoded)
    assert again.reason == Reason.ALREADY_CHECKED_IN
    assert again.attendance.checked_in_at == result.attendance.checked_in_at
    assert attendances(db) == 1
    # Each session counts on its own.
    assert checkin.redeem(running.sessions[1], token=decoded).reason == Reason.OUTSIDE_SESSION
    assert checkin.redeem(running.sessions[1], token=decoded, override=True).reason == Reason.OK
    assert attendances(db) == 2


def test_every_reason_in_its_place(running, make_workshop, db):
    session = running.sessions[0]
    other = make_workshop(title_en="Other")
    confirmed = [person(running, n) for n in range(3)]
    waitlisted = person(running, 3)
    cancelled = person(running, 4, mode="online")
    registrations.cancel(cancelled)
    approval = make_workshop(
        title_en="Needs approval",
        approval_required=True,
        starts_at=running.starts_at,
        ends_at=running.ends_at,
    )
    pending = person(approval, 5)
    stranger = person(other, 6)
    assert checkin.redeem(session, token="not-a-ticket").reason == Reason.UNKNOWN_TICKET
    assert checkin.redeem(session, token="").reason == Reason.UNKNOWN_TICKET
    assert checkin.redeem(session, token=stranger.ticket_token).reason == Reason.WRONG_WORKSHOP
    assert checkin.redeem(session, token=cancelled.ticket_token).reason == Reason.CANCELLED
    assert checkin.redeem(session, token=waitlisted.ticket_token).reason == Reason.WAITLISTED
    assert checkin.redeem(approval.sessions[0], token=pending.ticket_token).reason == Reason.PENDING_APPROVAL
    assert checkin.redeem(session, token=confirmed[0].ticket_token).reason == Reason.OK
    logged = db.session.scalars(db.select(ScanLog.reason).order_by(ScanLog.id)).all()
    assert logged == [
        "unknown_ticket",
        "unknown_ticket",
        "wrong_workshop",
        "cancelled",
        "waitlisted",
        "pending_approval",
        "ok",
    ]
    assert db.session.scalars(db.select(ScanLog.token_hint).order_by(ScanLog.id)).first() == "not-a-ti"


def test_when_two_reasons_hold_the_earlier_in_the_order_answers(running, make_workshop, db):
    """unknown, wrong workshop, (replay), cancelled, waitlisted, pending, already checked in, outside."""
    day1, day2 = running.sessions
    stranger = person(make_workshop(title_en="Other"), 1)
    registrations.cancel(stranger)  # cancelled there, and of another workshop here
    assert checkin.redeem(day1, token=stranger.ticket_token).reason == Reason.WRONG_WORKSHOP
    was_in = person(running, 2)
    assert checkin.redeem(day1, token=was_in.ticket_token).reason == Reason.OK
    registrations.cancel(was_in)  # checked in, then cancelled
    assert checkin.redeem(day1, token=was_in.ticket_token).reason == Reason.CANCELLED
    full = [person(running, n) for n in range(3, 7)]  # onsite capacity 3: the fourth waits
    waiting = next(r for r in full if r.status.value == "waitlisted")
    assert checkin.redeem(day2, token=waiting.ticket_token).reason == Reason.WAITLISTED  # and outside day 2
    present = next(r for r in full if r.status.value == "confirmed")
    checkin.redeem(day2, token=present.ticket_token, override=True)
    assert checkin.redeem(day2, token=present.ticket_token).reason == Reason.ALREADY_CHECKED_IN  # and outside


def test_rotated_ticket_makes_the_old_qr_unknown(running, make_user, db):
    registration = person(running)
    old, old_page = registration.ticket_token, registration.manage_token
    registrations.rotate_ticket(registration, make_user(Role.COORDINATOR))
    assert registration.manage_token != old_page  # a forwarded email's ticket-page link stops too
    assert registrations.find_by_manage_token(old_page) is None
    from workshops.models import OutboxMessage  # the person gets the new ticket

    assert (
        registration.manage_token
        in db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()[-1].body_text
    )
    assert checkin.redeem(running.sessions[0], token=old).reason == Reason.UNKNOWN_TICKET
    assert checkin.redeem(running.sessions[0], token=registration.ticket_token).reason == Reason.OK


def test_a_repeated_nonce_returns_the_first_answer(running, db):
    registration = person(running)
    first = checkin.redeem(running.sessions[0], token=registration.ticket_token, nonce="abc-1")
    replay = checkin.redeem(running.sessions[0], token=registration.ticket_token, nonce="abc-1")
    assert first.reason == replay.reason == Reason.OK
    assert replay.attendance.id == first.attendance.id and attendances(db) == 1


def test_a_nonce_is_one_scan_of_one_person_at_one_session(running, db):
    """Two phones may pick the same nonce: for another person, or another session, it is a new scan."""
    first, second = person(running), person(running, 2)
    day1, day2 = running.sessions[0], running.sessions[1]
    assert checkin.redeem(day1, token=first.ticket_token, nonce="same").reason == Reason.OK
    other_person = checkin.redeem(day1, token=second.ticket_token, nonce="same")
    assert other_person.reason == Reason.OK and other_person.attendance.registration_id == second.id
    other_session = checkin.redeem(day2, token=first.ticket_token, nonce="same", override=True)
    assert other_session.reason == Reason.OK and other_session.attendance.session_id == day2.id
    assert attendances(db) == 3


def _scan_together(app, running, token, nonce_of, count=20):
    session_id = running.sessions[0].id
    barrier, answers, lock = threading.Barrier(count), [], threading.Lock()

    def scan(n):
        with app.app_context():
            from workshops.extensions import db as thread_db
            from workshops.models import Session

            barrier.wait(timeout=30)
            session = thread_db.session.get(Session, session_id)
            result = checkin.redeem(
                session, token=token, scanner=Scanner(device=f"door-{n}"), nonce=nonce_of(n)
            )
            with lock:
                answers.append(result.reason)

    threads = [threading.Thread(target=scan, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_twenty_concurrent_redemptions_of_one_ticket(app, running, db):
    registration = person(running)
    answers = _scan_together(app, running, registration.ticket_token, lambda n: f"n-{n}")
    assert sorted(answers).count(Reason.OK) == 1
    assert answers.count(Reason.ALREADY_CHECKED_IN) == 19
    db.session.expire_all()
    assert attendances(db) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(ScanLog)) == 20


def test_one_scan_resent_at_once_gets_its_first_answer_every_time(app, running, db):
    """A phone that times out and resends the same scan (same nonce) while the first is in flight."""
    registration = person(running)
    answers = _scan_together(app, running, registration.ticket_token, lambda n: "same-scan", count=10)
    assert answers == [Reason.OK] * 10
    db.session.expire_all()
    assert attendances(db) == 1


def test_offline_scans_keep_their_time_and_are_flagged(running, db):
    registration = person(running)
    earlier = datetime.now(UTC) - timedelta(minutes=20)
    result = checkin.redeem(
        running.sessions[0], token=registration.ticket_token, scanned_at=earlier, nonce="x"
    )
    assert result.attendance.checked_in_at == earlier
    assert db.session.scalars(db.select(ScanLog)).one().offline is True
    future = checkin.redeem(
        running.sessions[0],
        token=person(running, 2).ticket_token,
        scanned_at=datetime.now(UTC) + timedelta(days=3),
    )
    assert future.attendance.checked_in_at <= datetime.now(UTC)  # a fast device clock is not believed
    reset = checkin.redeem(
        running.sessions[0],
        token=person(running, 3).ticket_token,
        scanned_at=datetime(1970, 1, 1, tzinfo=UTC),
    )  # a phone whose clock reset
    assert reset.ok and reset.attendance.checked_in_at > datetime.now(UTC) - timedelta(minutes=1)


def test_counters_and_roster(running, db):
    people = [person(running, n) for n in range(3)]
    person(running, 5, mode="online")
    checkin.redeem(running.sessions[0], token=people[0].ticket_token)
    assert checkin.counters(running.sessions[0]) == {
        "onsite": {"checked_in": 1, "expected": 3},
        "online": {"checked_in": 0, "expected": 1},
    }
    roster = checkin.roster(running.sessions[0])
    assert len(roster) == 4
    entry = next(r for r in roster if r["id"] == people[0].id)
    assert entry["ticket_sha256"] == checkin.ticket_digest(people[0].ticket_token)
    assert entry["checked_in_at"] is not None
    assert all(people[0].ticket_token not in str(r) for r in roster)  # digests, never the tickets
    assert "email" not in entry and "mobile" not in entry
