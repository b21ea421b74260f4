"""the outbox carries text messages too: a channel per message (email or sms)

Every message written before is an email, so the column starts as 'email' for them; the
recipient of an 'sms' message is its E.164 number.

Revision ID: ee9a048eeb61
Revises: c4f1a9e2d7b3
Create Date: 2026-11-26 09:30:00

"""
import warnings

from alembic import op
import sqlalchemy as sa
from sqlalchemy.exc import SAWarning


revision = 'ee9a048eeb61'
down_revision = 'c4f1a9e2d7b3'
branch_labels = None
depends_on = None


def _outbox_batch():
    """On SQLite the batch rebuilds the outbox table (its indexes are on plain columns and come
    back). Reflecting it also reflects the registration table it refers to, whose selector index
    (an expression) SQLite cannot reflect: harmless here, that table is untouched."""
    warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
    return op.batch_alter_table('outbox_message')


def upgrade():
    with warnings.catch_warnings(), _outbox_batch() as batch_op:
        batch_op.add_column(sa.Column(
            'channel',
            sa.Enum('email', 'sms', name='outbox_channel', native_enum=False, create_constraint=True),
            server_default='email',
            nullable=False,
        ))


def downgrade():
    # Text messages have no place in an email-only outbox: they go with the column.
    op.execute("DELETE FROM outbox_message WHERE channel = 'sms'")
    with warnings.catch_warnings(), _outbox_batch() as batch_op:
        # Its CHECK first: SQLite's rebuilt table would keep a check on a column it no longer has.
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_outbox_channel'), type_='check')
        batch_op.drop_column('channel')
