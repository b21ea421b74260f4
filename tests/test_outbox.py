"""Emails go through the outbox to a real SMTP server; an outage loses nothing."""

import subprocess

from tests.helpers import applicant, form_data
from workshops.models import OutboxMessage, OutboxStatus, Registration
from workshops.models.base import utcnow
from workshops.services import outbox
from workshops.services import registration as registrations


def decode_qr(png: bytes, tmp_path) -> str:
    path = tmp_path / "qr.png"
    path.write_bytes(png)
    return subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_confirmation_arrives_with_qr_ticket_and_calendar_file(client, make_workshop, mailbox, db, tmp_path):
    mailbox.start()
    workshop = make_workshop()
    client.post(f"/workshops/{workshop.id}/register", data=form_data(1, language="zh", full_name="李华"))
    registration = db.session.scalars(db.select(Registration)).one()
    [message] = mailbox.to("person1@example.org")
    assert message["Subject"] == "您的报名已确认：高质量学徒制能力建设研讨会"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "李华" in text and f"/r/{registration.manage_token}" in text
    assert 'src="cid:ticket-qr"' in html
    parts = {part.get_content_type(): part for part in message.walk()}
    qr = parts["image/png"]
    assert qr["Content-ID"] == "<ticket-qr>"
    assert decode_qr(qr.get_content(), tmp_path) == registration.ticket_token
    ics = parts["text/calendar"].get_content()
    assert "BEGIN:VEVENT" in (ics.decode() if isinstance(ics, bytes) else ics)
    assert db.session.scalars(db.select(OutboxMessage)).one().status == OutboxStatus.SENT


def test_smtp_outage_never_fails_a_registration_and_loses_nothing(client, make_workshop, mailbox, db):
    workshop = make_workshop()
    response = client.post(f"/workshops/{workshop.id}/register", data=form_data(2))
    assert response.status_code == 302  # registered although no SMTP server is listening
    message = db.session.scalars(db.select(OutboxMessage)).one()
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()

    mailbox.start()
    assert outbox.deliver_due() == {"sent": 0, "failed": 0}  # backing off: not due yet
    message.next_attempt_at = utcnow()
    db.session.commit()
    assert outbox.deliver_due() == {"sent": 1, "failed": 0}
    assert outbox.deliver_due() == {"sent": 0, "failed": 0}
    assert len(mailbox.to("person2@example.org")) == 1
    # The Message-ID belongs to the outbox row: a repeat would be recognisably the same email.
    assert mailbox.to("person2@example.org")[0]["Message-ID"] == f"<outbox-{message.id}@workshops.test>"


def test_messages_that_keep_failing_are_marked_failed_and_can_be_retried(app, make_workshop, mailbox, db):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    workshop = make_workshop()
    registrations.register(workshop.id, applicant(3))
    message = db.session.scalars(db.select(OutboxMessage)).one()
    message.next_attempt_at = utcnow()
    db.session.commit()
    outbox.deliver_due()
    assert message.status == OutboxStatus.FAILED and message.attempts == 2
    assert outbox.retry_failed() == 1
    mailbox.start()
    assert outbox.deliver_due() == {"sent": 1, "failed": 0}


def test_names_are_escaped_in_html_emails(app, make_workshop, db):
    workshop = make_workshop()
    registrations.register(workshop.id, applicant(4, full_name="<script>alert(1)</script>"))
    message = db.session.scalars(db.select(OutboxMessage)).one()
    outbox.render(message)
    assert "<script>" not in message.body_html and "&lt;script&gt;" in message.body_html
    assert "<script>alert(1)</script>" in message.body_text  # plain text is not HTML


def test_outbox_commands_report_and_send(app, runner, make_workshop, mailbox, db):
    workshop = make_workshop()
    registrations.register(workshop.id, applicant(5))
    status = runner.invoke(args=["outbox", "status"]).output
    assert "pending  1" in status and "attempts" in status
    mailbox.start()
    db.session.execute(db.update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()
    assert "sent 1, failed 0" in runner.invoke(args=["outbox", "send"]).output
    assert "sent     1" in runner.invoke(args=["outbox", "status"]).output


def test_a_real_worker_delivers_queued_email(app, client, make_workshop, mailbox, db, real_worker):
    import time

    mailbox.start()
    workshop = make_workshop()
    client.post(f"/workshops/{workshop.id}/register", data=form_data(6))
    deadline = time.monotonic() + 20
    while not mailbox.to("person6@example.org") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(mailbox.to("person6@example.org")) == 1
