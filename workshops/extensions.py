"""Flask extensions, created here and bound to the app in ``create_app``."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from .models.base import Base

# Objects stay readable after a service commits (no reload per attribute);
# services that decide on fresh data lock and refresh explicitly.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
csrf = CSRFProtect()
mail = Mail()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
api = Api()


def init_celery(app: Flask) -> Celery:
    """Bind a Celery app to Flask so every task runs inside an app context.

    The same tasks run on Redis in production and on a server-less kombu
    transport (SQLAlchemy on SQLite) in the embedded default.
    """

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    from . import tasks

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    schedule = {name: dict(entry) for name, entry in tasks.BEAT_SCHEDULE.items()}
    schedule["stalled-jobs"]["schedule"] = float(app.config["JOB_SWEEP_SECONDS"])
    celery_app.conf.beat_schedule = schedule
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
