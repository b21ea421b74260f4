"""Errors a user can cause, carrying messages in the user's language."""

from __future__ import annotations


class ServiceError(Exception):
    """A rule was broken; ``message`` is a (lazily) translated sentence for the user."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class InvalidInput(ServiceError):
    """Input broke one or more rules; ``errors`` maps field name -> message."""

    def __init__(self, errors: dict):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in errors.items()))
        self.message = next(iter(errors.values()))


class NotAllowed(ServiceError):
    """The action is not possible in the current state (e.g. publish a cancelled workshop)."""
