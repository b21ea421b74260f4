"""certificates are judged per mode as people attended: each check-in keeps its mode, and a
workshop has an online rule (sessions or minutes) beside the onsite one

Revision ID: c8e1f3a5b7d9
Revises: b7c2e4f6a8d1
Create Date: 2026-12-01 19:15:00

"""
import warnings

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import SAWarning


revision = 'c8e1f3a5b7d9'
down_revision = 'b7c2e4f6a8d1'
branch_labels = None
depends_on = None


def _attendance_batch():
    """On SQLite the batch rebuilds the attendance table; reflecting it also reflects the
    registration table, whose selector index (an expression) SQLite cannot reflect: harmless."""
    warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
    return op.batch_alter_table('attendance')


def upgrade():
    with warnings.catch_warnings(), _attendance_batch() as batch_op:
        batch_op.add_column(sa.Column('mode', sa.Enum('onsite', 'online', name='attendance_mode', native_enum=False, create_constraint=True), nullable=True))
    # What is known of past check-ins: the door's methods (ticket, name search, walk-in) were
    # onsite, the join link and the meeting report online; a manual one takes the registration's mode.
    op.execute(
        "UPDATE attendance SET mode = CASE"
        " WHEN method IN ('qr', 'search', 'walk_in') THEN 'onsite'"
        " WHEN method IN ('join_link', 'meeting_import') THEN 'online'"
        " ELSE (SELECT registration.mode FROM registration WHERE registration.id = attendance.registration_id)"
        " END"
    )
    with warnings.catch_warnings(), _attendance_batch() as batch_op:
        batch_op.alter_column('mode', existing_type=sa.String(length=6), nullable=False)
    with op.batch_alter_table('workshop') as batch_op:
        batch_op.add_column(sa.Column('certificate_online_sessions', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('certificate_online_minutes', sa.Integer(), nullable=True))
    # Until now one number applied to both modes: online people keep the rule they had.
    op.execute("UPDATE workshop SET certificate_online_sessions = certificate_min_sessions")


def downgrade():
    with op.batch_alter_table('workshop') as batch_op:
        batch_op.drop_column('certificate_online_minutes')
        batch_op.drop_column('certificate_online_sessions')
    with warnings.catch_warnings(), _attendance_batch() as batch_op:
        # Its CHECK first: SQLite's rebuilt table would keep a check on a column it no longer has.
        batch_op.drop_constraint(batch_op.f('ck_attendance_attendance_mode'), type_='check')
        batch_op.drop_column('mode')
