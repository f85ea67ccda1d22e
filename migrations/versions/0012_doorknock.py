"""door-knocks: proximity staff, their residences, the knocks, and the senior's access details

Revision ID: 0012
Revises: 0008
Create Date: 2026-11-28 15:45:00
"""
from alembic import op
import sqlalchemy as sa
import outreach.db


revision = '0012'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('senior', schema=None) as batch_op:
        batch_op.add_column(sa.Column('floor', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('door_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('access_notes', sa.String(length=300), nullable=True))

    op.create_table('proximity_residence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('residence', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_proximity_residence_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_proximity_residence_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proximity_residence')),
    sa.UniqueConstraint('user_id', 'organisation_id', 'residence', name=op.f('uq_proximity_residence_user_id_organisation_id_residence'))
    )
    with op.batch_alter_table('proximity_residence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proximity_residence_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('door_knock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('senior_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('residence', sa.String(length=120), nullable=True),
    sa.Column('created_at', outreach.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', outreach.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Enum('open', 'done', 'cancelled', name='knockstate', native_enum=False, length=20), nullable=False),
    sa.Column('outcome', sa.Enum('seen_well', 'seen_unwell', 'no_answer', name='knockoutcome', native_enum=False, length=20), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', outreach.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_door_knock_alert_id_alert'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['done_by_id'], ['user_account.id'], name=op.f('fk_door_knock_done_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_door_knock_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['senior_id'], ['senior.id'], name=op.f('fk_door_knock_senior_id_senior'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_door_knock')),
    sa.UniqueConstraint('alert_id', name=op.f('uq_door_knock_alert_id'))
    )
    with op.batch_alter_table('door_knock', schema=None) as batch_op:
        batch_op.create_index('ix_door_knock_work', ['organisation_id', 'state', 'residence'], unique=False)
        batch_op.create_index(batch_op.f('ix_door_knock_senior_id'), ['senior_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('door_knock', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_door_knock_senior_id'))
        batch_op.drop_index('ix_door_knock_work')
    op.drop_table('door_knock')
    with op.batch_alter_table('proximity_residence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proximity_residence_organisation_id'))
    op.drop_table('proximity_residence')
    with op.batch_alter_table('senior', schema=None) as batch_op:
        batch_op.drop_column('access_notes')
        batch_op.drop_column('door_code')
        batch_op.drop_column('floor')
