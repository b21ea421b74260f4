"""Bilingual columns: pick the reader's language, fall back to the other one."""

from __future__ import annotations

from flask_babel import get_locale


def current_language() -> str:
    """'zh' or 'en' for the request being served ('en' outside a request)."""
    try:
        locale = get_locale()
    except RuntimeError:
        return "en"
    return "zh" if locale is not None and locale.language == "zh" else "en"


class Bilingual:
    """Mixin for models with ``<field>_en`` / ``<field>_zh`` column pairs."""

    def localized(self, field: str, language: str | None = None) -> str:
        language = language or current_language()
        other = "en" if language == "zh" else "zh"
        return getattr(self, f"{field}_{language}") or getattr(self, f"{field}_{other}") or ""
