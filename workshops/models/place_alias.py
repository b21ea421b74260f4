from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class PlaceAlias(Base):
    """A free-text place a coordinator mapped to a division once (``services.places``): the same
    spelling in a later import or registration maps by itself. ``text`` is the text as
    ``places.normalise`` compares it (no spaces, lower case); one meaning everywhere (江苏常州 is
    Changzhou in every programme)."""

    __tablename__ = "place_alias"

    text: Mapped[str] = mapped_column(String(100), primary_key=True)
    place_code: Mapped[str] = mapped_column(String(6))
