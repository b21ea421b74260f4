from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.config import COOKIE_NAME

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
    switched = False
    if current_user.is_authenticated:
        if request.args.get("switch") != "1":
            return redirect(url_for("staff.dashboard"))
        users.sign_out(current_user)
        logout_user()  # from a 403 page: sign in as someone else
        switched = True
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = users.authenticate(form.email.data, form.password.data)
        except users.SignInRefused as refused:
            form.password.errors.append(refused.message)
        else:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next"), url_for("staff.dashboard")))
    page = render_template("auth/login.html", form=form)
    # Someone else signs in on this phone next: it keeps nothing of the one who left.
    return forget_on_this_browser(make_response(page)) if switched else page


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        users.sign_out(current_user)  # every copy of the session cookie ends too
    logout_user()
    flash(_("You are signed out."), "info")
    return forget_on_this_browser(redirect(url_for("public.index")))  # a door's phone forgets the roster


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            users.change_password(user, form.current_password.data, form.new_password.data)
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            # Every other session ended with the old token; this one goes on with the new one.
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies
            login_user(user, remember=remembered)
            flash(_("Your password has been changed. You are signed out on every other device."), "success")
            return redirect(url_for("staff.dashboard"))
    return render_template("auth/password.html", form=form)


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    """A lost phone, a shared computer: every session of the account ends, this one too
    (the form's CSRF token is checked for every POST by CSRFProtect)."""
    users.sign_out_everywhere(current_user)
    logout_user()
    flash(_("You are signed out on every device."), "info")
    return forget_on_this_browser(redirect(url_for("public.index")))
