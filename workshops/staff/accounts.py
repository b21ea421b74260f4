"""Staff accounts (admins only): who has one, and disabling or enabling them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.permissions import requires_role
from ..extensions import db
from ..models import Role, User
from ..services import users
from ..services.errors import NotAllowed
from . import bp


@bp.route("/users")
@requires_role(Role.ADMIN)
def staff_users():
    return render_template("staff/users.html", accounts=users.staff_accounts())


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
