"""accounts for the people who read reports: role 'reporter', programme limits (staff_programme)

- staff_user.role takes 'reporter' (a ministry department or the donor: aggregates only);
- staff_programme: the programmes a coordinator or report reader is limited to (no row: every
  programme). No ON DELETE CASCADE from programme: a removed programme never widens an account.

Revision ID: a7e3c9d1f5b2
Revises: c3d5e7f9a1b2
Create Date: 2026-12-01 20:20:00

"""

import warnings

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import SAWarning

revision = "a7e3c9d1f5b2"
down_revision = "c3d5e7f9a1b2"
branch_labels = None
depends_on = None

OLD_ROLES = ("admin", "coordinator", "organiser")
NEW_ROLES = OLD_ROLES + ("reporter",)
CHECK = "ck_staff_user_user_role"
SELECTOR_INDEX = "ix_staff_user_session_token_selector"


def _roles(values):
    # SQLite rebuilds the table to change its CHECK and cannot reflect the expression index: it
    # is dropped first and made again afterwards (on both databases, the same way).
    op.drop_index(SELECTOR_INDEX, table_name="staff_user")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        with op.batch_alter_table("staff_user") as batch_op:
            batch_op.drop_constraint(op.f(CHECK), type_="check")
            batch_op.create_check_constraint(
                op.f(CHECK), "role IN (" + ", ".join(f"'{v}'" for v in values) + ")"
            )
    op.create_index(SELECTOR_INDEX, "staff_user", [sa.text("substr(session_token, 1, 8)")], unique=False)


def upgrade():
    _roles(NEW_ROLES)
    op.create_table(
        "staff_programme",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_staff_programme_programme_id_programme")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_user.id"],
            name=op.f("fk_staff_programme_user_id_staff_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "programme_id", name=op.f("pk_staff_programme")),
    )


def downgrade():
    op.drop_table("staff_programme")
    # A report reader has no account at the older revision.
    op.execute("DELETE FROM staff_user WHERE role = 'reporter'")
    _roles(OLD_ROLES)
