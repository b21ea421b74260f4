"""Email confirmation links of unverified registrations: the registration's id signed with the app's
secret (HMAC), bound to its manage token.

The link proves that whoever follows it reads the mailbox the registration names, so it must not
be derivable from anything the registering browser sees (the ticket page's token): it is its own
signature. It needs no row of its own (nothing to erase); it stops working when the hold expires
or is confirmed (the registration is then no longer unverified) and when the ticket is rotated.
The outbox (which writes the email) and the registration service both use it, so it sits below both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app

from ..extensions import db
from ..models import Registration


def _signature(registration: Registration) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"confirm-contact:{registration.id}:{registration.manage_token}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")  # 192 bits


def confirmation_token(registration: Registration) -> str:
    return f"{registration.id}.{_signature(registration)}"


def registration_for_token(token: str) -> Registration | None:
    """The registration this link was made for, or None (malformed, forged, rotated, erased)."""
    registration_id, _, signature = (token or "").partition(".")
    if not registration_id.isdigit() or len(token) > 80:
        return None
    registration = db.session.get(Registration, int(registration_id))
    if registration is None or not hmac.compare_digest(signature, _signature(registration)):
        return None
    return registration
