"""audit_head: the audit log's one-row head (the last entry's seq and hash), moved with every
append under its row lock, so entries removed from the end of the chain are seen too; started from
the log as it stands. link_accounts and sign_in_links: people without a force account sign in by
a one-time link sent to their email (only the link token's SHA-256 is kept).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
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
    op.create_table(
        "link_accounts",
        sa.Column("person", sa.String(200), primary_key=True),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("email_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("principal_id", sa.String(200), nullable=False),
        sa.Column("invited_by", sa.String(220), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sign_in_links_person", "sign_in_links", ["person"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_links_person", table_name="sign_in_links")
    op.drop_table("sign_in_links")
    op.drop_table("link_accounts")
    op.drop_table("audit_head")
