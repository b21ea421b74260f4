"""seats only for real people: a public registration is an unverified hold until its email link is followed

- registration.status takes 'unverified' (an active status: it keeps the one-registration-per-
  contact rule, so the partial unique indexes are rebuilt with it);
- registration.hold_expires_at / holds_seat: until when such a hold counts, and whether on a seat;
- workshop.confirm_contact: the per-workshop switch, on for every workshop (closed nominations
  turn it off).

Revision ID: b7c2e4f6a8d1
Revises: 5c9e2a7f4b1d
Create Date: 2026-12-01 16:20:00

"""
import warnings

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import SAWarning

revision = 'b7c2e4f6a8d1'
down_revision = '5c9e2a7f4b1d'
branch_labels = None
depends_on = None

OLD_STATUSES = ('pending', 'confirmed', 'waitlisted', 'cancelled', 'rejected')
NEW_STATUSES = OLD_STATUSES + ('unverified',)
OLD_ACTIVE = "status IN ('pending', 'confirmed', 'waitlisted')"
NEW_ACTIVE = "status IN ('pending', 'confirmed', 'waitlisted', 'unverified')"
CHECK = 'ck_registration_registration_status'
SELECTORS = (
    ("ix_registration_manage_token_selector", "manage_token"),
    ("ix_registration_ticket_token_selector", "ticket_token"),
)


def _drop_indexes():
    """SQLite rebuilds the table to change its CHECK, and cannot reflect the expression and partial
    indexes: they are dropped first and made again afterwards (on both databases, the same way)."""
    for name, _column in SELECTORS:
        op.drop_index(name, table_name='registration')
    op.drop_index('uq_registration_active_mobile', table_name='registration')
    op.drop_index('uq_registration_active_email', table_name='registration')


def _create_indexes(active):
    for column in ('email', 'mobile'):
        where = sa.text(f"{active} AND {column} <> ''")
        op.create_index(
            f'uq_registration_active_{column}', 'registration', ['workshop_id', column], unique=True,
            sqlite_where=where, postgresql_where=where,
        )
    for name, column in SELECTORS:
        op.create_index(name, 'registration', [sa.text(f"substr({column}, 1, 8)")], unique=False)


def _statuses(values, drop_hold_columns=False):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        with op.batch_alter_table('registration') as batch_op:
            batch_op.drop_constraint(op.f(CHECK), type_='check')
            batch_op.create_check_constraint(
                op.f(CHECK), "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"
            )
            if drop_hold_columns:
                batch_op.drop_column('holds_seat')
                batch_op.drop_column('hold_expires_at')


def upgrade():
    op.add_column(
        'workshop', sa.Column('confirm_contact', sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column('registration', sa.Column('hold_expires_at', sa.DateTime(), nullable=True))
    op.add_column(
        'registration', sa.Column('holds_seat', sa.Boolean(), nullable=False, server_default=sa.false())
    )
    _drop_indexes()
    _statuses(NEW_STATUSES)
    _create_indexes(NEW_ACTIVE)


def downgrade():
    # A hold never confirmed is no registration at the older revision.
    op.execute("UPDATE registration SET status = 'cancelled' WHERE status = 'unverified'")
    _drop_indexes()
    _statuses(OLD_STATUSES, drop_hold_columns=True)
    _create_indexes(OLD_ACTIVE)
    with op.batch_alter_table('workshop') as batch_op:
        batch_op.drop_column('confirm_contact')
