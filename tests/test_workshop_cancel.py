"""Cancelling a workshop: everyone active is cancelled and told once, in their language, with the
reason (a real SMTP server, and the local SendSms server of tests/test_sms.py for the person who
gave only a phone); then the door, the join link, the public page, surveys and certificates all
know it. The abuser: an organiser, another workshop's staff, a GET, an empty reason, a second go."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import applicant, form_data
from tests.test_scanner_modules import node_tests
from tests.test_sms import KEY_ID, SECRET, SIGN, TEMPLATES, dysmsapi  # noqa: F401 (a fixture)
from workshops.models import (
    AuditEvent,
    Channel,
    EmailKind,
    OutboxMessage,
    OutboxStatus,
    Registration,
    RegistrationSource,
    RegistrationStatus,
    Role,
    Workshop,
    WorkshopStatus,
)
from workshops.models.base import utcnow
from workshops.services import certificates, outbox, scheduling, surveys
from workshops.services import registration as registrations
from workshops.services.errors import InvalidInput, NotAllowed

PHONE = "+8613900000009"
MEETING = "https://meeting.example.org/j/8812345"
REASON_EN = "The venue is closed by a flood warning (Chongqing)."
REASON_ZH = "因城市防汛预警，会场关闭。"
CANCEL_TEMPLATE = {"zh": "SMS_200001", "en": "SMS_200002"}


@pytest.fixture
def texts(app, dysmsapi):  # noqa: F811 (the fixture imported above)
    """Texts through the local SendSms server, with a template for the cancellation too."""
    app.config.update(
        SMS_PROVIDER="aliyun",
        SMS_ENDPOINT=dysmsapi.url,
        SMS_ACCESS_KEY_ID=KEY_ID,
        SMS_ACCESS_KEY_SECRET=SECRET,
        SMS_SIGN_NAME=SIGN,
        SMS_REGION="cn-hangzhou",
        SMS_TEMPLATES={**TEMPLATES, "workshop_cancelled": CANCEL_TEMPLATE},
    )
    return dysmsapi


@pytest.fixture
def coordinator(make_user, auth):
    user = make_user(Role.COORDINATOR)
    auth.login(user)
    return user


@pytest.fixture
def running(make_workshop):
    """A hybrid workshop whose first day is under way (its doors and its meeting are open)."""
    now = datetime.now(UTC)
    return make_workshop(
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1, hours=7),
        onsite_capacity=2,
        online_capacity=5,
        meeting_url=MEETING,
    )


def register(workshop, n, **fields) -> Registration:
    return registrations.register(workshop.id, applicant(n, **fields)).registration


def people_of(workshop):
    """A workshop as the brief describes it: confirmed in English (online) and in Chinese (onsite),
    someone with only a phone (onsite), a waiting list, someone waiting for approval, someone
    declined, and a public hold nobody confirmed."""
    people = {
        "en": register(workshop, 1, language="en", mode="online", mobile="", full_name="Maria Fernandes"),
        "zh": register(workshop, 2, language="zh", mode="onsite", mobile=""),
        "phone": register(workshop, 3, language="zh", mode="onsite", email="", mobile=PHONE),
        "waitlisted": register(workshop, 4, language="en", mode="onsite", mobile=""),
    }
    workshop.approval_required = True
    people["pending"] = register(workshop, 5, language="zh", mode="online", mobile="")
    people["declined"] = register(workshop, 6, language="en", mode="online", mobile="")
    workshop.approval_required = False
    registrations.reject(people["declined"], None, "Nominations from this enterprise are full.")
    workshop.confirm_contact = True
    people["hold"] = registrations.register(
        workshop.id, applicant(7, language="en", mode="online", mobile="", consent=True)
    ).registration
    workshop.confirm_contact = False
    assert [people[name].status.value for name in people] == [
        "confirmed",
        "confirmed",
        "confirmed",
        "waitlisted",
        "pending",
        "rejected",
        "unverified",
    ]
    return people


def scan(client, session, token, nonce=""):
    body = {"session_id": session.id, "token": token, "nonce": nonce, "device": "door-1"}
    answer = client.post("/api/v1/checkin", json=body)
    assert answer.status_code == 200
    return answer.json


def cancel(client, workshop, **data):
    return client.post(f"/staff/workshops/{workshop.id}/cancel", data=data)


def test_cancelling_tells_each_person_once_in_their_language_and_everything_stops(
    app, db, client, coordinator, running, mailbox, texts
):
    mailbox.start()
    people = people_of(running)
    first_day = running.sessions[0]
    # Before: the Chinese speaker is let in at the door, the English one joins the meeting.
    assert scan(client, first_day, people["zh"].ticket_token)["reason"] == "ok"
    joined = client.get(f"/j/{people['en'].ticket_token}")
    assert (joined.status_code, joined.headers["Location"]) == (302, MEETING)
    survey = surveys.survey_for(running)
    surveys.apply_template(survey, coordinator)
    # A message waiting for its next attempt when the workshop is called off.
    db.session.add(
        OutboxMessage(
            kind=EmailKind.CONFIRMATION,
            recipient=people["zh"].email,
            registration_id=people["zh"].id,
            next_attempt_at=utcnow() + timedelta(minutes=10),
        )
    )
    db.session.commit()
    mailbox.messages.clear()
    texts.delivered.clear()
    outbox_before = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))

    # The coordinator types the reason; the next page says how many will be told, and nothing happens yet.
    page = cancel(client, running, reason_en=REASON_EN, reason_zh=REASON_ZH)
    assert page.status_code == 200
    assert "5 people registered will be told" in page.text and 'value="yes"' in page.text
    db.session.expire_all()
    assert db.session.get(Workshop, running.id).status == WorkshopStatus.PUBLISHED
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == outbox_before
    done = cancel(client, running, reason_en=REASON_EN, reason_zh=REASON_ZH, confirmed="yes")
    assert done.status_code == 302
    assert "5 people are being told" in client.get(done.headers["Location"]).text

    db.session.expire_all()
    workshop = db.session.get(Workshop, running.id)
    assert workshop.status == WorkshopStatus.CANCELLED and workshop.cancelled_at is not None
    statuses = {name: db.session.get(Registration, p.id).status for name, p in people.items()}
    assert statuses == {**dict.fromkeys(people, RegistrationStatus.CANCELLED), "declined": "rejected"}

    # Exactly one message each, in their language, with the reason; no ticket, calendar or change link.
    def only_email_to(address):
        [message] = mailbox.to(address)
        assert not list(message.iter_attachments())  # no QR image, no .ics
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "cid:ticket-qr" not in html and "/j/" not in text + html
        return message["Subject"], text

    subject, text = only_email_to(people["en"].email)
    assert subject.startswith("Cancelled: Capacity Building Workshop") and REASON_EN in text
    assert "has been cancelled and will not take place" in text and "QR" not in text
    assert "change or cancel" not in text and "calendar" not in text
    subject, text = only_email_to(people["zh"].email)
    assert subject == "已取消：“高质量学徒制能力建设研讨会”将不再举行" and REASON_ZH in text
    assert REASON_EN not in text and "已取消，不再举行" in text
    assert REASON_EN in only_email_to(people["waitlisted"].email)[1]
    assert REASON_ZH in only_email_to(people["pending"].email)[1]
    assert mailbox.to(people["declined"].email) == []  # not active: told when declined, not again
    assert mailbox.to("person7@example.org") == []  # a hold nobody confirmed: dropped, and erased
    assert db.session.get(Registration, people["hold"].id).full_name == "—"
    assert len(mailbox.messages) == 4
    [sent] = texts.delivered
    assert (sent["PhoneNumbers"], sent["TemplateCode"]) == ("13900000009", CANCEL_TEMPLATE["zh"])
    assert json.loads(sent["TemplateParam"]) == {
        "title": "高质量学徒制能力建设研讨会",
        "token": people["phone"].manage_token,
    }
    # The message that was waiting was withdrawn; the five new ones are sent.
    rows = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == "workshop_cancelled"))
    assert sorted((row.channel, row.status) for row in rows) == sorted(
        [(Channel.EMAIL, OutboxStatus.SENT)] * 4 + [(Channel.SMS, OutboxStatus.SENT)]
    )
    assert (
        db.session.scalar(db.select(db.func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)) == 0
    )
    [event] = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "workshop.cancel"))
    assert event.actor_id == coordinator.id and event.details["told"] == 5
    assert (event.details["reason_en"], event.details["reason_zh"]) == (REASON_EN, REASON_ZH)

    # The door: every ticket answers workshop_cancelled, the one let in before too.
    for name in ("en", "zh", "phone", "waitlisted", "pending"):
        answer = scan(client, first_day, people[name].ticket_token)
        assert answer["reason"] == "workshop_cancelled" and not answer["ok"], name
        assert answer["message"] == "This workshop was cancelled: nobody is checked in."
    assert scan(client, first_day, people["declined"].ticket_token)["reason"] == "cancelled"
    # The join link: no meeting, the reason instead.
    join = client.get(f"/j/{people['en'].ticket_token}")
    assert join.status_code == 403 and MEETING not in join.text
    assert "This workshop was cancelled." in join.text and REASON_EN in join.text
    # The public page says so, with the reason, and takes nobody.
    public = client.get(f"/workshops/{running.id}", headers={"Accept-Language": "zh-CN"})
    assert "本次研讨会已取消。" in public.text and REASON_ZH in public.text
    assert f'action="/workshops/{running.id}/register"' not in public.text
    refused = client.post(f"/workshops/{running.id}/register", data=form_data(99, email="late@example.org"))
    assert refused.status_code == 409 and "cancelled" in refused.text
    assert db.session.scalar(db.select(Registration).filter_by(email="late@example.org")) is None
    # The ticket page says it, and offers no ticket, calendar or change.
    ticket = client.get(f"/r/{people['zh'].manage_token}")
    assert "This workshop has been cancelled; your registration is cancelled with it." in ticket.text
    assert REASON_EN in ticket.text
    for offered in ("ticket.png", "calendar.ics", "/cancel", "/mode", "/j/"):
        assert offered not in ticket.text, offered
    assert client.get(f"/r/{people['zh'].manage_token}/ticket.png").status_code == 404
    assert client.get(f"/r/{people['zh'].manage_token}/calendar.ics").status_code == 404

    # After the workshop's end: no survey invitation, no certificate, for those who came either.
    later = running.ends_at + timedelta(hours=2)
    assert surveys.send_due_invitations(now=later) == {"invited": 0, "reminded": 0}
    assert certificates.issue_due(now=later) == 0
    assert not certificates.eligibility(db.session.get(Registration, people["zh"].id)).eligible
    assert (
        db.session.scalar(
            db.select(db.func.count()).where(
                OutboxMessage.kind.in_(["survey_invitation", "certificate_ready"])
            )
        )
        == 0
    )

    # There is no undo, and a second cancellation is refused politely: nobody is told twice.
    for data in ({"reason_en": "Again"}, {"reason_en": "Again", "confirmed": "yes"}):
        again = cancel(client, running, **data)
        assert "already cancelled" in client.get(again.headers["Location"]).text
    assert len(mailbox.messages) == 4 and len(texts.delivered) == 1
    assert "Cancel this workshop" not in client.get(f"/staff/workshops/{running.id}").text


def test_the_phone_offline_answers_workshop_cancelled_as_the_server_does(
    app, db, client, coordinator, running, tmp_path
):
    people = people_of(running)
    session = running.sessions[0]
    assert scan(client, session, people["zh"].ticket_token)["reason"] == "ok"
    scheduling.cancel_workshop(running, coordinator, REASON_EN, REASON_ZH)
    roster = client.get(f"/api/v1/workshops/{running.id}/roster?session_id={session.id}").json
    assert roster["workshop_cancelled"] is True
    cases = [(name, people[name].ticket_token) for name in people] + [("not a ticket", "x" * 43)]
    scans = []
    for n, (case, token) in enumerate(cases * 2):  # each twice: a second scan is answered the same
        at = datetime.now(UTC) - timedelta(minutes=n)
        answer = scan(client, session, token, nonce=f"offline-{n}")
        scans.append(
            {"case": case, "token": token, "nonce": f"offline-{n}", "scanned_at": at.isoformat()}
            | {"override": False, "server_reason": answer["reason"]}
        )
    assert [s["server_reason"] for s in scans[: len(cases)]] == [
        "workshop_cancelled",
        "workshop_cancelled",
        "workshop_cancelled",
        "workshop_cancelled",
        "workshop_cancelled",
        "cancelled",  # declined before: still "cancelled or declined"
        "workshop_cancelled",
        "unknown_ticket",
    ]
    parity = tmp_path / "parity.json"
    parity.write_text(json.dumps({"roster": roster, "scans": scans}, ensure_ascii=False))
    counts = node_tests("tests/js/parity.test.mjs", env={"SCANNER_PARITY": str(parity)})
    assert counts["pass"] == 2 and counts.get("skip", 0) == 0


def test_only_coordinators_cancel_and_a_get_or_an_empty_reason_changes_nothing(
    app, db, client, auth, make_user, make_workshop, mailbox
):
    mailbox.start()
    workshop, other = make_workshop(), make_workshop(title_en="Another workshop", title_zh="")
    person = register(workshop, 1, mobile="")
    mailbox.messages.clear()
    reasons = {"reason_en": REASON_EN, "confirmed": "yes"}
    organiser_of_other = make_user(Role.ORGANISER)
    organiser_of_other.workshops.append(other)
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    for user in (organiser_of_other, organiser):
        auth.login(user)
        assert cancel(client, workshop, **reasons).status_code == 403
        auth.logout()
    assert cancel(client, workshop, **reasons).status_code == 302  # anonymous: to the sign-in page
    auth.login(make_user(Role.COORDINATOR))
    assert client.get(f"/staff/workshops/{workshop.id}/cancel").status_code == 405
    for data in ({"confirmed": "yes"}, {"reason_en": "  ", "reason_zh": "\n"}, {"reason_zh": "因" * 1001}):
        refused = cancel(client, workshop, **data)
        assert refused.status_code == 422
        assert (
            "Give the reason, in English or Chinese" in refused.text
            or "Use at most 1000 characters." in refused.text
        )
    db.session.expire_all()
    assert db.session.get(Workshop, workshop.id).status == WorkshopStatus.PUBLISHED
    assert db.session.get(Registration, person.id).status == RegistrationStatus.CONFIRMED
    assert mailbox.messages == []
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="workshop.cancel")) is None


def test_the_service_refuses_a_cancellation_without_a_reason_or_twice(app, db, make_workshop, make_user):
    workshop, actor = make_workshop(), make_user(Role.COORDINATOR)
    with pytest.raises(InvalidInput):
        scheduling.cancel_workshop(workshop, actor)
    assert scheduling.people_to_tell(workshop) == 0
    register(workshop, 1)
    assert scheduling.people_to_tell(workshop) == 1
    # One reason is enough: a Chinese reader of a reason given only in English reads it as typed.
    assert scheduling.cancel_workshop(workshop, actor, reason_en=REASON_EN) == 1
    with pytest.raises(NotAllowed):
        scheduling.cancel_workshop(workshop, actor, reason_en="Twice")
    # A workshop that took place is not cancelled afterwards: its people keep what they earned.
    ended = make_workshop(starts_at=utcnow() - timedelta(days=3), ends_at=utcnow() - timedelta(days=2))
    came = registrations.register(ended.id, applicant(2), source=RegistrationSource.IMPORT).registration
    with pytest.raises(NotAllowed, match="has ended"):
        scheduling.cancel_workshop(ended, actor, reason_en="Too late")
    assert db.session.get(Registration, came.id).status == RegistrationStatus.CONFIRMED
    assert db.session.get(Workshop, workshop.id).cancellation_reason_en == REASON_EN
    message = db.session.scalar(db.select(OutboxMessage).filter_by(kind="workshop_cancelled"))
    outbox.render(message)  # in the person's language (zh), the reason as it was typed
    assert message.subject.startswith("已取消") and REASON_EN in message.body_text
