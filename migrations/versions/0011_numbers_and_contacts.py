"""numbers and contacts: the number each attempt used, calls to emergency contacts, and the
outcome "reached_through_contact" (longer than the outcome columns were)

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-28 15:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attempt_contact_id'), ['contact_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attempt_contact_id_emergency_contact'), 'emergency_contact', ['contact_id'], ['id'], ondelete='SET NULL')
        batch_op.alter_column('outcome', existing_type=sa.String(length=20), type_=sa.String(length=30), existing_nullable=True)

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.alter_column('outcome', existing_type=sa.String(length=20), type_=sa.String(length=30), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.alter_column('outcome', existing_type=sa.String(length=30), type_=sa.String(length=20), existing_nullable=True)

    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.alter_column('outcome', existing_type=sa.String(length=30), type_=sa.String(length=20), existing_nullable=True)
        batch_op.drop_constraint(batch_op.f('fk_attempt_contact_id_emergency_contact'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attempt_contact_id'))
        batch_op.drop_column('contact_id')
        batch_op.drop_column('phone')
