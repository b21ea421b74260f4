"""Registration API: public sign-up (same rules as the form) and staff reading."""

from __future__ import annotations

from flask import current_app, jsonify
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort

from ..extensions import limiter
from ..models import RegistrationSource, RegistrationStatus
from ..registration.views import (
    client_and_workshop,
    registration_limit_per_workshop,
    too_many_registrations,
)
from ..services import registration as registrations
from ..services import roster
from ..services.errors import InvalidInput, NotAllowed
from ..services.registration import Applicant, Outcome
from ..urls import external_url
from .access import staff_registration, staff_workshop
from .schemas import (
    RegistrationInSchema,
    RegistrationOutcomeSchema,
    RegistrationQuerySchema,
    RegistrationSchema,
)

blp = Blueprint("api_registrations", __name__, description="Registrations")


@blp.route("/workshops/<int:workshop_id>/registrations", methods=["POST"])
@limiter.limit(lambda: current_app.config["REGISTRATION_RATE_LIMIT"])
@limiter.shared_limit(
    registration_limit_per_workshop,
    scope="register-per-workshop",
    key_func=client_and_workshop,
    error_message=too_many_registrations,
)
@blp.arguments(RegistrationInSchema())
@blp.response(201, RegistrationOutcomeSchema)
@blp.alt_response(
    202,
    schema=RegistrationOutcomeSchema,
    description=(
        "Held for 30 minutes: the place is kept once the link emailed to the person is followed. "
        "Also the answer when the email or mobile is registered already (the person's email is sent "
        "again, at most once an hour): the API never tells who is registered."
    ),
)
@blp.alt_response(429, description="Too many registrations from this address")
@blp.alt_response(404, description="No published workshop with this id")
@blp.alt_response(409, description="Registration is closed")
@blp.alt_response(422, description="Invalid details, field by field")
def register(data, workshop_id: int):
    """Register for a published workshop. No account needed; the ticket link is emailed.

    Where the workshop asks for it (the default), a registration with an email is only held until
    the person follows the link emailed to them: nothing personal, and no ticket link, is answered.
    An email or mobile registered already gets that same answer (202, ``unverified``)."""
    try:
        result = registrations.register(
            workshop_id, Applicant.from_mapping(data), source=RegistrationSource.API
        )
    except InvalidInput as error:
        abort(422, message=str(error.message), errors={field: [str(m)] for field, m in error.errors.items()})
    except registrations.UnknownWorkshop:
        abort(404, message=_("No published workshop with this id."))
    except NotAllowed as error:
        abort(409, message=str(error.message))
    if result.outcome in (Outcome.ALREADY_REGISTERED, Outcome.UNVERIFIED):
        # Whoever knows an email or a mobile could post it: "already registered" answers exactly
        # what a new registration held for its link does (the person's own email tells them the
        # rest), so the answer never says who is registered, nor their status.
        held = {"outcome": Outcome.UNVERIFIED.value, "status": RegistrationStatus.UNVERIFIED.value}
        return {**held, "ticket_url": None}, 202
    ticket_url = external_url("registration.ticket", token=result.registration.manage_token)
    return {
        "outcome": result.outcome.value,
        "status": result.registration.status.value,
        "ticket_url": ticket_url,
    }


@blp.route("/workshops/<int:workshop_id>/registrations", methods=["GET"])
@blp.arguments(RegistrationQuerySchema(), location="query", error_status_code=400)
@blp.response(200, RegistrationSchema(many=True))
@blp.alt_response(401, description="Not signed in")
@blp.alt_response(403, description="Not your workshop")
def list_registrations(query, workshop_id: int):
    """A workshop's registrations, filtered and searched (staff only; each read is audited)."""
    workshop = staff_workshop(workshop_id)
    return _as_seen(roster.read_list(workshop, current_user, roster.RosterFilter.from_args(query)), many=True)


def _as_seen(value, many: bool = False):
    """Only the fields the signed-in staff member sees on the registrations page."""
    return jsonify(RegistrationSchema(many=many, only=roster.fields_seen_by(current_user)).dump(value))


@blp.route("/registrations/<int:registration_id>")
@blp.response(200, RegistrationSchema)
@blp.alt_response(401, description="Not signed in")
@blp.alt_response(403, description="Not your workshop")
@blp.alt_response(404, description="No registration with this id")
def get_registration(registration_id: int):
    """One registration (staff only; each read is audited)."""
    return _as_seen(roster.read_one(staff_registration(registration_id), current_user))
