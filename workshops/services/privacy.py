"""Personal data: anonymising old workshops, and a participant's own export or deletion.

Anonymising keeps what the programme report counts (gender, organisation type,
city, mode, attendance, answers to rating questions) and replaces who the person
was. The email (the mobile, for someone who registered without one) becomes a keyed
pseudonym, so one person still counts once across workshops, but cannot be recovered.
Their text messages in the outbox lose the number and the words; one not sent yet is dropped.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from celery import shared_task
from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import (
    Answer,
    Attendance,
    Certificate,
    Channel,
    OutboxMessage,
    OutboxStatus,
    Registration,
    Response,
    Workshop,
)
from ..models.base import utcnow
from ..models.tokens import new_token
from . import audit
from . import registration as registrations

ANONYMOUS = "—"


def pseudonym(email: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, email.lower().encode(), hashlib.sha256).hexdigest()[:24]
    return f"anon-{digest}@invalid"


def _forget_texts(registration: Registration) -> None:
    """The person's text messages: those not sent yet are dropped (no text after being forgotten),
    the others keep their kind, status and dates but lose the number and the words."""
    texts = (OutboxMessage.registration_id == registration.id) & (OutboxMessage.channel == Channel.SMS)
    db.session.execute(
        OutboxMessage.__table__.delete().where(texts, OutboxMessage.status == OutboxStatus.PENDING)
    )
    db.session.execute(OutboxMessage.__table__.update().where(texts).values(recipient="", body_text=""))


def _anonymise(registration: Registration) -> None:
    if registration.email.endswith("@invalid"):
        return  # done already
    _forget_texts(registration)
    # Someone who gave only a phone is known by it: without it all of them would be one person.
    registration.email = pseudonym(registration.email or registration.mobile)
    registration.full_name, registration.latin_name = ANONYMOUS, ""
    registration.mobile = registration.organisation = registration.job_title = ""
    registration.needs = registration.decision_reason = ""
    registration.manage_token, registration.ticket_token = new_token(), new_token()
    # Free-text answers may name the person; numbers stay for the statistics.
    response_ids = select(Response.id).where(Response.registration_id == registration.id)
    db.session.execute(
        Answer.__table__.update()
        .where(Answer.response_id.in_(response_ids), Answer.number.is_(None))
        .values(text="")
    )
    db.session.execute(
        Response.__table__.update()
        .where(Response.registration_id == registration.id)
        .values(registration_id=None)
    )
    db.session.execute(
        Attendance.__table__.update()
        .where(Attendance.registration_id == registration.id)
        .values(device="", client_nonce=None)
    )
    db.session.execute(
        Certificate.__table__.update().where(Certificate.registration_id == registration.id).values(pdf=None)
    )


def anonymise_ended_before(moment: datetime, actor=None) -> int:
    """Anonymise every registration of workshops that ended before ``moment``."""
    people = db.session.scalars(
        select(Registration)
        .join(Workshop)
        .where(Workshop.ends_at < moment, ~Registration.email.like("%@invalid"))
    ).all()
    for registration in people:
        _anonymise(registration)
    audit.record("privacy.anonymise", None, actor, ended_before=moment.isoformat(), registrations=len(people))
    db.session.commit()
    return len(people)


def purge_expired(now: datetime | None = None) -> int:
    """Beat's retention purge: anonymise workshops that ended more than DATA_RETENTION_DAYS ago
    (0 turns it off). Programme figures stay, as with the command."""
    days = current_app.config["DATA_RETENTION_DAYS"]
    if days <= 0:
        return 0
    return anonymise_ended_before((now or utcnow()) - timedelta(days=days))


def export(registration: Registration) -> dict:
    """Everything held about the person at this workshop, for their own download (audited)."""
    responses = db.session.scalars(select(Response).where(Response.registration_id == registration.id)).all()
    data = {
        "workshop": {
            "id": registration.workshop_id,
            "title_en": registration.workshop.title_en,
            "title_zh": registration.workshop.title_zh,
        },
        "registration": {
            name: str(getattr(registration, name) or "")
            for name in (
                "full_name",
                "latin_name",
                "email",
                "mobile",
                "organisation",
                "organisation_type",
                "job_title",
                "gender",
                "city",
                "mode",
                "needs",
                "language",
                "status",
                "source",
                "consent_at",
                "created_at",
            )
        },
        "attendance": [
            {
                "session": a.session.title_en,
                "checked_in_at": a.checked_in_at.isoformat(),
                "method": str(a.method),
            }
            for a in db.session.scalars(
                select(Attendance).where(Attendance.registration_id == registration.id)
            )
        ],
        "survey_answers": [
            {"question_id": answer.question_id, "number": answer.number, "text": answer.text}
            for response in responses
            for answer in response.answers
        ],
    }
    audit.record("privacy.export", registration, None)
    db.session.commit()
    return data


def delete(registration: Registration) -> None:
    """The person asked to be forgotten: cancel (passing the seat on) and anonymise."""
    if registration.is_active:
        registrations.cancel(registration, reason="deleted at the person's request")
    _anonymise(registration)
    audit.record("privacy.delete", registration, None)
    db.session.commit()


@shared_task(name="privacy.purge_expired", ignore_result=True)
def purge_expired_task() -> int:
    """Beat (daily): anonymise workshops older than DATA_RETENTION_DAYS."""
    return purge_expired()
