"""audit_head.tail_seq / tail_hash: the last entry the retention job removed from the audit log's
start (0 and the genesis hash until it removes one), so the chain still verifies from there.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("tail_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("tail_hash", sa.String(64), nullable=False, server_default=GENESIS))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("tail_hash")
        batch.drop_column("tail_seq")
