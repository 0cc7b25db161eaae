"""reports.sensitive: the router's verdict (by category or by the report's words), kept so every
later message about the report follows the same safety rules as the acknowledgement

Revision ID: 0006
Revises: 0005_erasures
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005_erasures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite too): no copy of a table other tables refer to.
    op.add_column("reports", sa.Column("sensitive", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("sensitive")
