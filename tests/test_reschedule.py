"""Rescheduling a published workshop: one move, the people registered told once each in their
language, and calendars that update the events they already hold (parsed with icalendar).

"A day" is a day on the venue's clock: the 09:00 session moved by a day is at 09:00 the next
day, also when the clocks change in between (then it is 23 or 25 hours later in absolute time).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.helpers import applicant
from workshops.models import (
    AuditEvent,
    ChangeNotice,
    OutboxMessage,
    RegistrationSource,
    Role,
    Session,
    Workshop,
    WorkshopStatus,
)
from workshops.services import outbox
from workshops.services import registration as registrations

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZURICH = ZoneInfo("Europe/Zurich")
NEXT_YEAR = datetime.now(UTC).year + 1
MEETING = "https://meeting.example.org/qa-secret"


@pytest.fixture
def coordinator(auth, make_user):
    user = make_user(Role.COORDINATOR)
    auth.login(user)
    return user


@pytest.fixture
def texts(app, tmp_path):
    """Text messages go to a log file (the embedded provider): the phone-only people's."""
    log = tmp_path / "sms.log"
    app.config.update(SMS_PROVIDER="log", SMS_LOG_FILE=str(log), SMS_SIGN_NAME="")
    return log


def three_session_workshop(make_workshop, zone=SHANGHAI, day=None, **overrides) -> Workshop:
    """A published hybrid workshop over two days: Day 1, Day 2 morning and a study tour."""
    day = day or datetime(NEXT_YEAR, 3, 31)
    at = lambda days, hour: (day + timedelta(days=days)).replace(hour=hour, tzinfo=zone)  # noqa: E731
    workshop = make_workshop(
        with_sessions=False,
        timezone=str(zone),
        starts_at=at(0, 9),
        ends_at=at(1, 17),
        registration_closes_at=at(-2, 18),
        meeting_url=MEETING,
        online_capacity=1,
        **overrides,
    )
    workshop.sessions = [
        Session(title_en="Day 1", title_zh="第一天", starts_at=at(0, 9), ends_at=at(0, 17), room="Hall A"),
        Session(title_en="Day 2", title_zh="第二天", starts_at=at(1, 9), ends_at=at(1, 12), room="Hall A"),
        Session(title_en="Study tour", title_zh="企业参观", starts_at=at(1, 13), ends_at=at(1, 17)),
    ]
    from workshops.extensions import db

    db.session.commit()
    return workshop


def register_people(workshop) -> dict:
    """Everyone a coordinator could have: told (confirmed en/zh onsite, online, phone-only,
    waiting list) and not told (cancelled, rejected, an unfollowed hold)."""
    people = {}
    for key, n, overrides in [
        ("en", 1, {"language": "en", "full_name": "Alice Brown"}),
        ("zh", 2, {"language": "zh", "full_name": "李华"}),
        ("online", 3, {"language": "en", "mode": "online", "full_name": "Omar Online"}),
        ("waitlisted", 4, {"language": "zh", "mode": "online", "full_name": "等候者"}),
        ("phone", 5, {"language": "zh", "email": "", "full_name": "王芳"}),
        ("cancelled", 6, {"language": "en"}),
        ("rejected", 7, {"language": "en"}),
    ]:
        result = registrations.register(
            workshop.id, applicant(n, **overrides), source=RegistrationSource.IMPORT
        )
        people[key] = result.registration
    registrations.cancel(people["cancelled"])
    registrations.reject(people["rejected"], None, "Not from a pilot enterprise")
    workshop.confirm_contact = True  # a public registration whose email link nobody followed
    people["unverified"] = registrations.register(workshop.id, applicant(8, language="en")).registration
    workshop.confirm_contact = False
    from workshops.extensions import db

    db.session.commit()
    assert people["waitlisted"].status == "waitlisted" and people["unverified"].status == "unverified"
    return people


def clear_outbox(db, mailbox=None):
    """Forget the registration emails: what follows is about the change."""
    db.session.execute(OutboxMessage.__table__.delete())
    db.session.commit()
    if mailbox is not None:
        mailbox.messages.clear()


def calendar_of(message) -> tuple[Calendar, object]:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True)), part


def events_by_uid(ics: Calendar) -> dict:
    return {str(e["uid"]): e for e in ics.walk("VEVENT")}


def local(moment, zone):
    return moment.astimezone(zone).replace(tzinfo=None)


def test_moving_a_workshop_by_a_day_moves_its_sessions_and_tells_each_person_once(
    client, coordinator, make_workshop, mailbox, texts, db
):
    mailbox.start()
    workshop = three_session_workshop(make_workshop)
    people = register_people(workshop)
    before_ics = Calendar.from_ical(client.get(f"/workshops/{workshop.id}/calendar.ics").data)
    uids = [str(e["uid"]) for e in before_ics.walk("VEVENT")]
    assert len(set(uids)) == 3 and all(e["sequence"] == 0 for e in before_ics.walk("VEVENT"))
    old = [(s.starts_at, s.ends_at) for s in workshop.sessions]
    old_close = workshop.registration_closes_at
    clear_outbox(db, mailbox)

    # The move asks first: what changes and for how many people; nothing is saved yet.
    form = {"starts_at": f"{NEXT_YEAR}-04-01T09:00"}
    question = client.post(f"/staff/workshops/{workshop.id}/move", data=form)
    page = question.get_data(as_text=True)
    assert question.status_code == 200 and "Tell the people registered?" in page
    assert "5 people would be told" in page  # en, zh, online, waiting list, phone-only
    assert "“Study tour”: Apr 1, " in page and "13:00–17:00 (GMT+08:00) → Apr 2, " in page
    assert 'name="notify" value="yes"' in page and 'name="notify" value="no"' in page
    db.session.expire_all()
    assert [(s.starts_at, s.ends_at) for s in db.session.get(Workshop, workshop.id).sessions] == old
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0

    # "Save and notify" sends the same form back with the answer.
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    response = client.post(f"/staff/workshops/{workshop.id}/move", data={**hidden, "notify": "yes"})
    assert response.status_code == 302
    db.session.expire_all()
    workshop = db.session.get(Workshop, workshop.id)
    assert [(s.starts_at, s.ends_at) for s in workshop.sessions] == [
        (start + timedelta(hours=24), end + timedelta(hours=24)) for start, end in old
    ]
    assert workshop.registration_closes_at == old_close + timedelta(hours=24)
    assert local(workshop.starts_at, SHANGHAI) == datetime(NEXT_YEAR, 4, 1, 9)

    outbox.deliver_due()  # whatever the kick after the save left
    told = {key: mailbox.to(people[key].email) for key in ("en", "zh", "online", "waitlisted")}
    assert {key: len(messages) for key, messages in told.items()} == dict.fromkeys(told, 1)
    for key in ("cancelled", "rejected", "unverified"):
        assert mailbox.to(people[key].email) == []
    assert len(mailbox.messages) == 4

    english = told["en"][0]
    assert " ".join(english["Subject"].split()) == f"Changed: {workshop.title_en} — the new details"
    text = english.get_body(("plain",)).get_content()
    assert f"“Day 1”: Mar 31, {NEXT_YEAR}, 09:00–17:00 (GMT+08:00) → Apr 1, {NEXT_YEAR}, 09:00–17:00" in text
    assert "Hall A" not in text or "Room" not in text  # rooms did not change: not listed as a change
    chinese = told["zh"][0].get_body(("plain",)).get_content()
    assert "李华" in chinese and "“第一天”" in chinese and "日期" in chinese
    assert told["zh"][0]["Subject"].startswith("变更：")
    for messages in told.values():  # a move does not touch the meeting link: nobody is sent it
        assert MEETING not in messages[0].get_body(("plain",)).get_content()

    # The calendar file updates what the calendar holds: same UIDs, a higher SEQUENCE.
    ics, part = calendar_of(told["zh"][0])
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("charset") == "utf-8" and part.get_param("method") == "PUBLISH"
    assert str(ics["method"]) == "PUBLISH"
    events = events_by_uid(ics)
    assert list(events) == uids
    assert all(e["sequence"] == 1 for e in events.values())
    assert [e.decoded("dtstart") for e in events.values()] == [s.starts_at for s in workshop.sessions]
    assert "第一天" in str(events[uids[0]]["summary"])  # Chinese titles come back whole

    # The person who gave only a mobile gets a short text, in Chinese, with their ticket link.
    [line] = [x for x in texts.read_text(encoding="utf-8").splitlines() if "workshop_changed" in x]
    assert "[workshop_changed, zh, " in line and "”有变动，详情：" in line
    assert people["phone"].manage_token in line

    event = db.session.scalars(db.select(AuditEvent).filter_by(action="workshop.change_told")).one()
    assert event.actor_id == coordinator.id and event.details["people"] == 5
    assert db.session.scalars(db.select(AuditEvent).filter_by(action="workshop.move")).one()


def test_a_day_is_a_day_on_the_venue_clock_also_when_the_clocks_change(
    client, coordinator, make_workshop, db
):
    # Zurich's clocks go forward on the last Sunday of March: Saturday 09:00 → Sunday 09:00 is 23 h.
    sunday = max(day for day in range(25, 32) if datetime(NEXT_YEAR, 3, day).weekday() == 6)
    workshop = three_session_workshop(make_workshop, zone=ZURICH, day=datetime(NEXT_YEAR, 3, sunday - 2))
    old = [(s.starts_at, s.ends_at) for s in workshop.sessions]
    response = client.post(
        f"/staff/workshops/{workshop.id}/move", data={"starts_at": f"{NEXT_YEAR}-03-{sunday - 1:02d}T09:00"}
    )
    assert response.status_code == 302  # nobody registered: nobody to ask about
    db.session.expire_all()
    moved = db.session.get(Workshop, workshop.id).sessions
    assert [local(s.starts_at, ZURICH).time() for s in moved] == [local(a, ZURICH).time() for a, _ in old]
    assert [(s.starts_at - a) for s, (a, _) in zip(moved, old, strict=True)] == [
        timedelta(hours=24),  # Friday → Saturday
        timedelta(hours=23),  # Saturday → Sunday: the clocks skipped an hour
        timedelta(hours=23),
    ]


def test_a_move_that_lands_a_session_in_the_hour_the_clocks_skip_is_refused(
    client, coordinator, make_workshop, db
):
    sunday = max(day for day in range(25, 32) if datetime(NEXT_YEAR, 3, day).weekday() == 6)
    workshop = three_session_workshop(make_workshop, zone=ZURICH, day=datetime(NEXT_YEAR, 3, sunday - 7))
    workshop.sessions[0].starts_at = workshop.sessions[0].starts_at.replace(hour=2, minute=30)
    workshop.starts_at = workshop.sessions[0].starts_at
    db.session.commit()
    old = [(s.starts_at, s.ends_at) for s in workshop.sessions]
    # A week later the 02:30 session would be at 02:30 on the Sunday the clocks skip it.
    response = client.post(
        f"/staff/workshops/{workshop.id}/move",
        data={"starts_at": f"{NEXT_YEAR}-03-{sunday:02d}T02:30"},
        follow_redirects=True,
    )
    assert "does not exist on the venue's clock" in response.get_data(as_text=True)
    response = client.post(
        f"/staff/workshops/{workshop.id}/move",
        data={"starts_at": f"{NEXT_YEAR}-03-{sunday:02d}T03:30"},  # then Day 2 and the tour are fine
        follow_redirects=True,
    )
    db.session.expire_all()
    assert response.status_code == 200
    moved = db.session.get(Workshop, workshop.id)
    assert local(moved.starts_at, ZURICH) == datetime(NEXT_YEAR, 3, sunday, 3, 30)
    # 7 days and an hour on the clock, across the night the clocks lose one: 7 × 24 h.
    assert local(moved.sessions[1].starts_at, ZURICH).hour == 10
    assert moved.sessions[1].starts_at - old[1][0] == timedelta(days=7)


def test_a_removed_session_arrives_cancelled_under_its_old_uid(
    client, coordinator, make_workshop, mailbox, db
):
    mailbox.start()
    workshop = three_session_workshop(make_workshop)
    people = register_people(workshop)
    clear_outbox(db, mailbox)
    tour = workshop.sessions[2]
    url = f"/staff/workshops/{workshop.id}/sessions/{tour.id}/delete"
    page = client.post(url).get_data(as_text=True)
    assert "“Study tour” (Apr 1, " in page and "no longer takes place" in page
    assert client.post(url, data={"notify": "yes"}).status_code == 302

    outbox.deliver_due()  # whatever the kick after the save left
    [message] = mailbox.to(people["en"].email)
    assert "“Study tour” (Apr 1, " in message.get_body(("plain",)).get_content()
    events = events_by_uid(calendar_of(message)[0])
    assert f"session-{tour.id}@workshops" in events
    gone = events[f"session-{tour.id}@workshops"]
    assert str(gone["status"]) == "CANCELLED" and gone["sequence"] == 1
    assert [str(e.get("status", "")) for uid, e in events.items() if uid != str(gone["uid"])] == ["", ""]
    # A new registrant's confirmation holds only what takes place.
    public = events_by_uid(Calendar.from_ical(client.get(f"/workshops/{workshop.id}/calendar.ics").data))
    assert f"session-{tour.id}@workshops" not in public and len(public) == 2


def test_save_without_notifying_saves_and_sends_nothing(client, coordinator, make_workshop, db):
    from tests.test_scheduling import workshop_form

    workshop = three_session_workshop(make_workshop)
    register_people(workshop)
    clear_outbox(db)
    form = workshop_form(
        venue="Chongqing Vocational Institute",
        city="Chongqing",
        meeting_url=MEETING,
        starts_at=f"{NEXT_YEAR}-03-31T09:00",
        ends_at=f"{NEXT_YEAR}-04-01T17:00",
        registration_closes_at="",
        approval_required="",
        online_capacity="1",
    )
    page = client.post(f"/staff/workshops/{workshop.id}/edit", data=form).get_data(as_text=True)
    assert "Venue: Training Centre → Chongqing Vocational Institute" in page
    assert "2 people would be told" in page  # the onsite ones with an email (texts are off here)
    db.session.expire_all()
    assert db.session.get(Workshop, workshop.id).venue == "Training Centre"
    assert (
        client.post(f"/staff/workshops/{workshop.id}/edit", data={**form, "notify": "no"}).status_code == 302
    )
    db.session.expire_all()
    workshop = db.session.get(Workshop, workshop.id)
    assert workshop.venue == "Chongqing Vocational Institute" and workshop.calendar_sequence == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="workshop.change_not_told")).one()
    assert event.details == {"people": 2, "changes": ["venue"]}


def test_a_description_change_does_not_ask_and_tells_nobody(client, coordinator, make_workshop, db):
    from tests.test_scheduling import workshop_form

    workshop = three_session_workshop(make_workshop)
    register_people(workshop)
    clear_outbox(db)
    form = workshop_form(
        description_en="Now with a panel of employers.",
        venue="Training Centre",
        city="Chongqing",
        meeting_url=MEETING,
        starts_at=f"{NEXT_YEAR}-03-31T09:00",
        ends_at=f"{NEXT_YEAR}-04-01T17:00",
        registration_closes_at=f"{NEXT_YEAR}-03-29T18:00",
        online_capacity="1",
        approval_required="",
    )
    response = client.post(f"/staff/workshops/{workshop.id}/edit", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    workshop = db.session.get(Workshop, workshop.id)
    assert workshop.description_en == "Now with a panel of employers."
    assert workshop.calendar_sequence == 1  # the calendar's description did change
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0


def test_a_new_meeting_link_reaches_online_people_by_their_join_link_only(
    client, coordinator, make_workshop, mailbox, db
):
    mailbox.start()
    from tests.test_scheduling import workshop_form

    workshop = three_session_workshop(make_workshop)
    people = register_people(workshop)
    clear_outbox(db, mailbox)
    form = workshop_form(
        city="Chongqing",
        meeting_url="https://meeting.example.org/new-room",
        starts_at=f"{NEXT_YEAR}-03-31T09:00",
        ends_at=f"{NEXT_YEAR}-04-01T17:00",
        registration_closes_at=f"{NEXT_YEAR}-03-29T18:00",
        online_capacity="1",
        approval_required="",
    )
    page = client.post(f"/staff/workshops/{workshop.id}/edit", data=form).get_data(as_text=True)
    assert "The meeting link has changed." in page and "2 people would be told" in page
    assert (
        client.post(f"/staff/workshops/{workshop.id}/edit", data={**form, "notify": "yes"}).status_code == 302
    )
    outbox.deliver_due()  # whatever the kick after the save left
    assert [m["To"] for m in mailbox.messages] == [people["online"].email, people["waitlisted"].email]
    online = mailbox.to(people["online"].email)[0].get_body(("plain",)).get_content()
    assert "The meeting link has changed." in online
    assert f"/j/{people['online'].ticket_token}" in online  # opens the new meeting, counts attendance
    waiting = mailbox.to(people["waitlisted"].email)[0].get_body(("plain",)).get_content()
    assert "会议链接已更改" in waiting and "/j/" not in waiting  # no seat yet: no way in yet
    for message in mailbox.messages:
        assert "meeting.example.org" not in message.get_body(("plain",)).get_content()


def test_sessions_moved_one_by_one_carry_the_workshops_dates(client, coordinator, make_workshop, db):
    workshop = three_session_workshop(make_workshop)
    day1, day2, tour = workshop.sessions
    for session, day in ((tour, "04-02"), (day2, "04-02"), (day1, "04-01")):
        hours = {"Day 1": ("09:00", "17:00"), "Day 2": ("09:00", "12:00"), "Study tour": ("13:00", "17:00")}
        start, end = hours[session.title_en]
        response = client.post(
            f"/staff/workshops/{workshop.id}/sessions/{session.id}",
            data={
                "title_en": session.title_en,
                "title_zh": session.title_zh,
                "room": session.room,
                "starts_at": f"{NEXT_YEAR}-{day}T{start}",
                "ends_at": f"{NEXT_YEAR}-{day}T{end}",
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    workshop = db.session.get(Workshop, workshop.id)
    # Each save moved the workshop's dates with its agenda: no widening first, no shrinking after.
    assert local(workshop.starts_at, SHANGHAI) == datetime(NEXT_YEAR, 4, 1, 9)
    assert local(workshop.ends_at, SHANGHAI) == datetime(NEXT_YEAR, 4, 2, 17)
    assert workshop.calendar_sequence == 3


def test_a_cancelled_workshop_sends_every_event_cancelled_with_a_higher_sequence(
    client, coordinator, make_workshop, db
):
    workshop = three_session_workshop(make_workshop)
    client.post(
        f"/staff/workshops/{workshop.id}/cancel", data={"reason_en": "Venue closed", "confirmed": "yes"}
    )
    events = Calendar.from_ical(client.get(f"/workshops/{workshop.id}/calendar.ics").data).walk("VEVENT")
    assert [str(e["status"]) for e in events] == ["CANCELLED"] * 3
    assert all(e["sequence"] == 1 for e in events)
    response = client.post(
        f"/staff/workshops/{workshop.id}/move",
        data={"starts_at": f"{NEXT_YEAR}-04-01T09:00"},
        follow_redirects=True,
    )
    assert "A cancelled workshop cannot be moved." in response.get_data(as_text=True)


def test_an_organiser_cannot_move_a_workshop(client, auth, make_user, make_workshop, db):
    workshop, other = three_session_workshop(make_workshop), make_workshop()
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(other)
    db.session.commit()
    auth.login(organiser)
    for target in (workshop, other):  # not theirs, and theirs to scan only
        response = client.post(
            f"/staff/workshops/{target.id}/move", data={"starts_at": f"{NEXT_YEAR}-05-01T09:00"}
        )
        assert response.status_code == 403
        response = client.post(
            f"/staff/workshops/{target.id}/sessions/{target.sessions[0].id}/delete", data={"notify": "yes"}
        )
        assert response.status_code == 403
    db.session.expire_all()
    assert local(db.session.get(Workshop, workshop.id).starts_at, SHANGHAI) == datetime(NEXT_YEAR, 3, 31, 9)
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0
    assert db.session.get(Workshop, workshop.id).status == WorkshopStatus.PUBLISHED


def test_each_save_is_one_notice_and_the_old_times_are_those_before_it(
    client, coordinator, make_workshop, mailbox, db
):
    mailbox.start()
    workshop = three_session_workshop(make_workshop)
    people = register_people(workshop)
    clear_outbox(db, mailbox)
    for start in ("04-01T09:00", "04-02T09:00"):
        client.post(
            f"/staff/workshops/{workshop.id}/move",
            data={"starts_at": f"{NEXT_YEAR}-{start}", "notify": "yes"},
        )
    outbox.deliver_due()  # each notice tells its own change, the one of its save
    first, second = (m.get_body(("plain",)).get_content() for m in mailbox.to(people["en"].email))
    assert "Dates: Mar 31, " in first and "Dates: Apr 1, " in second
    sequences = [
        {e["sequence"] for e in calendar_of(m)[0].walk("VEVENT")} for m in mailbox.to(people["en"].email)
    ]
    assert sequences == [{1}, {2}]  # each file says how many changes the calendar has seen


def test_the_question_carries_the_csrf_token_and_a_forged_move_moves_nothing(
    make_app, make_user, make_workshop, db
):
    from tests.conftest import PASSWORD
    from tests.test_sessions import csrf_token

    app = make_app(WTF_CSRF_ENABLED=True)
    coordinator = make_user(Role.COORDINATOR)
    workshop = three_session_workshop(make_workshop)
    register_people(workshop)
    clear_outbox(db)
    browser = app.test_client()
    token = csrf_token(browser.get("/login").get_data(as_text=True))
    browser.post("/login", data={"email": coordinator.email, "password": PASSWORD, "csrf_token": token})
    url = f"/staff/workshops/{workshop.id}/move"

    forged = browser.post(url, data={"starts_at": f"{NEXT_YEAR}-04-01T09:00", "notify": "yes"})
    assert forged.status_code == 400
    db.session.expire_all()
    assert local(db.session.get(Workshop, workshop.id).starts_at, SHANGHAI) == datetime(NEXT_YEAR, 3, 31, 9)

    page = browser.get(f"/staff/workshops/{workshop.id}").get_data(as_text=True)
    assert f'value="{NEXT_YEAR}-03-31T09:00"' in page and "Move workshop" in page  # today's start, to edit
    token = csrf_token(page)
    question = browser.post(url, data={"starts_at": f"{NEXT_YEAR}-04-01T09:00", "csrf_token": token})
    hidden = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', question.get_data(as_text=True))
    )
    assert hidden["csrf_token"] == token
    assert browser.post(url, data={**hidden, "notify": "yes"}).status_code == 302
    db.session.expire_all()
    assert local(db.session.get(Workshop, workshop.id).starts_at, SHANGHAI) == datetime(NEXT_YEAR, 4, 1, 9)
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 4  # texts are off


def test_calendar_downloads_declare_utf8_and_the_method_in_the_file(client, make_workshop, db):
    workshop = three_session_workshop(make_workshop, title_zh="高质量学徒制·重庆")
    [person] = [registrations.register(workshop.id, applicant(1, language="zh")).registration]
    for url in (f"/workshops/{workshop.id}/calendar.ics", f"/r/{person.manage_token}/calendar.ics"):
        response = client.get(url, headers={"Accept-Language": "zh-CN"})
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8; method=PUBLISH"
        ics = Calendar.from_ical(response.data)
        assert str(ics["method"]) == "PUBLISH"
        assert [str(e["summary"]) for e in ics.walk("VEVENT")][0] == "高质量学徒制·重庆 — 第一天"


def test_a_registration_that_has_opened_stays_open_and_its_close_moves(coordinator, make_workshop, db):
    from workshops.services import scheduling

    now = datetime.now(UTC)
    opened = three_session_workshop(make_workshop, registration_opens_at=now - timedelta(days=1))
    later = three_session_workshop(make_workshop, registration_opens_at=now + timedelta(days=30))
    for workshop in (opened, later):
        opens, closes = workshop.registration_opens_at, workshop.registration_closes_at
        scheduling.move_workshop(workshop, datetime(NEXT_YEAR, 4, 7, 9), coordinator)
        db.session.expire_all()
        moved = db.session.get(Workshop, workshop.id)
        assert moved.registration_closes_at == closes + timedelta(days=7)
        # People registering now can go on; an opening still to come moves with the workshop.
        expected = opens if workshop is opened else opens + timedelta(days=7)
        assert moved.registration_opens_at == expected
        assert local(moved.sessions[0].starts_at, SHANGHAI) == datetime(NEXT_YEAR, 4, 7, 9)


@pytest.mark.parametrize(
    "value, said",
    [
        ("9999-12-31T23:00", "Choose a start between the years 2000 and 2999."),
        ("0001-01-01T00:00", "Choose a start between the years 2000 and 2999."),
        ("not a date", "Not a valid datetime value."),
        ("", "Enter the start date and time."),
    ],
)
def test_a_move_to_no_real_start_is_explained_and_moves_nothing(
    client, coordinator, make_workshop, db, value, said
):
    workshop = three_session_workshop(make_workshop)
    response = client.post(
        f"/staff/workshops/{workshop.id}/move", data={"starts_at": value}, follow_redirects=True
    )
    assert response.status_code == 200 and said in response.get_data(as_text=True)
    db.session.expire_all()
    assert local(db.session.get(Workshop, workshop.id).starts_at, SHANGHAI) == datetime(NEXT_YEAR, 3, 31, 9)
    assert db.session.get(Workshop, workshop.id).calendar_sequence == 0


def test_the_first_session_replaces_the_whole_workshop_event_and_a_room_change_tells_onsite_people(
    client, coordinator, make_workshop, mailbox, db
):
    mailbox.start()
    workshop = make_workshop(with_sessions=False, meeting_url=MEETING)
    onsite = registrations.register(workshop.id, applicant(1, language="en")).registration
    online = registrations.register(workshop.id, applicant(2, language="zh", mode="online")).registration
    clear_outbox(db, mailbox)
    [whole] = Calendar.from_ical(client.get(f"/workshops/{workshop.id}/calendar.ics").data).walk("VEVENT")
    session = {
        "title_en": "Panel",
        "title_zh": "座谈",
        "room": "Hall B",
        "starts_at": f"{NEXT_YEAR}-03-31T14:00",
        "ends_at": f"{NEXT_YEAR}-03-31T16:00",
    }
    page = client.post(f"/staff/workshops/{workshop.id}/sessions", data=session).get_data(as_text=True)
    assert "New session “Panel”: Mar 31, " in page and "14:00–16:00 (GMT+08:00), Hall B" in page
    assert "2 people would be told" in page
    assert (
        client.post(f"/staff/workshops/{workshop.id}/sessions", data={**session, "notify": "yes"}).status_code
        == 302
    )
    [panel] = db.session.get(Workshop, workshop.id).sessions
    for person in (onsite, online):
        [message] = mailbox.to(person.email)
        events = events_by_uid(calendar_of(message)[0])
        assert (
            str(events[str(whole["uid"])]["status"]) == "CANCELLED"
        )  # the calendar drops the day-long event
        assert str(events[f"session-{panel.id}@workshops"].get("status", "")) == ""
    online_text = mailbox.to(online.email)[0].get_body(("plain",)).get_content()
    assert "新增日程“座谈”" in online_text and "Hall B" not in online_text  # the room is for those who come

    mailbox.messages.clear()
    moved_room = {**session, "room": "Hall C"}
    url = f"/staff/workshops/{workshop.id}/sessions/{panel.id}"
    page = client.post(url, data=moved_room).get_data(as_text=True)
    assert "Room of “Panel”: Hall B → Hall C" in page and "1 person would be told" in page
    assert client.post(url, data={**moved_room, "notify": "yes"}).status_code == 302
    assert [m["To"] for m in mailbox.messages] == [onsite.email]
    assert db.session.scalar(db.select(db.func.count()).select_from(ChangeNotice)) == 2


def test_two_agenda_changes_saved_at_once_are_two_calendar_updates_and_two_notices(
    app, coordinator, make_workshop, db
):
    from tests.test_concurrency import run_together
    from workshops.extensions import db as _db
    from workshops.services import scheduling
    from workshops.services.scheduling import SessionDetails

    workshop = three_session_workshop(make_workshop)
    registrations.register(workshop.id, applicant(1, language="en"))
    clear_outbox(db)
    ids = [s.id for s in workshop.sessions[:2]]

    def new_room(n):
        with app.app_context():
            session = _db.session.get(Session, ids[n])
            details = SessionDetails(
                title_en=session.title_en,
                title_zh=session.title_zh,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                room=f"Hall {n + 2}",
            )
            scheduling.update_session(
                session, details, _db.session.get(type(coordinator), coordinator.id), notify=True
            )

    run_together(2, new_room)
    db.session.expire_all()
    assert db.session.get(Workshop, workshop.id).calendar_sequence == 2
    notices = db.session.scalars(db.select(ChangeNotice).order_by(ChangeNotice.id)).all()
    # Each told its own change: the second was compared with the agenda the first had saved.
    assert sorted(n.items[0]["new"] for n in notices) == ["Hall 2", "Hall 3"]
    assert [len(n.items) for n in notices] == [1, 1]
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 2
