"""routing: clusters of related reports, and the redacted items each watch may list

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "cluster_members",
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("cluster_id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"]),
        sa.PrimaryKeyConstraint("reference"),
    )
    with op.batch_alter_table("cluster_members", schema=None) as batch_op:
        batch_op.create_index("ix_cluster_members_category_received", ["category", "received_at"], unique=False)
        batch_op.create_index("ix_cluster_members_postcode", ["postcode"], unique=False)
        batch_op.create_index(batch_op.f("ix_cluster_members_cluster_id"), ["cluster_id"], unique=False)

    op.create_table(
        "watch_items",
        sa.Column("watch_id", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["reference"], ["reports.reference"]),
        sa.PrimaryKeyConstraint("watch_id", "reference"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("watch_items", schema=None) as batch_op:
        batch_op.create_index("ix_watch_items_watch_received", ["watch_id", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("watch_items", schema=None) as batch_op:
        batch_op.drop_index("ix_watch_items_watch_received")
    op.drop_table("watch_items")
    with op.batch_alter_table("cluster_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_members_cluster_id"))
        batch_op.drop_index("ix_cluster_members_postcode")
        batch_op.drop_index("ix_cluster_members_category_received")
    op.drop_table("cluster_members")
    op.drop_table("clusters")
