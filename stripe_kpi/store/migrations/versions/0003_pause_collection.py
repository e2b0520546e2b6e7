"""a subscription's paused collection

``pause_collection`` (Stripe keeps renewing, but voids, drafts or marks uncollectible the
invoices until ``resumes_at``): the metrics keep counting such a subscription and show it in MRR
at risk (METRICS.md §1, §4). The two columns are filled from the raw JSON already stored, so a
database from before needs no resync.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pause_collection_behavior', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('pause_collection_resumes_at', sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "UPDATE subscription SET "
            "pause_collection_behavior = (raw::jsonb -> 'pause_collection' ->> 'behavior'), "
            "pause_collection_resumes_at = (raw::jsonb -> 'pause_collection' ->> 'resumes_at')::bigint "
            "WHERE raw::jsonb -> 'pause_collection' IS NOT NULL "
            "AND jsonb_typeof(raw::jsonb -> 'pause_collection') = 'object'"
        )
    else:
        op.execute(
            "UPDATE subscription SET "
            "pause_collection_behavior = json_extract(raw, '$.pause_collection.behavior'), "
            "pause_collection_resumes_at = json_extract(raw, '$.pause_collection.resumes_at') "
            "WHERE json_valid(raw) AND json_type(raw, '$.pause_collection') = 'object'"
        )


def downgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_column('pause_collection_resumes_at')
        batch_op.drop_column('pause_collection_behavior')
