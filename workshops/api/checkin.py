"""Check-in API for the scanner page: redeem, offline sync, roster, search, undo.

Authorised like the scanner page (the workshop's organisers, coordinators, or a
volunteer's check-in link); session-authenticated, so CSRF-protected too.
"""
from __future__ import annotations

from flask_smorest import Blueprint, abort

from ..extensions import db
from ..models import Attendance, CheckInMethod, Registration, Session, Workshop
from ..models.base import utcnow
from ..services import checkin, roster
from ..services.checkin_access import scanner_for
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


def _session_and_scanner(session_id: int, device: str = ""):
    session = checkin.find_session(session_id)
    if session is None:
        abort(404, message="No session with this id.")
    scanner = scanner_for(session.workshop_id, device)
    if scanner is None:
        abort(403, message="You may not check people in at this workshop.")
    return session, scanner


def _workshop_scanner(workshop_id: int, session_id: int):
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        abort(404, message="No workshop with this id.")
    if scanner_for(workshop) is None:
        abort(403, message="You may not check people in at this workshop.")
    session = db.session.get(Session, session_id)
    if session is None or session.workshop_id != workshop.id:
        abort(404, message="No such session in this workshop.")
    return workshop, session


def _person(registration: Registration | None):
    if registration is None:
        return None
    return {"id": registration.id, "name": registration.full_name, "organisation": registration.organisation,
            "mode": registration.mode.value, "status": registration.status.value}


def _describe(result: checkin.CheckInResult, nonce: str) -> dict:
    attendance = result.attendance
    by = None
    if attendance is not None and result.reason == checkin.Reason.ALREADY_CHECKED_IN:  # who let them in first
        if attendance.by_user is not None:
            by = attendance.by_user.name or attendance.by_user.email
        elif attendance.by_link is not None:
            by = attendance.by_link.label or "volunteer"
    return {
        "reason": result.reason.value, "ok": result.ok, "message": str(result.reason.message),
        "person": _person(result.registration), "attendance_id": attendance.id if attendance else None,
        "checked_in_at": attendance.checked_in_at if attendance else None, "checked_in_by": by, "nonce": nonce,
    }


def _redeem(scan: dict, session: Session, scanner: checkin.Scanner) -> dict:
    registration = None
    if scan.get("registration_id"):
        registration = db.session.get(Registration, scan["registration_id"])
    method = CheckInMethod(scan["method"]) if scan["method"] in {m.value for m in CheckInMethod} else CheckInMethod.QR
    result = checkin.redeem(session, token=scan["token"], registration=registration, scanner=scanner,
                            method=method, nonce=scan["nonce"], scanned_at=scan["scanned_at"],
                            override=scan["override"])
    return _describe(result, scan["nonce"])


@blp.route("/checkin", methods=["POST"])
@blp.arguments(CheckinInSchema())
@blp.response(200, CheckinOutSchema)
@blp.alt_response(403, description="Not allowed to scan at this workshop")
@blp.alt_response(404, description="Unknown session")
def redeem(scan):
    """Check a ticket into a session; the answer's reason says what happened."""
    session, scanner = _session_and_scanner(scan["session_id"], scan["device"])
    return _redeem(scan, session, scanner)


@blp.route("/checkin/sync", methods=["POST"])
@blp.arguments(CheckinSyncSchema())
@blp.response(200, CheckinSyncOutSchema)
@blp.alt_response(403, description="Not allowed to scan at one of these workshops")
def sync(batch):
    """Replay scans made offline, with their original times and nonces (safe to send twice)."""
    if len(batch["scans"]) > MAX_SYNC:
        abort(422, message=f"Send at most {MAX_SYNC} scans at a time.")
    results, checked = [], {}
    for scan in batch["scans"]:
        where = (scan["session_id"], scan["device"])
        if where not in checked:  # a phone's queue is mostly one session and one device: look each up once
            checked[where] = _session_and_scanner(*where)
        results.append(_redeem(scan, *checked[where]))
    return {"results": results}


@blp.route("/workshops/<int:workshop_id>/roster")
@blp.arguments(RosterQuerySchema(), location="query")
@blp.response(200, RosterSchema)
@blp.alt_response(403, description="Not allowed to scan at this workshop")
def get_roster(query, workshop_id: int):
    """The session's roster for offline use: ticket digests, names, organisations, who is in."""
    workshop, session = _workshop_scanner(workshop_id, query["session_id"])
    return {"workshop_id": workshop.id, "session_id": session.id, "generated_at": utcnow(),
            "people": checkin.roster(session), "counters": checkin.counters(session)}


@blp.route("/workshops/<int:workshop_id>/search")
@blp.arguments(SearchQuerySchema(), location="query")
@blp.response(200, PersonSchema(many=True))
@blp.alt_response(403, description="Not allowed to scan at this workshop")
def search(query, workshop_id: int):
    """Find people by name, phone, email or organisation (for one-tap check-in)."""
    workshop, _session = _workshop_scanner(workshop_id, query["session_id"])
    found = roster.registrations(workshop, roster.RosterFilter(q=query["q"].strip()))[:30]
    return [_person(r) for r in found]


@blp.route("/sessions/<int:session_id>/counters")
@blp.response(200, CountersSchema)
@blp.alt_response(403, description="Not allowed to scan at this workshop")
def counters(session_id: int):
    """Checked in and expected, per mode, for the live counters."""
    session, _scanner = _session_and_scanner(session_id)
    return {"counters": checkin.counters(session)}


@blp.route("/attendances/<int:attendance_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(403, description="Not allowed to scan at this workshop")
def undo(attendance_id: int):
    """Undo a check-in made by mistake (it stays in the scan log)."""
    attendance = db.session.get(Attendance, attendance_id)
    if attendance is None:
        abort(404, message="No such check-in.")
    _session, scanner = _session_and_scanner(attendance.session_id)
    checkin.undo(attendance, scanner)
