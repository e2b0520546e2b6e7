"""Time for the simulator: unix seconds inside, timezone-aware datetimes at the public edge.

Stripe counts billing periods from the subscription's ``billing_cycle_anchor`` in UTC: a monthly
period anchored on the 31st ends on the last day of shorter months and returns to the 31st
afterwards (the anchor's day is kept, not the previous period's end).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

DAY = 86_400
HOUR = 3_600

Interval = str  # "day" | "week" | "month" | "year"


def to_unix(moment: datetime) -> int:
    """Unix seconds of a timezone-aware datetime (a naive one is a bug: whose midnight?)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware datetime")
    return int(moment.timestamp())


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def period_boundary(anchor: int, interval: Interval, interval_count: int, n: int) -> int:
    """The ``n``-th period boundary after ``anchor`` (``n == 0`` is the anchor itself)."""
    if interval == "day":
        return anchor + n * interval_count * DAY
    if interval == "week":
        return anchor + n * interval_count * 7 * DAY
    months = n * interval_count * (12 if interval == "year" else 1)
    if interval not in ("month", "year"):
        raise ValueError(f"unknown interval {interval!r}")
    start = from_unix(anchor)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return to_unix(start.replace(year=year, month=month, day=day))


def add_months(moment: int, months: int) -> int:
    """``moment`` plus whole months, clamped to the month's end (a repeating coupon's end)."""
    return period_boundary(moment, "month", 1, months)


def format_day(seconds: int) -> str:
    """The date as Stripe writes it in proration descriptions: ``11 Jan 2026``."""
    moment = from_unix(seconds)
    return f"{moment.day:02d} {moment.strftime('%b %Y')}"
