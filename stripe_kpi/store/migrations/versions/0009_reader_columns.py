"""what the readers read from the derived tables

``daily_metrics`` gains each day's trials ended and converted (trial conversion, METRICS.md §4),
and ``customer_result`` the days each customer had MRR at risk, so ``metrics``, ``movements`` and
``report`` read those tables instead of every customer's figures. Existing rows get zeros and
nulls; the upgrade queues a rebuild (one ``*`` row in ``derive_queue``, as 0004 does), so the
first sync or read after it fills them.

Revision ID: 0009_reader_columns
Revises: 0008_cohort_month
Create Date: 2026-12-04
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009_reader_columns'
down_revision: str | None = '0008_cohort_month'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('daily_metrics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trials_ended', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('trials_converted', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('customer_result', schema=None) as batch_op:
        batch_op.add_column(sa.Column('at_risk_from', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('at_risk_until', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index('ix_customer_result_at_risk', ['at_risk_until', 'at_risk_from'], unique=False)
    queue = sa.table('derive_queue', sa.column('customer_id'), sa.column('token'), sa.column('queued_at'))
    op.execute(queue.delete().where(queue.c.customer_id == '*'))
    op.bulk_insert(queue, [{'customer_id': '*', 'token': 'upgrade', 'queued_at': int(time.time())}])


def downgrade() -> None:
    with op.batch_alter_table('customer_result', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_result_at_risk')
        batch_op.drop_column('at_risk_until')
        batch_op.drop_column('at_risk_from')
    with op.batch_alter_table('daily_metrics', schema=None) as batch_op:
        batch_op.drop_column('trials_converted')
        batch_op.drop_column('trials_ended')
