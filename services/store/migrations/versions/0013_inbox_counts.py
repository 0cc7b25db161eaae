"""inbox counts: how many reports each destination's inbox holds, open and closed

Revision ID: 0013
Revises: 0012

Filled from ``report_destinations`` and ``reports`` (``*``: every report).
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_counts",
        sa.Column("destination_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("destination_id", "status"),
    )
    op.execute("INSERT INTO inbox_counts (destination_id, status, reports) "
               "SELECT destination_id, status, count(*) FROM report_destinations GROUP BY destination_id, status")
    op.execute("INSERT INTO inbox_counts (destination_id, status, reports) "
               "SELECT '*', status, count(*) FROM reports GROUP BY status")


def downgrade() -> None:
    op.drop_table("inbox_counts")
