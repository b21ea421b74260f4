"""Reminders before a workshop: the day before, and an hour before each online session.

Beat runs ``send_due_reminders`` every few minutes (``REMINDER_SWEEP_SECONDS``). Each sweep reads
the workshops as they are *now*, so a workshop moved later is reminded at its new time:

- the **day-before** reminder is due ``reminder_days_before`` days before the workshop's first
  day, at ``reminder_hour`` on the venue's clock (``reminder_due_at``), and goes out from then
  until the workshop starts: the ticket QR, the first session's time (in the workshop's zone,
  named) and room, the venue and, for online people, their personal join link;
- the **hour-before** reminder of each session of an online or hybrid workshop that has a meeting
  link goes to its online people, with their join link, from an hour before the session until it
  starts.

Only published workshops with reminders on; only confirmed people (never the cancelled,
waitlisted, pending, rejected or unverified). An email to those who gave one; a text (with the
ticket or join link) to those who gave only a mobile.

Once per person: each reminder written is a ``SentReminder`` row, in the same transaction as its
outbox rows, unique per person, kind and the start it was about. Two sweeps racing (two beats, two
workers) both try to write it; the database keeps one and the other sweep sends nothing. A
reminder already sent counts for the current start when the two starts are less than the
reminder's lead apart (day before: from the reminder's moment to the start, e.g. 15 hours for
18:00 the evening before a 9:00 start; hour before: an hour). So a workshop moved by a day is
reminded again before its new date, while one moved by an hour on the same day is not: the
rescheduling notice has told them.

Late registrations: someone whose ticket email (the confirmation, or a seat from the waiting
list) was written at or after the day-before reminder's moment does not get that reminder: the
email they just had carries the same ticket, venue and join link. Anyone else who is confirmed
by then (e.g. approved without a new ticket email) gets it at the next sweep, as long as the
workshop has not started. The hour-before reminder goes to every confirmed online person.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from celery import shared_task
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..i18n import CATALOGUES
from ..models import (
    AttendanceMode,
    Channel,
    EmailKind,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    SentReminder,
    Session,
    Workshop,
    WorkshopFormat,
    WorkshopStatus,
)
from ..models.base import lock_for_share, utcnow
from ..urls import external_url
from . import outbox

MAX_DAYS_BEFORE = 30
SESSION_LEAD = timedelta(hours=1)
# No day-before reminder is due earlier than this before a start (30 days and up to a day).
LONGEST_LEAD = timedelta(days=MAX_DAYS_BEFORE + 1)
TICKET_EMAILS = (EmailKind.CONFIRMATION, EmailKind.PROMOTED)
# People reminded in one transaction (each rendered there: about 3 ms a person, measured).
BATCH = 200


def reminder_moment(starts_at: datetime, zone: str, days_before: int, hour: int) -> datetime:
    """The moment (UTC) ``days_before`` days before the local day of ``starts_at``, at ``hour``
    on the venue's clock. An hour the clocks skip that day counts as the hour after it."""
    there = ZoneInfo(zone)
    day = starts_at.astimezone(there).date() - timedelta(days=days_before)
    return datetime.combine(day, time(hour), tzinfo=there).astimezone(UTC)


def reminder_due_at(workshop: Workshop) -> datetime:
    """When the day-before reminder of the workshop, at its current start, goes out."""
    return reminder_moment(
        workshop.starts_at, workshop.timezone, workshop.reminder_days_before, workshop.reminder_hour
    )


def send_due_reminders(now: datetime | None = None) -> dict[str, int]:
    """Write every reminder due now and not written yet; returns how many of each kind.

    Idempotent: run it as often as you like, from as many workers as you like.
    """
    now = now or utcnow()
    counts = {"day_before": 0, "hour_before": 0}
    reminding = (
        Workshop.status == WorkshopStatus.PUBLISHED,
        Workshop.sends_reminders.is_(True),
    )
    upcoming = db.session.scalars(
        select(Workshop)
        .where(*reminding, Workshop.starts_at > now, Workshop.starts_at <= now + LONGEST_LEAD)
        .order_by(Workshop.starts_at, Workshop.id)
    ).all()
    for workshop in upcoming:
        due = reminder_due_at(workshop)
        if due <= now:
            counts["day_before"] += _remind(
                workshop,
                EmailKind.REMINDER,
                workshop.starts_at,
                workshop.starts_at - due,
                now,
                ticket_since=due,
            )
    starting = db.session.scalars(
        select(Session)
        .join(Workshop)
        .where(
            *reminding,
            Workshop.format != WorkshopFormat.ONSITE,
            Workshop.meeting_url != "",  # without one the join link leads nowhere yet
            Session.starts_at > now,
            Session.starts_at <= now + SESSION_LEAD,
        )
        .order_by(Session.starts_at, Session.id)
    ).all()
    for session in starting:
        counts["hour_before"] += _remind(
            session.workshop,
            EmailKind.SESSION_REMINDER,
            session.starts_at,
            SESSION_LEAD,
            now,
            session=session,
        )
    if any(counts.values()):
        outbox.kick()
    return counts


def _remind(
    workshop: Workshop,
    kind: EmailKind,
    start: datetime,
    lead: timedelta,
    now: datetime,
    session: Session | None = None,
    ticket_since: datetime | None = None,
) -> int:
    """Remind the workshop's people not yet reminded of this start, a batch a transaction.

    Each batch holds the workshop while it writes (see ``_still_due``), so a coordinator's
    cancellation or move waits for one batch at most, never for a whole large workshop."""
    reminded = select(SentReminder.id).where(
        SentReminder.registration_id == Registration.id,
        SentReminder.kind == kind,
        SentReminder.starts_at > start - lead,
        SentReminder.starts_at < start + lead,
    )
    if session is not None:  # two online sessions less than an hour apart each get theirs
        reminded = reminded.where(SentReminder.session_id == session.id)
    conditions = [
        Registration.workshop_id == workshop.id,
        Registration.status == RegistrationStatus.CONFIRMED,
        ~exists(reminded),
    ]
    if kind == EmailKind.SESSION_REMINDER:
        conditions.append(Registration.mode == AttendanceMode.ONLINE)
    if ticket_since is not None:
        ticket_email = select(OutboxMessage.id).where(
            OutboxMessage.registration_id == Registration.id,
            OutboxMessage.kind.in_(TICKET_EMAILS),
            OutboxMessage.created_at >= ticket_since,
        )
        conditions.append(~exists(ticket_email))
    waiting = db.session.scalars(select(Registration.id).where(*conditions).order_by(Registration.id)).all()
    sent = 0
    for first in range(0, len(waiting), BATCH):
        if not _still_due(workshop, start, session):
            db.session.commit()  # cancelled or moved while this sweep ran: its own sweep decides
            break
        people = db.session.scalars(
            select(Registration)
            .where(Registration.id.in_(waiting[first : first + BATCH]), *conditions)  # still due, too
            .order_by(Registration.id)
        ).all()
        claimed = _claim(
            [
                {
                    "registration_id": person.id,
                    "kind": str(kind),
                    "session_id": session.id if session else None,
                    "starts_at": start,
                    "sent_at": now,
                }
                for person in people
            ]
        )
        for person in people:
            if person.id in claimed:
                _queue(person, kind, session)
        db.session.commit()
        sent += len(claimed)
    return sent


def _still_due(workshop: Workshop, start: datetime, session: Session | None) -> bool:
    """Hold the workshop (a cancellation or a move, which lock it FOR UPDATE, waits for this
    sweep's commit, or this sweep for theirs) and look again: still published, reminding, and
    starting when the sweep thought. Otherwise a reminder could follow the cancellation notice,
    or carry the old time after the change notice."""
    lock_for_share(db.session, Workshop.__table__, Workshop.id == workshop.id)
    current = db.session.scalars(
        select(Workshop).where(Workshop.id == workshop.id).execution_options(populate_existing=True)
    ).one_or_none()
    if current is None or current.status != WorkshopStatus.PUBLISHED or not current.sends_reminders:
        return False
    if session is None:
        return current.starts_at == start
    moved = db.session.scalar(select(Session.starts_at).where(Session.id == session.id))
    return moved == start


def _claim(rows: list[dict]) -> set[int]:
    """Record the reminders; returns whose reminder this sweep writes. A row a racing sweep wrote
    first (committed, or waited for on PostgreSQL's unique index) is skipped, not an error."""
    if not rows:  # everyone of the batch reminded meanwhile by another sweep
        return set()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(SentReminder).values(rows).on_conflict_do_nothing().returning(SentReminder.registration_id)
    )
    return set(db.session.scalars(statement))


def _queue(registration: Registration, kind: EmailKind, session: Session | None) -> None:
    """The email, or for someone who gave only a mobile, the text (the outbox's own rendering)."""
    if registration.email:
        db.session.add(_email(registration, kind, session))
    else:
        outbox.queue_registration_email(registration, kind, channels=(Channel.SMS,))


def _email(registration: Registration, kind: EmailKind, session: Session | None) -> OutboxMessage:
    """The reminder email in the person's language, written now: it names the session it is about,
    which nothing in the outbox row could tell a renderer later. The QR is drawn when it is sent."""
    workshop = registration.workshop
    language = registration.language if registration.language in CATALOGUES else "en"
    # The day before: the first session (the agenda as it is now); the hour before: this one.
    first = session or (workshop.sessions[0] if workshop.sessions else None)
    online = registration.mode == AttendanceMode.ONLINE
    with force_locale(CATALOGUES[language]):
        title = workshop.localized("title", language)
        context = {
            "registration": registration,
            "workshop": workshop,
            "title": title,
            "kind": str(kind),
            "session_title": first.localized("title", language) if first else "",
            "room": first.room if first else "",
            "starts_at": first.starts_at if first else workshop.starts_at,
            "online": online,
            # Personal (it records attendance): only for online people, never the meeting's own URL.
            "join_url": external_url("registration.join", token=registration.ticket_token) if online else "",
            "ticket_url": external_url("registration.ticket", token=registration.manage_token),
        }
        if kind == EmailKind.SESSION_REMINDER:
            subject = _("Starting within the hour: %(title)s", title=title)
        else:
            subject = _("Reminder: %(title)s", title=title)
        return OutboxMessage(
            kind=str(kind),
            channel=Channel.EMAIL,
            recipient=registration.email,
            registration=registration,
            subject=subject,
            body_text=render_template("emails/reminder.txt", **context),
            body_html=render_template("emails/reminder.html", **context),
            attachments=["ticket_qr"] if kind == EmailKind.REMINDER else [],
        )


@shared_task(name="reminders.send_due", ignore_result=True)
def send_due_reminders_task() -> dict[str, int]:
    """Beat (every REMINDER_SWEEP_SECONDS): write the reminders that are due."""
    return send_due_reminders()
