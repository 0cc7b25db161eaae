"""Staff sign-in: sessions kept on the server, and disabled accounts

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("person", sa.String(200), nullable=True),
        sa.Column("principal_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(40), nullable=True),
    )
    op.create_index("ix_staff_sessions_person_ended", "staff_sessions", ["person", "ended_at"])
    op.create_table(
        "staff_accounts",
        sa.Column("person", sa.String(200), primary_key=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staff_accounts")
    op.drop_index("ix_staff_sessions_person_ended", table_name="staff_sessions")
    op.drop_table("staff_sessions")
