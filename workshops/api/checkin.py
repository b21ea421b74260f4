"""Check-in API for the scanner page: redeem, offline sync, roster, search, undo.

Authorised like the scanner page (the workshop's organisers, coordinators, or a
volunteer's check-in link); session-authenticated, so CSRF-protected too.
"""

from __future__ import annotations

import flask
from flask import current_app, jsonify, make_response, request
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort

from ..auth.permissions import current_scanner, forget_on_this_browser, held_link_id, link_gone
from ..extensions import db, limiter
from ..models import Attendance, CheckInMethod, Registration, Session, Workshop, WorkshopStatus
from ..models.base import utcnow
from ..services import checkin, roster
from .schemas import (
    CheckinInSchema,
    CheckinOutSchema,
    CheckinSyncOutSchema,
    CheckinSyncSchema,
    CountersSchema,
    PersonSchema,
    RosterQuerySchema,
    RosterSchema,
    SearchQuerySchema,
)

blp = Blueprint("api_checkin", __name__, description="Check-in at the door")
MAX_SYNC = 500
# Who may call these: the workshop's organisers, coordinators, or a volunteer's check-in link.
READS = {"security": [{"signedIn": []}]}
WRITES = {"security": [{"signedIn": [], "csrf": []}]}


def _refuse():
    if link_gone():  # the volunteer's phone forgets the roster and queue it kept (scanner JS says how many)
        message = _("This check-in link does not work any more. Ask the coordinator for a new link.")
        # Answered as it is (the API's error handler would drop the header).
        flask.abort(
            forget_on_this_browser(make_response(jsonify(code=403, status="Forbidden", message=message), 403))
        )
    abort(403, message=_("You may not check people in at this workshop."))


def _session_and_scanner(session_id: int, device: str = ""):
    session = checkin.find_session(session_id)
    if session is None:
        abort(404, message=_("No session with this id."))
    scanner = current_scanner(session.workshop_id, device)
    if scanner is None:
        _refuse()
    return session, scanner


def _workshop_scanner(workshop_id: int, session_id: int):
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        abort(404, message=_("No workshop with this id."))
    if current_scanner(workshop) is None:
        _refuse()
    session = db.session.get(Session, session_id)
    if session is None or session.workshop_id != workshop.id:
        abort(404, message=_("No such session in this workshop."))
    return workshop, session


def _person(registration: Registration | None, session: Session):
    """Who the answer is about, for the door's screen; nobody of another workshop (a scanner
    could otherwise read a roster it may not see, by trying registration ids)."""
    if registration is None or registration.workshop_id != session.workshop_id:
        return None
    return {
        "id": registration.id,
        "name": registration.full_name,
        "organisation": registration.organisation,
        "mode": registration.mode.value,
        "status": registration.status.value,
    }


def _describe(result: checkin.CheckInResult, session: Session, nonce: str) -> dict:
    attendance = result.attendance
    by = None
    if attendance is not None and result.reason == checkin.Reason.ALREADY_CHECKED_IN:  # who let them in first
        if attendance.by_user is not None:
            by = attendance.by_user.name or attendance.by_user.email
        elif attendance.by_link is not None:
            by = attendance.by_link.label or _("a volunteer")
    return {
        "reason": result.reason.value,
        "ok": result.ok,
        "message": str(result.reason.message),
        "person": _person(result.registration, session),
        "attendance_id": attendance.id if attendance else None,
        "checked_in_at": attendance.checked_in_at if attendance else None,
        "checked_in_by": by,
        "nonce": nonce,
    }


def _redeem(scan: dict, session: Session, scanner: checkin.Scanner, batch: bool = False) -> dict:
    registration = None
    if scan.get("registration_id"):
        registration = db.session.get(Registration, scan["registration_id"])
    result = checkin.redeem(
        session,
        token=scan["token"],
        registration=registration,
        scanner=scanner,
        method=CheckInMethod(scan["method"]),
        nonce=scan["nonce"],
        scanned_at=scan["scanned_at"],
        override=scan["override"] and scanner.may_override,
        batch=batch,
    )
    return _describe(result, session, scan["nonce"])


def _not_by_name_through_a_link() -> bool:
    body = request.get_json(silent=True)
    return held_link_id() is None or not (isinstance(body, dict) and body.get("registration_id"))


# A volunteer's link checks people in by name one request at a time, and not in a burst (the
# hourly number is the decision order's: SEARCH_LIMIT).
@blp.route("/checkin", methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LINK_SEARCH_CHECKIN_RATE_LIMIT"],
    key_func=lambda: f"link-search:{held_link_id()}",
    exempt_when=_not_by_name_through_a_link,
)
@blp.doc(**WRITES)
@blp.arguments(CheckinInSchema())
@blp.response(200, CheckinOutSchema)
@blp.alt_response(403, description="Not allowed to scan at this workshop")
@blp.alt_response(404, description="Unknown session")
def redeem(scan):
    """Check a ticket into a session; the answer's reason says what happened."""
    session, scanner = _session_and_scanner(scan["session_id"], scan["device"])
    return _redeem(scan, session, scanner)


@blp.route("/checkin/sync", methods=["POST"])
@blp.doc(**WRITES)
@blp.arguments(CheckinSyncSchema())
@blp.response(200, CheckinSyncOutSchema)
@blp.alt_response(403, description="Not allowed to scan at one of these workshops (nothing is recorded)")
@blp.alt_response(404, description="Unknown session (nothing is recorded)")
def sync(batch):
    """Replay scans made offline, with their original times and nonces (safe to send twice)."""
    if len(batch["scans"]) > MAX_SYNC:
        abort(422, message=_("Send at most %(count)d scans at a time.", count=MAX_SYNC))
    # Every scan's session is authorised before any is recorded: a refused batch records nothing.
    # (A phone's queue is mostly one session and one device: each is looked up once.)
    allowed = {
        where: _session_and_scanner(*where)
        for where in {(s["session_id"], s["device"]) for s in batch["scans"]}
    }
    return {
        "results": [
            _redeem(scan, *allowed[(scan["session_id"], scan["device"])], batch=True)
            for scan in batch["scans"]
        ]
    }


@blp.route("/workshops/<int:workshop_id>/roster")
@blp.doc(**READS)
@blp.arguments(RosterQuerySchema(), location="query", error_status_code=400)
@blp.response(200, RosterSchema)
@blp.alt_response(403, description="Not allowed to scan at this workshop")
@blp.alt_response(404, description="Unknown workshop, or no such session in it")
def get_roster(query, workshop_id: int):
    """The session's roster for offline use: ticket digests, names, organisations, who is in."""
    workshop, session = _workshop_scanner(workshop_id, query["session_id"])
    admits_from, admits_until = checkin.admission_window(session)
    return {
        "workshop_id": workshop.id,
        "session_id": session.id,
        "generated_at": utcnow(),
        "admits_from": admits_from,
        "admits_until": admits_until,
        "decision_order": checkin.decision_order(),
        "workshop_cancelled": workshop.status == WorkshopStatus.CANCELLED,
        "people": checkin.roster(session),
        "counters": checkin.counters(session),
    }


@blp.route("/workshops/<int:workshop_id>/search")
@blp.doc(**READS)
@blp.arguments(SearchQuerySchema(), location="query", error_status_code=400)
@blp.response(200, PersonSchema(many=True))
@blp.alt_response(403, description="Not allowed to scan at this workshop")
@blp.alt_response(404, description="Unknown workshop, or no such session in it")
def search(query, workshop_id: int):
    """Find people by name, phone, email or organisation (for one-tap check-in)."""
    workshop, session = _workshop_scanner(workshop_id, query["session_id"])
    found = roster.registrations(workshop, roster.RosterFilter(q=query["q"].strip()), limit=30)
    return [_person(r, session) for r in found]


@blp.route("/sessions/<int:session_id>/counters")
@blp.doc(**READS)
@blp.response(200, CountersSchema)
@blp.alt_response(403, description="Not allowed to scan at this workshop")
@blp.alt_response(404, description="Unknown session")
def counters(session_id: int):
    """Checked in and expected, per mode, for the live counters."""
    session, _scanner = _session_and_scanner(session_id)
    return {"counters": checkin.counters(session)}


@blp.route("/attendances/<int:attendance_id>", methods=["DELETE"])
@blp.doc(**WRITES)
@blp.response(204)
@blp.alt_response(403, description="Not allowed to scan at this workshop")
@blp.alt_response(404, description="No such check-in")
def undo(attendance_id: int):
    """Undo a check-in made by mistake (it stays in the scan log)."""
    attendance = db.session.get(Attendance, attendance_id)
    if attendance is None:
        abort(404, message=_("No such check-in."))
    _session, scanner = _session_and_scanner(attendance.session_id)
    if not scanner.may_undo(attendance):
        abort(403, message=_("A check-in link can only undo its own check-ins."))
    checkin.undo(attendance, scanner)
