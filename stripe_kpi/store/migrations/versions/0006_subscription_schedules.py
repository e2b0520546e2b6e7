"""subscription schedules

One row per Stripe subscription schedule, its phases as JSON: the metrics date a scheduled
change at its phase's start (METRICS.md §1). Filled by the next sync (a full sync lists them;
an incremental one picks up ``subscription_schedule.*`` events).

Revision ID: 0006_schedules
Revises: 0005_pending_invoice_items
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0006_schedules'
down_revision: str | None = '0005_pending_invoice_items'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('subscription_schedule',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('customer_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('subscription_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('end_behavior', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.Column('current_phase_start', sa.BigInteger(), nullable=True),
    sa.Column('current_phase_end', sa.BigInteger(), nullable=True),
    sa.Column('canceled_at', sa.BigInteger(), nullable=True),
    sa.Column('completed_at', sa.BigInteger(), nullable=True),
    sa.Column('released_at', sa.BigInteger(), nullable=True),
    sa.Column('phases', sa.Text(), nullable=True),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('subscription_schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_schedule_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_schedule_subscription_id'), ['subscription_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('subscription_schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_schedule_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_schedule_customer_id'))
    op.drop_table('subscription_schedule')
