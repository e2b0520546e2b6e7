"""the derive queue

``derive_queue`` holds the customers whose derived rows are owed, written with the sync page
that touched them and deleted with the derived rows that settle them, so a process killed in
between leaves the work for the next sync or read. A database from before gets one ``*`` row
(every customer): its first sync or read rebuilds the derived tables, which an older version
may have left stale.

Revision ID: 0004_derive_queue
Revises: 0003
Create Date: 2026-12-04
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004_derive_queue'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    queue = op.create_table('derive_queue',
    sa.Column('customer_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('queued_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('customer_id')
    )
    op.bulk_insert(queue, [{'customer_id': '*', 'token': 'upgrade', 'queued_at': int(time.time())}])


def downgrade() -> None:
    op.drop_table('derive_queue')
