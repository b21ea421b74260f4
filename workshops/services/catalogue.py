"""What the public sees: upcoming published workshops and the seats they have left."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import Registration, Workshop, WorkshopFormat, WorkshopStatus
from ..models.base import utcnow
from .errors import InvalidInput


def upcoming_workshops(city: str = "", format: str = "", now: datetime | None = None) -> list[Workshop]:
    """Published (or cancelled, to tell people) workshops that have not ended, soonest first."""
    query = (
        select(Workshop)
        .where(Workshop.status.in_([WorkshopStatus.PUBLISHED, WorkshopStatus.CANCELLED]))
        .where(Workshop.ends_at > (now or utcnow()))
        .order_by(Workshop.starts_at)
    )
    if city:
        query = query.where(Workshop.city == city)
    if format:
        if format not in tuple(WorkshopFormat):  # a mistyped link: said, not silently ignored
            raise InvalidInput({"format": _l("This filter has no such value; choose one from the list.")})
        query = query.where(Workshop.format == WorkshopFormat(format))
    return list(db.session.scalars(query))


def upcoming_cities(now: datetime | None = None) -> list[str]:
    query = (
        select(Workshop.city)
        .where(
            Workshop.status == WorkshopStatus.PUBLISHED,
            Workshop.ends_at > (now or utcnow()),
            Workshop.city != "",
        )
        .distinct()
        .order_by(Workshop.city)
    )
    return list(db.session.scalars(query))


def published_workshop(workshop_id: int) -> Workshop | None:
    """A workshop the public may see (drafts are invisible)."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None or workshop.status == WorkshopStatus.DRAFT:
        return None
    return workshop


def seats_taken(workshop_ids: list[int]) -> dict[tuple[int, str], int]:
    """Seats held per (workshop id, mode), for many workshops in one query."""
    if not workshop_ids:
        return {}
    rows = db.session.execute(
        select(Registration.workshop_id, Registration.mode, func.count())
        .where(Registration.workshop_id.in_(workshop_ids), Registration.seat_clause(utcnow()))
        .group_by(Registration.workshop_id, Registration.mode)
    )
    return {(wid, str(mode)): count for wid, mode, count in rows}


def seats_left(workshops: list[Workshop]) -> dict[int, dict[str, int]]:
    """Seats still free per mode, e.g. ``{7: {"onsite": 12, "online": 180}}``."""
    taken = seats_taken([w.id for w in workshops])
    return {
        w.id: {mode: max(w.capacity_for(mode) - taken.get((w.id, mode), 0), 0) for mode in w.modes}
        for w in workshops
    }
