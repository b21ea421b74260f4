"""Security headers on every response, and input no database can store refused at the door.

The Content-Security-Policy allows only this origin: every script, style and font
is served from static/ (nothing from a CDN). The scanner's QR decoder runs in a
worker made from a blob: URL, and QR images and the camera use data:/blob: URLs.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import BadRequest


class RefusedInput(BadRequest):
    """A 400 whose description is written for the person (in their language)."""


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# The only responses a browser or a proxy may keep: the same for every visitor, nothing personal.
# Everything else (tickets, survey links, personal data downloads, check-in, every staff page and
# download, the API's people) is "no-store", so a shared phone or an office proxy keeps no copy.
PUBLIC_ENDPOINTS = frozenset(
    {
        "static",
        "public.index",
        "public.workshop",
        "public.workshop_calendar",
        "public.privacy",
        "checkin.service_worker",  # the scanner's script, the same for everyone ("no-cache")
        "api_workshops.list_workshops",
        "api_workshops.get_workshop",
        "api-docs.openapi_json",
    }
)


# The scanner's own pages name nobody (the roster comes from the API): the service worker keeps them
# so the door keeps working when the venue Wi-Fi drops. "private, no-cache": only this browser keeps
# them, asking the server first when it can; Clear-Site-Data at sign-out or a dead link removes them.
SCANNER_PAGES = frozenset({"checkin.choose_workshop", "checkin.choose_session", "checkin.scanner"})


def _may_be_stored(response) -> bool:
    if request.endpoint not in PUBLIC_ENDPOINTS:
        return False
    # A signed-in staff member's copy of a public page carries their name in its header.
    return response.mimetype != "text/html" or not current_user.is_authenticated


def _has_nul_character() -> bool:
    if "\x00" in request.path:
        return True
    for values in (request.args, request.form):
        if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
            return True
    if request.is_json:
        try:
            return _holds_nul(request.get_json(silent=True))
        except RecursionError:  # "[[[[…": json gives up with RecursionError, not ValueError
            raise RefusedInput(_("The data you sent is nested too deeply to read.")) from None
    return False


def _holds_nul(value) -> bool:  # recursion is bounded: json.loads refuses deeper nesting first
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def register(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters():
        # PostgreSQL text cannot hold NUL characters: refuse them in words, not with a 500.
        if _has_nul_character():
            raise RefusedInput(
                _(
                    "The text you sent contains a NUL character, which cannot be stored. "
                    "Remove it and try again."
                )
            )

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        if request.is_secure:  # behind HTTPS (a proxy sets X-Forwarded-Proto; see ProxyFix)
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint in SCANNER_PAGES:
            headers["Cache-Control"] = "private, no-cache"
        elif not _may_be_stored(response):  # over what a view set (send_file's "no-cache" keeps a copy)
            headers["Cache-Control"] = "no-store, private"
        return response
