"""Walk-ins: someone arrives without a ticket and is registered at the door, or found and let in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import CheckInMethod, Registration, RegistrationSource, RegistrationStatus, Session, Workshop
from . import checkin, outbox
from . import registration as registrations
from .errors import NotAllowed
from .registration import Applicant, Outcome, same_name


class WalkInOutcome(StrEnum):
    """What happened to the person, for the message staff see."""

    REGISTERED = "registered"  # confirmed (not checked in: no session, from the staff page)
    REGISTERED_AND_CHECKED_IN = "registered_and_checked_in"
    WAITLISTED = "waitlisted"  # the seats of their mode are full
    ALREADY_REGISTERED = "already_registered"  # this email or mobile was registered before; nothing else done
    FOUND_AND_CHECKED_IN = "found_and_checked_in"  # registered before, here without their ticket
    ALREADY_CHECKED_IN = "already_checked_in"
    CONTACT_OF_SOMEONE_ELSE = "contact_of_someone_else"  # registered under another name: nobody let in


@dataclass
class WalkIn:
    outcome: WalkInOutcome
    registration: Registration  # the new registration, or the one found under the email or mobile
    check_in: checkin.CheckInResult | None = None  # when a session was given and they could be let in


def admit_walk_in(workshop: Workshop, applicant: Applicant, actor, session: Session | None = None) -> WalkIn:
    """Register someone who came without a ticket and, at a session (from the scanner), check them in.

    They are registered as staff register people (outside the registration window too; a
    seat of their mode, else the waiting list). At a session a confirmed person is let in at
    once: a new walk-in, or someone registered before under this email or mobile who has no
    ticket with them — only under the same name, not on the email or mobile alone. The check-in is the
    actor's, marked as a walk-in, and not held to the session's hours. Someone found is let in
    without another email: a check-in never sends the confirmation again.
    """
    if session is not None and session.workshop_id != workshop.id:
        raise NotAllowed(_l("No such session in this workshop."))
    # One transaction: the registration, its email and the check-in are all there, or none is.
    result = registrations.register(
        workshop.id, applicant, source=RegistrationSource.WALK_IN, actor=actor, commit=False
    )
    registration = result.registration
    same_person = result.outcome != Outcome.ALREADY_REGISTERED or same_name(
        registration.full_name, applicant.full_name
    )
    check_in = None
    if session is not None and registration.status == RegistrationStatus.CONFIRMED and same_person:
        check_in = checkin.redeem(
            session,
            registration=registration,
            method=CheckInMethod.WALK_IN,
            override=True,
            scanner=checkin.Scanner(user_id=actor.id, device="walk-in"),
            commit=False,
        )
    db.session.commit()
    outbox.kick()
    return WalkIn(_outcome(result.outcome, check_in, same_person), registration, check_in)


def _outcome(registered: Outcome, check_in: checkin.CheckInResult | None, same_person: bool) -> WalkInOutcome:
    if check_in is not None and check_in.ok:
        if registered == Outcome.CONFIRMED:
            return WalkInOutcome.REGISTERED_AND_CHECKED_IN
        return WalkInOutcome.FOUND_AND_CHECKED_IN
    if check_in is not None and check_in.reason == checkin.Reason.ALREADY_CHECKED_IN:
        return WalkInOutcome.ALREADY_CHECKED_IN
    if not same_person:
        return WalkInOutcome.CONTACT_OF_SOMEONE_ELSE
    # Staff registrations are never left pending approval, so PENDING cannot come back here.
    return {
        Outcome.CONFIRMED: WalkInOutcome.REGISTERED,
        Outcome.WAITLISTED: WalkInOutcome.WAITLISTED,
        Outcome.ALREADY_REGISTERED: WalkInOutcome.ALREADY_REGISTERED,
    }[registered]


def default_language(workshop: Workshop, page_language: str) -> str:
    """The language the walk-in form offers first for the person's emails and texts: the
    workshop's, when it is written in one language only; else the one most of its people chose;
    else the page's. (Not silently the staff member's: the form shows the choice.)"""
    if bool(workshop.title_en.strip()) != bool(workshop.title_zh.strip()):
        return "zh" if workshop.title_zh.strip() else "en"
    chosen = db.session.execute(
        select(Registration.language, func.count())
        .where(Registration.workshop_id == workshop.id, Registration.language.in_(("en", "zh")))
        .group_by(Registration.language)
    ).all()
    if not chosen:
        return page_language
    return max(chosen, key=lambda row: (row[1], row[0] == page_language))[0]
