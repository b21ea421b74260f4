"""Personal survey links: the registration's id signed with the app's secret (HMAC).

A link needs no row of its own, works for every survey the person is invited to, and
cannot be guessed from another person's link. The outbox (which writes the invitations)
and the survey pages both use it, so it sits below both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app

from ..extensions import db
from ..models import Registration


def _signature(registration_id: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"survey:{registration_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")  # 192 bits


def survey_token(registration: Registration) -> str:
    return f"{registration.id}.{_signature(registration.id)}"


def registration_for_token(token: str) -> Registration | None:
    registration_id, _, signature = (token or "").partition(".")
    if not registration_id.isdigit() or len(token) > 80:
        return None
    if not hmac.compare_digest(signature, _signature(int(registration_id))):
        return None
    return db.session.get(Registration, int(registration_id))
