"""the public dashboard's figures per area and month, and the time indexes its refresh reads by

Revision ID: 0012
Revises: 0011

``dashboard_monthly`` starts empty: the router's first refresh (or ``python -m
services.dashboard``) computes every month. ``reports.contactable`` is null for reports
routed before it; the dashboard then counts a report as contactable if it was messaged.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("contactable", sa.Boolean(), nullable=True))
    op.create_index("ix_actions_recorded", "actions", ["recorded_at"], unique=False)
    op.create_index("ix_messages_updated_at", "messages", ["updated_at"], unique=False)
    op.create_index("ix_survey_answers_answered", "survey_answers", ["answered_at"], unique=False)
    op.create_table(
        "dashboard_monthly",
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("contactable", sa.Integer(), nullable=False),
        sa.Column("acknowledged", sa.Integer(), nullable=False),
        sa.Column("ack_waiting", sa.Integer(), nullable=False),
        sa.Column("heard_we_did", sa.Integer(), nullable=False),
        sa.Column("median_ack_minutes", sa.Float(), nullable=True),
        sa.Column("median_action_hours", sa.Float(), nullable=True),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("satisfaction_sum", sa.Integer(), nullable=False),
        sa.Column("satisfaction_count", sa.Integer(), nullable=False),
        sa.Column("informed_yes", sa.Integer(), nullable=False),
        sa.Column("informed_answers", sa.Integer(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("we_did", sa.JSON(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("area", "month"),
    )
    op.create_index("ix_dashboard_monthly_month", "dashboard_monthly", ["month"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dashboard_monthly_month", table_name="dashboard_monthly")
    op.drop_table("dashboard_monthly")
    op.drop_index("ix_survey_answers_answered", table_name="survey_answers")
    op.drop_index("ix_messages_updated_at", table_name="messages")
    op.drop_index("ix_actions_recorded", table_name="actions")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("contactable")
