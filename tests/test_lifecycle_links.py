"""Between the steps of a person's registration: someone declined or cancelled is offered no
ticket, calendar or change; a check-in never sends the confirmation again; a walk-in's language is
asked on the form; and one action is one transaction (re-issuing a ticket, deleting one's data, a
walk-in let in at once), shown by counting commits and by making the second half really fail: a
trigger in the database refuses the write, and nothing of the first half is left behind."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from tests.helpers import applicant
from tests.test_outbox import decode_qr
from workshops.models import (
    Attendance,
    EmailKind,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Role,
)
from workshops.models.base import utcnow
from workshops.services import outbox, privacy, walk_ins
from workshops.services import registration as registrations

OFFERED_TO_PARTICIPANTS = ("ticket.png", "calendar.ics", "Cancel my registration", "Change how you attend")


def register(workshop, n, **fields) -> Registration:
    return registrations.register(workshop.id, applicant(n, **fields)).registration


@pytest.fixture
def queued(app):
    """The outbox is not delivered at each kick (the kick goes to a broker nobody reads): the commits
    counted are the action's own, and the test delivers afterwards."""
    celery_app = current_app.extensions["celery"]
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


@contextmanager
def commits(db):
    """Count the commits of the session the app uses (requests of the test client share it). A
    savepoint released is announced as a commit too; it commits nothing to the database."""
    counted: list[int] = []
    session = db.session()

    def count(committed):
        if not committed.in_nested_transaction():
            counted.append(1)

    sa.event.listen(session, "after_commit", count)
    try:
        yield counted
    finally:
        sa.event.remove(session, "after_commit", count)


@pytest.fixture
def refuse(db):
    """A real failure: a trigger that makes the database refuse a table's write (on a condition)."""
    made: list[tuple[str, str]] = []

    def make(table: str, operation: str = "INSERT", when: str = "") -> None:
        db.session.commit()
        name = f"test_refuses_{table}_{operation.lower()}"
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.text(
                        "CREATE OR REPLACE FUNCTION test_refuse() RETURNS trigger AS"
                        " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"
                    )
                )
                condition = f"WHEN ({when})" if when else ""
                conn.execute(
                    sa.text(
                        f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW {condition}"
                        " EXECUTE FUNCTION test_refuse()"
                    )
                )
            else:
                condition = f"WHEN {when}" if when else ""
                conn.execute(
                    sa.text(
                        f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW {condition}"
                        " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                    )
                )
        made.append((name, table))

    yield make
    db.session.rollback()
    db.session.close()  # its locks would keep PostgreSQL from dropping the trigger
    with db.engine.begin() as conn:
        for name, table in made:
            on = f" ON {table}" if conn.dialect.name == "postgresql" else ""
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}{on}"))


def texts_of(message) -> str:
    return message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()


# ---- declined and cancelled people: no ticket, calendar or change ------------------------------


@pytest.mark.parametrize("ending", ["declined", "cancelled"])
def test_someone_declined_or_cancelled_is_offered_no_ticket_calendar_or_change(
    client, db, make_workshop, make_user, mailbox, ending
):
    mailbox.start()
    workshop = make_workshop(approval_required=ending == "declined")
    person = register(workshop, 1, language="en", mobile="")
    if ending == "declined":
        registrations.reject(person, make_user(Role.COORDINATOR), "Only two people per enterprise.")
    else:
        assert client.post(f"/r/{person.manage_token}/cancel").status_code == 302
    last = mailbox.to("person1@example.org")[-1]
    assert not list(last.iter_attachments()), "no QR image and no calendar file"
    body = texts_of(last)
    assert ("Only two people per enterprise." in body) == (ending == "declined")
    for offered in ("cid:ticket-qr", "QR code", "calendar", "change or cancel", "/j/"):
        assert offered not in body, offered
    assert "Your registration page (its status; your data, to download or delete):" in body
    page = client.get(f"/r/{person.manage_token}")
    assert page.status_code == 200 and "Download my data (JSON)" in page.text
    for offered in OFFERED_TO_PARTICIPANTS:
        assert offered not in page.text, offered
    assert client.get(f"/r/{person.manage_token}/calendar.ics").status_code == 404
    assert client.get(f"/r/{person.manage_token}/ticket.png").status_code == 404
    # The links the page no longer offers do nothing either, typed by hand.
    sent = len(mailbox.messages)
    switched = client.post(f"/r/{person.manage_token}/mode", data={"mode": "online"}, follow_redirects=True)
    assert "already cancelled or was declined" in switched.text
    again = client.post(f"/r/{person.manage_token}/cancel", follow_redirects=True)
    assert "already cancelled or was declined" in again.text
    db.session.expire_all()
    assert db.session.get(Registration, person.id).mode == "onsite" and len(mailbox.messages) == sent


def test_a_confirmation_not_yet_out_when_the_person_leaves_is_withdrawn(client, db, make_workshop, mailbox):
    workshop = make_workshop()
    person = register(workshop, 1, language="en", mobile="")  # SMTP down: the email waits
    page = client.get(f"/r/{person.manage_token}")
    assert all(offered in page.text for offered in OFFERED_TO_PARTICIPANTS)
    client.post(f"/r/{person.manage_token}/cancel")  # before the confirmation got out
    mailbox.start()
    db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert outbox.deliver_due() == {"sent": 1, "failed": 0}
    [cancellation] = mailbox.to("person1@example.org")
    assert "is cancelled" in texts_of(cancellation) and not list(cancellation.iter_attachments())
    assert "cid:ticket-qr" not in texts_of(cancellation)


def test_a_ticket_email_retried_after_the_person_left_is_written_again_without_the_ticket(
    db, make_workshop, mailbox
):
    workshop = make_workshop()
    person = register(workshop, 1, language="en", mobile="")  # SMTP down: written, not sent
    [message] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert "cid:ticket-qr" in message.body_html
    person.status = RegistrationStatus.REJECTED  # a coordinator's data fix, behind the services' back
    message.next_attempt_at = utcnow()
    db.session.commit()
    mailbox.start()
    assert outbox.deliver_due() == {"sent": 1, "failed": 0}
    [email] = mailbox.to("person1@example.org")
    assert not list(email.iter_attachments()) and "cid:ticket-qr" not in texts_of(email)


# ---- a check-in never sends the confirmation again ----------------------------------------------


def test_a_walk_in_check_in_on_day_two_sends_no_confirmation_again(
    client, auth, db, make_workshop, make_user, mailbox
):
    mailbox.start()
    workshop = make_workshop()
    person = register(workshop, 1, full_name="Li Hua", language="zh", mobile="")
    assert len(mailbox.to("person1@example.org")) == 1
    # Registered weeks ago: the quiet hour of "already registered" is long over.
    db.session.execute(sa.update(OutboxMessage).values(created_at=utcnow() - timedelta(days=20)))
    db.session.commit()
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    auth.login(organiser)
    day_two = workshop.sessions[1]
    answer = client.post(
        f"/staff/workshops/{workshop.id}/walk-in?session_id={day_two.id}",
        data={
            "full_name": "li hua",
            "email": "Person1@example.org",
            "organisation": "",
            "organisation_type": "tvet",
            "mode": "onsite",
            "language": "zh",
        },
        follow_redirects=True,
    )
    assert "was already registered, and is now checked in" in answer.text
    [attendance] = db.session.scalars(sa.select(Attendance)).all()
    assert (attendance.registration_id, attendance.session_id) == (person.id, day_two.id)
    assert len(mailbox.to("person1@example.org")) == 1  # the one from registering, no other
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


# ---- a walk-in's language is asked on the form ---------------------------------------------------


def checked_language(page) -> str:
    [value] = re.findall(r'<input[^>]*\bchecked\b[^>]*name="language"[^>]*value="(\w+)"', page.text)
    return value


def test_the_walk_in_form_asks_the_persons_language_and_their_emails_follow_it(
    client, auth, db, make_workshop, make_user, mailbox
):
    mailbox.start()
    auth.login(make_user(Role.COORDINATOR))  # who reads the staff pages in English
    in_chinese_only = make_workshop(title_en="", title_zh="重庆职业技能研讨会")
    bilingual = make_workshop()
    for n in range(3):
        register(bilingual, 10 + n, language="zh", mobile="")
    register(bilingual, 20, language="en", mobile="")
    empty = make_workshop()
    page = client.get(f"/staff/workshops/{in_chinese_only.id}/walk-in")
    assert "Language of their emails and texts" in page.text and checked_language(page) == "zh"
    assert checked_language(client.get(f"/staff/workshops/{bilingual.id}/walk-in")) == "zh"  # most chose it
    assert checked_language(client.get(f"/staff/workshops/{empty.id}/walk-in")) == "en"  # the page's
    assert walk_ins.default_language(empty, "zh") == "zh"
    # The coordinator asks the person, who reads English: the emails are in English.
    data = {"full_name": "Maria Fernandes", "email": "maria@example.org", "organisation_type": "other"}
    client.post(
        f"/staff/workshops/{in_chinese_only.id}/walk-in", data={**data, "mode": "onsite", "language": "en"}
    )
    person = db.session.scalar(sa.select(Registration).filter_by(email="maria@example.org"))
    assert person.language == "en"
    [message] = mailbox.to("maria@example.org")
    assert message["Subject"] == "Your registration is confirmed: 重庆职业技能研讨会"
    refused = client.post(
        f"/staff/workshops/{empty.id}/walk-in", data={**data, "mode": "onsite", "language": "fr"}
    )
    assert refused.status_code == 200 and "Not a valid choice" in refused.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 5


# ---- one user action, one transaction --------------------------------------------------------


def test_reissuing_a_ticket_is_one_commit_with_its_email(
    client, db, make_workshop, make_user, queued, mailbox, tmp_path
):
    mailbox.start()
    workshop = make_workshop()
    person = register(workshop, 1, language="en", mobile="")
    old_ticket = person.ticket_token
    db.session.execute(sa.delete(OutboxMessage))
    db.session.commit()
    coordinator = make_user(Role.COORDINATOR)
    with commits(db) as counted:
        registrations.rotate_ticket(person, coordinator)
    assert len(counted) == 1
    [message] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert (message.kind, message.registration_id) == (EmailKind.CONFIRMATION, person.id)
    assert outbox.deliver_due() == {"sent": 1, "failed": 0}
    [email] = mailbox.to("person1@example.org")
    assert f"/r/{person.manage_token}" in texts_of(email)
    qr = next(part for part in email.walk() if part.get_content_type() == "image/png")
    assert decode_qr(qr.get_content(), tmp_path) == person.ticket_token != old_ticket


def test_a_ticket_is_not_reissued_when_its_email_cannot_be_written(db, make_workshop, make_user, refuse):
    workshop = make_workshop()
    person = register(workshop, 1, language="en", mobile="")
    tickets = (person.ticket_token, person.manage_token)
    refuse("outbox_message")
    with pytest.raises(sa.exc.DBAPIError):
        registrations.rotate_ticket(person, make_user(Role.COORDINATOR))
    db.session.rollback()
    again = db.session.get(Registration, person.id)
    assert (again.ticket_token, again.manage_token) == tickets  # the old QR still works


def test_deleting_ones_data_is_one_commit_with_the_next_persons_seat(
    client, db, make_workshop, queued, mailbox
):
    mailbox.start()
    workshop = make_workshop(onsite_capacity=1)
    leaving = register(workshop, 1, mobile="")
    waiting = register(workshop, 2, mobile="")
    assert waiting.status == RegistrationStatus.WAITLISTED
    with commits(db) as counted:
        assert client.post(f"/r/{leaving.manage_token}/delete").status_code == 200
    assert len(counted) == 1
    db.session.expire_all()
    assert db.session.get(Registration, leaving.id).email.startswith("anon-")
    assert db.session.get(Registration, waiting.id).status == RegistrationStatus.CONFIRMED
    outbox.deliver_due()
    assert [m["Subject"] for m in mailbox.to("person2@example.org")][-1].startswith("有名额空出")
    assert mailbox.to("person1@example.org") == []  # nothing more to whoever asked to be forgotten


def test_nothing_is_cancelled_when_the_erasure_fails(db, make_workshop, refuse):
    workshop = make_workshop(onsite_capacity=1)
    leaving = register(workshop, 1, mobile="")
    waiting = register(workshop, 2, mobile="")
    written = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    refuse("registration", "UPDATE", "NEW.email LIKE 'anon-%'")
    with pytest.raises(sa.exc.DBAPIError):
        privacy.delete(leaving)
    db.session.rollback()
    assert db.session.get(Registration, leaving.id).status == RegistrationStatus.CONFIRMED
    assert db.session.get(Registration, waiting.id).status == RegistrationStatus.WAITLISTED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == written


def test_a_walk_in_let_in_at_once_is_one_commit(db, make_workshop, make_user, queued):
    workshop = make_workshop()
    actor = make_user(Role.ORGANISER)
    with commits(db) as counted:
        walk_in = walk_ins.admit_walk_in(workshop, applicant(1, mobile=""), actor, workshop.sessions[0])
    assert len(counted) == 1 and walk_in.check_in.ok
    assert db.session.scalars(sa.select(Attendance)).one().registration_id == walk_in.registration.id
    assert db.session.scalars(sa.select(OutboxMessage)).one().kind == EmailKind.CONFIRMATION


def test_no_walk_in_is_registered_when_the_check_in_cannot_be_written(db, make_workshop, make_user, refuse):
    workshop = make_workshop()
    actor = make_user(Role.ORGANISER)
    refuse("attendance")
    with pytest.raises(sa.exc.DBAPIError):
        walk_ins.admit_walk_in(workshop, applicant(1, mobile=""), actor, workshop.sessions[0])
    db.session.rollback()
    assert db.session.scalar(sa.select(Registration).filter_by(email="person1@example.org")) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
