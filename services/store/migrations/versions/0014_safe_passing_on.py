"""actions.watch_note: what the police wrote for the watches, kept apart from the informant's
text; reference_claims: each reference the intake gave out, claimed once (so two reports never
share one) with the caller-scoped idempotency key and request digest it was given for

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("watch_note", sa.Text(), nullable=True))
    op.create_table(
        "reference_claims",
        sa.Column("reference", sa.String(20), primary_key=True),
        sa.Column("key_digest", sa.String(64), nullable=True),
        sa.Column("body_digest", sa.String(64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key_digest", name="uq_reference_claims_key_digest"),
    )


def downgrade() -> None:
    op.drop_table("reference_claims")
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("watch_note")
