"""Places to map: the free-text places no division was found for, mapped once by a coordinator."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..auth.permissions import SCHEDULERS, programme_for_staff, requires_role, workshop_for_staff
from ..extensions import db
from ..forms import apply_errors
from ..models import Workshop
from ..models.i18n import current_language
from ..services import places
from ..services.errors import InvalidInput
from . import bp


def _page(title: str, workshop_ids: list[int], back: str, status: int = 200, form=None):
    return render_template(
        "staff/places.html",
        title=title,
        back=back,
        unmapped=places.unmapped(workshop_ids),
        choices=places.mapping_choices(current_language()),
        form=form or FlaskForm(),
    ), status


def _map(workshop_ids: list[int], title: str, back: str):
    """Map one text (the row's form) and come back to the list, or show why not."""
    form = FlaskForm()
    if not form.validate_on_submit():
        return _page(title, workshop_ids, back, 400, form)
    text, code = request.form.get("text", ""), request.form.get("place_code", "")
    try:
        changed = places.map_text(text, code, workshop_ids, current_user)
    except InvalidInput as error:
        apply_errors(form, error)
        return _page(title, workshop_ids, back, 422, form)
    place = places.full_label(code, current_language())
    if current_user.programme_limits:  # mapped here only: no alias for every programme (places.map_text)
        message = ngettext(
            "%(num)d registration now shows %(place)s.",
            "%(num)d registrations now show %(place)s.",
            changed,
            place=place,
        )
    else:
        message = ngettext(
            "%(num)d registration now shows %(place)s; the same text will map by itself from now on.",
            "%(num)d registrations now show %(place)s; the same text will map by itself from now on.",
            changed,
            place=place,
        )
    flash(message, "success")
    return redirect(request.path)


@bp.route("/workshops/<int:workshop_id>/places", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def workshop_places(workshop_id: int):
    workshop = workshop_for_staff(workshop_id)
    back = url_for("staff.registrations_list", workshop_id=workshop.id)
    if request.method == "POST":
        return _map([workshop.id], workshop.title, back)
    return _page(workshop.title, [workshop.id], back)


@bp.route("/programmes/<int:programme_id>/places", methods=["GET", "POST"])
@requires_role(*SCHEDULERS)
def programme_places(programme_id: int):
    programme = programme_for_staff(programme_id)
    ids = list(db.session.scalars(select(Workshop.id).where(Workshop.programme_id == programme.id)))
    back = url_for("staff.programme_report", programme_id=programme.id)
    if request.method == "POST":
        return _map(ids, programme.name, back)
    return _page(programme.name, ids, back)
