"""report rollups: per senior and month flags, per organisation and day contacts and calls

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 15:50:00
"""

from alembic import op
import sqlalchemy as sa
import outreach.db


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_rollup_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("built_at", outreach.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_report_rollup_month")),
    )
    flags = [
        "targeted",
        "attempted",
        "reached",
        "reached_ok",
        "concerns",
        "callback_requests",
        "help_requests",
        "refusals",
        "referred",
        "reinforced",
    ]
    op.create_table(
        "report_senior_month",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("senior_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.SmallInteger(), nullable=False) for name in flags),
        sa.PrimaryKeyConstraint(
            "organisation_id", "month", "senior_id", name=op.f("pk_report_senior_month")
        ),
    )
    op.create_table(
        "report_contact_day",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organisation_id", "day", "channel", "outcome", name=op.f("pk_report_contact_day")
        ),
    )
    op.create_table(
        "report_staff_day",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organisation_id", "day", "user_id", name=op.f("pk_report_staff_day")
        ),
    )


def downgrade() -> None:
    op.drop_table("report_staff_day")
    op.drop_table("report_contact_day")
    op.drop_table("report_senior_month")
    op.drop_table("report_rollup_month")
