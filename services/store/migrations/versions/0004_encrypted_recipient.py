"""messages.recipient holds a Fernet token (longer than an address): widen it to text

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("recipient", type_=sa.Text(), existing_type=sa.String(320), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("recipient", type_=sa.String(320), existing_type=sa.Text(), existing_nullable=False)
