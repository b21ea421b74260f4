from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, ForeignKey, String, Table, bindparam, cast, exists, func, select
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from . import tokens
from .base import Base, UTCDateTime, utcnow
from .enums import Role, WorkshopStatus, enum_column

# Organisers see and scan only the workshops they are assigned to.
workshop_organiser = Table(
    "workshop_organiser",
    Base.metadata,
    Column("user_id", ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True),
    Column("workshop_id", ForeignKey("workshop.id", ondelete="CASCADE"), primary_key=True),
)

# A coordinator or report reader with rows here sees only these programmes' workshops and
# reports (a city's bureau, one donor); no row: every programme. No ON DELETE CASCADE: removing a
# programme must never turn a limited account into one that sees everything.
staff_programme = Table(
    "staff_programme",
    Base.metadata,
    Column("user_id", ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True),
    Column("programme_id", ForeignKey("programme.id"), primary_key=True),
)

# The roles that may be limited to programmes (admins never are; organisers have assignments).
LIMITABLE = (Role.COORDINATOR, Role.REPORTER)

if TYPE_CHECKING:  # only for the relationships' types; the mapper resolves them by name
    from .programme import Programme
    from .workshop import Workshop


class User(UserMixin, Base):
    """A staff account: admin, coordinator, organiser or report reader. Participants have none."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the session cookie and the remember cookie carry instead of the id (Flask-Login's
    # alternative id): a new one ends every session at once, copied cookies included.
    session_token: Mapped[str] = mapped_column(String(64), default=tokens.new_token)

    workshops: Mapped[list[Workshop]] = relationship(secondary=workshop_organiser)  # noqa: F821
    programmes: Mapped[list[Programme]] = relationship(secondary=staff_programme)  # noqa: F821

    # The ids of the workshops an organiser is assigned to (a frozenset), when the account was
    # loaded with them (load_with_assignments: every signed-in request). An organiser's every
    # scan at the door asks; this answers without another query.
    assigned_workshop_ids = None
    # Likewise the programmes the account is limited to (a frozenset, empty: none), when loaded.
    limited_programme_ids = None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def get_id(self) -> str:
        return self.session_token

    def end_sessions(self) -> None:
        """Every session of this account ends: the cookies that carry the old token open nothing."""
        self.session_token = tokens.new_token()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def can_schedule(self) -> bool:
        return self.role in (Role.ADMIN, Role.COORDINATOR)

    @property
    def reads_reports(self) -> bool:
        """Programme reports and feedback summaries, as aggregates: schedulers and report readers."""
        return self.role in (Role.ADMIN, Role.COORDINATOR, Role.REPORTER)

    @property
    def programme_limits(self) -> frozenset[int]:
        """The programmes this account is limited to; empty: every programme."""
        if self.role not in LIMITABLE:
            return frozenset()
        if self.limited_programme_ids is not None:
            return self.limited_programme_ids
        return frozenset(p.id for p in self.programmes)

    def sees_programme(self, programme_id: int | None) -> bool:
        """Whether the workshops and report of this programme (None: workshops in none) are this
        account's to see: a limited account sees only its programmes', never a workshop in none."""
        limits = self.programme_limits
        return not limits or programme_id in limits

    def can_access_workshop(self, workshop) -> bool:
        """Admins and coordinators see every workshop (a limited coordinator those of their
        programmes); organisers their own. Report readers open no workshop: they read its
        aggregates only (``can_read_reports_of``)."""
        if self.can_schedule:
            return self.sees_programme(workshop.programme_id)
        return self.can_access_workshop_id(workshop.id)

    def can_read_reports_of(self, workshop) -> bool:
        """The workshop's feedback summary (aggregates, no people); a report reader's only of
        workshops announced (a draft is the coordinators' plan)."""
        if self.role == Role.REPORTER and workshop.status == WorkshopStatus.DRAFT:
            return False
        return self.reads_reports and self.sees_programme(workshop.programme_id)

    def can_access_workshop_id(self, workshop_id: int) -> bool:
        session = object_session(self)
        if self.can_schedule:
            if not self.programme_limits:
                return True
            from .workshop import Workshop  # the workshop module imports this one

            if session is None:
                return False
            programme_id = session.scalar(select(Workshop.programme_id).where(Workshop.id == workshop_id))
            return self.sees_programme(programme_id)
        if self.role != Role.ORGANISER:
            return False
        if self.assigned_workshop_ids is not None:
            return workshop_id in self.assigned_workshop_ids
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


tokens.selector_index("ix_staff_user_session_token_selector", User.session_token)


# A password check for an email that has no account (or a refused one) costs what a real one
# costs: same hasher, same work factor. Otherwise the answer's speed tells which staff exist.
@functools.cache
def _nobodys_hash() -> str:
    return generate_password_hash(tokens.new_token())


def check_password_of_nobody(password: str) -> bool:
    """As slow as ``User.check_password``, and always False."""
    check_password_hash(_nobodys_hash(), password)
    return False


def _ids_of(column, user_column):
    return select(func.aggregate_strings(cast(column, String), ",")).where(user_column == User.id)


def _id_set(ids: str | None) -> frozenset[int]:
    return frozenset(int(i) for i in ids.split(",")) if ids else frozenset()


# One statement, built once, for the account, its assignments and its programme limits ("3,17,42",
# or NULL); the database matches the token's selector, the whole token is compared in constant time.
_USER_WITH_ASSIGNMENTS = (
    select(
        User,
        _ids_of(workshop_organiser.c.workshop_id, workshop_organiser.c.user_id).scalar_subquery(),
        _ids_of(staff_programme.c.programme_id, staff_programme.c.user_id).scalar_subquery(),
    )
    .where(tokens.selector(User.session_token) == bindparam("selector"))
    # Read afresh: an account disabled or signed out elsewhere is not answered from memory.
    .execution_options(populate_existing=True)
)


def load_with_assignments(session, session_token: str) -> User | None:
    """The active account whose sessions carry this token, with the workshops it is assigned
    to and the programmes it is limited to, in one query; None once the token has been replaced
    or the account disabled."""
    if not tokens.well_formed(session_token):
        return None
    rows = session.execute(_USER_WITH_ASSIGNMENTS, {"selector": session_token[: tokens.SELECTOR]}).all()
    row = next((row for row in rows if tokens.same(row[0].session_token, session_token)), None)
    if row is None or not row[0].active:
        return None
    user, assigned, limits = row
    user.assigned_workshop_ids = _id_set(assigned)
    user.limited_programme_ids = _id_set(limits)
    return user


class SignInThrottle(Base):
    """Failed sign-ins with one email address, known or not: the per-account backoff.

    In the database, so that it holds across every app server. The address is kept only as its
    keyed hash (``services.users.sign_in_key``): an unknown address may be someone's mistyped
    private one. Rows live a day at most; they are security state, not personal data to erase.
    """

    __tablename__ = "sign_in_throttle"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)  # since window_started_at
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lockouts: Mapped[int] = mapped_column(default=0)  # in a row: each one is longer
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
