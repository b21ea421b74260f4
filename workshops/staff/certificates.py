"""Staff pages for certificates: rules, who has earned one, grant and revoke, batches, assets."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from ..auth.permissions import SCHEDULERS, requires_role, workshop_for_staff
from ..extensions import db
from ..models import Registration
from ..services import audit, certificate_assets, certificates
from ..services.errors import InvalidInput, NotAllowed
from . import bp
from .forms import CertificateSettingsForm, SignatoryForm


@bp.route("/workshops/<int:workshop_id>/certificates", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def certificates_page(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    settings = CertificateSettingsForm(obj=workshop)
    preview = None
    if settings.validate_on_submit():
        rules = certificates.Rules(
            onsite_sessions=settings.certificate_min_sessions.data,
            online_sessions=settings.certificate_online_sessions.data,
            online_minutes=settings.certificate_online_minutes.data,
            requires_survey=settings.certificate_requires_survey.data,
        )
        confirmed = request.form.get("confirm_digest") or None
        try:
            change = certificates.set_rules(workshop, rules, current_user, confirmed=confirmed)
        except certificates.RulesNeedConfirming as asked:
            preview = asked.change  # nothing saved: the page lists who gains and who loses
            if confirmed:
                flash(_("Who would gain or lose a certificate changed meanwhile: check again."), "error")
        else:
            flash(_("Certificate rules saved."), "success")
            if change.changes_anyone:
                flash(
                    _(
                        "Certificates issued: %(gains)d; revoked: %(losses)d.",
                        gains=len(change.gains),
                        losses=len(change.losses),
                    ),
                    "success",
                )
            return redirect(url_for("staff.certificates_page", workshop_id=workshop.id))
    rows = certificates.eligibility_of_confirmed(workshop)
    return render_template(
        "staff/certificates.html",
        workshop=workshop,
        rows=rows,
        settings=settings,
        preview=preview,
        action_form=FlaskForm(),
        asset_form=SignatoryForm(),
        last_job=certificates.last_batch(workshop),
        assets=certificate_assets.assets_of(workshop),
    )


def _registration(workshop, registration_id):
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.workshop_id != workshop.id:
        abort(404)
    return registration


@bp.route("/workshops/<int:workshop_id>/certificates/<int:registration_id>/<action>", methods=["POST"])
@requires_role(*SCHEDULERS)
def certificate_decision(workshop_id: int, registration_id: int, action: str):
    workshop = workshop_for_staff(workshop_id)
    registration = _registration(workshop, registration_id)
    if not FlaskForm().validate_on_submit() or action not in ("grant", "revoke"):
        abort(400)
    reason = request.form.get("reason", "")
    try:
        if action == "grant":
            certificates.grant(registration, reason, current_user)
            flash(_("Certificate granted."), "success")
        else:
            certificate = certificates.certificate_of(registration)
            if certificate is None:
                abort(404)
            certificates.revoke(certificate, reason, current_user)
            flash(_("Certificate revoked: its verification page now says so."), "success")
    except (InvalidInput, NotAllowed) as error:
        flash(error.message, "error")
    return redirect(url_for("staff.certificates_page", workshop_id=workshop.id))


@bp.route("/workshops/<int:workshop_id>/certificates/generate", methods=["POST"])
@requires_role(*SCHEDULERS)
def generate_certificates(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    job = certificates.queue_batch(workshop, current_user)
    return redirect(url_for("staff.job", job_id=job.id))


@bp.route("/workshops/<int:workshop_id>/certificates/all.<fmt>")
@requires_role(*SCHEDULERS)
def download_certificates(workshop_id: int, fmt: str):
    workshop = workshop_for_staff(workshop_id)
    job = certificates.last_batch(workshop, finished=True)
    if job is None or fmt not in ("pdf", "zip"):
        flash(_("Generate the certificates first."), "error")
        return redirect(url_for("staff.certificates_page", workshop_id=workshop.id))
    audit.record("certificate.download", workshop, current_user, format=fmt)
    db.session.commit()
    name = f"certificates-{workshop.id}.{fmt}"
    if fmt == "pdf":
        return Response(
            certificates.merged_pdf(job),
            mimetype="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    spool = certificates.zip_of(certificates.workshop_certificates(workshop))
    response = Response(
        iter(lambda: spool.read(64 * 1024), b""),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    response.call_on_close(spool.close)
    return response


@bp.route("/workshops/<int:workshop_id>/certificates/assets", methods=["POST"])
@requires_role(*SCHEDULERS)
def add_certificate_asset(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    form = SignatoryForm()
    back = redirect(url_for("staff.certificates_page", workshop_id=workshop.id))
    if not form.validate_on_submit():
        if "csrf_token" in form.errors or not form.is_submitted():
            abort(400)
        for errors in form.errors.values():
            flash(errors[0], "error")
        return back
    new = certificate_assets.NewAsset(
        kind=form.kind.data,
        image=form.image.data.read() if form.image.data else None,
        for_programme=form.for_programme.data,
        position=form.position.data or 0,
        **{name: form[name].data or "" for name in ("name_en", "name_zh", "title_en", "title_zh")},
    )
    try:
        certificate_assets.add_asset(workshop, new, current_user)
    except InvalidInput as error:
        flash(error.message, "error")
    else:
        flash(_("Added to the certificates."), "success")
    return back


@bp.route("/workshops/<int:workshop_id>/certificates/assets/<int:asset_id>/remove", methods=["POST"])
@requires_role(*SCHEDULERS)
def remove_certificate_asset(workshop_id: int, asset_id: int):
    workshop = workshop_for_staff(workshop_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    asset = certificate_assets.asset_of(workshop, asset_id)
    if asset is None:  # another workshop's (or programme's): not this page's to remove
        abort(404)
    certificate_assets.remove_asset(asset, current_user)
    flash(_("Removed from the certificates; they are being rendered again."), "success")
    return redirect(url_for("staff.certificates_page", workshop_id=workshop.id))
