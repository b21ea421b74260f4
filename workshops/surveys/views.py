"""Participants answer the survey through their personal link, or find it from the room poster."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
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


@bp.route("/survey/<int:workshop_id>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def find(workshop_id: int):
    """The room poster's QR code leads here: people identify themselves to get their own link."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None or workshop.status == "draft":
        abort(404)
    form = FindForm()
    if form.validate_on_submit():
        registration = surveys.find_attendee(workshop, form.contact.data)
        if registration is not None:
            return redirect(url_for("surveys.answer", token=survey_links.survey_token(registration)))
        form.contact.errors = [
            _("We found no attendee with this email or phone. Use the one you registered with.")
        ]
    return render_template("surveys/find.html", workshop=workshop, form=form), 422 if form.errors else 200
