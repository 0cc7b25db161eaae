"""The audit log: an append-only, hash-chained record of who collected, altered, consulted,
disclosed, combined or erased personal data

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("what", sa.String(60), nullable=False),
        sa.Column("reference", sa.String(20), nullable=True),
        sa.Column("actor", sa.String(220), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=True),
        sa.Column("unit", sa.String(200), nullable=True),
        sa.Column("role", sa.String(40), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_audit_log_reference", "audit_log", ["reference"])
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor", "at"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_at", table_name="audit_log")
    op.drop_index("ix_audit_log_reference", table_name="audit_log")
    op.drop_table("audit_log")
