"""Monthly cohorts (METRICS.md §4 "cohorts"): customers grouped by the month of their first
payment, and how many of them, and how much of their MRR, are still there month after month.

A customer's cohort is the month (in the reporting time zone) of the first day they ended with
MRR > 0 (``CustomerResult.first_paid_day``: the day of their ``new`` movement), not of their first
paid invoice: a trial's $0 invoice or a one-off setup fee does not make a paying customer, and a
cohort is exactly its month's new customers.

Per cohort and month since (0 = the cohort's own month) we keep three numbers at the end of that
month, or at the last day computed for the month in progress:

- ``cohort_customers``: the customers of the cohort (the same in every month);
- ``customers``: those of them paying (MRR > 0), churned and reactivated ones included again;
- ``mrr``: the MRR of the cohort's customers (net: expansion counts, so it can exceed month 0's).

A customer's contribution is stored as *changes* per month since (a level that changes in month
k holds in every later month), so adding and removing a customer are exact inverses and the
months after the last one computed carry the last levels forward: the stored table is kept
current by an incremental update exactly as ``daily_metrics`` is (:class:`CohortLedger`).

Retention (:func:`retention`) is a share of the cohort's start:

- ``customers``: paying customers at the end of month k ÷ the cohort's customers. Month 0 is
  100 % by definition (every customer of the cohort paid in it), even when some of them churned
  again before the month ended (they show from month 1 on), as ChartMogul's month 0 does.
- ``mrr``: the cohort's MRR at the end of month k ÷ its *starting MRR*, which is the cohort's
  MRR at the end of its first month (month 0; at the last day computed while that month is in
  progress). Net of expansion, contraction and churn, so it can exceed 100 %; month 0 is 100 %
  (None when the starting MRR is 0: everyone in it left within their first month).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from stripe_kpi.metrics.movements import CustomerResult
from stripe_kpi.metrics.report_json import fraction, money

CohortMetric = Literal["customers", "mrr"]
#: ``(cohort, months since)`` → change of ``(cohort_customers, customers, mrr)`` from that month
#: on; the cohort is the ordinal of its month's first day.
CohortChanges = dict[tuple[int, int], tuple[int, int, int]]


def month_index(day: date) -> int:
    """Months since year 0: consecutive months differ by one."""
    return day.year * 12 + day.month - 1


class CohortLedger:
    """The cohorts of some customers, as changes per cohort and month since (see the module)."""

    __slots__ = ("_changes",)

    def __init__(self, results: Iterable[CustomerResult] = ()) -> None:
        self._changes: dict[tuple[int, int], list[int]] = {}
        for result in results:
            self.add(result)

    @classmethod
    def from_changes(cls, parts: Iterable[Mapping[tuple[int, int], Sequence[int]]]) -> CohortLedger:
        """The sum of ledgers given by their :meth:`changes` (customers computed apart)."""
        ledger = cls()
        for changes in parts:
            for key, change in changes.items():
                ledger._bump(key, *change)
        return ledger

    @classmethod
    def from_levels(cls, rows: Iterable[tuple[date, int, int, int, int]]) -> CohortLedger:
        """The ledger whose :meth:`cells` are ``rows`` (``cohort_month`` as stored: cohort,
        months since, cohort customers, customers, MRR), every cohort's months without gaps."""
        ledger = cls()
        previous: dict[int, tuple[int, int, int]] = {}
        for cohort, since, size, customers, mrr in sorted(rows):
            key = cohort.toordinal()
            a, b, c = previous.get(key, (0, 0, 0))
            ledger._bump((key, since), size - a, customers - b, mrr - c)
            previous[key] = (size, customers, mrr)
        return ledger

    def _bump(self, key: tuple[int, int], size: int, customers: int, mrr: int) -> None:
        row = self._changes.get(key)
        if row is None:
            row = self._changes[key] = [0, 0, 0]
        row[0] += size
        row[1] += customers
        row[2] += mrr

    def add(self, result: CustomerResult, sign: int = 1) -> None:
        """Add (``sign=1``) or take away (``sign=-1``) one customer's contribution."""
        first = result.first_paid_day
        if first is None:
            return
        cohort_month = date.fromordinal(first).replace(day=1)
        cohort, base = cohort_month.toordinal(), month_index(cohort_month)
        self._bump((cohort, 0), sign, 0, 0)
        previous = 0
        for day, value in result.mrr:
            if day < first:
                continue  # zeros before the first payment
            since = month_index(date.fromordinal(day)) - base
            paying = (value > 0) - (previous > 0)
            self._bump((cohort, since), 0, sign * paying, sign * (value - previous))
            previous = value

    def merge(self, other: CohortLedger) -> None:
        for key, change in other._changes.items():
            self._bump(key, *change)

    def changes(self) -> CohortChanges:
        """The non-zero changes (plain data, to send across processes)."""
        return {key: (a, b, c) for key, (a, b, c) in sorted(self._changes.items()) if a or b or c}

    def cells(self, last: date) -> list[tuple[date, int, int, int, int]]:
        """``(cohort, months since, cohort customers, customers, MRR)`` for every cohort of a
        month up to ``last``'s, every month since from 0 to ``last``'s month: the rows of
        ``cohort_month`` (a month's figures at its end, the month of ``last`` at ``last``)."""
        by_cohort: dict[int, dict[int, list[int]]] = {}
        for (cohort, since), change in self._changes.items():
            by_cohort.setdefault(cohort, {})[since] = change
        latest = month_index(last)
        rows = []
        for cohort in sorted(by_cohort):
            start = date.fromordinal(cohort)
            months = by_cohort[cohort]
            running = [0, 0, 0]
            for since in range(latest - month_index(start) + 1):
                change = months.get(since)
                if change is not None:
                    running = [a + b for a, b in zip(running, change, strict=True)]
                if running[0]:
                    rows.append((start, since, *running))
        return rows


@dataclass(frozen=True, slots=True)
class CohortMonth:
    """A cohort ``months_since`` months after its first: paying customers and their MRR at the
    end of that month (or at the last day computed for the month in progress)."""

    months_since: int
    customers: int
    mrr: int


@dataclass(frozen=True, slots=True)
class Cohort:
    """Customers whose first paid day (first day ending with MRR > 0) fell in ``month``."""

    month: date
    size: int
    months: tuple[CohortMonth, ...]

    @property
    def starting_mrr(self) -> int:
        """The cohort's MRR at the end of its first month (see the module)."""
        return self.months[0].mrr if self.months else 0


def cohorts_of(cells: Iterable[tuple[date, int, int, int, int]]) -> list[Cohort]:
    """Cohorts from :meth:`CohortLedger.cells` (or ``cohort_month`` rows), by month."""
    grouped: dict[date, list[tuple[int, int, int, int]]] = {}
    for cohort, since, size, customers, mrr in cells:
        grouped.setdefault(cohort, []).append((since, size, customers, mrr))
    found = []
    for month in sorted(grouped):
        months = sorted(grouped[month])
        found.append(
            Cohort(
                month=month,
                size=months[0][1],
                months=tuple(CohortMonth(since, c, m) for since, _, c, m in months),
            )
        )
    return found


def cohorts(results: Iterable[CustomerResult], last: date) -> list[Cohort]:
    """The monthly cohorts of these customers, up to ``last`` (see the module)."""
    return cohorts_of(CohortLedger(results).cells(last))


def retention(cohort: Cohort, metric: CohortMetric) -> list[Fraction | None]:
    """The cohort's row of the triangle, by month since: a share of its start (see the module:
    ``customers`` month 0 is always 1; ``mrr`` is ÷ the starting MRR, None when that is 0)."""
    if metric == "customers":
        return [
            Fraction(1) if m.months_since == 0 else Fraction(m.customers, cohort.size)
            for m in cohort.months
        ]
    if metric != "mrr":
        raise ValueError(f"unknown cohort metric {metric!r}")
    start = cohort.starting_mrr
    return [Fraction(m.mrr, start) if start else None for m in cohort.months]


def latest_row(
    found: Sequence[Cohort], metric: CohortMetric
) -> tuple[Cohort, list[Fraction | None]] | None:
    """The newest cohort that has a month since its own (for the daily report: the month in
    progress's cohort has only its 100 %), with its retention row; None without one."""
    for cohort in reversed(found):
        if len(cohort.months) > 1:
            return cohort, retention(cohort, metric)
    return None


def cohorts_json(
    found: Sequence[Cohort], metric: CohortMetric, *, currency: str, tz: str, last: date
) -> dict[str, Any]:
    """The ``stripe-kpi cohorts --json`` document: money in major units, retention as a
    fraction (six places; ``null`` when the starting MRR is 0), ``partial`` on the month in
    progress (its figures are at ``last``, not at its end)."""
    current = month_index(last)
    rows = []
    for cohort in found:
        base = month_index(cohort.month)
        shares = retention(cohort, metric)
        rows.append(
            {
                "cohort": cohort.month.isoformat()[:7],
                "customers": cohort.size,
                "starting_mrr": money(cohort.starting_mrr, currency),
                "months": [
                    {
                        "months_since": m.months_since,
                        "customers": m.customers,
                        "mrr": money(m.mrr, currency),
                        "retention": _share(share),
                        "partial": base + m.months_since == current,
                    }
                    for m, share in zip(cohort.months, shares, strict=True)
                ],
            }
        )
    return {
        "currency": currency,
        "timezone": tz,
        "by": "month",
        "metric": metric,
        "as_of": last.isoformat(),
        "starting_mrr": "the cohort's MRR at the end of its first month",
        "cohorts": rows,
    }


def _share(value: Fraction | None) -> float | None:
    return None if value is None else fraction(Decimal(value.numerator) / value.denominator)
