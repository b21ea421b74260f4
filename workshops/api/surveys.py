"""Feedback summaries as JSON (coordinators and admins; report readers as aggregates only)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort

from ..extensions import db
from ..models import Workshop
from ..services import feedback, surveys
from ..services.errors import InvalidInput
from .schemas import SegmentQuerySchema, SurveySummarySchema

blp = Blueprint("api_surveys", __name__, description="Surveys and feedback")


@blp.route("/workshops/<int:workshop_id>/survey/summary")
@blp.arguments(SegmentQuerySchema(), location="query", error_status_code=400)
@blp.response(200, SurveySummarySchema)
@blp.alt_response(400, description="A filter value that is not one of its choices")
@blp.alt_response(401, description="Not signed in")
@blp.alt_response(403, description="Only coordinators, admins and report readers of its programme")
@blp.alt_response(404, description="No workshop or no survey")
def survey_summary(query, workshop_id: int):
    """Invited, responded, response rate and per-question figures, optionally filtered."""
    if not current_user.is_authenticated:
        abort(401, message=_("Sign in as staff."))
    if not current_user.reads_reports:
        abort(403, message=_("Only coordinators, admins and report readers see feedback."))
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is not None and not current_user.can_read_reports_of(workshop):
        abort(403, message=_("You do not have access to this workshop."))
    survey = surveys.existing_survey(workshop) if workshop else None
    if survey is None:
        abort(404, message=_("This workshop has no survey."))
    try:
        segment = feedback.Segment.from_args(query)
    except InvalidInput as error:
        abort(400, message=str(error.message), errors={k: str(v) for k, v in error.errors.items()})
    return feedback.as_json(feedback.summary(survey, segment, aggregates_only=not current_user.can_schedule))
