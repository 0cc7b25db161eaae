"""reports, routing decisions, actions, messages

Revision ID: 0001
Revises:
Create Date: 2026-11-22 18:42:07.662509
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('trigger', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=True),
    sa.Column('provider_id', sa.String(length=100), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_messages_key')
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_reference'), ['reference'], unique=False)

    op.create_table('reports',
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contact', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('reference')
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_category'), ['category'], unique=False)

    op.create_table('actions',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.String(length=200), nullable=False),
    sa.Column('public_text', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('outcome_reason', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reference'], ['reports.reference'], ),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actions_reference'), ['reference'], unique=False)

    op.create_table('routing_decisions',
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('destinations', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('rules_version', sa.String(length=64), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reference'], ['reports.reference'], ),
    sa.PrimaryKeyConstraint('reference'),
    sa.UniqueConstraint('event_id')
    )


def downgrade() -> None:
    op.drop_table('routing_decisions')
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actions_reference'))

    op.drop_table('actions')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_category'))

    op.drop_table('reports')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_reference'))
        batch_op.drop_index(batch_op.f('ix_messages_provider_id'))

    op.drop_table('messages')
