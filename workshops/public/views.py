from __future__ import annotations

from flask import Response, abort, current_app, jsonify, redirect, render_template, request, session, url_for

from ..models import WorkshopFormat
from ..models.i18n import current_language
from ..registration.views import render_workshop_page
from ..services import calendar, catalogue, health
from ..urls import external_url, safe_next
from . import bp


@bp.route("/")
def index():
    city = request.args.get("city", "")
    format = request.args.get("format", "")
    workshops = catalogue.upcoming_workshops(city=city, format=format)
    return render_template(
        "public/index.html",
        workshops=workshops,
        seats=catalogue.seats_left(workshops),
        cities=catalogue.upcoming_cities(),
        formats=WorkshopFormat.choices(),
        city=city,
        format=format,
    )


def _public_workshop(workshop_id: int):
    workshop = catalogue.published_workshop(workshop_id)
    if workshop is None:
        abort(404)
    return workshop


@bp.route("/workshops/<int:workshop_id>")
def workshop(workshop_id: int):
    return render_workshop_page(_public_workshop(workshop_id))


@bp.route("/workshops/<int:workshop_id>/calendar.ics")
def workshop_calendar(workshop_id: int):
    workshop = _public_workshop(workshop_id)
    url = external_url("public.workshop", workshop_id=workshop.id)
    body = calendar.workshop_ics(workshop, url, current_language())
    return Response(
        body,
        content_type=calendar.CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="workshop-{workshop.id}.ics"'},
    )


@bp.route("/privacy")
def privacy():
    return render_template("public/privacy.html")


@bp.route("/language/<code>")
def set_language(code: str):
    """Remember the reader's language choice (in the session cookie)."""
    if code in current_app.config["LANGUAGES"]:
        session["language"] = code
        session.permanent = True
    return redirect(safe_next(request.args.get("next"), url_for("public.index")))


@bp.route("/healthz")
def healthz():
    """200 while the database answers (Redis and the worker are reported); 503 otherwise."""
    report = health.check()
    healthy = report["database"] == "ok"
    degraded = any(report[name] in ("unavailable", "stale") for name in ("redis", "worker"))
    status = "ok" if healthy and not degraded else "degraded" if healthy else "down"
    return jsonify(status=status, **report), 200 if healthy else 503
