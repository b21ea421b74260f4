from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, ForeignKey, String, Table, bindparam, cast, exists, func, select
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .base import Base, UTCDateTime, utcnow
from .enums import Role, enum_column

# Organisers see and scan only the workshops they are assigned to.
workshop_organiser = Table(
    "workshop_organiser",
    Base.metadata,
    Column("user_id", ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True),
    Column("workshop_id", ForeignKey("workshop.id", ondelete="CASCADE"), primary_key=True),
)

if TYPE_CHECKING:  # only for the relationships' types; the mapper resolves them by name
    from .workshop import Workshop


class User(UserMixin, Base):
    """A staff account: admin, coordinator or organiser. Participants have none."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    workshops: Mapped[list[Workshop]] = relationship(secondary=workshop_organiser)  # noqa: F821

    # The ids of the workshops an organiser is assigned to (a frozenset), when the account was
    # loaded with them (load_with_assignments: every signed-in request). An organiser's every
    # scan at the door asks; this answers without another query.
    assigned_workshop_ids = None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def can_schedule(self) -> bool:
        return self.role in (Role.ADMIN, Role.COORDINATOR)

    def can_access_workshop(self, workshop) -> bool:
        """Admins and coordinators see every workshop; organisers their own."""
        return self.can_access_workshop_id(workshop.id)

    def can_access_workshop_id(self, workshop_id: int) -> bool:
        if self.can_schedule:
            return True
        if self.assigned_workshop_ids is not None:
            return workshop_id in self.assigned_workshop_ids
        session = object_session(self)
        if "workshops" in self.__dict__ or session is None:  # already in memory (maybe not yet flushed)
            return any(w.id == workshop_id for w in self.workshops)
        # Asked on every scan at the door: one EXISTS, not every assigned workshop loaded whole.
        return session.execute(
            select(
                exists().where(
                    workshop_organiser.c.user_id == self.id, workshop_organiser.c.workshop_id == workshop_id
                )
            )
        ).scalar_one()


# One statement, built once, for the account and its assignments ("3,17,42", or NULL).
_USER_WITH_ASSIGNMENTS = select(
    User,
    select(func.aggregate_strings(cast(workshop_organiser.c.workshop_id, String), ","))
    .where(workshop_organiser.c.user_id == User.id)
    .scalar_subquery(),
).where(User.id == bindparam("id"))


def load_with_assignments(session, user_id: int) -> User | None:
    """The signed-in account, with the workshops it is assigned to, in one query."""
    row = session.execute(_USER_WITH_ASSIGNMENTS, {"id": user_id}).one_or_none()
    if row is None:
        return None
    user, assigned = row
    user.assigned_workshop_ids = frozenset(int(i) for i in assigned.split(",")) if assigned else frozenset()
    return user
