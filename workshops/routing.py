"""URL converters shared by the HTML pages and the JSON API."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # database ids are PostgreSQL integers


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: database ids are PostgreSQL integers, so a bigger
    number matches no route (404) instead of failing in the database."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
