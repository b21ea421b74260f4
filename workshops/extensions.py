"""Flask extensions, created here and bound to the app in ``create_app``."""

from __future__ import annotations

from typing import ClassVar

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
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

# Named constraints let Alembic alter them (SQLite batch mode needs names too).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every model's base (workshops.models.base); its metadata is ``db.metadata``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model maps one table (no joined or polymorphic mappings): services write rows with
    # plain Core statements on it where the ORM's unit of work would cost more than it gives.
    __table__: ClassVar[Table]  # type: ignore[misc]


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


def beat_schedule(job_sweep_seconds: float, reminder_sweep_seconds: float = 300.0) -> dict[str, dict]:
    """What beat runs, and how often (seconds); tasks are named, so this module imports none.

    The entries keep their names across releases: beat's schedule file remembers when each ran
    last, and a renamed entry would start its wait again (the purge an hour late).
    """
    every = {
        "outbox-sweep": ("outbox.deliver", 10.0),  # kicks after each change deliver sooner
        "survey-invitations": ("surveys.invite", 300.0),
        "certificates-due": ("certificates.issue_due", 600.0),
        "worker-heartbeat": ("worker.heartbeat", 30.0),
        "stalled-jobs": ("jobs.resume_stalled", job_sweep_seconds),
        "waiting-lists": ("registrations.promote_waiting_lists", 300.0),
        "registration-holds": ("registrations.expire_holds", 60.0),  # seat decisions count them out anyway
        "retention-purge": ("privacy.purge_expired", 3600.0),  # import previews expire by the hour
        "reminders": ("reminders.send_due", reminder_sweep_seconds),  # out within minutes of its hour
    }
    return {entry: {"task": task, "schedule": seconds} for entry, (task, seconds) in every.items()}


def init_celery(app: Flask) -> Celery:
    """Bind a Celery app to Flask so every task runs inside an app context.

    The same tasks run on Redis in production and on a server-less kombu
    transport (SQLAlchemy on SQLite) in the embedded default.
    """

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    # The tasks themselves are declared with @shared_task in the services that own them.
    celery_app.conf.beat_schedule = beat_schedule(
        float(app.config["JOB_SWEEP_SECONDS"]), float(app.config.get("REMINDER_SWEEP_SECONDS", 300))
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
