"""messages: send leases (who took a message for sending, and which take), when the last provider
call began, a late outcome, and whether the recipient is guarded

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("guarded", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("lease_owner", sa.String(100), nullable=True))
        batch.add_column(sa.Column("lease_generation", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("late_outcome", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        for column in ("late_outcome", "attempted_at", "lease_generation", "lease_owner", "guarded"):
            batch.drop_column(column)
