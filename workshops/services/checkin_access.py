"""Who may scan for a workshop: its organisers, coordinators, or a volunteer's check-in link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import CheckInLink, CheckInMethod, ScanLog, Workshop, tokens
from ..models.base import utcnow
from . import audit
from .checkin import SEARCH_WINDOW, Reason, Scanner
from .errors import InvalidInput


def create_link(workshop: Workshop, label: str, expires_at: datetime, actor) -> CheckInLink:
    """A check-in link for volunteers: one workshop, until it expires or is revoked."""
    if expires_at <= utcnow():
        raise InvalidInput({"expires_at": _l("Choose an expiry in the future.")})
    link = CheckInLink(
        workshop=workshop, label=label.strip()[:100], expires_at=expires_at, created_by_id=actor.id
    )
    db.session.add(link)
    db.session.flush()
    audit.record(
        "checkin_link.create", link, actor, workshop_id=workshop.id, expires_at=expires_at.isoformat()
    )
    db.session.commit()
    return link


def revoke_link(link: CheckInLink, actor) -> None:
    link.revoked_at = utcnow()
    audit.record("checkin_link.revoke", link, actor, workshop_id=link.workshop_id)
    db.session.commit()


def link_by_token(token: str) -> CheckInLink | None:
    if not tokens.well_formed(token):
        return None
    return tokens.pick(
        db.session.scalars(select(CheckInLink).where(tokens.matches(CheckInLink.token, token))),
        "token",
        token,
    )


def usable_link(link_id: int | None) -> CheckInLink | None:
    """The check-in link with this id if it still works (not expired, not withdrawn)."""
    link = db.session.get(CheckInLink, link_id) if link_id else None
    return link if link is not None and link.usable_at(utcnow()) else None


def scanner_for(workshop: Workshop | int, user, link_id: int | None, device: str = "") -> Scanner | None:
    """Who may check people into this workshop (or workshop id): ``user`` if they are its
    staff, else the volunteer's link ``link_id`` if it is for this workshop and still works."""
    workshop_id = workshop if isinstance(workshop, int) else workshop.id
    if user.is_authenticated and user.can_access_workshop_id(workshop_id):
        return Scanner(user_id=user.id, device=device)
    link = usable_link(link_id)
    if link is not None and link.workshop_id == workshop_id:
        return Scanner(link_id=link.id, device=device, since=link.created_at)
    return None


@dataclass(frozen=True)
class ByName:
    """A link's check-ins by name (no ticket seen) in the last hour, for the coordinator."""

    checked_in: int = 0
    refused: int = 0  # in an offline batch, or over the hourly limit


def checkins_by_name(workshop: Workshop) -> dict[int, ByName]:
    """Per link of the workshop: the people it checked in by name in the last hour (counted as
    the hourly limit counts them) and the check-ins by name refused."""
    refusals = (Reason.TICKET_NEEDED.value, Reason.SEARCH_LIMIT.value)
    rows = db.session.execute(
        select(
            ScanLog.by_link_id,
            func.count(ScanLog.registration_id.distinct()).filter(ScanLog.reason == Reason.OK.value),
            func.count().filter(ScanLog.reason.in_(refusals)),
        )
        .where(
            ScanLog.workshop_id == workshop.id,
            ScanLog.by_link_id.is_not(None),
            ScanLog.method == CheckInMethod.SEARCH.value,
            ScanLog.received_at >= utcnow() - SEARCH_WINDOW,
        )
        .group_by(ScanLog.by_link_id)
    )
    return {link_id: ByName(done, refused) for link_id, done, refused in rows if link_id is not None}
