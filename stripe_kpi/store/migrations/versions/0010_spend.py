"""spend

``spend``: sales and marketing spend per month (``YYYY-MM``), in minor units of the reporting
currency, as the founder enters it with ``stripe-kpi spend``; what CAC, LTV:CAC and CAC payback
divide (METRICS.md §9). A new table: a database from before upgrades in place with it empty.

Revision ID: 0010_spend
Revises: 0009_reader_columns
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0010_spend'
down_revision: str | None = '0009_reader_columns'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('spend',
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('month')
    )


def downgrade() -> None:
    op.drop_table('spend')
