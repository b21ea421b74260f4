"""Public verification, and participants' own certificate download."""

from __future__ import annotations

from flask import Response, abort, render_template

from ..extensions import limiter
from ..services import certificates
from ..services import registration as registrations
from . import bp


@bp.route("/verify/<code>")
@limiter.limit("30 per minute")
def verify(code: str):
    """Anyone (an employer) can check a certificate: valid or revoked, whose, for what. A
    certificate withdrawn at its holder's request says so, and names no one."""
    certificate = certificates.by_code(code)
    if certificate is None:
        return render_template("certificates/verify.html", certificate=None), 404
    return render_template(
        "certificates/verify.html",
        certificate=certificate,
        registration=None if certificate.withdrawn else certificate.registration,
        workshop=certificate.registration.workshop,
    )


@bp.route("/r/<token>/certificate.pdf")
@limiter.limit("20 per minute")
def download(token: str):
    """The participant's own certificate, if issued; else the page saying what is missing."""
    registration = registrations.find_by_manage_token(token)
    if registration is None:
        abort(404)
    # Only a certificate already issued (by the background job or a coordinator): a download
    # never issues one, so nothing is decided on a GET.
    certificate = certificates.issued_certificate(registration)
    if certificate is None:
        state = certificates.eligibility(registration)
        return render_template(
            "certificates/not_yet.html",
            registration=registration,
            state=state,
            workshop=registration.workshop,
        ), 403
    return Response(
        certificates.pdf_of(certificate),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="certificate-{certificate.serial}.pdf"'},
    )
