"""cohort month

``cohort_month``, the monthly cohorts as the derived tables keep them (METRICS.md §4). A
database from before gets a ``*`` row in ``derive_queue``: its next sync or read rebuilds the
derived tables, which fills it.

Revision ID: 0008_cohort_month
Revises: 0007_customer_segments
Create Date: 2026-12-04
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008_cohort_month'
down_revision: str | None = '0007_customer_segments'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cohort_month',
    sa.Column('cohort', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('months_since', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('cohort_customers', sa.Integer(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('mrr', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('cohort', 'months_since')
    )
    queue = sa.table('derive_queue', sa.column('customer_id'), sa.column('token'), sa.column('queued_at'))
    op.execute(queue.delete().where(queue.c.customer_id == '*'))
    op.bulk_insert(queue, [{'customer_id': '*', 'token': 'upgrade-0008', 'queued_at': int(time.time())}])


def downgrade() -> None:
    op.drop_table('cohort_month')
