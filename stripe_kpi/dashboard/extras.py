"""The pages that come from other features' stored tables: the cohort heatmap (``cohort_month``)
and MRR by segment (``segment_mrr``, read as ``metrics --segment`` reads it). A database without
one of those tables (``serve`` never migrates: an older schema stays as it is) gets ``None``,
and its page says "not available yet" instead of a chart.

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
from stripe_kpi.metrics.report_json import money
from stripe_kpi.metrics.segment_report import SegmentDays
from stripe_kpi.store.cohort_table import read_cohorts
from stripe_kpi.store.segment_reads import read_segments

#: The segment kinds the page draws (METRICS.md §8), each as stacked areas.
SEGMENT_KINDS = ("plan", "country", "currency")
#: Segments drawn per kind: the largest at the last day; the rest are summed as "other".
TOP_SEGMENTS = 8
OTHER = "other"


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


def segments_block(
    connection: Connection, first: date, last: date, currency: str
) -> dict[str, Any] | None:
    """MRR by plan, country and currency on each day of the period, as stacked areas: per kind
    the :data:`TOP_SEGMENTS` segments with the most MRR on the last day and ``other`` (the rest
    summed), from ``segment_mrr`` (``store.segment_reads``); None without the stored table.
    Each day's segments of a kind sum to its MRR (METRICS.md §8)."""
    if not has_table(connection, "segment_mrr"):
        return None
    dates = [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
    kinds: dict[str, list[dict[str, Any]]] = {}
    for kind in SEGMENT_KINDS:
        found = read_segments(connection, kind, first, last)
        levels = {
            segment: _daily_levels(days, first, len(dates)) for segment, days in found.items()
        }
        ranked = sorted(levels, key=lambda s: (-levels[s][-1], s))
        shown, rest = ranked[:TOP_SEGMENTS], ranked[TOP_SEGMENTS:]
        series = [(segment, levels[segment]) for segment in shown]
        if rest:
            series.append((OTHER, [sum(levels[s][i] for s in rest) for i in range(len(dates))]))
        kinds[kind] = [
            {"name": name, "mrr": [money(v, currency) for v in values]}
            for name, values in series
            if any(values)
        ]
    return {"dates": [d.isoformat() for d in dates], "kinds": kinds, "top": TOP_SEGMENTS}


def _daily_levels(days: SegmentDays, first: date, count: int) -> list[int]:
    """A segment's MRR at the end of each day from ``first`` (its rows are the days it changed)."""
    values, level, start = [], days.mrr_start, first.toordinal()
    changes = {day[0]: day[1] for day in days.days}
    for offset in range(count):
        level = changes.get(start + offset, level)
        values.append(level)
    return values
