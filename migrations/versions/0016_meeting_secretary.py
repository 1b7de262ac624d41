"""meeting secretary: the member named secretary of the session (CGCT L2121-15)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secretary_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_meeting_secretary_id_body_member'), 'body_member', ['secretary_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_meeting_secretary_id_body_member'), type_='foreignkey')
        batch_op.drop_column('secretary_id')
