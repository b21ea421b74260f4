"""JSON API at /api/v1, documented by a generated OpenAPI document (flask-smorest)."""

from __future__ import annotations

from flask import Flask

from ..extensions import api, csrf
from ..routing import IdConverter
from .certificates import blp as certificates_blp
from .checkin import blp as checkin_blp
from .registrations import blp as registrations_blp
from .surveys import blp as surveys_blp
from .workshops import blp as workshops_blp


def register_api(app: Flask) -> None:
    # The API is called by scripts and apps, not by HTML forms; its staff endpoints only read.
    for blueprint in (workshops_blp, registrations_blp):
        csrf.exempt(blueprint)
    api.register_converter(
        IdConverter,
        lambda converter: {"type": "integer", "minimum": 0, "maximum": converter.max, "format": "int32"},
    )
    api.register_blueprint(workshops_blp, url_prefix="/api/v1/workshops")
    api.register_blueprint(registrations_blp, url_prefix="/api/v1")
    # Check-in changes state under a staff or volunteer session: it keeps CSRF protection
    # (the scanner page sends the token in the X-CSRFToken header).
    api.register_blueprint(checkin_blp, url_prefix="/api/v1")
    api.register_blueprint(surveys_blp, url_prefix="/api/v1")
    api.register_blueprint(certificates_blp, url_prefix="/api/v1")
