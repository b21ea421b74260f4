"""workshops: registration, check-in, feedback and certificates for capacity-building workshops.

``create_app`` builds the app. It imports the app's parts inside the function on purpose:
importing any submodule (``workshops.models`` in a migration, ``workshops.gunicorn_conf`` in
gunicorn's master process) runs this file first, and that must not load every blueprint,
service and WeasyPrint with it.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: settings from the environment, then ``test_config`` on top."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import cli, errors, formatting, security
    from .config import engine_options, load_config

    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(load_config(app.instance_path))
    if test_config:
        app.config.update(test_config)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    proxies = int(app.config.get("PROXY_FIX") or 0)  # True from a test's config is one proxy
    if proxies:
        # Behind nginx: the client address, scheme and host are what the last `proxies` hops
        # say. Without PROXY_FIX no X-Forwarded-* header is believed (anyone can send one).
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    _init_extensions(app)
    _register_blueprints(app)
    security.register(app)
    errors.register(app)
    formatting.register(app)
    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from . import models  # noqa: F401  (registers every table with the metadata)
    from .extensions import api, babel, csrf, db, init_celery, limiter, login_manager, mail, migrate
    from .i18n import select_locale
    from .models.user import load_with_assignments

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    init_celery(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.login_message = _l("Please sign in to see this page.")

    # The session and the remember cookie carry the account's session token (User.get_id), not
    # its id: a new token (sign-out, password change, disable) ends every copy of them.
    @login_manager.user_loader
    def load_user(session_token: str):
        return load_with_assignments(db.session, session_token)

    api.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from .api import register_api
    from .auth import bp as auth_bp
    from .certificates import bp as certificates_bp
    from .checkin import bp as checkin_bp
    from .public import bp as public_bp
    from .registration import bp as registration_bp
    from .routing import IdConverter
    from .staff import bp as staff_bp
    from .surveys import bp as surveys_bp

    app.url_map.converters["int"] = IdConverter
    for blueprint in (
        public_bp,
        auth_bp,
        registration_bp,
        staff_bp,
        checkin_bp,
        surveys_bp,
        certificates_bp,
    ):
        app.register_blueprint(blueprint)
    register_api(app)
