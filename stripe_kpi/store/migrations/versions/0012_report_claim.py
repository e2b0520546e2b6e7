"""report claims

``report_claim`` holds one row per report day, taken before the report is sent, so that two
``report --send`` for the same day at the same instant send one email (``report.claim``). A
database from before gets a ``sent`` row for every day ``report_delivery`` says was sent, so
the once-per-day rule keeps holding across the upgrade.

Revision ID: 0012_report_claim
Revises: 0011_segment_mrr
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0012_report_claim'
down_revision: str | None = '0011_segment_mrr'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('report_claim',
    sa.Column('report_date', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('host', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.BigInteger(), nullable=False),
    sa.Column('sent_at', sa.BigInteger(), nullable=True),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('report_date')
    )
    # Every day already sent, with its latest sending (the once-per-day rule read these rows).
    op.execute(
        "INSERT INTO report_claim "
        "(report_date, state, token, host, pid, claimed_at, sent_at, delivery_id) "
        "SELECT d.report_date, 'sent', 'upgrade', '', 0, d.created_at, d.sent_at, d.id "
        "FROM report_delivery d WHERE d.status = 'sent' AND d.id = ("
        "SELECT max(l.id) FROM report_delivery l "
        "WHERE l.report_date = d.report_date AND l.status = 'sent')"
    )


def downgrade() -> None:
    op.drop_table('report_claim')
