"""Glue between WTForms and the services' rule errors."""

from __future__ import annotations

from flask import flash
from wtforms.fields.choices import SelectChoice

from .services.errors import InvalidInput


def apply_errors(form, error: InvalidInput) -> None:
    """Show a service's rule errors inline, next to the field they concern."""
    for name, message in error.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
        else:
            flash(message, "error")


def select_choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3+ wants them for a SelectField."""
    return [SelectChoice(value, label) for value, label in pairs]
