"""Staff pages for a workshop's survey: builder, feedback summary, downloads, room poster."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..auth.permissions import SCHEDULERS, requires_role, workshop_for_report_reader, workshop_for_staff
from ..extensions import db
from ..forms import apply_errors
from ..models import Gender, OrganisationType, Question, Survey, Workshop
from ..models.i18n import current_language
from ..security import RefusedInput
from ..services import downloads, exports, feedback, roster, surveys, tickets
from ..services.errors import InvalidInput
from ..services.pdf import png_data_uri
from ..urls import external_url
from . import bp
from .background_downloads import made_in_background
from .forms import QuestionForm, SurveySettingsForm, aware


def _survey(workshop_id: int) -> Survey:
    return surveys.survey_for(workshop_for_staff(workshop_id))


def _question(workshop_id: int, question_id: int) -> Question:
    survey = _survey(workshop_id)
    question = db.session.get(Question, question_id)
    if question is None or question.survey_id != survey.id:
        abort(404)
    return question


def _builder(survey: Survey, settings=None, question_form=None, status=200):
    workshop = survey.workshop
    if settings is None:
        settings = SurveySettingsForm(obj=survey)
        for name in ("opens_at", "closes_at"):
            value = workshop.local(getattr(survey, name))
            getattr(settings, name).data = value.replace(tzinfo=None) if value else None
    others = db.session.scalars(
        select(Survey)
        .join(Workshop)
        .where(Survey.id != survey.id, Survey.questions.any())
        .order_by(Workshop.starts_at.desc())
    ).all()
    # A coordinator limited to programmes copies only from their workshops.
    others = [other for other in others if current_user.can_access_workshop(other.workshop)]
    return render_template(
        "staff/survey.html",
        survey=survey,
        workshop=workshop,
        settings=settings,
        question_form=question_form or QuestionForm(),
        action_form=FlaskForm(),
        others=others,
        opens_at=surveys.opens_at(survey),
        is_open=surveys.is_open(survey),
        rate=surveys.response_rate(survey),
    ), status


@bp.route("/workshops/<int:workshop_id>/survey")
@requires_role(*SCHEDULERS)
def survey(workshop_id: int):
    return _builder(_survey(workshop_id))


@bp.route("/workshops/<int:workshop_id>/survey/settings", methods=["POST"])
@requires_role(*SCHEDULERS)
def survey_settings(workshop_id: int):
    survey = _survey(workshop_id)
    form = SurveySettingsForm()
    if form.validate_on_submit():
        zone = survey.workshop.timezone
        try:
            surveys.update_settings(
                survey,
                anonymous=form.anonymous.data,
                opens_at=aware(form.opens_at.data, zone),
                closes_at=aware(form.closes_at.data, zone),
                reminder_after_days=form.reminder_after_days.data,
                intro_en=form.intro_en.data or "",
                intro_zh=form.intro_zh.data or "",
                actor=current_user,
            )
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            flash(_("Survey settings saved."), "success")
            return redirect(url_for("staff.survey", workshop_id=workshop_id))
    return _builder(survey, settings=form, status=422)


@bp.route("/workshops/<int:workshop_id>/survey/questions", methods=["POST"])
@requires_role(*SCHEDULERS)
def add_question(workshop_id: int):
    survey = _survey(workshop_id)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            surveys.add_question(survey, form.details(), current_user)
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            flash(_("Question added."), "success")
            return redirect(url_for("staff.survey", workshop_id=workshop_id) + "#questions")
    return _builder(survey, question_form=form, status=422)


@bp.route("/workshops/<int:workshop_id>/survey/questions/<int:question_id>", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def edit_question(workshop_id: int, question_id: int):
    question = _question(workshop_id, question_id)
    form = QuestionForm(obj=question)
    if not form.is_submitted():
        form.fill(question)
    if form.validate_on_submit():
        try:
            surveys.update_question(question, form.details(), current_user)
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            flash(_("Question saved."), "success")
            return redirect(url_for("staff.survey", workshop_id=workshop_id) + "#questions")
    return render_template(
        "staff/question_form.html", workshop=question.survey.workshop, question=question, form=form
    )


@bp.route("/workshops/<int:workshop_id>/survey/questions/<int:question_id>/<action>", methods=["POST"])
@requires_role(*SCHEDULERS)
def change_question(workshop_id: int, question_id: int, action: str):
    question = _question(workshop_id, question_id)
    if not FlaskForm().validate_on_submit() or action not in ("up", "down", "delete"):
        abort(400)
    if action == "delete":
        surveys.delete_question(question, current_user)
    else:
        surveys.move_question(question, -1 if action == "up" else 1, current_user)
    return redirect(url_for("staff.survey", workshop_id=workshop_id) + "#questions")


@bp.route("/workshops/<int:workshop_id>/survey/template", methods=["POST"])
@requires_role(*SCHEDULERS)
def survey_template(workshop_id: int):
    survey = _survey(workshop_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    added = surveys.apply_template(survey, current_user)
    flash(_("%(n)d standard questions added.", n=added), "success")
    return redirect(url_for("staff.survey", workshop_id=workshop_id) + "#questions")


@bp.route("/workshops/<int:workshop_id>/survey/copy", methods=["POST"])
@requires_role(*SCHEDULERS)
def survey_copy(workshop_id: int):
    survey = _survey(workshop_id)
    source = db.session.get(Survey, request.form.get("source", type=int) or 0)
    if not FlaskForm().validate_on_submit() or source is None or source.id == survey.id:
        abort(400)
    if not current_user.can_access_workshop(source.workshop):
        abort(403)
    copied = surveys.copy_questions(survey, source, current_user)
    flash(_("%(n)d questions copied.", n=copied), "success")
    return redirect(url_for("staff.survey", workshop_id=workshop_id) + "#questions")


DOWNLOADS = {("responses", "csv"), ("responses", "xlsx"), ("summary", "xlsx"), ("summary", "pdf")}


def _segment() -> feedback.Segment:
    """The page's filters; an unknown value is the asker's mistake (400 with a message), not a 500."""
    try:
        return feedback.Segment.from_args(request.args)
    except InvalidInput as error:
        raise RefusedInput(str(error.message)) from None


def _filters(workshop):
    return {
        "modes": workshop.modes,
        "organisation_types": OrganisationType.choices(),
        "genders": Gender.choices(),
        "cities": roster.cities(workshop, current_language()),
    }


@bp.route("/workshops/<int:workshop_id>/survey/summary")
@login_required
def survey_summary(workshop_id: int):
    # Report readers too, as aggregates; a limited account only in its programmes.
    workshop = workshop_for_report_reader(workshop_id)
    # A reader's visit creates nothing (the builder's first visit makes the empty survey).
    survey = surveys.survey_for(workshop) if current_user.can_schedule else surveys.existing_survey(workshop)
    if survey is None:
        abort(404)
    result = feedback.summary(survey, _segment(), aggregates_only=not current_user.can_schedule)
    return render_template(
        "staff/survey_summary.html",
        workshop=survey.workshop,
        **result,
        **_filters(survey.workshop),
        too_few=feedback.TOO_FEW,
        too_few_reason=feedback.TOO_FEW_REASON,
    )


@bp.route("/workshops/<int:workshop_id>/survey/<kind>.<fmt>", methods=["GET", "POST"])
@login_required
def survey_download(workshop_id: int, kind: str, fmt: str):
    """The summary (XLSX, PDF) for report readers too, as aggregates; the responses (every answer,
    and for a named survey who gave it) for coordinators only, made by a job when they are many."""
    if (kind, fmt) not in DOWNLOADS:
        abort(404)
    language = exports.chosen_language(request.args.get("lang"))  # a stray ?lang= is a 400, first
    if kind == "responses":
        if not current_user.can_schedule:
            abort(403)
        survey = _survey(workshop_id)
        segment = _segment()
        if downloads.too_many_rows(feedback.response_count(survey, segment)):
            return made_in_background(
                downloads.TITLES[downloads.SURVEY_RESPONSES],
                lambda: downloads.queue_responses(survey, fmt, current_user, segment, language),
            )
        body = feedback.export_raw(survey, fmt, current_user, segment, language)
    else:
        workshop = workshop_for_report_reader(workshop_id)
        found = (
            surveys.survey_for(workshop) if current_user.can_schedule else surveys.existing_survey(workshop)
        )
        if found is None:
            abort(404)
        segment, readers = _segment(), not current_user.can_schedule
        if fmt == "xlsx":
            body = feedback.export_summary_xlsx(
                found, current_user, segment, language, aggregates_only=readers
            )
        else:
            body = feedback.export_summary_pdf(found, current_user, segment, aggregates_only=readers)
    return Response(
        body,
        mimetype=downloads.CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="survey-{kind}-workshop-{workshop_id}.{fmt}"'},
    )


@bp.route("/workshops/<int:workshop_id>/survey/poster")
@login_required
def survey_poster(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    url = external_url("surveys.find", workshop_id=workshop.id)
    return render_template(
        "staff/survey_poster.html",
        workshop=workshop,
        url=url,
        qr=png_data_uri(tickets.ticket_qr_png(url, box_size=10)),
    )
