"""person index: the blind index of people's names and e-mail addresses, and the search log

After upgrading a database that already holds records, run `vigie people reindex` (the index is built
from the records with VIGIE_BLIND_INDEX_KEY, which a migration does not hold).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('person_index',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.Enum('email', 'name', name='indexkind', native_enum=False, length=32, create_constraint=True), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_index'))
    )
    with op.batch_alter_table('person_index', schema=None) as batch_op:
        batch_op.create_index('ix_person_index_entity_row_id', ['entity', 'row_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_index_token'), ['token'], unique=False)

    op.create_table('person_search',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('searched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('searched_by_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('email', 'name', name='indexkind', native_enum=False, length=32, create_constraint=True), nullable=False),
    sa.Column('query_token', sa.String(length=64), nullable=False),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['searched_by_id'], ['user_account.id'], name=op.f('fk_person_search_searched_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_search'))
    )
    with op.batch_alter_table('person_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_search_searched_by_id'), ['searched_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('person_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_search_searched_by_id'))

    op.drop_table('person_search')
    with op.batch_alter_table('person_index', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_index_token'))
        batch_op.drop_index('ix_person_index_entity_row_id')

    op.drop_table('person_index')
