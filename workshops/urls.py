"""Links: absolute URLs for emails and QR codes, and safe redirect targets."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: never send a user to another host after a redirect."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default


def external_url(endpoint: str, **values) -> str:
    """An absolute link on BASE_URL, the same inside a request, a worker or a command."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
