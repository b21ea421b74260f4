"""a cancelled workshop says why and when: workshop.cancellation_reason_en / _zh, cancelled_at

The reason is written in both languages (each person is told in theirs) and shown on the public
page, the ticket page and the join page. A workshop cancelled before this revision kept its people
registered; they are cancelled now (no message: nobody was told then either), so a cancelled
workshop has no active registration and its tickets answer workshop_cancelled.

Revision ID: c3d5e7f9a1b2
Revises: d5e8a2c4f6b9
Create Date: 2026-12-01 19:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c3d5e7f9a1b2'
down_revision = 'd5e8a2c4f6b9'
branch_labels = None
depends_on = None


def upgrade():
    for language in ('en', 'zh'):
        op.add_column(
            'workshop',
            sa.Column(f'cancellation_reason_{language}', sa.Text(), nullable=False, server_default=''),
        )
    op.add_column('workshop', sa.Column('cancelled_at', sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE registration SET status = 'cancelled', holds_seat = false, hold_expires_at = NULL"
        " WHERE status IN ('pending', 'confirmed', 'waitlisted', 'unverified')"
        " AND workshop_id IN (SELECT id FROM workshop WHERE status = 'cancelled')"
    )


def downgrade():
    with op.batch_alter_table('workshop') as batch_op:
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('cancellation_reason_zh')
        batch_op.drop_column('cancellation_reason_en')
