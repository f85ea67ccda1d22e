"""rehearsal runs: a rehearsal asked for from the web page, played by the scheduler

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 17:00:00
"""

from alembic import op
import sqlalchemy as sa
import outreach.db


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rehearsal_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "running",
                "done",
                "failed",
                name="runstate",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("started_at", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", outreach.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("seniors", sa.Integer(), nullable=True),
        sa.Column("reached", sa.Integer(), nullable=True),
        sa.Column("through_contact", sa.Integer(), nullable=True),
        sa.Column("escalated", sa.Integer(), nullable=True),
        sa.Column("settled", sa.Integer(), nullable=True),
        sa.Column("unaccounted", sa.Integer(), nullable=True),
        sa.Column("ratio", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_rehearsal_run_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["user_account.id"],
            name=op.f("fk_rehearsal_run_requested_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rehearsal_run")),
    )
    with op.batch_alter_table("rehearsal_run", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rehearsal_run_org", ["organisation_id", "requested_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rehearsal_run_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rehearsal_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rehearsal_run_state"))
        batch_op.drop_index("ix_rehearsal_run_org")
    op.drop_table("rehearsal_run")
