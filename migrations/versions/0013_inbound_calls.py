"""inbound calls: calls received that a person must return (issue 12)

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-28 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import outreach.db

revision = "0013"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("senior_id", sa.Integer(), nullable=True),
        sa.Column("from_number", sa.String(length=32), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("received_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["handled_by_id"],
            ["user_account.id"],
            name=op.f("fk_inbound_call_handled_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_inbound_call_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["senior_id"],
            ["senior.id"],
            name=op.f("fk_inbound_call_senior_id_senior"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_call")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_inbound_call_call_sid")),
    )
    with op.batch_alter_table("inbound_call", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_call_senior_id"), ["senior_id"], unique=False)
        batch_op.create_index(
            "ix_inbound_call_open",
            ["organisation_id", "received_at"],
            unique=False,
            sqlite_where=sa.text("handled_at IS NULL"),
            postgresql_where=sa.text("handled_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_call", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_inbound_call_open",
            sqlite_where=sa.text("handled_at IS NULL"),
            postgresql_where=sa.text("handled_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_inbound_call_senior_id"))

    op.drop_table("inbound_call")
