"""feedback: scheduling and retries of messages, opt-outs, survey answers

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("role", sa.String(20), nullable=False, server_default="informant"))
        batch.add_column(sa.Column("address_digest", sa.String(64), nullable=True))
        batch.add_column(sa.Column("html", sa.Text(), nullable=True))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_messages_address_digest", ["address_digest"])
        batch.create_index("ix_messages_due_at", ["due_at"])
        batch.create_index("ix_messages_status", ["status"])
    op.create_table(
        "opt_outs",
        sa.Column("channel", sa.String(10), primary_key=True),
        sa.Column("address_digest", sa.String(64), primary_key=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "survey_answers",
        sa.Column("reference", sa.String(20), primary_key=True),
        sa.Column("question", sa.String(20), primary_key=True),
        sa.Column("answer", sa.String(10), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("survey_answers")
    op.drop_table("opt_outs")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_status")
        batch.drop_index("ix_messages_due_at")
        batch.drop_index("ix_messages_address_digest")
        for column in ("due_at", "html", "address_digest", "role"):
            batch.drop_column(column)
