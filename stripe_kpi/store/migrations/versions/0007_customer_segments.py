"""a customer's country and metadata

``customer.address_country`` and ``customer.metadata`` (JSON, None when empty) are what the
``country`` and ``metadata:KEY`` segments read (METRICS.md §8). Both are filled from the raw JSON
already stored (Stripe returns ``address`` and ``metadata`` on every customer), so a database
from before needs no resync: its next sync keeps them current.

Revision ID: 0007_customer_segments
Revises: 0006_schedules
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007_customer_segments'
down_revision: str | None = '0006_schedules'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_country', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('metadata', sa.Text(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        # ``json``, not ``jsonb``: its text is the stored text, as the sync writes it.
        op.execute(
            "UPDATE customer SET "
            "address_country = NULLIF(raw::json -> 'address' ->> 'country', ''), "
            "metadata = CASE WHEN json_typeof(raw::json -> 'metadata') = 'object' "
            "AND (raw::jsonb -> 'metadata') <> '{}'::jsonb "
            "THEN (raw::json -> 'metadata')::text END"
        )
    else:
        op.execute(
            "UPDATE customer SET "
            "address_country = NULLIF(json_extract(raw, '$.address.country'), ''), "
            "metadata = CASE WHEN json_type(raw, '$.metadata') = 'object' "
            "AND json_extract(raw, '$.metadata') <> '{}' "
            "THEN json_extract(raw, '$.metadata') END "
            "WHERE json_valid(raw)"
        )


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('metadata')
        batch_op.drop_column('address_country')
