"""Staff pages: the dashboard, scheduling workshops and their agenda, programmes."""

from __future__ import annotations

from datetime import datetime as dt
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..auth.permissions import (
    REPORT_READERS,
    SCHEDULERS,
    programme_for_staff,
    requires_role,
    workshop_for_staff,
)
from ..extensions import db
from ..forms import apply_errors, select_choices
from ..models import AuditEvent, CheckInLink, Role, Session, User, Workshop
from ..models.base import utcnow
from ..services import catalogue, checkin_access, downloads, exports, reports, scheduling, sms, surveys, users
from ..services.change_notices import ChangeToTell
from ..services.errors import InvalidInput, NotAllowed
from . import bp
from .background_downloads import made_in_background
from .forms import (
    CancelForm,
    CheckInLinkForm,
    MoveForm,
    OrganisersForm,
    ProgrammeForm,
    SessionForm,
    WorkshopForm,
)


@bp.context_processor
def sms_notice() -> dict:
    """Where text messages go instead of being sent (the embedded default), for staff to see."""
    return {"sms_log_file": sms.log_file_notice()}


@bp.route("/")
@login_required
def dashboard():
    workshops = users.workshops_seen_by(current_user)
    # A report reader opens no workshop, only the feedback summary of those with a survey.
    summaries = surveys.with_survey(workshops) if current_user.role == Role.REPORTER else set()
    return render_template(
        "staff/dashboard.html",
        workshops=workshops,
        seats=catalogue.seats_left(workshops),
        summaries=summaries,
    )


def _programme_choices():
    """A coordinator limited to programmes chooses one of theirs (no "none": it is required)."""
    none = [] if current_user.programme_limits else [(0, _("— none —"))]
    programmes = users.programmes_seen_by(current_user)
    return select_choices(none + [(p.id, f"{p.code} · {p.name}") for p in programmes])


@bp.route("/workshops/new", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def new_workshop():
    form = WorkshopForm()
    form.programme_id.choices = _programme_choices()
    if form.validate_on_submit():
        try:
            workshop = scheduling.create_workshop(form.details(), current_user)
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            flash(_("Workshop saved as a draft. Add its sessions, then publish it."), "success")
            return redirect(url_for("staff.workshop", workshop_id=workshop.id))
    return render_template("staff/workshop_form.html", form=form, workshop=None)


@bp.route("/workshops/<int:workshop_id>")
@login_required
def workshop(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    organisers = OrganisersForm(organisers=[u.id for u in users.organisers_of(workshop)])
    organisers.organisers.choices = _organiser_choices()
    return render_template(
        "staff/workshop.html",
        workshop=workshop,
        seats=catalogue.seats_left([workshop])[workshop.id],
        session_form=SessionForm(),
        organisers_form=organisers,
        cancel_form=CancelForm(),
        action_form=FlaskForm(),
        link_form=CheckInLinkForm(),
        move_form=MoveForm(starts_at=workshop.starts_at.astimezone(workshop.zone).replace(tzinfo=None)),
        links=_links(workshop),
        by_name=checkin_access.checkins_by_name(workshop),
    )


def _links(workshop):
    query = (
        select(CheckInLink)
        .where(
            CheckInLink.workshop_id == workshop.id,
            CheckInLink.revoked_at.is_(None),
            CheckInLink.expires_at > utcnow(),
        )
        .order_by(CheckInLink.created_at.desc())
    )
    return list(db.session.scalars(query))


@bp.route("/workshops/<int:workshop_id>/checkin-links", methods=["POST"])
@requires_role(*SCHEDULERS)
def create_checkin_link(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    form = CheckInLinkForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    else:
        try:
            checkin_access.create_link(
                workshop, form.label.data or "", utcnow() + timedelta(hours=form.hours.data), current_user
            )
        except InvalidInput as error:
            flash(error.message, "error")
        else:
            flash(_("Check-in link created. Share it only with the volunteer who scans."), "success")
    return redirect(url_for("staff.workshop", workshop_id=workshop.id) + "#checkin-links")


@bp.route("/workshops/<int:workshop_id>/checkin-links/<int:link_id>/revoke", methods=["POST"])
@requires_role(*SCHEDULERS)
def revoke_checkin_link(workshop_id: int, link_id: int):
    workshop = workshop_for_staff(workshop_id)
    link = db.session.get(CheckInLink, link_id)
    if link is None or link.workshop_id != workshop.id:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    checkin_access.revoke_link(link, current_user)
    flash(_("The link no longer works."), "success")
    return redirect(url_for("staff.workshop", workshop_id=workshop.id) + "#checkin-links")


@bp.route("/workshops/<int:workshop_id>/edit", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def edit_workshop(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    form = WorkshopForm(obj=workshop)
    form.programme_id.choices = _programme_choices()
    if not form.is_submitted():
        for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
            value = workshop.local(getattr(workshop, name))
            getattr(form, name).data = value.replace(tzinfo=None) if value else None
        form.programme_id.data = workshop.programme_id or 0
    if form.validate_on_submit():
        try:
            scheduling.update_workshop(workshop, form.details(), current_user, notify=_notify_choice())
        except InvalidInput as error:
            apply_errors(form, error)
        except ChangeToTell as question:
            return _ask_whether_to_notify(workshop, question)
        else:
            flash(_saved(), "success")
            return redirect(url_for("staff.workshop", workshop_id=workshop.id))
    return render_template("staff/workshop_form.html", form=form, workshop=workshop)


# Saving a published workshop's new time, place or meeting link asks first whether to tell the
# people registered: the same form comes back with the coordinator's answer (notify=yes|no).
def _notify_choice() -> bool | None:
    return {"yes": True, "no": False}.get(request.form.get("notify", ""))


def _saved() -> str:
    if _notify_choice():
        return _("Changes saved. The people registered are being told.")
    return _("Changes saved.")


def _ask_whether_to_notify(workshop, question: ChangeToTell):
    """What would change and for how many people, with the form as sent, to save either way."""
    fields = [(name, value) for name, value in request.form.items(multi=True) if name != "notify"]
    return render_template(
        "staff/confirm_notify.html",
        workshop=workshop,
        notice=question.notice,
        people=question.people,
        fields=fields,
    )


@bp.route("/workshops/<int:workshop_id>/move", methods=["POST"])
@requires_role(*SCHEDULERS)
def move_workshop(workshop_id: int):
    """Move the whole workshop to a new start; its sessions and registration window follow."""
    workshop = workshop_for_staff(workshop_id)
    form = MoveForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for("staff.workshop", workshop_id=workshop.id) + "#move")
    try:
        scheduling.move_workshop(
            workshop, form.new_start(workshop.timezone), current_user, notify=_notify_choice()
        )
    except (InvalidInput, NotAllowed) as error:
        flash(error.message, "error")
        return redirect(url_for("staff.workshop", workshop_id=workshop.id) + "#move")
    except ChangeToTell as question:
        return _ask_whether_to_notify(workshop, question)
    flash(_saved(), "success")
    return redirect(url_for("staff.workshop", workshop_id=workshop.id))


@bp.route("/workshops/<int:workshop_id>/duplicate", methods=["POST"])
@requires_role(*SCHEDULERS)
def duplicate_workshop(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    copy = scheduling.duplicate_workshop(workshop, current_user)
    flash(_("A draft copy was made. Change its dates, then publish it."), "success")
    return redirect(url_for("staff.edit_workshop", workshop_id=copy.id))


@bp.route("/workshops/<int:workshop_id>/publish", methods=["POST"])
@requires_role(*SCHEDULERS)
def publish_workshop(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        scheduling.publish_workshop(workshop, current_user)
    except NotAllowed as error:
        flash(error.message, "error")
    else:
        flash(_("The workshop is published and open on the public list."), "success")
    return redirect(url_for("staff.workshop", workshop_id=workshop.id))


@bp.route("/workshops/<int:workshop_id>/cancel", methods=["POST"])
@requires_role(*SCHEDULERS)
def cancel_workshop(workshop_id: int):
    """Two steps: the reason typed, then a page saying how many people will be told, whose
    button (``confirmed``) cancels. No undo is offered."""
    workshop = workshop_for_staff(workshop_id)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    reason_en, reason_zh = form.reason_en.data or "", form.reason_zh.data or ""
    try:
        if form.confirmed.data != "yes":
            scheduling.check_cancellation(workshop, reason_en, reason_zh)
        else:
            told = scheduling.cancel_workshop(workshop, current_user, reason_en, reason_zh)
    except InvalidInput as error:
        apply_errors(form, error)
        return _cancel_page(workshop, form, 422)
    except NotAllowed as error:
        flash(error.message, "error")
        return redirect(url_for("staff.workshop", workshop_id=workshop.id))
    if form.confirmed.data != "yes":
        form.confirmed.data = "yes"
        return _cancel_page(workshop, form, 200)
    flash(
        ngettext(
            "The workshop is cancelled; %(num)d person is being told.",
            "The workshop is cancelled; %(num)d people are being told.",
            told,
        ),
        "success",
    )
    return redirect(url_for("staff.workshop", workshop_id=workshop.id))


def _cancel_page(workshop: Workshop, form: CancelForm, status: int):
    page = render_template(
        "staff/cancel_workshop.html", workshop=workshop, form=form, told=scheduling.people_to_tell(workshop)
    )
    return page, status


@bp.route("/workshops/<int:workshop_id>/sessions", methods=["POST"])
@requires_role(*SCHEDULERS)
def add_session(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    form = SessionForm()
    if form.validate_on_submit():
        try:
            scheduling.add_session(
                workshop, form.details(workshop.timezone), current_user, notify=_notify_choice()
            )
        except InvalidInput as error:
            apply_errors(form, error)
        except ChangeToTell as question:
            return _ask_whether_to_notify(workshop, question)
        else:
            flash(_("Session added."), "success")
            return redirect(url_for("staff.workshop", workshop_id=workshop.id))
    return _render_session_form(workshop, form, None), 422


def _session_of(workshop_id: int, session_id: int) -> Session:
    workshop = workshop_for_staff(workshop_id)
    session = db.session.get(Session, session_id)
    if session is None or session.workshop_id != workshop.id:
        abort(404)
    return session


def _render_session_form(workshop, form, session):
    return render_template("staff/session_form.html", workshop=workshop, form=form, session=session)


@bp.route("/workshops/<int:workshop_id>/sessions/<int:session_id>", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def edit_session(workshop_id: int, session_id: int):
    session = _session_of(workshop_id, session_id)
    workshop = session.workshop
    form = SessionForm(obj=session)
    if not form.is_submitted():
        form.starts_at.data = workshop.local(session.starts_at).replace(tzinfo=None)
        form.ends_at.data = workshop.local(session.ends_at).replace(tzinfo=None)
    if form.validate_on_submit():
        try:
            scheduling.update_session(
                session, form.details(workshop.timezone), current_user, notify=_notify_choice()
            )
        except InvalidInput as error:
            apply_errors(form, error)
        except ChangeToTell as question:
            return _ask_whether_to_notify(workshop, question)
        else:
            flash(_("Session saved."), "success")
            return redirect(url_for("staff.workshop", workshop_id=workshop.id))
    return _render_session_form(workshop, form, session)


@bp.route("/workshops/<int:workshop_id>/sessions/<int:session_id>/delete", methods=["POST"])
@requires_role(*SCHEDULERS)
def delete_session(workshop_id: int, session_id: int):
    session = _session_of(workshop_id, session_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        scheduling.delete_session(session, current_user, notify=_notify_choice())
    except ChangeToTell as question:
        return _ask_whether_to_notify(db.session.get(Workshop, workshop_id), question)
    flash(_("Session removed."), "success")
    return redirect(url_for("staff.workshop", workshop_id=workshop_id))


def _organiser_choices():
    organisers = db.session.scalars(select(User).where(User.role == Role.ORGANISER).order_by(User.email))
    return select_choices((u.id, f"{u.name} <{u.email}>" if u.name else u.email) for u in organisers)


@bp.route("/workshops/<int:workshop_id>/organisers", methods=["POST"])
@requires_role(*SCHEDULERS)
def assign_organisers(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    form = OrganisersForm()
    form.organisers.choices = _organiser_choices()
    if not form.validate_on_submit():
        flash(_("Choose organisers from the list."), "error")
    else:
        # Nothing selected means: no organisers any more.
        chosen = [db.session.get(User, user_id) for user_id in form.organisers.data or []]
        users.assign_organisers(workshop, chosen, current_user)
        flash(_("Organisers updated."), "success")
    return redirect(url_for("staff.workshop", workshop_id=workshop.id))


@bp.route("/programmes")
@requires_role(*REPORT_READERS)
def programmes():
    return render_template("staff/programmes.html", programmes=users.programmes_seen_by(current_user))


@bp.route("/programmes/new", methods=["GET", "POST"])
@bp.route("/programmes/<int:programme_id>", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def programme_form(programme_id: int | None = None):
    programme = programme_for_staff(programme_id) if programme_id else None
    if programme is None and current_user.programme_limits:
        abort(403)  # a coordinator limited to programmes works within them, and makes no new one
    form = ProgrammeForm(obj=programme)
    if form.validate_on_submit():
        try:
            scheduling.save_programme(form.details(), current_user, programme)
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            flash(_("Programme saved."), "success")
            return redirect(url_for("staff.programmes"))
    return render_template("staff/programme_form.html", form=form, programme=programme)


def _report_period():
    """Optional ?from=YYYY-MM-DD&to=YYYY-MM-DD (inclusive), in the programme's display zone."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    bounds = []
    for name, extra in (("from", 0), ("to", 1)):
        value = request.args.get(name, "")
        try:
            day = dt.strptime(value, "%Y-%m-%d").replace(tzinfo=zone) if value else None
            # Years a programme can have (9999-12-31 + 1 day, or 0001-01-01 in UTC, overflow).
            if day is not None and not 2000 <= day.year <= 2999:
                raise ValueError(value)
        except ValueError:
            day = None
            flash(_("Dates look like 2026-03-31."), "error")
        bounds.append(day + timedelta(days=extra) if day else None)
    return bounds


@bp.route("/programmes/<int:programme_id>/report")
@bp.route("/programmes/<int:programme_id>/report.<fmt>", methods=["GET", "POST"])
@requires_role(*REPORT_READERS)
def programme_report(programme_id: int, fmt: str = "html"):
    programme = programme_for_staff(programme_id)
    if fmt not in ("html", "xlsx", "pdf"):
        abort(404)
    start, end = _report_period()
    # The PDF goes upward as it is: bilingual unless one language is asked for.
    asked = request.args.get("lang")
    language = exports.chosen_language(asked) if asked or fmt == "xlsx" else "both"
    if fmt == "pdf" and downloads.report_pdf_in_background(programme):
        return made_in_background(
            downloads.TITLES[downloads.PROGRAMME_REPORT],
            lambda: downloads.queue_report_pdf(
                programme, start, end, current_user, not current_user.can_schedule, language
            ),
        )
    report = reports.programme_report(
        programme, start, end, author=current_user, aggregates_only=not current_user.can_schedule
    )
    if fmt == "html":
        return render_template(
            "staff/programme_report.html",
            **report,
            header_lines=reports.header_lines(report),
            args=request.args,
        )
    body = (
        reports.report_xlsx(report, current_user, language)
        if fmt == "xlsx"
        else reports.report_pdf(report, current_user, language)
    )
    mimetype = (
        "application/pdf"
        if fmt == "pdf"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="programme-{programme.code}-report.{fmt}"'},
    )


@bp.route("/audit")
@requires_role(Role.ADMIN)
def audit_log():
    """Who did what to whom, newest first (admins only); filter by action or actor."""
    action = (request.args.get("action") or "").strip()[:60]
    actor = (request.args.get("actor") or "").strip()[:254]
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(300)
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    if actor:
        query = query.join(User, AuditEvent.actor_id == User.id).where(User.email == actor.lower())
    return render_template(
        "staff/audit.html", events=db.session.scalars(query).all(), action=action, actor=actor
    )
