"""Declared access for the staff API: 401 when nobody is signed in, 404, then 403."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import abort

from ..extensions import db
from ..models import Registration, Workshop


def staff_workshop(workshop_id: int) -> Workshop:
    """The workshop if the signed-in staff member may see it."""
    if not current_user.is_authenticated:
        abort(401, message=_("Sign in as staff."))
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        abort(404, message=_("No workshop with this id."))
    if not current_user.can_access_workshop(workshop):
        abort(403, message=_("You do not have access to this workshop."))
    return workshop


def staff_registration(registration_id: int) -> Registration:
    """A registration of a workshop the signed-in staff member may see."""
    if not current_user.is_authenticated:
        abort(401, message=_("Sign in as staff."))
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        abort(404, message=_("No registration with this id."))
    staff_workshop(registration.workshop_id)
    return registration
