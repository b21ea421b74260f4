"""survey invitations per person: people recorded as attended after the first invitations are invited too

- survey_invitation (survey, registration): who was invited and when, and when reminded;
- survey.invitations_sent_at / reminders_sent_at go: one time per survey cannot say who among
  late attendees has been asked.

The rows are filled from the invitations and reminders already in the outbox, so nobody
invited before the upgrade is invited again, and a survey whose reminders went out reminds
nobody again.

Revision ID: f3a9c1e5b7d4
Revises: c8e1f3a5b7d9
Create Date: 2026-12-01 19:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f3a9c1e5b7d4'
down_revision = 'c8e1f3a5b7d9'
branch_labels = None
depends_on = None

# The people of a survey whose invitations went out, with the time of their first invitation
# and of their reminder (or the survey's reminder run: those it skipped had answered).
BACKFILL = """
INSERT INTO survey_invitation (survey_id, registration_id, invited_at, reminded_at)
SELECT survey.id, registration.id,
       MIN(CASE WHEN outbox_message.kind = 'survey_invitation' THEN outbox_message.created_at END),
       COALESCE(
           MIN(CASE WHEN outbox_message.kind = 'survey_reminder' THEN outbox_message.created_at END),
           survey.reminders_sent_at
       )
FROM survey
JOIN registration ON registration.workshop_id = survey.workshop_id
JOIN outbox_message ON outbox_message.registration_id = registration.id
WHERE survey.invitations_sent_at IS NOT NULL
  AND outbox_message.kind IN ('survey_invitation', 'survey_reminder')
GROUP BY survey.id, registration.id, survey.reminders_sent_at
HAVING MIN(CASE WHEN outbox_message.kind = 'survey_invitation' THEN outbox_message.created_at END) IS NOT NULL
"""


def upgrade():
    op.create_table(
        'survey_invitation',
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('invited_at', sa.DateTime(), nullable=False),
        sa.Column('reminded_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['registration_id'], ['registration.id'],
            name=op.f('fk_survey_invitation_registration_id_registration'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['survey_id'], ['survey.id'], name=op.f('fk_survey_invitation_survey_id_survey'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('survey_id', 'registration_id', name=op.f('pk_survey_invitation')),
    )
    op.create_index(
        op.f('ix_survey_invitation_registration_id'), 'survey_invitation', ['registration_id'], unique=False
    )
    op.execute(BACKFILL)
    with op.batch_alter_table('survey') as batch_op:
        batch_op.drop_column('reminders_sent_at')
        batch_op.drop_column('invitations_sent_at')


def downgrade():
    with op.batch_alter_table('survey') as batch_op:
        batch_op.add_column(sa.Column('invitations_sent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reminders_sent_at', sa.DateTime(), nullable=True))
    # The older revision knows one time per survey: the first invitation, the last reminder.
    op.execute(
        "UPDATE survey SET"
        " invitations_sent_at = (SELECT MIN(invited_at) FROM survey_invitation i WHERE i.survey_id = survey.id),"
        " reminders_sent_at = (SELECT MAX(reminded_at) FROM survey_invitation i WHERE i.survey_id = survey.id)"
    )
    op.drop_index(op.f('ix_survey_invitation_registration_id'), table_name='survey_invitation')
    op.drop_table('survey_invitation')
