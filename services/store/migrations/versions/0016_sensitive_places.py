"""cluster_members: a sensitive report's place (exact point, full postcode) is kept nowhere but in
its encrypted report: the places of sensitive reports clustered before are removed, with any
cluster left with no member (the router no longer clusters sensitive reports).

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM cluster_members WHERE reference IN "
               "(SELECT reference FROM reports WHERE sensitive)")
    op.execute("DELETE FROM clusters WHERE id NOT IN (SELECT cluster_id FROM cluster_members)")


def downgrade() -> None:
    """What was removed is not brought back."""
