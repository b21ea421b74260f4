"""JSON API at /api/v1, documented by a generated OpenAPI document (flask-smorest)."""
from __future__ import annotations

from flask import Flask

from ..extensions import api, csrf


def register_api(app: Flask) -> None:
    from .workshops import blp as workshops_blp

    # The API is called by scripts and the scanner app, not by HTML forms.
    csrf.exempt(workshops_blp)
    api.register_blueprint(workshops_blp, url_prefix="/api/v1/workshops")
