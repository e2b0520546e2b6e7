"""the segment tables

``segment_mrr`` holds, per segment kind (plan, product, interval, currency, country) and
segment, a row on each day something of it changed: MRR and paying customers at the day's end
and the day's movements (METRICS.md §8). ``customer_segment`` keeps each customer's changes to
them, which an incremental update takes out again, as ``customer_result`` does for
``daily_metrics``. A database from before gets one ``*`` row in ``derive_queue``: its first sync
or read rebuilds the derived tables, the segment tables with them.

Revision ID: 0011_segment_mrr
Revises: 0010_spend
Create Date: 2026-12-04
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0011_segment_mrr'
down_revision: str | None = '0010_spend'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('segment_mrr',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('date', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('mrr', sa.BigInteger(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('new', sa.BigInteger(), nullable=False),
    sa.Column('expansion', sa.BigInteger(), nullable=False),
    sa.Column('contraction', sa.BigInteger(), nullable=False),
    sa.Column('churn', sa.BigInteger(), nullable=False),
    sa.Column('reactivation', sa.BigInteger(), nullable=False),
    sa.Column('fx', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'segment', 'date')
    )
    op.create_table('customer_segment',
    sa.Column('customer_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('customer_id')
    )
    queue = sa.table(
        'derive_queue',
        sa.column('customer_id', sa.String),
        sa.column('token', sa.String),
        sa.column('queued_at', sa.BigInteger),
    )
    op.execute(queue.delete().where(queue.c.customer_id == '*'))
    op.bulk_insert(queue, [{'customer_id': '*', 'token': 'upgrade-segments', 'queued_at': int(time.time())}])


def downgrade() -> None:
    op.drop_table('customer_segment')
    op.drop_table('segment_mrr')
