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
from ..routing import MAX_ID


def _signature(registration: Registration) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"confirm-contact:{registration.id}:{registration.manage_token}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")  # 192 bits


def confirmation_token(registration: Registration) -> str:
    return f"{registration.id}.{_signature(registration)}"


def registration_for_token(token: str) -> Registration | None:
    """The registration this link was made for, or None (malformed, forged, rotated, erased)."""
    token = token or ""
    registration_id, _, signature = token.partition(".")
    # ASCII only: "²" counts as a digit to str.isdigit, and compare_digest refuses non-ASCII text;
    # the id within the database's integers (a longer one is an error there, not a miss).
    if len(token) > 80 or not (token.isascii() and registration_id.isdigit()):
        return None
    if not 0 < int(registration_id) <= MAX_ID:
        return None
    registration = db.session.get(Registration, int(registration_id))
    if registration is None or not hmac.compare_digest(signature, _signature(registration)):
        return None
    return registration
