"""The ``stripe-kpi metrics --segment KIND`` document: per segment, the series and the period's
totals (MRR, paying customers, ARPU, the movements), from the segment's stored days.

Pure: the store hands over each segment's levels at the end of the day before the period and its
days with a change inside it (:class:`SegmentDays`); days without a row keep the levels of the
last one and move nothing. Money in major units as in ``metrics --json`` (METRICS.md §5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from stripe_kpi.metrics.kpis import Granularity
from stripe_kpi.metrics.money import minor_exponent
from stripe_kpi.metrics.vocabulary import MOVEMENT_TYPES

#: A day of a segment: ``(day ordinal, mrr, customers, new, expansion, contraction, churn,
#: reactivation, fx)``: levels at the day's end, the day's movements.
SegmentDay = tuple[int, int, int, int, int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class SegmentDays:
    """One segment over a period: its MRR and paying customers at the end of the day before,
    and its days with a change in the period, ascending."""

    mrr_start: int
    customers_start: int
    days: Sequence[SegmentDay]


def days_from_changes(
    changes: Mapping[int, Sequence[int]], first: date, last: date
) -> SegmentDays | None:
    """A segment's :class:`SegmentDays` from its per-day changes (levels as differences, flows):
    what the ``metadata:KEY`` segments, computed on read, are built from. None when it has
    nothing in or before the period."""
    low, high = first.toordinal(), last.toordinal()
    mrr = customers = 0
    start: tuple[int, int] | None = None
    days: list[SegmentDay] = []
    for day in sorted(changes):
        if day > high:
            break
        if day >= low and start is None:
            start = (mrr, customers)
        values = changes[day]
        mrr, customers = mrr + values[0], customers + values[1]
        if day >= low and any(values):
            days.append((day, mrr, customers, *values[2:]))  # type: ignore[arg-type]
    if start is None:
        start = (mrr, customers)
    if not days and start == (0, 0):
        return None
    return SegmentDays(start[0], start[1], days)


def _periods(first: date, last: date, by: Granularity) -> list[tuple[date, date]]:
    if by == "day":
        return [(first + timedelta(days=i), first + timedelta(days=i))
                for i in range((last - first).days + 1)]  # fmt: skip
    out, start = [], first
    while start <= last:
        following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        end = min(last, following - timedelta(days=1))
        out.append((start, end))
        start = following
    return out


_FX = MOVEMENT_TYPES.index("fx")
_OWN = tuple(i for i, name in enumerate(MOVEMENT_TYPES) if name != "fx")


class _Money:
    """``report_json.money`` for one currency, at a year of daily points per segment: an
    integer divided by 10^exponent is the double nearest the exact amount (IEEE division of two
    exact integers rounds correctly), which is what ``float(Decimal(minor).scaleb(-e))`` gives,
    without a Decimal per figure."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.scale = 10 ** minor_exponent(currency)

    def __call__(self, minor: int) -> int | float:
        return minor if self.scale == 1 else minor / self.scale

    def arpu(self, mrr: int, customers: int) -> int | float | None:
        """MRR ÷ customers rounded half up to the minor unit (MRR is never negative)."""
        if not customers:
            return None
        return self((2 * mrr + customers) // (2 * customers))

    def moves(self, values: Sequence[int]) -> dict[str, Any]:
        out = {MOVEMENT_TYPES[i]: self(values[i]) for i in _OWN}
        out["net"] = self(sum(values[i] for i in _OWN))
        out["fx"] = self(values[_FX])
        return out


def segment_document(
    kind: str,
    segments: Mapping[str, SegmentDays],
    first: date,
    last: date,
    by: Granularity,
    *,
    currency: str,
    tz: str,
) -> dict[str, Any]:
    """The document: ``segments`` ordered by MRR at the period's end (largest first), each with
    its ``series`` (one entry per day or calendar month, clipped to the period, its ``date`` the
    entry's last day, as in ``metrics --json``) and ``totals``. A segment's movements are §2
    inside it (METRICS.md §8): they need not add up to the account's, its MRR and customers do."""
    periods = _periods(first, last, by)
    cash = _Money(currency)
    quiet = cash.moves([0] * len(MOVEMENT_TYPES))  # a period without movements, shared
    built = []
    for name, seg in segments.items():
        mrr, customers = seg.mrr_start, seg.customers_start
        total = [0] * len(MOVEMENT_TYPES)
        series = []
        position = 0
        for _, end in periods:
            flows = [0] * len(MOVEMENT_TYPES)
            while position < len(seg.days) and seg.days[position][0] <= end.toordinal():
                day = seg.days[position]
                mrr, customers = day[1], day[2]
                for i, value in enumerate(day[3:]):
                    flows[i] += value
                position += 1
            total = [a + b for a, b in zip(total, flows, strict=True)]
            series.append(
                {
                    "date": end.isoformat(),
                    "mrr": cash(mrr),
                    "customers": customers,
                    "arpu": cash.arpu(mrr, customers),
                    "movements": cash.moves(flows) if any(flows) else quiet,
                }
            )
        if not any(total) and mrr == 0 and seg.mrr_start == 0:
            continue  # nothing in the period
        totals = {
            "mrr_start": cash(seg.mrr_start),
            "mrr_end": cash(mrr),
            "customers_start": seg.customers_start,
            "customers_end": customers,
            "arpu": cash.arpu(mrr, customers),
            "movements": cash.moves(total),
        }
        built.append((-mrr, name, {"segment": name, "totals": totals, "series": series}))
    return {
        "currency": currency,
        "timezone": tz,
        "segment": kind,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "by": by,
        "segments": [entry for _, _, entry in sorted(built, key=lambda b: (b[0], b[1]))],
    }
