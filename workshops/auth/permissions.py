"""Declared access rules for staff pages: a view states the roles it needs."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Role, Workshop

SCHEDULERS = (Role.ADMIN, Role.COORDINATOR)


def requires_role(*roles: Role):
    """Signed-in staff with one of ``roles``; others get 403, anonymous users the login page."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def workshop_for_staff(workshop_id: int) -> Workshop:
    """The workshop if the signed-in user may see it: 404 if unknown, 403 if not theirs."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        abort(404)
    if not current_user.can_access_workshop(workshop):
        abort(403)
    return workshop
