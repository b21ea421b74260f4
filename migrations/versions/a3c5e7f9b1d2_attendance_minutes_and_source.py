"""an attendance from a meeting report keeps the person's minutes and the report's file name

Revision ID: a3c5e7f9b1d2
Revises: ee9a048eeb61
Create Date: 2026-12-01 15:00:00

"""
import warnings

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import SAWarning


revision = 'a3c5e7f9b1d2'
down_revision = 'ee9a048eeb61'
branch_labels = None
depends_on = None


def _attendance_batch():
    """On SQLite the batch rebuilds the attendance table (for the check constraint); reflecting it
    also reflects the registration table it refers to, whose selector index (an expression)
    SQLite cannot reflect: harmless here, that table is untouched."""
    warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
    return op.batch_alter_table('attendance')


def upgrade():
    with warnings.catch_warnings(), _attendance_batch() as batch_op:
        batch_op.add_column(sa.Column('minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=255), nullable=True))
        batch_op.create_check_constraint(op.f('ck_attendance_minutes_not_negative'), 'minutes IS NULL OR minutes >= 0')


def downgrade():
    with warnings.catch_warnings(), _attendance_batch() as batch_op:
        batch_op.drop_constraint(op.f('ck_attendance_minutes_not_negative'), type_='check')
        batch_op.drop_column('source')
        batch_op.drop_column('minutes')
