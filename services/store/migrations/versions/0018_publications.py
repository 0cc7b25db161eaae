"""publications: "you said, we did" for a neighbourhood in police.uk's neighbourhood-priority shape
(issue, issue date, action, action date), drafted by one person and approved by another before
anyone outside sees it.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("neighbourhood", sa.String(100), nullable=False),
        sa.Column("issue", sa.Text(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("action_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("drafted_by", sa.String(220), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("unit_name", sa.String(200), nullable=False),
        sa.Column("author_role", sa.String(40), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(220), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(220), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('draft', 'approved', 'withdrawn')", name="ck_publications_state"),
    )
    op.create_index("ix_publications_neighbourhood_state", "publications",
                    ["neighbourhood", "state", "action_date"])


def downgrade() -> None:
    op.drop_index("ix_publications_neighbourhood_state", table_name="publications")
    op.drop_table("publications")
