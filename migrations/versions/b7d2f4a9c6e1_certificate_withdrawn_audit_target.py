"""a certificate withdrawn when its holder's data are erased; audit events found by target

Revision ID: b7d2f4a9c6e1
Revises: d8e3b5a1f6c2
Create Date: 2026-12-01 16:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b7d2f4a9c6e1'
down_revision = 'd8e3b5a1f6c2'
branch_labels = None
depends_on = None

# Plain ALTER TABLE, no batch: a batch would rebuild the certificate table on SQLite, and its
# selector index (an expression) cannot be reflected to be rebuilt. SQLite adds and drops a
# plain nullable column in place (3.35+).


def upgrade():
    op.add_column('certificate', sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
    op.create_index('ix_audit_event_target', 'audit_event', ['target_type', 'target_id'], unique=False)


def downgrade():
    op.drop_index('ix_audit_event_target', table_name='audit_event')
    op.drop_column('certificate', 'withdrawn_at')
