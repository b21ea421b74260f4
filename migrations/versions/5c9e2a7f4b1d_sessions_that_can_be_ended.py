"""sessions that can be ended: a session token per staff account, and the sign-in backoff

Revision ID: 5c9e2a7f4b1d
Revises: b7d2f4a9c6e1
Create Date: 2026-12-01 16:30:00

"""
import secrets

import sqlalchemy as sa
from alembic import op


revision = '5c9e2a7f4b1d'
down_revision = 'b7d2f4a9c6e1'
branch_labels = None
depends_on = None

SELECTOR_INDEX = 'ix_staff_user_session_token_selector'


def upgrade():
    with op.batch_alter_table('staff_user') as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
    # Each account its own token (as models/tokens.new_token makes them). Sessions signed in
    # before carry the account's id instead, which no longer opens anything: everyone signs in
    # once more after this release.
    staff = sa.table('staff_user', sa.column('id', sa.Integer()), sa.column('session_token', sa.String()))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(staff.c.id)).all():
        conn.execute(
            staff.update().where(staff.c.id == user_id).values(session_token=secrets.token_urlsafe(32))
        )
    # SQLite rebuilds the table here (its CHECK constraints come back with it); the selector
    # index (an expression) is made after, so the rebuild never has to reflect it.
    with op.batch_alter_table('staff_user') as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64), nullable=False)
    op.create_index(SELECTOR_INDEX, 'staff_user', [sa.text('substr(session_token, 1, 8)')], unique=False)

    op.create_table(
        'sign_in_throttle',
        sa.Column('email_hash', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(), nullable=False),
        sa.Column('lockouts', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('email_hash', name=op.f('pk_sign_in_throttle')),
    )


def downgrade():
    op.drop_table('sign_in_throttle')
    op.drop_index(SELECTOR_INDEX, table_name='staff_user')
    with op.batch_alter_table('staff_user') as batch_op:
        batch_op.drop_column('session_token')
