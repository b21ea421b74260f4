from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter
from ..forms import apply_errors
from ..services import users
from ..services.errors import InvalidInput
from ..urls import safe_next
from . import bp
from .forms import LoginForm, PasswordChangeForm
from .permissions import forget_on_this_browser


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        if request.args.get("switch") != "1":
            return redirect(url_for("staff.dashboard"))
        logout_user()  # from a 403 page: sign in as someone else
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Wrong email or password."))
        else:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next"), url_for("staff.dashboard")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return forget_on_this_browser(redirect(url_for("public.index")))  # a door's phone forgets the roster


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            users.change_password(current_user, form.current_password.data, form.new_password.data)
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("staff.dashboard"))
    return render_template("auth/password.html", form=form)
