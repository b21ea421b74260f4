"""the column mapping of the last nominations import, remembered per programme (or workshop)

Revision ID: d8e3b5a1f6c2
Revises: a3c5e7f9b1d2
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd8e3b5a1f6c2'
down_revision = 'a3c5e7f9b1d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_mapping',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('programme_id', sa.Integer(), nullable=True),
        sa.Column('workshop_id', sa.Integer(), nullable=True),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('constants', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            '(programme_id IS NULL) <> (workshop_id IS NULL)', name=op.f('ck_import_mapping_one_scope')
        ),
        sa.ForeignKeyConstraint(
            ['programme_id'], ['programme.id'],
            name=op.f('fk_import_mapping_programme_id_programme'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['workshop_id'], ['workshop.id'],
            name=op.f('fk_import_mapping_workshop_id_workshop'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mapping')),
        sa.UniqueConstraint('programme_id', name=op.f('uq_import_mapping_programme_id')),
        sa.UniqueConstraint('workshop_id', name=op.f('uq_import_mapping_workshop_id')),
    )


def downgrade():
    op.drop_table('import_mapping')
