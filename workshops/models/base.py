"""What every model shares: the declarative base (bound to ``db`` in extensions) and column types."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, DateTime, Table, TypeDecorator, select, update
from sqlalchemy.orm import Session, scoped_session

from ..extensions import Base

__all__ = ["Base", "UTCDateTime", "lock_for_update", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as UTC.

    SQLite keeps no zone, so values are normalised to naive UTC on the way in
    and made aware again on the way out; PostgreSQL behaves the same way.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def lock_for_update(session: Session | scoped_session, table: Table, *where: ColumnElement[bool]) -> None:
    """Take what a decision needs before it re-reads rows of ``table`` ``WITH FOR UPDATE``.

    PostgreSQL locks the rows in that SELECT itself, and this does nothing. SQLite has no row
    locks and ignores FOR UPDATE: a no-op UPDATE of the same rows takes the database's write
    lock instead, which serialises writers the same way until the transaction ends. The
    columns with an ``onupdate`` are set to themselves so that the no-op changes nothing.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    same = {column: column for column in table.c if column.primary_key or column.onupdate is not None}
    session.execute(update(table).where(*where).values(same))


def lock_for_share(session: Session | scoped_session, table: Table, *where: ColumnElement[bool]) -> None:
    """Hold rows of ``table`` while a decision reads by them: writers that lock them FOR UPDATE
    wait for this transaction, and it for them (PostgreSQL's FOR SHARE; on SQLite the write lock
    of ``lock_for_update``). Readers holding the same rows do not wait for each other on PostgreSQL."""
    lock_for_update(session, table, *where)
    key = [column for column in table.c if column.primary_key]
    session.execute(select(*key).where(*where).with_for_update(read=True)).all()
