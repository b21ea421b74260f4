"""Participants: register without an account, then manage it from the ticket page."""

from __future__ import annotations

import json

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from ..extensions import limiter
from ..forms import apply_errors, select_choices
from ..models import AttendanceMode
from ..models.base import utcnow
from ..models.i18n import current_language
from ..services import calendar, catalogue, certificates, checkin, privacy, tickets
from ..services import registration as registrations
from ..services.errors import InvalidInput, NotAllowed
from ..services.registration import Outcome
from ..urls import external_url
from . import bp
from .forms import ConfirmForm, ModeSwitchForm, RegistrationForm


def _registration_limit() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT"]


def registration_limit_per_workshop() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT_PER_WORKSHOP"]


def client_and_workshop() -> str:
    """One client address at one workshop (the form and the API count together): nobody fills a
    workshop's seats from one address, and a busy venue's shared Wi-Fi still registers for others."""
    return f"register:{get_remote_address()}:{(request.view_args or {}).get('workshop_id')}"


def too_many_registrations() -> str:
    """What the API's 429 says (the page's 429 says it in its own words), in the reader's language."""
    return _("Too many registrations from your connection for this workshop. Please try again later.")


def render_workshop_page(workshop, form=None, status=200):
    """The public workshop page with its registration form (or why registration is closed)."""
    return render_template(
        "registration/workshop.html",
        workshop=workshop,
        seats=catalogue.seats_left([workshop])[workshop.id],
        form=form or registration_form(workshop),
        closed_reason=registrations.registration_closed_reason(workshop, utcnow()),
    ), status


def registration_form(workshop) -> RegistrationForm:
    form = RegistrationForm()
    form.set_mode_choices(workshop)
    form.set_language_choices(current_language())
    return form


@bp.route("/workshops/<int:workshop_id>/register", methods=["POST"])
@limiter.limit(_registration_limit)
@limiter.shared_limit(
    registration_limit_per_workshop,
    scope="register-per-workshop",
    key_func=client_and_workshop,
    error_message=too_many_registrations,
)
def register(workshop_id: int):
    workshop = catalogue.published_workshop(workshop_id)
    if workshop is None:
        abort(404)
    form = registration_form(workshop)
    if not form.validate_on_submit():
        return render_workshop_page(workshop, form, 400)
    if form.website.data:
        flash(_("Your submission looked automated and was not saved. Please try again."), "error")
        return render_workshop_page(workshop, form, 400)
    try:
        result = registrations.register(workshop.id, form.applicant())
    except InvalidInput as error:
        apply_errors(form, error)
        return render_workshop_page(workshop, form, 422)
    except NotAllowed as error:
        flash(error.message, "error")
        return render_workshop_page(workshop, form, 409)
    if result.outcome in (Outcome.ALREADY_REGISTERED, Outcome.UNVERIFIED):
        # The same page whether the address was new or known, and whether a message went out
        # now or within the last hour: it tells a stranger nothing about whom it names.
        return render_template("registration/check_inbox.html", workshop=workshop), 200
    return redirect(url_for("registration.ticket", token=result.registration.manage_token, new=1))


@bp.route("/confirm/<token>")
@limiter.limit("30 per minute")
def confirm_contact_page(token: str):
    """The link in the email opens a page with one button: a mail scanner that fetches every link
    does not confirm anything (the POST does), the person does."""
    return render_template("registration/confirm.html", token=token, form=ConfirmForm())


@bp.route("/confirm/<token>", methods=["POST"])
@limiter.limit("30 per minute")
def confirm_contact(token: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        registration = registrations.confirm_contact(token)
    except NotAllowed as error:
        return render_template("registration/confirm.html", token=None, problem=error.message), 410
    return redirect(url_for("registration.ticket", token=registration.manage_token, new=1))


def _by_token(token: str):
    registration = registrations.find_by_manage_token(token)
    if registration is None:
        abort(404)
    return registration


@bp.route("/r/<token>")
@limiter.limit("60 per minute")
def ticket(token: str):
    registration = _by_token(token)
    workshop = registration.workshop
    switch = ModeSwitchForm()
    other_modes = [m for m in workshop.modes if m != registration.mode]
    switch.mode.choices = select_choices((m, AttendanceMode(m).label) for m in other_modes)
    return render_template(
        "registration/ticket.html",
        registration=registration,
        workshop=workshop,
        certificate_state=certificates.eligibility(registration) if workshop.starts_at <= utcnow() else None,
        # Once the workshop has started the mode is what was attended (staff may still change it).
        switch_form=switch
        if other_modes and registration.takes_part and workshop.starts_at > utcnow()
        else None,
        cancel_form=ConfirmForm(),
        just_registered=request.args.get("new") == "1",
    )


@bp.route("/r/<token>/ticket.png")
def ticket_qr(token: str):
    registration = _by_token(token)
    if registration.status != "confirmed" or not registration.takes_part:
        abort(404)  # no ticket for someone rejected, cancelled, waiting, or at a cancelled workshop
    response = Response(tickets.ticket_qr_png(registration.ticket_token), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/r/<token>/calendar.ics")
def ticket_calendar(token: str):
    registration = _by_token(token)
    if not registration.takes_part:
        abort(404)  # rejected, cancelled, or the workshop is: nothing to put in a calendar
    url = external_url("registration.ticket", token=token)
    body = calendar.workshop_ics(registration.workshop, url, registration.language)
    return Response(
        body,
        content_type=calendar.CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="workshop-{registration.workshop_id}.ics"'},
    )


@bp.route("/r/<token>/cancel", methods=["POST"])
def cancel(token: str):
    registration = _by_token(token)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        registrations.cancel(registration)
    except NotAllowed as error:
        flash(error.message, "error")
    else:
        flash(_("Your registration is cancelled. Thank you for letting us know."), "success")
    return redirect(url_for("registration.ticket", token=token))


@bp.route("/r/<token>/mode", methods=["POST"])
def switch_mode(token: str):
    registration = _by_token(token)
    form = ModeSwitchForm()
    form.mode.choices = select_choices((m, m) for m in registration.workshop.modes)
    if not form.validate_on_submit():
        abort(400)
    try:
        registrations.switch_mode(registration, form.mode.data)
    except (InvalidInput, NotAllowed) as error:
        flash(error.message, "error")
    else:
        flash(_("Your attendance mode is changed."), "success")
    return redirect(url_for("registration.ticket", token=token))


@bp.route("/j/<token>")
@limiter.limit("60 per minute")
def join(token: str):
    """Personal join link of an online participant: counts attendance, then opens the meeting."""
    answer = checkin.join(token)
    if answer.registration is None:
        abort(404)
    workshop = answer.registration.workshop
    if answer.problem is None:
        return redirect(workshop.meeting_url)
    upcoming = checkin.next_session(workshop, utcnow()) if answer.problem == "not_running" else None
    return render_template(
        "registration/join.html",
        registration=answer.registration,
        workshop=workshop,
        problem=answer.problem,
        upcoming=upcoming,
    ), 200 if answer.problem == "not_running" else 403


@bp.route("/r/<token>/my-data.json")
@limiter.limit("10 per minute")
def my_data(token: str):
    """The participant downloads everything held about them (audited)."""
    registration = _by_token(token)
    return Response(
        json.dumps(privacy.export(registration), ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
    )


@bp.route("/r/<token>/delete", methods=["POST"])
@limiter.limit("10 per minute")
def delete_my_data(token: str):
    """The participant asks to be forgotten: registration cancelled, personal data replaced."""
    registration = _by_token(token)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    privacy.delete(registration)
    return render_template("registration/deleted.html")
