"""Staff pages for a workshop's registrations: list, decisions, walk-ins, import, export."""

from __future__ import annotations

from typing import assert_never

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..auth.permissions import SCHEDULERS, requires_role, workshop_for_staff
from ..extensions import db
from ..forms import apply_errors, select_choices
from ..models import (
    AttendanceMode,
    Job,
    JobKind,
    JobStatus,
    OrganisationType,
    Registration,
    RegistrationStatus,
    Session,
    Workshop,
)
from ..models.i18n import current_language
from ..registration.forms import ApplicantFields, WalkInForm
from ..routing import MAX_ID
from ..services import announcements, downloads, exports, meeting_reports, nominations, roster, walk_ins
from ..services import badges as badge_service
from ..services import registration as registrations
from ..services.errors import InvalidInput, NotAllowed, ServiceError
from ..services.walk_ins import WalkInOutcome
from ..urls import safe_next
from . import bp
from .background_downloads import made_in_background
from .forms import AnnouncementForm, ImportForm, MeetingReportForm, ReasonForm


def _registration(workshop_id: int, registration_id: int) -> Registration:
    workshop = workshop_for_staff(workshop_id)
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.workshop_id != workshop.id:
        abort(404)
    return registration


def _back(workshop_id: int):
    default = url_for("staff.registrations_list", workshop_id=workshop_id)
    return redirect(safe_next(request.form.get("next"), default))


@bp.route("/workshops/<int:workshop_id>/registrations")
@login_required
def registrations_list(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    wanted = roster.RosterFilter.from_args(request.args)
    return render_template(
        "staff/registrations.html",
        workshop=workshop,
        rows=roster.registrations(workshop, wanted),
        counts=roster.counts(workshop),
        cities=roster.place_options(workshop, current_language()),
        wanted=wanted,
        statuses=RegistrationStatus.choices(),
        modes=[(m, AttendanceMode(m).label) for m in workshop.modes],
        organisation_types=OrganisationType.choices(),
        action_form=FlaskForm(),
        reason_form=ReasonForm(),
    )


def _decide(workshop_id: int, registration_id: int, decision, success: str):
    registration = _registration(workshop_id, registration_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        decision(registration)
    except (InvalidInput, NotAllowed) as error:
        flash(error.message, "error")
    else:
        flash(success, "success")
    return _back(workshop_id)


@bp.route("/workshops/<int:workshop_id>/registrations/<int:registration_id>/approve", methods=["POST"])
@requires_role(*SCHEDULERS)
def approve_registration(workshop_id: int, registration_id: int):
    return _decide(
        workshop_id, registration_id, lambda r: registrations.approve(r, current_user), _("Approved.")
    )


@bp.route("/workshops/<int:workshop_id>/registrations/<int:registration_id>/reject", methods=["POST"])
@requires_role(*SCHEDULERS)
def reject_registration(workshop_id: int, registration_id: int):
    reason = request.form.get("reason", "")
    return _decide(
        workshop_id,
        registration_id,
        lambda r: registrations.reject(r, current_user, reason),
        _("Declined; the person has been emailed."),
    )


@bp.route("/workshops/<int:workshop_id>/registrations/<int:registration_id>/cancel", methods=["POST"])
@requires_role(*SCHEDULERS)
def cancel_registration(workshop_id: int, registration_id: int):
    reason = request.form.get("reason", "")
    return _decide(
        workshop_id,
        registration_id,
        lambda r: registrations.cancel(r, current_user, reason),
        _("Registration cancelled."),
    )


@bp.route("/workshops/<int:workshop_id>/registrations/spam", methods=["POST"])
@requires_role(*SCHEDULERS)
def cancel_as_spam(workshop_id: int):
    """Many registrations cancelled as spam in one action (a seat filler's or a mail-bomber's)."""
    workshop = workshop_for_staff(workshop_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    # Only ids a registration can have: ASCII digits ("²" is a digit to str.isdigit) within the
    # database's integers; anything else cannot name one of this workshop's registrations.
    ids = [
        int(value)
        for value in request.form.getlist("registration")
        if value.isascii() and value.isdigit() and len(value) <= 12 and 0 < int(value) <= MAX_ID
    ]
    try:
        count = registrations.cancel_as_spam(workshop, ids, current_user)
    except (InvalidInput, NotAllowed) as error:
        flash(error.message, "error")
    else:
        flash(
            ngettext(
                "%(num)d registration cancelled as spam; no email was sent.",
                "%(num)d registrations cancelled as spam; no email was sent.",
                count,
            ),
            "success",
        )
    return _back(workshop_id)


@bp.route("/workshops/<int:workshop_id>/registrations/<int:registration_id>/move-up", methods=["POST"])
@requires_role(*SCHEDULERS)
def move_up_registration(workshop_id: int, registration_id: int):
    return _decide(
        workshop_id,
        registration_id,
        lambda r: registrations.move_up(r, current_user),
        _("Moved up from the waiting list and emailed."),
    )


@bp.route("/workshops/<int:workshop_id>/registrations/<int:registration_id>/resend", methods=["POST"])
@requires_role(*SCHEDULERS)
def resend_registration(workshop_id: int, registration_id: int):
    return _decide(
        workshop_id,
        registration_id,
        lambda r: registrations.resend_confirmation(r, current_user),
        _("Email queued again."),
    )


@bp.route("/workshops/<int:workshop_id>/registrations/<int:registration_id>/mode", methods=["POST"])
@requires_role(*SCHEDULERS)
def switch_registration_mode(workshop_id: int, registration_id: int):
    """A coordinator changes how someone attends, also once the workshop has started (audited)."""
    mode = request.form.get("mode", "")
    return _decide(
        workshop_id,
        registration_id,
        lambda r: registrations.switch_mode(r, mode, current_user),
        _("Attendance mode changed."),
    )


@bp.route("/workshops/<int:workshop_id>/registrations/<int:registration_id>", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def edit_registration(workshop_id: int, registration_id: int):
    registration = _registration(workshop_id, registration_id)
    form = ApplicantFields(obj=registration)
    form.show_place(registration)
    form.set_language_choices(registration.language)
    if form.validate_on_submit():
        try:
            registrations.update_details(registration, form.applicant(), current_user)
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            flash(_("Details saved."), "success")
            return redirect(url_for("staff.registrations_list", workshop_id=workshop_id))
    other_modes = [
        (m, AttendanceMode(m).label) for m in registration.workshop.modes if m != registration.mode
    ]
    return render_template(
        "staff/registration_form.html",
        workshop=registration.workshop,
        registration=registration,
        form=form,
        other_modes=other_modes if registration.is_active else [],
        action_form=FlaskForm(),
    )


def _walk_in_message(walk_in: walk_ins.WalkIn) -> tuple[str, str]:
    name = walk_in.registration.full_name
    match walk_in.outcome:
        case WalkInOutcome.REGISTERED:
            return _("%(name)s is registered.", name=name), "success"
        case WalkInOutcome.REGISTERED_AND_CHECKED_IN:
            return _("%(name)s is registered and checked in.", name=name), "success"
        case WalkInOutcome.WAITLISTED:
            return _("The seats of this mode are full: %(name)s is on the waiting list.", name=name), "error"
        case WalkInOutcome.ALREADY_REGISTERED:
            status = walk_in.registration.status.label
            return _("This email or mobile number is already registered (%(status)s).", status=status), "info"
        case WalkInOutcome.FOUND_AND_CHECKED_IN:
            return _("%(name)s was already registered, and is now checked in.", name=name), "success"
        case WalkInOutcome.ALREADY_CHECKED_IN:
            return _("%(name)s is already checked in.", name=name), "info"
        case WalkInOutcome.CONTACT_OF_SOMEONE_ELSE:
            message = _(
                "This email or mobile number is registered to %(name)s: check the name, or search for"
                " them on the scanner.",
                name=name,
            )
            return message, "error"
        case _:
            assert_never(walk_in.outcome)


@bp.route("/workshops/<int:workshop_id>/walk-in", methods=["GET", "POST"])
@login_required
def walk_in(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    # From the scanner page: register and check in at once.
    session_id = request.args.get("session_id", type=int) or 0
    session = db.session.get(Session, session_id) if 0 < session_id <= MAX_ID else None
    if session is not None and session.workshop_id != workshop.id:
        abort(404)  # a link to another workshop's session (the service refuses it too)
    form = WalkInForm()
    form.set_mode_choices(workshop)
    form.set_language_choices(walk_ins.default_language(workshop, current_language()))
    if form.validate_on_submit():
        try:
            admitted = walk_ins.admit_walk_in(workshop, form.applicant(), current_user, session)
        except InvalidInput as error:
            apply_errors(form, error)
        except NotAllowed as error:
            flash(error.message, "error")
        else:
            flash(*_walk_in_message(admitted))
            if session is not None:
                return redirect(url_for("checkin.scanner", workshop_id=workshop.id, session_id=session.id))
            return redirect(url_for("staff.walk_in", workshop_id=workshop.id))
    return render_template("staff/walk_in.html", workshop=workshop, form=form, session=session)


@bp.route("/workshops/<int:workshop_id>/registrations/<int:registration_id>/rotate-ticket", methods=["POST"])
@requires_role(*SCHEDULERS)
def rotate_ticket(workshop_id: int, registration_id: int):
    return _decide(
        workshop_id,
        registration_id,
        lambda r: registrations.rotate_ticket(r, current_user),
        _("A new ticket was issued and emailed; the old QR code and links no longer work."),
    )


@bp.route("/workshops/<int:workshop_id>/badges.pdf", methods=["GET", "POST"])
@login_required
def badges(workshop_id: int):
    """A small workshop's badges at once; a large one's by a background job (asked by POST)."""
    workshop = workshop_for_staff(workshop_id)
    if badge_service.made_in_background(workshop):
        if request.method == "GET" or not FlaskForm().validate_on_submit():
            flash(
                _("So many badges are made in the background: press “Name badges (PDF)” on this page."),
                "error",
            )
            return redirect(url_for("staff.registrations_list", workshop_id=workshop.id))
        job = badge_service.queue_badges(workshop, current_user)
        return redirect(url_for("staff.job", job_id=job.id))
    return _badges_pdf(workshop, badge_service.badge_sheet(workshop, current_user))


def _badges_pdf(workshop: Workshop, body: bytes) -> Response:
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="badges-workshop-{workshop.id}.pdf"'},
    )


@bp.route("/workshops/<int:workshop_id>/badges/<int:job_id>.pdf")
@login_required
def badges_download(workshop_id: int, job_id: int):
    workshop = workshop_for_staff(workshop_id)
    job = db.session.get(Job, job_id)
    if job is None or job.workshop_id != workshop.id or job.kind != JobKind.BADGES:
        abort(404)
    body = badge_service.made_pdf(job)
    if body is None:  # not made yet, or dropped (a newer job, someone's data erased)
        flash(_("These badges are not ready, or no longer kept: make them again."), "error")
        return redirect(url_for("staff.registrations_list", workshop_id=workshop.id))
    return _badges_pdf(workshop, body)


@bp.route("/workshops/<int:workshop_id>/registrations/export.<fmt>", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def export_registrations(workshop_id: int, fmt: str):
    workshop = workshop_for_staff(workshop_id)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    language = exports.chosen_language(request.args.get("lang"))
    wanted = roster.RosterFilter.from_args(request.args)
    if downloads.too_many_rows(roster.count(workshop, wanted)):
        return made_in_background(
            downloads.TITLES[downloads.REGISTRATIONS],
            lambda: downloads.queue_registrations(workshop, fmt, current_user, wanted, language),
        )
    body = roster.export(workshop, fmt, current_user, wanted, language)
    return Response(
        body,
        mimetype=downloads.CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="registrations-workshop-{workshop.id}.{fmt}"'},
    )


@bp.route("/workshops/<int:workshop_id>/import", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def import_nominations(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            job = nominations.preview_import(workshop, upload.filename, upload.read(), current_user)
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            return redirect(url_for("staff.job", job_id=job.id))
    return render_template("staff/import.html", workshop=workshop, form=form), 422 if form.errors else 200


@bp.route("/workshops/<int:workshop_id>/message", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def announce(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    form = AnnouncementForm()
    form.mode.choices = select_choices(
        [("", _("Onsite and online"))] + [(m, AttendanceMode(m).label) for m in workshop.modes]
    )
    if form.validate_on_submit():
        fields = {
            name: (form[name].data or "").strip()
            for name in ("audience", "mode", "subject_en", "body_en", "subject_zh", "body_zh")
        }
        try:
            job = announcements.queue_announcement(
                workshop, announcements.Announcement(**fields), current_user
            )
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            return redirect(url_for("staff.job", job_id=job.id))
    return render_template("staff/announce.html", workshop=workshop, form=form), 422 if form.errors else 200


@bp.route("/workshops/<int:workshop_id>/meeting-report", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def meeting_report(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    form = MeetingReportForm()
    form.session_id.choices = select_choices((s.id, s.title) for s in workshop.sessions)
    if form.validate_on_submit():
        session = db.session.get(Session, form.session_id.data)
        upload = form.file.data
        try:
            job = meeting_reports.preview_report(
                workshop, session, upload.filename, upload.read(), form.min_minutes.data, current_user
            )
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            return redirect(url_for("staff.job", job_id=job.id))
    return render_template(
        "staff/meeting_report.html", workshop=workshop, form=form
    ), 422 if form.errors else 200


def _job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    if job.workshop_id is not None:
        workshop_for_staff(job.workshop_id)
    elif not current_user.can_schedule:
        abort(403)
    return job


# Jobs whose page the workshop's organisers see too: what they need at the door.
FOR_ORGANISERS = (JobKind.BADGES,)


def _job_to_watch(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is not None and job.kind == JobKind.EXPORT:
        # A download's job is its asker's, while the download would still be theirs (a report
        # reader's programme report too).
        if not downloads.may_download(job, current_user):
            abort(403)
        return job
    job = _job(job_id)
    if job.kind not in FOR_ORGANISERS and not current_user.can_schedule:
        abort(403)
    return job


@bp.route("/jobs/<int:job_id>")
@login_required
def job(job_id: int):
    job = _job_to_watch(job_id)
    if job.kind == JobKind.IMPORT and job.status == JobStatus.PREVIEW and job.workshop_id is not None:
        workshop = db.session.get(Workshop, job.workshop_id)
        return render_template(
            "staff/job.html",
            job=job,
            workshop=workshop,
            reports=nominations.row_reports(job),
            columns=nominations.preview_columns(job),
            fields=nominations.FIELD_LABELS,
            constant_choices=nominations.constant_choices(workshop),
            value_label=nominations.value_label,
            skip_reasons=nominations.SKIP_REASONS,
            action_form=FlaskForm(),
        )
    meeting = meeting_reports.preview_page(job) if job.kind == JobKind.MEETING_IMPORT else None
    return render_template(
        "staff/job.html",
        job=job,
        reports=[],
        meeting=meeting,
        action_form=FlaskForm(),
        download_title=downloads.title_of(job) if job.kind == JobKind.EXPORT else None,
    )


@bp.route("/jobs/<int:job_id>/download")
@login_required
def job_download(job_id: int):
    """The file a download job made, for the person who asked (checked again now)."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != JobKind.EXPORT:
        abort(404)
    if not downloads.may_download(job, current_user):
        abort(403)
    made = downloads.made_file(job)
    if made is None:  # not made yet, or dropped (a newer one, its time kept, someone's data erased)
        flash(_("This download is not ready, or no longer kept: ask for it again."), "error")
        return redirect(url_for("staff.job", job_id=job.id))
    return Response(
        made.data,
        mimetype=made.content_type,
        headers={"Content-Disposition": f'attachment; filename="{made.name}"'},
    )


@bp.route("/jobs/<int:job_id>/meeting-report", methods=["POST"])
@requires_role(*SCHEDULERS)
def meeting_report_decision(job_id: int):
    """The coordinator's corrections to a meeting report's preview: the columns of a layout that
    was not recognised, an unmatched row given to a person, a match left out or taken back."""
    job = _job(job_id)
    if job.kind != JobKind.MEETING_IMPORT:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    action = request.form.get("action", "")
    person = request.form.get("registration_id", type=int) or 0
    try:
        if action == "columns":
            columns = {name: request.form.get(name, "") for name in meeting_reports.FIELDS}
            meeting_reports.choose_columns(job, columns, current_user)
        elif action == "assign":
            key, who = request.form.get("key", ""), request.form.get("who", "")
            meeting_reports.assign(job, key, who, current_user)
        elif action in ("exclude", "include"):
            meeting_reports.exclude(job, person, current_user, left_out=action == "exclude")
        elif action == "unassign":
            meeting_reports.unassign(job, person, current_user)
        else:
            abort(400)
    except ServiceError as error:
        flash(error.message, "error")
    return redirect(url_for("staff.job", job_id=job.id))


@bp.route("/jobs/<int:job_id>/mapping", methods=["POST"])
@requires_role(*SCHEDULERS)
def remap_job(job_id: int):
    job = _job(job_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if job.kind != JobKind.IMPORT:
        abort(404)
    count = len(job.payload.get("headers", []))
    columns = [request.form.get(f"column-{index}", "") for index in range(count)]
    constants = {name: request.form.get(f"constant-{name}", "") for name in nominations.CONSTANT_FIELDS}
    try:
        nominations.remap_preview(job, columns, constants, current_user)
    except (InvalidInput, NotAllowed) as error:
        flash(error.message, "error")
    else:
        flash(_("Every row was checked again with these columns."), "success")
    return redirect(url_for("staff.job", job_id=job.id))


@bp.route("/jobs/<int:job_id>/progress")
@login_required
def job_progress(job_id: int):
    job = _job_to_watch(job_id)
    return {
        "status": job.status,
        "finished": job.finished,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "result": job.result,
    }


@bp.route("/jobs/<int:job_id>/confirm", methods=["POST"])
@requires_role(*SCHEDULERS)
def confirm_job(job_id: int):
    job = _job(job_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    confirm = {
        JobKind.IMPORT: nominations.confirm_import,
        JobKind.MEETING_IMPORT: meeting_reports.confirm_report,
    }.get(job.kind)
    if confirm is None:
        abort(404)
    try:
        if job.kind == JobKind.IMPORT and "notify_asked" in request.form:  # the preview's checkbox
            nominations.confirm_import(job, current_user, notify=request.form.get("notify") == "y")
        else:
            confirm(job, current_user)
    except ServiceError as error:
        flash(error.message, "error")
    return redirect(url_for("staff.job", job_id=job.id))
