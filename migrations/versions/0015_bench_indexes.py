"""bench indexes: the deadline list by due time, the ones met lately, each partner's counts

The 100x benchmark (bench/README.md) found the deadline API sorting every visible deadline to show 50,
the dashboard's "met in the last 30 days" reading every met deadline, and its partner overview reading
every deadline row of every partner. (due_at, id) gives the API its order; (state, met_at) the recently
met; (organisation_id, state, kind, due_at, met_at) covers the overview's counts and replaces
(organisation_id, state), which is its prefix.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25 11:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_deadline_due_at_id', 'deadline', ['due_at', 'id'], unique=False)
    op.create_index('ix_deadline_state_met_at', 'deadline', ['state', 'met_at'], unique=False)
    op.create_index(
        'ix_deadline_organisation_overview',
        'deadline',
        ['organisation_id', 'state', 'kind', 'due_at', 'met_at'],
        unique=False,
    )
    op.drop_index('ix_deadline_organisation_id_state', table_name='deadline')


def downgrade():
    op.create_index('ix_deadline_organisation_id_state', 'deadline', ['organisation_id', 'state'], unique=False)
    op.drop_index('ix_deadline_organisation_overview', table_name='deadline')
    op.drop_index('ix_deadline_state_met_at', table_name='deadline')
    op.drop_index('ix_deadline_due_at_id', table_name='deadline')
