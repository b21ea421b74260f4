"""Links: absolute URLs for emails and QR codes, and safe redirect targets."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: never send a user to another host after a redirect."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default


def external_url(endpoint: str, **values) -> str:
    """An absolute link built on BASE_URL (works outside requests, e.g. in workers)."""
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)
