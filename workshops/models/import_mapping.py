from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class ImportMapping(Base):
    """How a coordinator last mapped a nominations file: remembered for the programme's next
    workshop, or for the workshop itself when it belongs to no programme.

    ``columns`` maps a header, as ``services.nominations.header_key`` writes it, to the field
    it was read into ("" for a column left out); ``constants`` holds the values given to every
    row whose file had none (``{"mode": "online"}``).
    """

    __tablename__ = "import_mapping"
    __table_args__ = (CheckConstraint("(programme_id IS NULL) <> (workshop_id IS NULL)", name="one_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="CASCADE"), unique=True
    )
    workshop_id: Mapped[int | None] = mapped_column(
        ForeignKey("workshop.id", ondelete="CASCADE"), unique=True
    )
    columns: Mapped[dict] = mapped_column(JSON, default=dict)
    constants: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
