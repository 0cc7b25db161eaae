"""erasures: each report whose personal data was erased on a data subject's request, and why

Revision ID: 0005_erasures
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_erasures"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_erasures_reference", "erasures", ["reference"])
    op.create_index("ix_erasures_request_id", "erasures", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_erasures_request_id", table_name="erasures")
    op.drop_index("ix_erasures_reference", table_name="erasures")
    op.drop_table("erasures")
