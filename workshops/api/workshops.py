from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint, abort

from ..services import catalogue
from .schemas import WorkshopDetailSchema, WorkshopQuerySchema, WorkshopSchema

blp = Blueprint("api_workshops", __name__, description="Published workshops")


def _with_seats(workshops):
    seats = catalogue.seats_left(workshops)
    for workshop in workshops:
        workshop.seats_left = seats[workshop.id]
    return workshops


@blp.route("/")
@blp.arguments(WorkshopQuerySchema(), location="query", error_status_code=400)
@blp.response(200, WorkshopSchema(many=True))
def list_workshops(query):
    """Upcoming published workshops, soonest first."""
    return _with_seats(catalogue.upcoming_workshops(city=query["city"], format=query["format"]))


@blp.route("/<int:workshop_id>")
@blp.response(200, WorkshopDetailSchema)
@blp.alt_response(404, description="No published workshop with this id")
def get_workshop(workshop_id: int):
    """One published workshop with its agenda (the meeting link is never included)."""
    workshop = catalogue.published_workshop(workshop_id)
    if workshop is None:
        abort(404, message=_("No published workshop with this id."))
    return _with_seats([workshop])[0]
