"""reminders before a workshop: per-workshop settings, and a record of each reminder sent

- workshop.sends_reminders / reminder_days_before (0-30) / reminder_hour (0-23, on the venue's
  clock): on, 1 day before at 18:00 for every workshop, new and existing;
- sent_reminder: one row per person, kind and the start reminded of (unique), so two sweeps
  never send twice and a moved workshop can be reminded again.

Revision ID: c3a9d5e7f1b4
Revises: f3a9c1e5b7d4
Create Date: 2026-12-01 19:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c3a9d5e7f1b4'
down_revision = 'f3a9c1e5b7d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sent_reminder',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=50), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['registration_id'], ['registration.id'],
            name=op.f('fk_sent_reminder_registration_id_registration'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['session_id'], ['session.id'], name=op.f('fk_sent_reminder_session_id_session'), ondelete='SET NULL'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_reminder')),
        sa.UniqueConstraint(
            'registration_id', 'kind', 'starts_at', name=op.f('uq_sent_reminder_registration_id_kind_starts_at')
        ),
    )
    with op.batch_alter_table('workshop') as batch_op:
        batch_op.add_column(sa.Column('sends_reminders', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('reminder_days_before', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('reminder_hour', sa.Integer(), server_default='18', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_workshop_reminder_days_before_in_range'), 'reminder_days_before BETWEEN 0 AND 30'
        )
        batch_op.create_check_constraint(op.f('ck_workshop_reminder_hour_in_range'), 'reminder_hour BETWEEN 0 AND 23')


def downgrade():
    with op.batch_alter_table('workshop') as batch_op:
        batch_op.drop_constraint(op.f('ck_workshop_reminder_hour_in_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_workshop_reminder_days_before_in_range'), type_='check')
        batch_op.drop_column('reminder_hour')
        batch_op.drop_column('reminder_days_before')
        batch_op.drop_column('sends_reminders')
    op.drop_table('sent_reminder')
