"""Declared access rules for staff pages: a view states the roles it needs."""

from __future__ import annotations

from functools import wraps

from flask import abort, session
from flask_login import current_user, login_required

from ..extensions import db
from ..models import CheckInLink, Programme, Role, Workshop
from ..services import checkin_access
from ..services.checkin import Scanner

SCHEDULERS = (Role.ADMIN, Role.COORDINATOR)
# Who reads programme reports and feedback summaries (aggregates only, never people).
REPORT_READERS = (Role.ADMIN, Role.COORDINATOR, Role.REPORTER)


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


def workshop_for_report_reader(workshop_id: int) -> Workshop:
    """The workshop if the signed-in user may read its aggregates (feedback summary): 404 if
    unknown, 403 if outside their programmes or their role reads no reports."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        abort(404)
    if not current_user.can_read_reports_of(workshop):
        abort(403)
    return workshop


def programme_for_staff(programme_id: int) -> Programme:
    """The programme if it is one of the signed-in user's (every one unless they are limited)."""
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        abort(404)
    if not current_user.sees_programme(programme.id):
        abort(403)
    return programme


# ---- volunteers' check-in links -------------------------------------------------
# A volunteer has no account: the link they opened is remembered in their session cookie.
LINK_KEY = "checkin_link_id"


def enter_with_link(link: CheckInLink) -> None:
    session[LINK_KEY] = link.id


def held_link_id() -> int | None:
    """The check-in link this browser entered with, usable or not."""
    return session.get(LINK_KEY)


def current_link() -> CheckInLink | None:
    """The link this browser entered with, if it still works."""
    return checkin_access.usable_link(held_link_id())


def current_scanner(workshop: Workshop | int, device: str = "") -> Scanner | None:
    """Who scans here from this browser: the signed-in staff member, or the volunteer's link."""
    return checkin_access.scanner_for(workshop, current_user, held_link_id(), device)


def link_gone() -> bool:
    """This browser entered with a volunteer's link that has since expired or been withdrawn."""
    return held_link_id() is not None and current_link() is None


# What a phone that may no longer scan is told to forget: the service worker's cache (the
# scanner pages) and its storage (IndexedDB's roster of names and queued scans, the worker
# itself). A lost phone then holds nothing of the roster. Logout sends it too.
FORGET_THIS_BROWSER = '"cache", "storage"'


def forget_on_this_browser(response):
    response.headers["Clear-Site-Data"] = FORGET_THIS_BROWSER
    return response
