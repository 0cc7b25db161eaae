"""opt_outs: how each address digest was made (``digest_version``): every row written so far is an
unkeyed SHA-256 (0); from now on, an HMAC under ADDRESS_DIGEST_KEY (1). The digests themselves are
re-keyed by ``python -m services.keys rekey-digests`` (it needs the keys and the addresses).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("opt_outs") as batch:
        batch.add_column(sa.Column("digest_version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("opt_outs") as batch:
        batch.alter_column("digest_version", existing_type=sa.Integer(), existing_nullable=False,
                           server_default="1")


def downgrade() -> None:
    with op.batch_alter_table("opt_outs") as batch:
        batch.drop_column("digest_version")
