"""Participants answer the survey through their personal link, or find it from the room poster."""

from __future__ import annotations

import time

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField

from ..extensions import db, limiter
from ..models import Survey, Workshop
from ..services import survey_links, surveys
from ..services.errors import InvalidInput, NotAllowed
from . import bp


def _survey_of(registration) -> Survey | None:
    return db.session.scalar(db.select(Survey).where(Survey.workshop_id == registration.workshop_id))


@bp.route("/s/<token>", methods=["GET", "POST"])
@limiter.limit("60 per minute")
def answer(token: str):
    registration = survey_links.registration_for_token(token)
    if registration is None:
        return render_template(
            "surveys/problem.html", message=_("This survey link is not valid. Use the link from your email.")
        ), 404
    survey = _survey_of(registration)
    if survey is None or not surveys.is_open(survey):
        return render_template(
            "surveys/problem.html",
            workshop=registration.workshop,
            message=_("This survey is closed.")
            if survey and survey.questions
            else _("This survey is not open yet."),
        ), 410
    answered = surveys.has_answered(survey, registration)
    if survey.anonymous and answered:
        return render_template("surveys/thanks.html", survey=survey, workshop=survey.workshop, anonymous=True)
    form = FlaskForm()
    values = surveys.answers_of(survey, registration)
    errors = {}
    if request.method == "POST":
        values = {key: request.form.getlist(key) for key in request.form if key.startswith("q")}
        if not form.validate_on_submit():
            abort(400)
        try:
            surveys.submit(survey, registration, values)
        except InvalidInput as error:
            errors = error.errors
            if "form" in errors:
                flash(errors["form"], "error")
        except NotAllowed as error:
            flash(error.message, "error")
        else:
            return render_template(
                "surveys/thanks.html",
                survey=survey,
                workshop=survey.workshop,
                anonymous=survey.anonymous,
                edit_url=url_for("surveys.answer", token=token),
            )
    return render_template(
        "surveys/answer.html",
        survey=survey,
        workshop=survey.workshop,
        form=form,
        values=values,
        errors=errors,
        answered=answered,
        registration=registration,
    ), 422 if errors else 200


class FindForm(FlaskForm):
    contact = StringField()


# Every answer of the poster's lookup takes this long at least, so that a person found (an
# outbox row written and committed) cannot be told from a person unknown by the time it took.
LOOKUP_ANSWER_SECONDS = 0.3
LOOKUP_LIMIT_PER_CLIENT = "10 per minute;60 per hour"
LOOKUP_LIMIT_PER_CONTACT = "5 per hour"


def _typed_contact() -> str:
    """The rate limit's key for the person looked up: every spelling of one address or number
    counts together, whoever types it and from wherever."""
    return "survey-lookup:" + (surveys.read_contact(request.form.get("contact")).key or "nobody")


@bp.route("/survey/<int:workshop_id>", methods=["GET", "POST"])
@limiter.limit(LOOKUP_LIMIT_PER_CLIENT, methods=["POST"])
@limiter.limit(LOOKUP_LIMIT_PER_CONTACT, methods=["POST"], key_func=_typed_contact)
def find(workshop_id: int):
    """The room poster's QR code leads here: people ask for their own link, which is sent to them.

    The answer is the same page whoever is typed (attended, registered but absent, unknown):
    the link goes to the person's registered address or phone, never to the one asking.
    """
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None or workshop.status == "draft":
        abort(404)
    state = surveys.poster_state(workshop)
    if state != "open":  # the poster outlived its survey, or is up too early: say so, ask nothing
        return render_template("surveys/find.html", workshop=workshop, form=None, state=state)
    form = FindForm()
    if form.validate_on_submit():
        if not (form.contact.data or "").strip():
            form.contact.errors = [_("Enter the email or mobile number you registered with.")]
        else:
            started = time.monotonic()
            surveys.send_link(workshop, form.contact.data)
            time.sleep(max(0.0, LOOKUP_ANSWER_SECONDS - (time.monotonic() - started)))
            return render_template("surveys/find.html", workshop=workshop, form=form, sent=True)
    return render_template("surveys/find.html", workshop=workshop, form=form), 422 if form.errors else 200
