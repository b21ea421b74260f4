"""token selectors

Revision ID: 1614eeec4c73
Revises: faac40bf19ee
Create Date: 2026-11-22 02:38:09.163540

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1614eeec4c73'
down_revision = 'faac40bf19ee'
branch_labels = None
depends_on = None


# Tokens are found by their first 8 characters, then compared in constant time
# (workshops/models/tokens.py). Plain CREATE INDEX: both databases take expression indexes.
INDEXES = [
    ("ix_certificate_code_selector", "certificate", "code"),
    ("ix_checkin_link_token_selector", "checkin_link", "token"),
    ("ix_registration_manage_token_selector", "registration", "manage_token"),
    ("ix_registration_ticket_token_selector", "registration", "ticket_token"),
]


def upgrade():
    for name, table, column in INDEXES:
        op.create_index(name, table, [sa.text(f"substr({column}, 1, 8)")], unique=False)


def downgrade():
    for name, table, _column in reversed(INDEXES):
        op.drop_index(name, table_name=table)
