"""The scanner pages for organisers and volunteers (the work happens in static/js/scanner/, ES modules)."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.permissions import (
    current_link,
    current_scanner,
    enter_with_link,
    forget_on_this_browser,
    held_link_id,
)
from ..extensions import db, limiter
from ..models import Role, Session, Workshop, WorkshopStatus
from ..models.base import utcnow
from ..services import checkin, users
from ..services.checkin import Scanner
from ..services.checkin_access import link_by_token
from . import bp


def _scannable(workshop_id: int) -> tuple[Workshop, Scanner]:
    """The workshop, and who scans it here: staff, or (only if that is all there is) a volunteer's link."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        abort(404)
    scanner = current_scanner(workshop)
    if scanner is None:
        if not current_user.is_authenticated:
            if held_link_id() is None:
                abort(
                    redirect(
                        url_for("auth.login", next=url_for("checkin.choose_session", workshop_id=workshop_id))
                    )
                )
            if current_link() is None:  # a volunteer whose link expired or was withdrawn meanwhile
                abort(_link_refused())
        abort(403)  # signed in for other workshops, or a link to another workshop
    return workshop, scanner


def _link_refused():
    """A link that no longer works: said in words, and the phone forgets the roster it kept."""
    return forget_on_this_browser(
        make_response(
            render_template(
                "errors/error.html",
                code=403,
                title=_("This check-in link does not work"),
                message=_("It has expired or was withdrawn. Ask the coordinator for a new link."),
            ),
            403,
        )
    )


@bp.route("/")
def choose_workshop():
    """Staff pick one of their workshops; a volunteer goes straight to theirs."""
    link = current_link()
    if link is not None and not current_user.is_authenticated:
        return redirect(url_for("checkin.choose_session", workshop_id=link.workshop_id))
    if not current_user.is_authenticated:
        if held_link_id() is not None:  # a volunteer whose link expired or was withdrawn
            return _link_refused()
        return redirect(url_for("auth.login", next=url_for("checkin.choose_workshop")))
    if not (current_user.can_schedule or current_user.role == Role.ORGANISER):
        abort(403)  # report readers check nobody in
    workshops = users.workshops_seen_by(current_user)
    if current_user.can_schedule:  # every workshop there is (of their programmes), but drafts
        workshops = [w for w in workshops if w.status != WorkshopStatus.DRAFT]
    return render_template("checkin/choose_workshop.html", workshops=workshops)


@bp.route("/<int:workshop_id>")
def choose_session(workshop_id: int):
    workshop, _scanner = _scannable(workshop_id)
    now = utcnow()
    running = [s for s in workshop.sessions if checkin.session_running(s, now)]
    if len(running) == 1 and "choose" not in request.args:  # "Other session" on the scanner asks to choose
        return redirect(url_for("checkin.scanner", workshop_id=workshop.id, session_id=running[0].id))
    return render_template("checkin/choose_session.html", workshop=workshop, now=now)


@bp.route("/<int:workshop_id>/sessions/<int:session_id>")
def scanner(workshop_id: int, session_id: int):
    workshop, scanner = _scannable(workshop_id)
    session = db.session.get(Session, session_id)
    if session is None or session.workshop_id != workshop.id:
        abort(404)
    # What the page offers follows who scans here (a signed-in organiser of another workshop
    # holding this workshop's volunteer link scans as the volunteer).
    return render_template(
        "checkin/scanner.html",
        workshop=workshop,
        session=session,
        is_volunteer=scanner.user_id is None,
        may_override=scanner.may_override,
        decision_order=checkin.decision_order(),
    )


@bp.route("/<int:workshop_id>/sessions/<int:session_id>/log")
def scan_log(workshop_id: int, session_id: int):
    """Every scan of the session, failed and repeated ones too (staff only: it names who scanned)."""
    workshop, scanner = _scannable(workshop_id)
    if scanner.user_id is None:
        abort(403)
    session = db.session.get(Session, session_id)
    if session is None or session.workshop_id != workshop.id:
        abort(404)
    response = make_response(
        render_template(
            "checkin/scan_log.html",
            workshop=workshop,
            session=session,
            scans=checkin.scan_log(session),
            reason_label=checkin.reason_label,
        )
    )
    response.headers["Cache-Control"] = "no-store"  # names: kept by no browser cache or service worker
    return response


@bp.route("/v/<token>")
@limiter.limit("30 per minute")
def volunteer(token: str):
    """A volunteer opens the link a coordinator shared: no account, one workshop, until expiry."""
    link = link_by_token(token)
    if link is None or not link.usable_at(utcnow()):
        return _link_refused()
    enter_with_link(link)
    return redirect(url_for("checkin.choose_session", workshop_id=link.workshop_id))


@bp.route("/sw.js")
def service_worker():
    """Served from /checkin/ so it may keep the scanner pages working offline."""
    response = send_from_directory(current_app.static_folder, "js/scanner-sw.js", mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response
