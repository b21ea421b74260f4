"""The audit trail: every change made by staff leaves an event."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import has_request_context, request
from sqlalchemy import and_, false, or_, select

from ..extensions import db
from ..models import AuditEvent

# Staff accounts' sign-ins, failures and lockouts: kept whole whatever is erased (see ``forget``).
SECURITY_RECORDS = "user."


def record(action: str, target, actor=None, **details) -> AuditEvent:
    """Add an audit event to the current transaction (committed with the change)."""
    event = AuditEvent(
        action=action,
        target_type=target.__tablename__ if target is not None else "system",
        target_id=getattr(target, "id", None),
        actor_id=getattr(actor, "id", None),
        details={key: _plain(value) for key, value in details.items()},
        ip=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(event)
    return event


def _plain(value):
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)


def _targeting(targets: Iterable[tuple[str, int]]):
    clauses = [and_(AuditEvent.target_type == kind, AuditEvent.target_id == id_) for kind, id_ in targets]
    return or_(*clauses) if clauses else false()


def forget(
    about: Iterable[tuple[str, int]], near: Iterable[tuple[str, int]], scrub: Callable[[Any], Any]
) -> None:
    """A person is erased (``services.privacy.erase``); the trail keeps what was done and when.

    Events ``about`` the person's own rows ((table, id): their registration, their certificate,
    their survey responses) lose the address they came from and every word of free text (a
    reason, a subject: only numbers and yes/no stay). Events ``near`` them (their workshop, its
    imports) keep their details, with ``scrub`` taking out what names the person.

    No other event loses its address, even one from the same address: that address is also
    the venue's network for everyone else behind it, and the sign-in events (``user.*``) are the
    lockout's trail, which "Delete my data" must not be able to wipe for whoever tried passwords
    from there.
    """
    about, near = list(about), list(near)
    theirs = select(AuditEvent).where(_targeting(about), ~AuditEvent.action.startswith(SECURITY_RECORDS))
    for event in db.session.scalars(theirs):
        event.ip = ""
        event.details = {
            key: value
            for key, value in (event.details or {}).items()
            if isinstance(value, (int, float, bool, type(None)))
        }
    for event in db.session.scalars(select(AuditEvent).where(_targeting(near))):
        cleaned = scrub(event.details or {})
        if cleaned != event.details:
            event.details = cleaned
