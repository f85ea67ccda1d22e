"""vigilance: Météo-France maps, canicule colours, proposals; organisation.auto_activate

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-28 15:40:00
"""
from alembic import op
import sqlalchemy as sa
import outreach.db


revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None

KINDS = ('activate', 'lift')
STATES = ('open', 'accepted', 'refused', 'superseded', 'auto_activated')


def upgrade() -> None:
    op.create_table('vigilance_map',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fetched_at', outreach.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_fetched_at', outreach.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('update_time', outreach.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vigilance_map'))
    )
    with op.batch_alter_table('vigilance_map', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vigilance_map_fetched_at'), ['fetched_at'], unique=False)

    op.create_table('vigilance_colour',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('map_id', sa.Integer(), nullable=False),
    sa.Column('departement', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('colour', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['map_id'], ['vigilance_map.id'], name=op.f('fk_vigilance_colour_map_id_vigilance_map'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vigilance_colour'))
    )
    with op.batch_alter_table('vigilance_colour', schema=None) as batch_op:
        batch_op.create_index('ix_vigilance_colour_map', ['map_id', 'departement', 'day'], unique=False)

    op.create_table('vigilance_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum(*KINDS, name='proposalkind', native_enum=False, length=20), nullable=False),
    sa.Column('departements', sa.JSON(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('colour', sa.Integer(), nullable=False),
    sa.Column('for_day', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum(*STATES, name='proposalstate', native_enum=False, length=20), nullable=False),
    sa.Column('map_id', sa.Integer(), nullable=True),
    sa.Column('created_at', outreach.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', outreach.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', outreach.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_vigilance_proposal_campaign_id_campaign'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_vigilance_proposal_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['map_id'], ['vigilance_map.id'], name=op.f('fk_vigilance_proposal_map_id_vigilance_map'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_vigilance_proposal_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vigilance_proposal'))
    )
    with op.batch_alter_table('vigilance_proposal', schema=None) as batch_op:
        batch_op.create_index('ix_vigilance_proposal_org', ['organisation_id', 'state', 'kind'], unique=False)

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_activate', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('auto_activate')
    op.drop_table('vigilance_proposal')
    op.drop_table('vigilance_colour')
    op.drop_table('vigilance_map')
