"""Surveys keep people's answers theirs: the poster's lookup sends a link and shows nothing;
an anonymous survey shows no group small enough to point at someone."""

import time
from datetime import timedelta

import pytest

from tests.test_surveys import attendee, registered
from workshops.models import Channel, OutboxMessage, Role
from workshops.models.base import utcnow
from workshops.services import survey_links, surveys
from workshops.surveys.views import LOOKUP_ANSWER_SECONDS

SENT = "If you attended, we have sent your personal link to the address or phone you registered with."


@pytest.fixture
def ended(make_workshop):
    now = utcnow()
    return make_workshop(
        starts_at=now - timedelta(days=2), ends_at=now - timedelta(hours=1), onsite_capacity=80
    )


@pytest.fixture
def survey(ended, make_user):
    survey = surveys.survey_for(ended)
    surveys.apply_template(survey, make_user(Role.COORDINATOR))
    return survey


def forget_outbox(db):
    """The walk-ins' confirmations are not what these tests count."""
    db.session.execute(db.delete(OutboxMessage))
    db.session.commit()


# ---- the room poster's lookup -------------------------------------------------------------


def test_a_stranger_gets_the_same_answer_for_anyone_and_never_a_link(client, ended, survey, db):
    colleague = attendee(ended, 1, mobile="+86 139 1234 5678")
    registered(ended, 2)  # registered, never came
    token = survey_links.survey_token(colleague)
    bodies, durations = [], []
    for typed in (
        "person1@example.org",  # the colleague's email
        "PERSON1@example.org ",
        "139 1234 5678",  # her full mobile
        "+8613912345678",
        "2345678",  # the last 7 digits of it, which used to be enough
        "person2@example.org",  # registered but absent
        "nobody@example.org",  # unknown
        "139 1234 56",  # a number cut short
    ):
        started = time.monotonic()
        response = client.post(f"/survey/{ended.id}", data={"contact": typed})
        durations.append(time.monotonic() - started)
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and "Location" not in response.headers, typed
        assert token not in body and "/s/" not in body and "person1" not in body.lower(), typed
        bodies.append(body)
    assert all(body == bodies[0] for body in bodies) and SENT in bodies[0]
    # Found or not, every answer takes the same floor of time (finding writes and commits).
    assert min(durations) >= LOOKUP_ANSWER_SECONDS
    # The personal link page itself was never opened: the colleague's answers stay unread.
    assert not surveys.has_answered(survey, colleague)


def test_the_attendee_gets_one_link_an_hour_however_often_anyone_asks(client, ended, survey, db, mailbox):
    colleague = attendee(ended, 1, mobile="+86 139 1234 5678", language="en")
    forget_outbox(db)
    mailbox.start()
    for typed in ("person1@example.org", "Person1@Example.org", "13912345678", "139-1234-5678", "2345678"):
        assert client.post(f"/survey/{ended.id}", data={"contact": typed}).status_code == 200
    received = mailbox.to("person1@example.org")
    assert len(received) == 1
    message = received[0]
    assert message["Subject"].startswith("Your personal survey link")
    text = message.get_body(("plain",)).get_content()
    assert f"/s/{survey_links.survey_token(colleague)}" in text
    assert text.startswith("Someone asked for your personal survey link")  # the system speaks first
    # An hour later, one more may go.
    surveys.send_link(ended, "person1@example.org", now=utcnow() + timedelta(minutes=61))
    rows = db.session.scalars(db.select(OutboxMessage).filter_by(registration_id=colleague.id)).all()
    assert [row.kind for row in rows] == ["survey_link", "survey_link"]


def test_an_invitation_sent_in_the_last_hour_is_the_link(ended, survey, db):
    person = attendee(ended, 1)
    forget_outbox(db)
    surveys.send_due_invitations()
    surveys.send_link(ended, "person1@example.org")
    kinds = db.session.scalars(db.select(OutboxMessage.kind).filter_by(registration_id=person.id)).all()
    assert kinds == ["survey_invitation"]


def test_unknown_and_absent_people_are_sent_nothing(client, ended, survey, db, mailbox):
    registered(ended, 2)
    forget_outbox(db)
    mailbox.start()
    for typed in ("person2@example.org", "+86 138 0000 0002", "stranger@example.org", "13800000099"):
        assert SENT in client.post(f"/survey/{ended.id}", data={"contact": typed}).get_data(as_text=True)
    assert db.session.scalars(db.select(OutboxMessage)).all() == [] and mailbox.messages == []


def test_a_mobile_typed_gets_the_link_by_text(app, client, ended, survey, db, tmp_path):
    log = tmp_path / "sms.log"
    app.config.update(SMS_PROVIDER="log", SMS_LOG_FILE=str(log), SMS_SIGN_NAME="")
    person = attendee(ended, 3, mobile="+86 139 1234 5678")
    forget_outbox(db)
    client.post(f"/survey/{ended.id}", data={"contact": "139 1234 5678"})
    rows = db.session.scalars(db.select(OutboxMessage).filter_by(registration_id=person.id)).all()
    assert [(row.channel, row.recipient) for row in rows] == [(Channel.SMS, "+8613912345678")]
    assert survey_links.survey_token(person) in log.read_text()


def test_lookups_are_rate_limited_per_person_asked_for_and_per_client(make_app, ended, survey):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    spellings = ["person1@example.org", "PERSON1@example.org", " person1@example.org"] * 2
    codes = [
        client.post(
            f"/survey/{ended.id}", data={"contact": typed}, environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}
        ).status_code
        for n, typed in enumerate(spellings)
    ]
    assert codes == [200] * 5 + [429]  # from six addresses: the limit is on the person asked for
    refused = client.post(
        f"/survey/{ended.id}", data={"contact": "person1@example.org"}, headers={"Accept-Language": "zh"}
    )
    assert refused.status_code == 429 and "请稍候一分钟再试" in refused.get_data(as_text=True)
    one_client = make_app(RATELIMIT_ENABLED=True).test_client()
    codes = [
        one_client.post(f"/survey/{ended.id}", data={"contact": f"someone{n}@example.org"}).status_code
        for n in range(11)
    ]
    assert codes == [200] * 10 + [429]
    assert "Too many attempts" in one_client.post(f"/survey/{ended.id}", data={"contact": "x@y.z"}).get_data(
        as_text=True
    )
