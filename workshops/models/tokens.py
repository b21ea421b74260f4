"""Secret tokens (tickets, ticket pages, check-in links, certificate codes) and how they are found.

A lookup by ``WHERE token = :given`` lets the database compare the secret, and the time a
comparison takes can tell an attacker how much of a guess was right. So the database only
matches the first characters (an indexed, non-secret selector) and the whole token is then
compared in constant time with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hmac
import secrets

from sqlalchemy import Index, func, literal_column

SELECTOR = 8  # characters the database matches: 48 bits, the other 208 are compared in constant time


def new_token() -> str:
    """An unguessable token: 32 bytes (256 bits), URL-safe."""
    return secrets.token_urlsafe(32)


def selector(column):
    """The indexed expression the database compares (constants inline, so the index is used)."""
    return func.substr(column, literal_column("1"), literal_column(str(SELECTOR)))


def selector_index(name: str, column) -> Index:
    return Index(name, selector(column))


def matches(column, token: str):
    """A WHERE clause finding the candidates for ``token`` (normally one row)."""
    return selector(column) == token[:SELECTOR]


def same(stored: str | None, given: str) -> bool:
    return stored is not None and hmac.compare_digest(stored.encode(), given.encode())


def pick(rows, attribute: str, token: str):
    """The row whose whole token equals ``token``, compared in constant time."""
    return next((row for row in rows if same(getattr(row, attribute), token)), None)


def well_formed(token: str | None) -> bool:
    return token is not None and SELECTOR <= len(token) <= 64
