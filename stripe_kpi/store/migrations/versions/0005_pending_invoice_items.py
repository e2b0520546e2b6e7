"""pending invoice items

``pending_invoice_item`` holds the invoice items no invoice has taken yet (``GET
/v1/invoiceitems?pending=true``): the prorations of a change made with ``create_prorations``
wait there for the next renewal, and date the change when the events that told of it are gone
(METRICS.md §1). ``invoice_line.invoice_item_id`` is indexed: a line that takes a pending item
removes it. A database from before fills the table at its next full sync (``sync --full``).

Revision ID: 0005_pending_invoice_items
Revises: 0004_derive_queue
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0005_pending_invoice_items'
down_revision: str | None = '0004_derive_queue'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pending_invoice_item',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('customer_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('subscription_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('subscription_item_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('proration', sa.Boolean(), nullable=False),
    sa.Column('price_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('date', sa.BigInteger(), nullable=False),
    sa.Column('period_start', sa.BigInteger(), nullable=False),
    sa.Column('period_end', sa.BigInteger(), nullable=False),
    sa.Column('discount_ids', sa.Text(), nullable=True),
    sa.Column('invoice_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pending_invoice_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_invoice_item_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_invoice_item_subscription_id'), ['subscription_id'], unique=False)

    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_invoice_item_id'), ['invoice_item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_invoice_item_id'))

    with op.batch_alter_table('pending_invoice_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_invoice_item_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_pending_invoice_item_customer_id'))

    op.drop_table('pending_invoice_item')
