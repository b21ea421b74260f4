"""The audit trail: every change made by staff leaves an event."""

from __future__ import annotations

from flask import has_request_context, request

from ..extensions import db
from ..models import AuditEvent


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
