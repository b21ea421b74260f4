"""cities as data: registration.place_code (a GB/T 2260 division) and place_alias

- registration.place_code: a 4-digit prefecture-level city or a 2-digit province, "" for
  "other / outside mainland China" and for text not mapped yet (``city`` keeps the free text);
- place_alias: free text a coordinator mapped once, so that it maps by itself afterwards;
- existing free text is mapped where the bundled list recognises it (江苏常州 → 3204, Beijing →
  1101); the text itself stays as it was written, so the downgrade loses nothing.

The matching is ``workshops.divisions``: the bundled JSON and the standard library only, no model
or service, so a later change of the app cannot break this migration (a better matcher later only
maps more).

Revision ID: e4b8d2f6a9c3
Revises: a7e3c9d1f5b2
Create Date: 2026-12-01 23:20:00

"""

import sqlalchemy as sa
from alembic import op

from workshops.divisions import match

revision = "e4b8d2f6a9c3"
down_revision = "a7e3c9d1f5b2"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE on both databases (SQLite adds and drops a plain column in place): a batch
    # rebuild of registration would have to drop and remake its expression indexes.
    op.add_column(
        "registration", sa.Column("place_code", sa.String(length=6), server_default="", nullable=False)
    )
    op.create_table(
        "place_alias",
        sa.Column("text", sa.String(length=100), nullable=False),
        sa.Column("place_code", sa.String(length=6), nullable=False),
        sa.PrimaryKeyConstraint("text", name=op.f("pk_place_alias")),
    )
    conn = op.get_bind()
    registration = sa.table("registration", sa.column("city", sa.String), sa.column("place_code", sa.String))
    texts = conn.execute(sa.select(registration.c.city).where(registration.c.city != "").distinct()).scalars()
    for text in list(texts):
        code = match(text)
        if code:
            conn.execute(registration.update().where(registration.c.city == text).values(place_code=code))


def downgrade():
    op.drop_table("place_alias")
    op.drop_column("registration", "place_code")
