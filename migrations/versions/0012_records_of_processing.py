"""records of processing (GDPR art. 30): the records and their immutable versions

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('processing_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('controller', 'processor', name='recordkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_processing_record_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processing_record')),
    sa.UniqueConstraint('organisation_id', 'kind', name='uq_processing_record_org_kind')
    )
    with op.batch_alter_table('processing_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processing_record_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('processing_record_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('saved_by_id', sa.Integer(), nullable=True),
    sa.Column('saved_by', sa.String(length=254), nullable=False),
    sa.Column('change_note', sa.Text(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('controller_name', sa.String(length=300), nullable=True),
    sa.Column('controller_contact', sa.Text(), nullable=True),
    sa.Column('dpo_name', sa.Text(), nullable=True),
    sa.Column('dpo_contact', sa.Text(), nullable=True),
    sa.Column('transfers_outside_eu', sa.Boolean(), nullable=False),
    sa.Column('transfers', sa.Text(), nullable=True),
    sa.Column('security_measures', sa.Text(), nullable=True),
    sa.Column('purposes', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.Enum('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests', name='legalbasis', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('legal_basis_details', sa.Text(), nullable=True),
    sa.Column('data_subjects', sa.Text(), nullable=True),
    sa.Column('data_categories', sa.Text(), nullable=True),
    sa.Column('recipients', sa.Text(), nullable=True),
    sa.Column('retention', sa.Text(), nullable=True),
    sa.Column('processor_name', sa.String(length=300), nullable=True),
    sa.Column('processor_contact', sa.Text(), nullable=True),
    sa.Column('processing_categories', sa.Text(), nullable=True),
    sa.Column('sub_processors', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['processing_record.id'], name=op.f('fk_processing_record_version_record_id_processing_record')),
    sa.ForeignKeyConstraint(['saved_by_id'], ['user_account.id'], name=op.f('fk_processing_record_version_saved_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processing_record_version')),
    sa.UniqueConstraint('record_id', 'number', name='uq_processing_record_version_number')
    )
    with op.batch_alter_table('processing_record_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processing_record_version_record_id'), ['record_id'], unique=False)


def downgrade():
    with op.batch_alter_table('processing_record_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processing_record_version_record_id'))

    op.drop_table('processing_record_version')
    with op.batch_alter_table('processing_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processing_record_organisation_id'))

    op.drop_table('processing_record')
