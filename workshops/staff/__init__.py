from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from . import accounts, certificates, places, registrations, sign_in_sheets, surveys, views  # noqa: E402,F401
