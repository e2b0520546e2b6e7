"""committed change

``committed_change``, each subscription's committed MRR change (set to end, a schedule's phase,
a trial in progress) as the derived tables keep it (METRICS.md §9). A database from before gets
a ``*`` row in ``derive_queue``: its next sync or read rebuilds the derived tables, which fills it.

Revision ID: 0013_committed_change
Revises: 0012_report_claim
Create Date: 2026-12-04
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0013_committed_change'
down_revision: str | None = '0012_report_claim'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('committed_change',
    sa.Column('customer_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('subscription_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('date', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('customer_id', 'subscription_id', 'kind', 'date')
    )
    queue = sa.table('derive_queue', sa.column('customer_id'), sa.column('token'), sa.column('queued_at'))
    op.execute(queue.delete().where(queue.c.customer_id == '*'))
    op.bulk_insert(queue, [{'customer_id': '*', 'token': 'upgrade-0013', 'queued_at': int(time.time())}])


def downgrade() -> None:
    op.drop_table('committed_change')
