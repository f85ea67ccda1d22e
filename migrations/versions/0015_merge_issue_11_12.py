"""merge the branches built side by side (report rollups, vigilance, numbers and contacts,
door-knocks, inbound calls, per-organisation gateway settings)

Revision ID: 0015
Revises: 0009, 0010, 0011, 0012, 0013, 0014
Create Date: 2026-11-28 16:30:00
"""

revision = "0015"
down_revision = ("0009", "0010", "0011", "0012", "0013", "0014")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
