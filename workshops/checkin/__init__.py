from flask import Blueprint

bp = Blueprint("checkin", __name__, url_prefix="/checkin")

from . import views  # noqa: E402,F401
