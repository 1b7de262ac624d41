"""staff lists: the DPO's requests, the partners' certified (signed) snapshots

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_list_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'fulfilled', 'cancelled', name='staffrequeststatus', native_enum=False, length=32, create_constraint=True), nullable=False),
    sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_staff_list_request_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_staff_list_request_requested_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_list_request'))
    )
    with op.batch_alter_table('staff_list_request', schema=None) as batch_op:
        batch_op.create_index('ix_staff_list_request_org_status', ['organisation_id', 'status'], unique=False)

    op.create_table('staff_list_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('organisation_name', sa.String(length=200), nullable=False),
    sa.Column('certified_by_id', sa.Integer(), nullable=True),
    sa.Column('certified_by_name', sa.Text(), nullable=False),
    sa.Column('certified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_rows', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('scheme', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certified_by_id'], ['user_account.id'], name=op.f('fk_staff_list_snapshot_certified_by_id_user_account')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_staff_list_snapshot_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['request_id'], ['staff_list_request.id'], name=op.f('fk_staff_list_snapshot_request_id_staff_list_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_list_snapshot')),
    sa.UniqueConstraint('request_id', name=op.f('uq_staff_list_snapshot_request_id'))
    )
    with op.batch_alter_table('staff_list_snapshot', schema=None) as batch_op:
        batch_op.create_index('ix_staff_list_snapshot_org_certified', ['organisation_id', 'certified_at'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_list_snapshot', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_list_snapshot_org_certified')

    op.drop_table('staff_list_snapshot')
    with op.batch_alter_table('staff_list_request', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_list_request_org_status')

    op.drop_table('staff_list_request')
