"""org gateway: each organisation's caller ID, SMS sender and Twilio account (issue 12)

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-01 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller_id", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("sms_sender", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("gateway_account", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("gateway_account")
        batch_op.drop_column("sms_sender")
        batch_op.drop_column("caller_id")
