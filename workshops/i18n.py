"""Language choice: the switcher's remembered choice, else the browser's Accept-Language."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session

# Babel finds Simplified Chinese only under this catalogue name: a zh_CN catalogue is never
# found for a browser asking for zh-CN or zh-Hans (measured with Flask-Babel 4).
CATALOGUES = {"en": "en", "zh": "zh_Hans_CN"}


def select_locale() -> str:
    if not has_request_context():  # CLI and workers: English unless told otherwise
        return "en"
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("language")
    if chosen not in languages:
        chosen = request.accept_languages.best_match(languages) or languages[0]
    return CATALOGUES.get(chosen, chosen)
