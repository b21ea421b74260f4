"""calendars that update: a calendar SEQUENCE per workshop, change notices, removed sessions' events

- workshop.calendar_sequence: raised whenever what the calendar file says changes;
- change_notice: what one save told the people registered (old → new), for the outbox to render;
- outbox_message.change_notice_id: the notice a WORKSHOP_CHANGED email tells;
- cancelled_calendar_event: the events of removed sessions, sent as CANCELLED under their old UID.

Revision ID: d5e8a2c4f6b9
Revises: c3a9d5e7f1b4
Create Date: 2026-12-01 19:30:00

"""
import warnings

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import SAWarning

revision = 'd5e8a2c4f6b9'
down_revision = 'c3a9d5e7f1b4'
branch_labels = None
depends_on = None


def _outbox_batch():
    """On SQLite the batch rebuilds the outbox table to add a foreign key; reflecting it also
    reflects the registration table, whose expression indexes SQLite cannot reflect (untouched)."""
    warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
    return op.batch_alter_table('outbox_message')


def upgrade():
    with op.batch_alter_table('workshop') as batch_op:
        batch_op.add_column(sa.Column('calendar_sequence', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'change_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workshop_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('items', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['staff_user.id'], name=op.f('fk_change_notice_actor_id_staff_user'), ondelete='SET NULL'
        ),
        sa.ForeignKeyConstraint(
            ['workshop_id'], ['workshop.id'], name=op.f('fk_change_notice_workshop_id_workshop'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_change_notice')),
    )
    op.create_index(op.f('ix_change_notice_workshop_id'), 'change_notice', ['workshop_id'], unique=False)
    op.create_table(
        'cancelled_calendar_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workshop_id', sa.Integer(), nullable=False),
        sa.Column('uid', sa.String(length=200), nullable=False),
        sa.Column('summary_en', sa.String(length=600), nullable=False),
        sa.Column('summary_zh', sa.String(length=600), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('cancelled_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['workshop_id'], ['workshop.id'],
            name=op.f('fk_cancelled_calendar_event_workshop_id_workshop'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cancelled_calendar_event')),
        sa.UniqueConstraint('uid', name=op.f('uq_cancelled_calendar_event_uid')),
    )
    op.create_index(
        op.f('ix_cancelled_calendar_event_workshop_id'), 'cancelled_calendar_event', ['workshop_id'], unique=False
    )
    with warnings.catch_warnings(), _outbox_batch() as batch_op:
        batch_op.add_column(sa.Column('change_notice_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_change_notice_id'), ['change_notice_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_outbox_message_change_notice_id_change_notice'), 'change_notice',
            ['change_notice_id'], ['id'], ondelete='SET NULL',
        )


def downgrade():
    with warnings.catch_warnings(), _outbox_batch() as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_change_notice_id_change_notice'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_message_change_notice_id'))
        batch_op.drop_column('change_notice_id')
    op.drop_index(op.f('ix_cancelled_calendar_event_workshop_id'), table_name='cancelled_calendar_event')
    op.drop_table('cancelled_calendar_event')
    op.drop_index(op.f('ix_change_notice_workshop_id'), table_name='change_notice')
    op.drop_table('change_notice')
    with op.batch_alter_table('workshop') as batch_op:
        batch_op.drop_column('calendar_sequence')
