"""audit_head: the audit log's one-row head (the last entry's seq and hash), moved with every
append under its row lock, so entries removed from the end of the chain are seen too; started from
the log as it stands.

Revision ID: 0019
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    log = sa.table("audit_log", sa.column("seq", sa.Integer), sa.column("hash", sa.String))
    last = op.get_bind().execute(sa.select(log.c.seq, log.c.hash).order_by(log.c.seq.desc()).limit(1)).first()
    op.bulk_insert(head, [{"id": 1, "seq": last[0] if last else 0, "hash": last[1] if last else GENESIS}])


def downgrade() -> None:
    op.drop_table("audit_head")
