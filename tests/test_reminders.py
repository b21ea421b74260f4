"""Reminders before a workshop: the day before at the configured hour on the venue's clock, and
an hour before each online session; once per person, to confirmed people only, in their language."""

import threading
from datetime import UTC, datetime, time, timedelta
from time import sleep
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import applicant
from tests.test_concurrency import run_together
from tests.test_outbox import decode_qr
from tests.test_scheduling import workshop_form
from workshops.extensions import db as _db
from workshops.models import (
    Channel,
    EmailKind,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Role,
    SentReminder,
    Session,
    Workshop,
    WorkshopFormat,
    WorkshopStatus,
)
from workshops.services import outbox, reminders, scheduling
from workshops.services import registration as registrations

NEXT_YEAR = datetime.now(UTC).year + 1
MEETING = "https://meeting.example.org/qa-2027"
NOTHING = {"day_before": 0, "hour_before": 0}
MINUTE = timedelta(minutes=1)


def summer_workshop(make_workshop, zone="Asia/Shanghai", **overrides):
    """A hybrid workshop on 1-2 July next year, 09:00 on the venue's clock (summer time in Zurich)."""
    start = datetime(NEXT_YEAR, 7, 1, 9, tzinfo=ZoneInfo(zone))
    values = dict(
        timezone=zone,
        starts_at=start,
        ends_at=start + timedelta(days=1, hours=8),
        meeting_url=MEETING,
        onsite_capacity=2,
        online_capacity=1,
    )
    values.update(overrides)
    workshop = make_workshop(**values)
    if workshop.sessions:
        workshop.sessions[0].room = "Room 301"
        _db.session.commit()
    return workshop


def register(workshop, n, **fields) -> Registration:
    return registrations.register(workshop.id, applicant(n, **fields)).registration


def everyone(workshop) -> dict[str, Registration]:
    """Confirmed onsite (Chinese and English), confirmed online (English), and one of each other status."""
    people = {
        "onsite_zh": register(workshop, 0, mode="onsite", language="zh", full_name="李华"),
        "online_en": register(workshop, 1, mode="online", language="en", full_name="Anna Keller"),
        "cancelled": register(workshop, 2, mode="onsite", language="en"),
    }
    registrations.cancel(people["cancelled"])
    people["onsite_en"] = register(workshop, 3, mode="onsite", language="en", full_name="Wang Wei")
    people["waitlisted"] = register(workshop, 4, mode="onsite")
    people["waitlisted_online"] = register(workshop, 5, mode="online")
    for n, status in (
        (6, RegistrationStatus.PENDING),
        (7, RegistrationStatus.REJECTED),
        (8, RegistrationStatus.UNVERIFIED),
    ):
        person = register(workshop, n, mode="onsite")
        person.status = status  # as approval, a decline or an unfollowed email link leave them
        people[status.value] = person
    _db.session.commit()
    assert people["waitlisted"].status == people["waitlisted_online"].status == RegistrationStatus.WAITLISTED
    assert {people[k].status for k in ("onsite_zh", "online_en", "onsite_en")} == {
        RegistrationStatus.CONFIRMED
    }
    return people


def reminder_emails(mailbox, kind=EmailKind.REMINDER):
    subjects = {
        EmailKind.REMINDER: ("Reminder: ", "活动提醒："),
        EmailKind.SESSION_REMINDER: ("Starting within the hour: ", "一小时内开始："),
    }[kind]
    return [m for m in mailbox.messages if m["Subject"].startswith(subjects)]


def texts(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Zurich"])
def test_the_reminder_goes_out_once_at_the_configured_hour_to_confirmed_people_only(
    app, db, make_workshop, mailbox, zone
):
    mailbox.start()
    workshop = summer_workshop(make_workshop, zone)
    people = everyone(workshop)
    due = datetime(NEXT_YEAR, 6, 30, 18, tzinfo=ZoneInfo(zone))  # the default: 1 day before at 18:00
    assert reminders.reminder_due_at(workshop) == due
    assert due.astimezone(UTC).hour == (10 if zone == "Asia/Shanghai" else 16)

    assert reminders.send_due_reminders(due - MINUTE) == NOTHING
    assert reminder_emails(mailbox) == []
    assert reminders.send_due_reminders(due + MINUTE) == {"day_before": 3, "hour_before": 0}
    assert reminders.send_due_reminders(due + 6 * MINUTE) == NOTHING  # the next sweep
    assert reminders.send_due_reminders(due + timedelta(hours=13)) == NOTHING  # 07:00 on the day

    sent = reminder_emails(mailbox)
    assert sorted(m["To"] for m in sent) == sorted(
        people[k].email for k in ("onsite_zh", "online_en", "onsite_en")
    )
    [english] = mailbox.to(people["online_en"].email)[-1:]
    text, _html = texts(english)
    label = (
        "(GMT+08:00), Asia/Shanghai time" if zone == "Asia/Shanghai" else "(GMT+02:00), Europe/Zurich time"
    )
    assert f"Starts: Jul 1, {NEXT_YEAR}, 9:00:00\u202fAM {label}" in text


def test_the_reminder_carries_the_ticket_room_venue_and_only_online_people_get_the_join_link(
    app, db, make_workshop, mailbox, tmp_path
):
    mailbox.start()
    workshop = summer_workshop(make_workshop)
    people = everyone(workshop)
    reminders.send_due_reminders(reminders.reminder_due_at(workshop) + MINUTE)

    # Onsite, in Chinese: the QR ticket (decoded), the first session, its room and the venue.
    [chinese] = [m for m in reminder_emails(mailbox) if m["To"] == people["onsite_zh"].email]
    assert chinese["Subject"] == "活动提醒：高质量学徒制能力建设研讨会"
    text, html = texts(chinese)
    assert "李华" in text and "第一天" in text and "会议室： Room 301" in text
    assert "Training Centre, Chongqing" in text
    assert f"{NEXT_YEAR}年7月1日 09:00:00 (GMT+08:00)（Asia/Shanghai 时间）" in text
    assert f"/r/{people['onsite_zh'].manage_token}" in text
    qr = next(part for part in chinese.walk() if part.get_content_type() == "image/png")
    assert qr["Content-ID"] == "<ticket-qr>" and 'src="cid:ticket-qr"' in html
    assert decode_qr(qr.get_content(), tmp_path) == people["onsite_zh"].ticket_token
    for body in (text, html):  # an onsite person is never given a way into the meeting
        assert "/j/" not in body and MEETING not in body

    # Online, in English: their personal join link, never the meeting's own address, no room.
    [english] = [m for m in reminder_emails(mailbox) if m["To"] == people["online_en"].email]
    assert english["Subject"] == "Reminder: Capacity Building Workshop on Quality Apprenticeship"
    text, html = texts(english)
    assert "Dear Anna Keller," in text and "Where: Online" in text
    assert f"http://workshops.test/j/{people['online_en'].ticket_token}" in text
    assert f'href="http://workshops.test/j/{people["online_en"].ticket_token}"' in html
    assert MEETING not in text and MEETING not in html and "Room 301" not in text


def test_an_hour_before_each_online_session_online_people_get_their_join_link(
    app, db, make_workshop, mailbox
):
    mailbox.start()
    workshop = summer_workshop(make_workshop)
    people = everyone(workshop)
    day_1, day_2 = (s.starts_at for s in workshop.sessions)
    reminders.send_due_reminders(reminders.reminder_due_at(workshop) + MINUTE)

    assert reminders.send_due_reminders(day_1 - 61 * MINUTE) == NOTHING
    assert reminders.send_due_reminders(day_1 - 59 * MINUTE) == {"day_before": 0, "hour_before": 1}
    assert reminders.send_due_reminders(day_1 - 30 * MINUTE) == NOTHING
    assert reminders.send_due_reminders(day_1 + MINUTE) == NOTHING
    assert reminders.send_due_reminders(day_2 - 55 * MINUTE) == {"day_before": 0, "hour_before": 1}
    assert reminders.send_due_reminders(day_2 - 50 * MINUTE) == NOTHING

    sent = reminder_emails(mailbox, EmailKind.SESSION_REMINDER)
    assert [m["To"] for m in sent] == [people["online_en"].email] * 2  # not the waitlisted online person
    text, html = texts(sent[1])
    assert (
        sent[1]["Subject"] == "Starting within the hour: Capacity Building Workshop on Quality Apprenticeship"
    )
    assert "Session: Day 2" in text and f"Jul 2, {NEXT_YEAR}, 9:00:00\u202fAM" in text
    assert f"/j/{people['online_en'].ticket_token}" in text and MEETING not in html
    assert not any(part.get_content_type() == "image/png" for part in sent[1].walk())


def test_someone_who_switches_to_online_after_the_reminder_gets_the_join_link_an_hour_before(
    app, db, make_workshop, mailbox
):
    mailbox.start()
    workshop = summer_workshop(make_workshop)
    person = register(workshop, 0, mode="onsite", language="en")
    reminders.send_due_reminders(reminders.reminder_due_at(workshop) + MINUTE)
    [day_before] = reminder_emails(mailbox)
    assert "/j/" not in texts(day_before)[0]
    registrations.switch_mode(person, "online")  # the evening before, from the ticket page
    assert reminders.send_due_reminders(workshop.sessions[0].starts_at - 59 * MINUTE) == {
        "day_before": 0,  # reminded of this start already
        "hour_before": 1,
    }
    [hour_before] = reminder_emails(mailbox, EmailKind.SESSION_REMINDER)
    assert f"/j/{person.ticket_token}" in texts(hour_before)[0]


def test_no_hour_before_reminder_without_a_meeting_link_or_for_an_onsite_workshop(app, db, make_workshop):
    no_link = summer_workshop(make_workshop, meeting_url="")
    register(no_link, 1, mode="online")
    onsite = summer_workshop(make_workshop, format=WorkshopFormat.ONSITE, title_en="Study tour", title_zh="")
    register(onsite, 2, mode="onsite")
    day_1 = no_link.sessions[0].starts_at
    # Both get the day before (sent late here: the sweep had not run), neither the hour before.
    assert reminders.send_due_reminders(day_1 - 30 * MINUTE) == {"day_before": 2, "hour_before": 0}


def test_no_reminders_when_off_for_drafts_or_for_cancelled_workshops(app, db, make_workshop):
    off = summer_workshop(make_workshop, sends_reminders=False)
    draft = summer_workshop(make_workshop)
    cancelled = summer_workshop(make_workshop)
    for n, workshop in enumerate((off, draft, cancelled)):
        register(workshop, n, mode="online")
    draft.status = WorkshopStatus.DRAFT  # unpublished again after someone registered
    cancelled.status = WorkshopStatus.CANCELLED
    db.session.commit()
    day_1 = off.sessions[0].starts_at
    for moment in (reminders.reminder_due_at(off) + MINUTE, day_1 - 30 * MINUTE):
        assert reminders.send_due_reminders(moment) == NOTHING
    assert db.session.scalar(db.select(db.func.count()).select_from(SentReminder)) == 0
    assert not db.session.scalars(db.select(OutboxMessage).filter_by(kind="reminder")).all()


def test_a_workshop_moved_by_a_day_is_reminded_again_one_moved_within_the_day_is_not(
    app, db, make_workshop, mailbox
):
    mailbox.start()
    workshop = summer_workshop(make_workshop, format=WorkshopFormat.ONSITE)
    person = register(workshop, 0, mode="onsite", language="en")
    first_due = reminders.reminder_due_at(workshop)
    assert reminders.send_due_reminders(first_due + MINUTE)["day_before"] == 1

    def move(by: timedelta):  # as rescheduling does: the workshop and its agenda together
        workshop.starts_at += by
        workshop.ends_at += by
        for session in workshop.sessions:
            session.starts_at += by
            session.ends_at += by
        db.session.commit()

    move(timedelta(days=1))
    new_due = reminders.reminder_due_at(workshop)
    assert new_due == first_due + timedelta(days=1)
    assert reminders.send_due_reminders(first_due + 10 * MINUTE) == NOTHING  # not yet: a day to go
    assert reminders.send_due_reminders(new_due + MINUTE)["day_before"] == 1
    move(timedelta(hours=2))  # 11:00 instead of 09:00, the same day: the change notice tells them
    assert reminders.send_due_reminders(new_due + timedelta(hours=3)) == NOTHING

    sent = reminder_emails(mailbox)
    assert [m["To"] for m in sent] == [person.email] * 2
    assert f"Jul 2, {NEXT_YEAR}, 9:00:00\u202fAM" in texts(sent[1])[0]  # the new date
    starts = db.session.scalars(db.select(SentReminder.starts_at).order_by(SentReminder.id)).all()
    assert starts == [datetime(NEXT_YEAR, 7, d, 1, tzinfo=UTC) for d in (1, 2)]


def test_a_late_registration_has_its_ticket_email_and_is_reminded_only_before_the_start(
    app, db, make_workshop
):
    workshop = summer_workshop(make_workshop)
    due = reminders.reminder_due_at(workshop)
    day_1 = workshop.sessions[0].starts_at
    early = register(workshop, 0, mode="onsite")
    late = register(workshop, 1, mode="online")
    # The late one registered at 20:00, after the 18:00 reminder: their confirmation is that recent.
    db.session.execute(
        db.update(OutboxMessage)
        .where(OutboxMessage.registration_id == late.id)
        .values(created_at=due + timedelta(hours=2))
    )
    db.session.commit()
    # The sweep was not running at 18:00 (worker down): the next one, still before the start, sends.
    assert reminders.send_due_reminders(due + timedelta(hours=3)) == {"day_before": 1, "hour_before": 0}
    [row] = db.session.scalars(db.select(SentReminder)).all()
    assert row.registration_id == early.id
    # The hour before the session is for every confirmed online person, the late one too.
    assert reminders.send_due_reminders(day_1 - 59 * MINUTE) == {"day_before": 0, "hour_before": 1}

    # A workshop whose reminder time passed while no sweep ran, and has started: nothing now.
    started = summer_workshop(make_workshop, title_en="Another", title_zh="")
    register(started, 2, mode="onsite")
    assert reminders.send_due_reminders(started.starts_at + MINUTE) == NOTHING


def test_someone_who_gave_only_a_mobile_gets_a_text_with_the_ticket_or_join_link(
    app, db, make_workshop, tmp_path
):
    log = tmp_path / "sms.log"
    app.config.update(SMS_PROVIDER="log", SMS_LOG_FILE=str(log), SMS_SIGN_NAME="")
    workshop = summer_workshop(make_workshop)
    onsite = register(workshop, 0, mode="onsite", email="", mobile="+8613912345678", language="zh")
    online = register(workshop, 1, mode="online", email="", mobile="+8613912345679", language="en")
    both = register(workshop, 2, mode="onsite", mobile="+8613912345670")
    reminders.send_due_reminders(reminders.reminder_due_at(workshop) + MINUTE)
    reminders.send_due_reminders(workshop.sessions[0].starts_at - 59 * MINUTE)
    outbox.deliver_due()

    rows = db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.kind.in_(["reminder", "session_reminder"]))
    ).all()
    assert sorted((r.registration_id, r.kind, r.channel) for r in rows) == sorted(
        [
            (onsite.id, "reminder", Channel.SMS),
            (online.id, "reminder", Channel.SMS),
            (online.id, "session_reminder", Channel.SMS),
            (both.id, "reminder", Channel.EMAIL),  # an address: the email, no text as well
        ]
    )
    line = log.read_text(encoding="utf-8")
    assert (
        f"提醒：“高质量学徒制能力建设研讨会”即将举行。电子票：http://workshops.test/r/{onsite.manage_token}"
        in line
    )
    assert (
        "Starting within the hour: Capacity Building Workshop on Qu…."  # two texts at most
        f" Join: http://workshops.test/j/{online.ticket_token}" in line
    )


def test_two_sweeps_racing_remind_each_person_once(app, db, make_workshop):
    workshop = summer_workshop(make_workshop, onsite_capacity=20, online_capacity=20)
    people = [register(workshop, n, mode="online" if n % 2 else "onsite") for n in range(12)]
    due = reminders.reminder_due_at(workshop) + MINUTE
    day_1 = workshop.sessions[0].starts_at - 30 * MINUTE
    results = []

    def sweep(n):
        with app.app_context():
            results.append(reminders.send_due_reminders(due if n % 2 else day_1))
            _db.session.remove()

    run_together(6, sweep)
    assert sum(r["day_before"] for r in results) == 12  # every sweep at due or later may send it
    assert sum(r["hour_before"] for r in results) == 6
    db.session.expire_all()
    kinds = db.session.execute(
        db.select(OutboxMessage.registration_id, OutboxMessage.kind).where(
            OutboxMessage.kind.in_(["reminder", "session_reminder"])
        )
    ).all()
    assert sorted(kinds) == sorted(
        [(p.id, "reminder") for p in people]
        + [(p.id, "session_reminder") for p in people if p.mode == "online"]
    )


def test_a_large_workshop_is_reminded_in_batches_and_a_cancellation_stops_the_rest(
    app, db, make_workshop, monkeypatch
):
    workshop = summer_workshop(make_workshop, onsite_capacity=20)
    people = [register(workshop, n) for n in range(5)]
    monkeypatch.setattr(reminders, "BATCH", 2)
    real_queue, queued = reminders._queue, []

    def queue_then_cancel(registration, kind, session):
        real_queue(registration, kind, session)
        queued.append(registration.id)
        if len(queued) == 2:  # the first batch written: the coordinator cancels before the next
            db.session.commit()
            scheduling.cancel_workshop(_db.session.get(Workshop, workshop.id), None, reason_en="Storm")

    monkeypatch.setattr(reminders, "_queue", queue_then_cancel)
    due = reminders.reminder_due_at(workshop) + MINUTE
    assert reminders.send_due_reminders(due)["day_before"] == 2
    assert queued == [people[0].id, people[1].id]
    monkeypatch.setattr(reminders, "_queue", real_queue)
    other = summer_workshop(make_workshop, onsite_capacity=20)
    everyone_else = [register(other, n) for n in range(10, 15)]
    assert reminders.send_due_reminders(reminders.reminder_due_at(other) + MINUTE)["day_before"] == 5
    reminded = db.session.scalars(db.select(SentReminder.registration_id).order_by(SentReminder.id)).all()
    assert reminded[-5:] == [p.id for p in everyone_else]


def test_two_online_sessions_less_than_an_hour_apart_each_get_their_reminder(app, db, make_workshop):
    workshop = summer_workshop(make_workshop)
    online = register(workshop, 1, mode="online")
    day_1 = workshop.sessions[0]
    breakout = Session(
        workshop=workshop,
        title_en="Breakout",
        starts_at=day_1.starts_at + 45 * MINUTE,
        ends_at=day_1.starts_at + 105 * MINUTE,
    )
    db.session.add(breakout)
    db.session.commit()
    reminders.send_due_reminders(reminders.reminder_due_at(workshop) + MINUTE)
    assert reminders.send_due_reminders(day_1.starts_at - 5 * MINUTE) == {"day_before": 0, "hour_before": 2}
    sessions = db.session.scalars(
        db.select(SentReminder.session_id).where(
            SentReminder.registration_id == online.id, SentReminder.kind == "session_reminder"
        )
    ).all()
    assert sorted(sessions) == sorted([day_1.id, breakout.id])


def test_a_cancellation_while_the_sweep_writes_waits_and_no_reminder_follows_its_notice(
    app, db, make_workshop, database_url, monkeypatch
):
    """The sweep has picked its people when the coordinator cancels: the cancellation waits for
    the sweep's commit (the sweep holds the workshop), then withdraws what it has not sent. No
    reminder reaches anyone after the cancellation notice."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    workshop = summer_workshop(make_workshop)
    person = register(workshop, 1, mode="onsite")
    workshop_id, due = workshop.id, reminders.reminder_due_at(workshop) + MINUTE
    real_claim, waited = reminders._claim, {}

    def cancel_elsewhere():
        with app.app_context():
            scheduling.cancel_workshop(
                _db.session.get(Workshop, workshop_id), None, reason_en="Flood warning"
            )
            _db.session.remove()

    canceller = threading.Thread(target=cancel_elsewhere)

    def claim_then_cancel(rows):
        claimed = real_claim(rows)
        canceller.start()
        canceller.join(timeout=1)
        waited["blocked"] = canceller.is_alive()  # held back by the sweep's lock on the workshop
        return claimed

    monkeypatch.setattr(reminders, "_claim", claim_then_cancel)
    reminders.send_due_reminders(due)
    canceller.join(timeout=30)
    assert waited["blocked"] and not canceller.is_alive()
    db.session.expire_all()
    rows = db.session.execute(
        db.select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.sent_at, OutboxMessage.created_at)
        .where(OutboxMessage.registration_id == person.id)
        .order_by(OutboxMessage.id)
    ).all()
    notice = next(row for row in rows if row.kind == "workshop_cancelled")
    for row in rows:
        if row.kind == "reminder":  # withdrawn unsent, or delivered before the notice was written
            assert row.sent_at is not None and row.sent_at <= notice.created_at
    assert db.session.get(Registration, person.id).status == RegistrationStatus.CANCELLED


# --- The staff form -----------------------------------------------------------------------------


@pytest.fixture
def coordinator(auth, make_user):
    user = make_user(Role.COORDINATOR)
    auth.login(user)
    return user


def test_coordinators_set_the_reminder_and_bad_settings_are_refused_in_words(
    client, coordinator, make_workshop, db
):
    workshop = make_workshop()
    page = client.get(f"/staff/workshops/{workshop.id}/edit").get_data(as_text=True)
    assert '<fieldset id="reminders">' in page
    assert 'name="reminder_days_before" type="number" value="1"' in page and 'value="18"' in page
    edit = f"/staff/workshops/{workshop.id}/edit"
    dates = dict(starts_at=f"{NEXT_YEAR}-03-31T09:00", ends_at=f"{NEXT_YEAR}-04-01T17:00")

    for fields, message in (
        ({"reminder_days_before": "31"}, "Between 0 and 30 days."),
        ({"reminder_days_before": "-1"}, "Between 0 and 30 days."),
        ({"reminder_hour": "24"}, "An hour between 0 and 23."),
        # The day itself at 10:00, for a 09:00 start: it would come too late.
        (
            {"reminder_days_before": "0", "reminder_hour": "10"},
            "The reminder would go out after the workshop starts: choose an earlier hour or more days.",
        ),
    ):
        form = workshop_form(**dates, sends_reminders="y", reminder_days_before="1", reminder_hour="18")
        response = client.post(edit, data={**form, **fields})
        assert response.status_code == 200 and message in response.get_data(as_text=True)
        db.session.expire_all()
        saved = db.session.get(Workshop, workshop.id)
        assert (saved.reminder_days_before, saved.reminder_hour, saved.onsite_capacity) == (1, 18, 40)

    response = client.post(
        edit, data=workshop_form(**dates, sends_reminders="y", reminder_days_before="2", reminder_hour="8")
    )
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Workshop, workshop.id)
    assert (saved.sends_reminders, saved.reminder_days_before, saved.reminder_hour) == (True, 2, 8)
    assert reminders.reminder_due_at(saved) == datetime(NEXT_YEAR, 3, 29, 8, tzinfo=ZoneInfo("Asia/Shanghai"))

    # Unticked: off (and the hour no longer matters).
    response = client.post(edit, data=workshop_form(**dates, reminder_days_before="0", reminder_hour="23"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Workshop, workshop.id).sends_reminders is False

    client.get("/language/zh")
    response = client.post(edit, data=workshop_form(**dates, sends_reminders="y", reminder_hour="99"))
    assert "小时须在 0 到 23 之间。" in response.get_data(as_text=True)


def test_a_new_workshop_reminds_the_day_before_at_18_and_a_copy_keeps_the_setting(
    client, coordinator, make_workshop, db
):
    response = client.post(
        "/staff/workshops/new",
        data=workshop_form(sends_reminders="y", reminder_days_before="1", reminder_hour="18"),
    )
    assert response.status_code == 302
    created = db.session.scalars(db.select(Workshop)).one()
    assert (created.sends_reminders, created.reminder_days_before, created.reminder_hour) == (True, 1, 18)
    original = make_workshop(reminder_days_before=3, reminder_hour=9)
    client.post(f"/staff/workshops/{original.id}/duplicate")
    copy = db.session.scalars(db.select(Workshop).order_by(Workshop.id.desc())).first()
    assert copy.id != original.id and (copy.reminder_days_before, copy.reminder_hour) == (3, 9)


def test_an_organiser_cannot_change_the_reminders(client, auth, make_user, make_workshop, db):
    workshop = make_workshop()
    auth.login(make_user(Role.ORGANISER))
    response = client.post(
        f"/staff/workshops/{workshop.id}/edit",
        data=workshop_form(sends_reminders="", reminder_days_before="0", reminder_hour="0"),
    )
    assert response.status_code in (302, 403, 404)
    db.session.expire_all()
    assert db.session.get(Workshop, workshop.id).sends_reminders is True


# --- A real worker with beat -------------------------------------------------------------------


def test_a_real_worker_with_beat_sends_the_reminder(app, db, database_url, tmp_path, monkeypatch):
    """Celery's worker with its beat on Redis, as production runs it (tests/stack.py): beat's own
    entry finds the due reminder and the email reaches a real SMTP server, once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the production shape: PostgreSQL and redis-server")
    from tests import stack as production

    # The worker works on this test's database, migrated already: no schema of its own to build.
    monkeypatch.setattr(production, "fresh_database", lambda _name: database_url)
    stack = production.Stack(tmp_path, "reminders", app_servers=0, REMINDER_SWEEP_SECONDS="1")
    # A workshop three hours from now whose reminder hour, on the venue's clock, has begun.
    zone = ZoneInfo("Asia/Shanghai")
    now = datetime.now(zone)
    start = (now + timedelta(hours=3)).replace(second=0, microsecond=0)
    workshop = Workshop(
        title_en="Core Skills (online)",
        title_zh="核心技能培训（线上）",
        format=WorkshopFormat.ONLINE,
        status=WorkshopStatus.PUBLISHED,
        meeting_url=MEETING,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        online_capacity=10,
        confirm_contact=False,
        reminder_days_before=(start.date() - now.date()).days,
        reminder_hour=now.hour,
    )
    db.session.add(workshop)
    db.session.commit()
    assert reminders.reminder_due_at(workshop) == datetime.combine(now.date(), time(now.hour), tzinfo=zone)
    person = register(workshop, 1, mode="online", email="anna@example.org", mobile="", language="en")
    # Registered last week (a ticket email since the reminder's hour would stand in for it).
    db.session.execute(
        db.update(OutboxMessage)
        .where(OutboxMessage.registration_id == person.id)
        .values(created_at=datetime.now(UTC) - timedelta(days=7))
    )
    db.session.commit()

    stack.start_redis()
    stack.start_smtp()
    try:
        stack.start_worker()
        # Seconds on a quiet machine; the bound is for a busy one.
        production.wait_until(
            lambda: stack.inbox.count("Reminder: Core Skills (online)") >= 1, 90, "beat sends the reminder"
        )
        sleep(2)  # two more of beat's sweeps: still one
        assert [(r, s) for r, _id, s in stack.inbox.accepted] == [
            ("anna@example.org", "Reminder: Core Skills (online)")
        ]
    finally:
        stack.stop()
    db.session.expire_all()
    [row] = db.session.scalars(db.select(SentReminder)).all()
    assert row.registration_id == person.id and row.starts_at == start
