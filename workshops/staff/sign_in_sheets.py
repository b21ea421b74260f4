"""The sign-in sheet of a session: for the door before it, with check-in times after it."""

from __future__ import annotations

from flask import Response, abort, request
from flask_login import current_user, login_required

from ..auth.permissions import workshop_for_staff
from ..extensions import db
from ..models import Session
from ..services import sign_in_sheets
from . import bp


@bp.route("/workshops/<int:workshop_id>/sessions/<int:session_id>/sign-in-sheet.pdf")
@login_required
def sign_in_sheet(workshop_id: int, session_id: int):
    """Like the other rosters at the door: the workshop's organisers, coordinators and admins."""
    workshop = workshop_for_staff(workshop_id)
    session = db.session.get(Session, session_id)
    if session is None or session.workshop_id != workshop.id:
        abort(404)
    with_check_ins = request.args.get("check_ins") == "1"
    body = sign_in_sheets.sheet_pdf(session, current_user, with_check_ins=with_check_ins)
    name = f"sign-in-sheet-{workshop.id}-{session.id}{'-checked-in' if with_check_ins else ''}.pdf"
    return Response(
        body, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
