from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

TEXT_LENGTH = 100  # a registration's city holds 100 characters; normalising may lengthen one


class PlaceAlias(Base):
    """A free-text place a coordinator mapped to a division once (``services.places``): the same
    spelling in a later import or registration maps by itself. ``text`` is the text as
    ``places.normalise`` compares it (no spaces, lower case); one meaning everywhere (江苏常州 is
    Changzhou in every programme), so only an account that sees every programme writes one."""

    __tablename__ = "place_alias"

    text: Mapped[str] = mapped_column(String(TEXT_LENGTH), primary_key=True)
    place_code: Mapped[str] = mapped_column(String(6))
