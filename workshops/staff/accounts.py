"""Staff accounts (admins only): who has one, creating them, their programme limits, and
disabling or enabling them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.permissions import requires_role
from ..extensions import db
from ..forms import apply_errors, select_choices
from ..models import Programme, Role, User
from ..services import users
from ..services.errors import InvalidInput, NotAllowed
from . import bp
from .forms import ProgrammeLimitsForm, StaffAccountForm


def _with_programmes(form):
    form.programmes.choices = select_choices(
        (p.id, f"{p.code} · {p.name}") for p in users.programmes_seen_by(current_user)
    )
    return form


def _account_form():
    form = _with_programmes(StaffAccountForm())
    form.role.choices = select_choices(Role.choices())
    return form


def _chosen_programmes(form) -> list[Programme]:
    chosen = (db.session.get(Programme, programme_id) for programme_id in form.programmes.data or [])
    return [p for p in chosen if p is not None]


def _page(form=None, status=200):
    accounts = users.staff_accounts()
    limits = {
        account.id: _with_programmes(
            ProgrammeLimitsForm(prefix=f"u{account.id}", programmes=[p.id for p in account.programmes])
        )
        for account in accounts
    }
    page = render_template(
        "staff/users.html",
        accounts=accounts,
        form=form or _account_form(),
        limits=limits,
        limitable=(Role.COORDINATOR, Role.REPORTER),
    )
    return page, status


@bp.route("/users")
@requires_role(Role.ADMIN)
def staff_users():
    return _page()


@bp.route("/users", methods=["POST"])
@requires_role(Role.ADMIN)
def create_user():
    form = _account_form()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        account = users.create_user(
            form.email.data,
            form.role.data,
            form.password.data,
            name=form.name.data or "",
            actor=current_user,
            programmes=_chosen_programmes(form),
        )
    except InvalidInput as error:
        apply_errors(form, error)
        return _page(form, 422)
    flash(_("%(email)s can sign in now.", email=account.email), "success")
    return redirect(url_for("staff.staff_users"))


@bp.route("/users/<int:user_id>/programmes", methods=["POST"])
@requires_role(Role.ADMIN)
def set_user_programmes(user_id: int):
    account = db.session.get(User, user_id)
    if account is None:
        abort(404)
    form = _with_programmes(ProgrammeLimitsForm(prefix=f"u{account.id}"))
    if not form.validate_on_submit():
        flash(_("Choose programmes from the list."), "error")
        return redirect(url_for("staff.staff_users"))
    try:
        users.set_programme_limits(account, _chosen_programmes(form), current_user)
    except InvalidInput as error:
        for message in error.errors.values():
            flash(message, "error")
    else:
        flash(_("The programmes %(email)s sees are saved.", email=account.email), "success")
    return redirect(url_for("staff.staff_users"))


def _set_disabled(user_id: int, disabled: bool):
    account = db.session.get(User, user_id)
    if account is None:
        abort(404)
    try:
        users.set_disabled(account, disabled, current_user)
    except NotAllowed as error:
        flash(error.message, "error")
    else:
        if disabled:
            flash(_("%(email)s is disabled and signed out everywhere.", email=account.email), "success")
        else:
            flash(_("%(email)s can sign in again.", email=account.email), "success")
    return redirect(url_for("staff.staff_users"))


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@requires_role(Role.ADMIN)
def disable_user(user_id: int):
    return _set_disabled(user_id, True)


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
@requires_role(Role.ADMIN)
def enable_user(user_id: int):
    return _set_disabled(user_id, False)
