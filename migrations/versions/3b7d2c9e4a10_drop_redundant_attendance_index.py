"""drop the attendance index that the unique (registration_id, session_id) already provides

Every check-in wrote to both; lookups by registration use the unique constraint's
index, whose leading column is registration_id.

Revision ID: 3b7d2c9e4a10
Revises: 6c6318e5abf1
Create Date: 2026-11-22 05:20:00

"""
from alembic import op


revision = '3b7d2c9e4a10'
down_revision = '6c6318e5abf1'
branch_labels = None
depends_on = None


def upgrade():
    # A plain DROP INDEX (no batch): on SQLite a batch would rebuild the table.
    op.drop_index('ix_attendance_registration_id', table_name='attendance')


def downgrade():
    op.create_index('ix_attendance_registration_id', 'attendance', ['registration_id'], unique=False)
