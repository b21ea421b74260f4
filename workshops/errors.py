"""Error pages in the user's language; JSON for the API. A 500 is always a bug."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .security import RefusedInput
from .services.errors import InvalidInput


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _first_message(errors) -> str:
    """The first words in webargs' nested errors ({"query": {"gender": ["..."]}})."""
    if isinstance(errors, str):
        return errors
    values = errors.values() if isinstance(errors, dict) else errors if isinstance(errors, list) else ()
    for value in values:
        found = _first_message(value)
        if found:
            return found
    return ""


def _headers(error: HTTPException) -> list[tuple[str, str]]:
    """The error's own headers (a 405's Allow, a 429's Retry-After, smorest's ``abort(headers=)``),
    without its Content-Type: the body here is ours."""
    own = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    extra = (getattr(error, "data", None) or {}).get("headers") or {}
    return own + list(dict(extra).items())


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if _wants_json():
            return jsonify(
                code=400,
                status="Bad Request",
                message=_("The page has expired: reload it and try again (CSRF token missing or invalid)."),
            ), 400
        message = _(
            "This form has expired or was sent from another page. Go back, reload the page and try again."
        )
        return render_template(
            "errors/error.html", code=400, title=_("Please try again"), message=message
        ), 400

    @app.errorhandler(InvalidInput)
    def invalid_input(error: InvalidInput):
        # What a view did not turn into a form's errors (a filter in a link): a 400 in words.
        refused = RefusedInput(str(error.message))
        refused.data = {
            "message": str(error.message),
            "errors": {k: [str(v)] for k, v in error.errors.items()},
        }
        return http_error(refused)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if _wants_json():
            data = getattr(error, "data", None) or {}
            body = {
                "code": error.code,
                "status": error.name,
                "message": data.get("message", error.description),
            }
            # Field-by-field errors: ours ("errors") or webargs' schema validation ("messages").
            errors = data.get("errors") or data.get("messages")
            if errors:
                body["errors"] = errors
                if "message" not in data:  # webargs names no message: the first field's says it
                    body["message"] = _first_message(errors) or body["message"]
            return jsonify(body), error.code, _headers(error)
        titles = {
            400: _("Bad request"),
            403: _("You do not have access to this page"),
            404: _("Page not found"),
            405: _("Not allowed"),
            413: _("The file is too large"),
            429: _("Too many attempts"),
        }
        messages = {
            403: _("Sign in with an account that has access, or ask a coordinator for access."),
            404: _(
                "The page you asked for does not exist. Check the link, or start from the list of workshops."
            ),
            413: _("Upload a smaller file."),
            429: _("Please wait a minute and try again."),
        }
        message = error.description if isinstance(error, RefusedInput) else messages.get(error.code, "")
        return (
            render_template(
                "errors/error.html",
                code=error.code,
                title=titles.get(error.code, error.name),
                message=message,
            ),
            error.code,
            _headers(error),
        )
