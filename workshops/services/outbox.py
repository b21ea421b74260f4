"""The outbox: emails and text messages are rows written with the change that caused them, delivered later.

``queue_*`` functions only add rows to the current transaction: an email when the person gave
an address, and a text (``services.sms``) for the kinds that have one when they gave a mobile
and SMS is set up. ``deliver_due`` (run by a Celery worker, beat, or ``flask outbox send``)
sends both channels, emails with Flask-Mail, texts through the SMS provider, and retries
failures with exponential backoff, so an SMTP or SMS outage never fails a registration and
never loses a message. A text the provider refuses for good (an invalid number) fails at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from celery import shared_task
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mail import Message
from sqlalchemy import func, select

from ..extensions import db, mail
from ..i18n import CATALOGUES
from ..models import Channel, EmailKind, OutboxMessage, OutboxStatus, Registration, RegistrationStatus
from ..models.base import utcnow
from ..urls import external_url
from . import calendar, sms, tickets
from .confirmation_links import confirmation_token
from .survey_links import survey_token

log = logging.getLogger(__name__)

# Which emails carry the ticket (QR inline and calendar file).
TICKET_KINDS = {EmailKind.CONFIRMATION, EmailKind.PROMOTED}

# The email a registration's status calls for whenever it changes to it (or is asked again).
STATUS_EMAIL = {
    RegistrationStatus.CONFIRMED: EmailKind.CONFIRMATION,
    RegistrationStatus.WAITLISTED: EmailKind.WAITLISTED,
    RegistrationStatus.PENDING: EmailKind.PENDING,
    RegistrationStatus.REJECTED: EmailKind.REJECTED,
    RegistrationStatus.CANCELLED: EmailKind.CANCELLED,
    RegistrationStatus.UNVERIFIED: EmailKind.CONTACT_CHECK,
}


def _subject(kind: str, title: str) -> str:
    subjects: dict[str, str] = {
        EmailKind.CONTACT_CHECK: _("Confirm your email to keep your place: %(title)s", title=title),
        EmailKind.CONFIRMATION: _("Your registration is confirmed: %(title)s", title=title),
        EmailKind.PROMOTED: _("A seat is free — you are now confirmed: %(title)s", title=title),
        EmailKind.WAITLISTED: _("You are on the waiting list: %(title)s", title=title),
        EmailKind.PENDING: _("Registration received, waiting for approval: %(title)s", title=title),
        EmailKind.REJECTED: _("Your registration was not accepted: %(title)s", title=title),
        EmailKind.CANCELLED: _("Your registration is cancelled: %(title)s", title=title),
        EmailKind.SURVEY_INVITATION: _("Tell us what you thought: %(title)s", title=title),
        EmailKind.SURVEY_REMINDER: _("Reminder: your feedback on %(title)s", title=title),
        EmailKind.SURVEY_LINK: _("Your personal survey link: %(title)s", title=title),
        EmailKind.CERTIFICATE_READY: _("Your certificate is ready: %(title)s", title=title),
        EmailKind.WORKSHOP_CHANGED: _("Changed: %(title)s — the new details", title=title),
        EmailKind.WORKSHOP_CANCELLED: _("Cancelled: %(title)s will not take place", title=title),
    }
    return subjects[kind]


_QUEUE = OutboxMessage.__table__.insert()


def queue_status_email(registration: Registration) -> None:
    """Queue the messages that tell the person their registration's current status."""
    queue_registration_email(registration, STATUS_EMAIL[registration.status])


def queue_registration_email(
    registration: Registration, kind: EmailKind, channels: Collection[Channel] = (Channel.EMAIL, Channel.SMS)
) -> None:
    """Queue the messages about a registration (rendered when they are delivered).

    The email, if the person gave an address (never one to a placeholder); a text message too
    if the kind has one (``sms.SMS_KINDS``), the person gave a mobile and SMS is set up.
    ``channels`` narrows it to one of them, for a caller that knows which one the person asked for.
    Rendering off the request keeps the seat lock short; the rows themselves are
    written in the caller's transaction, so they exist exactly when the change does.
    A plain insert: nothing reads the messages back in this transaction, and the ORM's
    unit of work cost a registration about 1 ms of CPU (measured) for it.
    """
    number = sms.number_for(registration, kind) if Channel.SMS in channels else ""
    email = registration.email if Channel.EMAIL in channels and not registration.erased else ""
    if not email and not number:
        return
    if registration.id is None:
        db.session.flush()  # the message refers to the registration by id
    rows = []
    if email:
        rows.append(
            {
                "kind": kind,
                "channel": Channel.EMAIL,
                "recipient": email,
                "registration_id": registration.id,
                "attachments": ["ticket_qr", "calendar"] if kind in TICKET_KINDS else [],
            }
        )
    if number:
        rows.append(
            {
                "kind": kind,
                "channel": Channel.SMS,
                "recipient": number,
                "registration_id": registration.id,
                "attachments": [],
            }
        )
    db.session.execute(_QUEUE, rows[0] if len(rows) == 1 else rows)


def render(message: OutboxMessage) -> None:
    """Fill in subject and bodies (a text's words), in the person's language, if not done yet.

    Again if it was written with a ticket the person no longer has (it failed, and they left
    before the retry): a retried email offers no QR code or links that stopped working."""
    if message.registration is None:
        return
    if message.body_text and (message.kind not in TICKET_KINDS or message.registration.takes_part):
        return
    if message.channel == Channel.SMS:
        message.body_text = sms.compose_for(message).body
        return
    registration = message.registration
    workshop = registration.workshop
    with force_locale(CATALOGUES.get(registration.language, "en")):
        title = workshop.localized("title", registration.language)
        context = {
            "registration": registration,
            "workshop": workshop,
            "title": title,
            "kind": message.kind,
            "ticket_url": external_url("registration.ticket", token=registration.manage_token),
            "workshop_url": external_url("public.workshop", workshop_id=workshop.id),
            # Someone no longer taking part (rejected, cancelled, or the workshop is) gets no
            # ticket, calendar or change links, whatever the email was queued as.
            "with_ticket": message.kind in TICKET_KINDS and registration.takes_part,
            "with_links": registration.takes_part,
            "join_url": external_url("registration.join", token=registration.ticket_token),
            "cancellation_reason": workshop.localized("cancellation_reason", registration.language),
        }
        template = "registration"
        if message.kind == EmailKind.CONTACT_CHECK:
            context["confirm_url"] = external_url(
                "registration.confirm_contact", token=confirmation_token(registration)
            )
        if message.kind == EmailKind.CERTIFICATE_READY:
            template = "certificate"
        elif message.kind == EmailKind.WORKSHOP_CHANGED:
            template = "workshop_changed"
            context["notice"] = message.change_notice
        elif message.kind in (EmailKind.SURVEY_INVITATION, EmailKind.SURVEY_REMINDER, EmailKind.SURVEY_LINK):
            template = "survey"
            context["survey_url"] = external_url("surveys.answer", token=survey_token(registration))
        message.subject = _subject(message.kind, title)
        message.body_text = render_template(f"emails/{template}.txt", **context)
        message.body_html = render_template(f"emails/{template}.html", **context)


def written_since(registration: Registration, since: datetime) -> bool:
    """Whether any message to this registration was queued since then (a re-send's quiet hour)."""
    return bool(
        db.session.scalar(
            select(
                select(OutboxMessage.id)
                .where(OutboxMessage.registration_id == registration.id, OutboxMessage.created_at >= since)
                .exists()
            )
        )
    )


def withdraw_unsent(registration_ids: list[int]) -> int:
    """Drop the messages not yet sent to these registrations (spam: nothing more goes to them)."""
    if not registration_ids:
        return 0
    unsent = OutboxMessage.__table__.delete().where(
        OutboxMessage.registration_id.in_(registration_ids), OutboxMessage.status == OutboxStatus.PENDING
    )
    return getattr(db.session.execute(unsent), "rowcount", 0) or 0


KICK_WINDOW = 1.0  # seconds


def kick() -> None:
    """Ask a worker to deliver soon; if the broker is down, beat's sweep delivers later.

    At most one request per KICK_WINDOW per process: one delivery run sends every due
    message, so a burst of registrations needs only one. The run is asked for at the end
    of the window, so the messages of every kick skipped inside it (each committed
    before its kick) are already there when it starts.
    """
    now = time.monotonic()
    eager = deliver_task.app.conf.task_always_eager  # runs here and now (tests switch it per worker)
    if not eager:
        # When this process last asked, kept with the app (each app its own window).
        window = current_app.extensions.setdefault("outbox_kick", {"last": 0.0})
        if now - window["last"] < KICK_WINDOW:
            return  # the run already asked for starts after this message was committed
        window["last"] = now
    try:
        deliver_task.apply_async(countdown=None if eager else KICK_WINDOW)
    except Exception as error:  # broker unreachable: the rows wait, nothing is lost
        log.warning("outbox: could not reach the job queue (%s); messages wait for the next sweep", error)


def _attachments(message: OutboxMessage):
    registration = message.registration
    if registration is None or not registration.takes_part:
        return  # a ticket or calendar file for someone who no longer takes part: none
    for name in message.attachments:
        if name == "ticket_qr":
            png = tickets.ticket_qr_png(registration.ticket_token)
            yield "ticket.png", "image/png", png, {"Content-ID": "<ticket-qr>"}, "inline"
        elif name in ("calendar", "calendar_update"):  # an update also cancels removed sessions' events
            url = external_url("public.workshop", workshop_id=registration.workshop_id)
            ics = calendar.workshop_ics(
                registration.workshop, url, registration.language, with_removed=name == "calendar_update"
            )
            yield "workshop.ics", calendar.CONTENT_TYPE, ics, {}, "attachment"


def _send(message: OutboxMessage) -> None:
    email = Message(
        subject=message.subject,
        recipients=[message.recipient],
        body=message.body_text,
        html=message.body_html or None,
    )
    # One Message-ID per outbox row, kept across retries: a repeat after a worker died
    # between the server's acceptance and our record of it is the same message, not a new one.
    domain = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    email.msgId = f"<outbox-{message.id}@{domain}>"
    for filename, content_type, data, headers, disposition in _attachments(message):
        email.attach(filename, content_type, data, disposition=disposition, headers=headers)
    mail.send(email)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... (from OUTBOX_RETRY_SECONDS) capped at one hour."""
    first = current_app.config["OUTBOX_RETRY_SECONDS"]
    return timedelta(seconds=min(first * 2 ** (attempts - 1), 3600))


def deliver_due(limit: int = 100) -> dict:
    """Send messages that are due; returns counts of sent and failed attempts.

    Rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL), so several
    workers never send the same message; each one is committed on its own.
    """
    sent = failed = 0
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    for _round in range(limit):
        message = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= utcnow())
            .order_by(OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if message is None:
            break
        message.attempts += 1
        try:
            render(message)
            if message.channel == Channel.SMS:
                sms.send(message)
            else:
                _send(message)
        except sms.Rejected as error:  # the provider will never deliver it: no pointless retries
            failed += 1
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            message.status = OutboxStatus.FAILED
            log.warning("outbox: message %s refused for good: %s", message.id, error)
        except Exception as error:  # SMTP or SMS provider down, refused, throttled, timeout: retry later
            failed += 1
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            if message.attempts >= max_attempts:
                message.status = OutboxStatus.FAILED
            else:
                message.next_attempt_at = utcnow() + backoff(message.attempts)
            log.warning("outbox: message %s failed (attempt %s): %s", message.id, message.attempts, error)
        else:
            sent += 1
            message.status = OutboxStatus.SENT
            message.sent_at = utcnow()
            message.last_error = ""
        db.session.commit()
    return {"sent": sent, "failed": failed}


def status_counts() -> dict[str, int]:
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({str(status.value if hasattr(status, "value") else status): n for status, n in rows})
    return counts


def retry_failed() -> int:
    """Give failed messages another round of attempts (after fixing the SMTP or SMS settings).

    Not those whose recipient was erased at the person's request (privacy)."""
    failed = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.FAILED, OutboxMessage.recipient != ""
        )
    ).all()
    for message in failed:
        message.status = OutboxStatus.PENDING
        message.attempts = 0
        message.next_attempt_at = utcnow()
    db.session.commit()
    return len(failed)


@shared_task(name="outbox.deliver", ignore_result=True)
def deliver_task() -> dict:
    """Send every email and text that is due (kicked after each change; beat's sweep every 10 s)."""
    return deliver_due()
