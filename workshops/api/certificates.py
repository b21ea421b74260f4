"""Certificate status (staff) and public verification lookup."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint, abort

from ..extensions import limiter
from ..models import AttendanceMode
from ..services import certificates
from .access import staff_registration
from .schemas import CertificateStatusSchema, VerificationSchema

blp = Blueprint("api_certificates", __name__, description="Certificates")


@blp.route("/registrations/<int:registration_id>/certificate")
@blp.response(200, CertificateStatusSchema)
@blp.alt_response(401, description="Not signed in")
@blp.alt_response(403, description="Not your workshop")
def certificate_status(registration_id: int):
    """Whether a person has earned a certificate, and what is missing."""
    registration = staff_registration(registration_id)
    state = certificates.eligibility(registration)
    own = state.progress[AttendanceMode(registration.mode)]  # the registered mode's rule
    in_sessions = own.unit == "sessions"
    return {
        "registration_id": registration.id,
        "eligible": state.eligible,
        "sessions_attended": own.done if in_sessions else state.sessions_in(registration.mode),
        "sessions_required": own.needed if in_sessions else None,
        "progress": [
            {"mode": str(mode), "done": p.done, "needed": p.needed, "unit": p.unit, "met": p.met}
            for mode, p in state.progress.items()
        ],
        "survey_required": state.survey_needed,
        "survey_answered": state.survey_done,
        "serial": state.certificate.serial if state.certificate else None,
        "revoked": bool(state.certificate and not state.certificate.valid),
        "missing": [str(m) for m in state.missing],
    }


@blp.route("/certificates/<code>")
@limiter.limit("30 per minute")
@blp.response(200, VerificationSchema)
@blp.alt_response(404, description="No certificate has this code")
def verify(code: str):
    """Public verification of a certificate by the code in its QR link."""
    certificate = certificates.by_code(code)
    if certificate is None:
        abort(404, message=_("No certificate has this code."))
    registration = certificate.registration
    workshop = registration.workshop
    return {
        "valid": certificate.valid,
        "revoked": not certificate.valid,
        # Withdrawn at the holder's request (their data erased): it vouches for no one, names no one.
        "withdrawn": certificate.withdrawn,
        "status": _("This certificate was withdrawn at the holder's request.")
        if certificate.withdrawn
        else _("Valid certificate")
        if certificate.valid
        else _("This certificate has been revoked."),
        "serial": certificate.serial,
        "name": "" if certificate.withdrawn else registration.full_name,
        "workshop_title_en": workshop.title_en,
        "workshop_title_zh": workshop.title_zh,
        "starts_at": workshop.starts_at,
        "ends_at": workshop.ends_at,
    }
