"""The MRR forecast (METRICS.md §9): a projection, month by month, from the last three full
months' movements and the changes already scheduled. Not a measurement: every output says so
and names the months it came from.

- **Base months**: the three calendar months before the month of ``today`` (on 15 Jun: March,
  April, May), leaving out any that ended before the account's first day (a young account is
  projected from the months it has; none → growth and shrink 0, a flat line).
- **Growth** (minor units a month): the mean of the base months' new + expansion + reactivation.
- **Shrink rate**: the mean of the base months' −(churn + contraction) ÷ MRR at their start,
  over the months that had MRR at their start (the mean of the monthly rates, as LTV averages
  churn); applied to each projected month's starting MRR.
- **Scheduled changes** (``committed_change``: subscriptions set to end, schedule phases to
  come, every phase) land in the month of their day. Trials in progress are left out: the
  base months' ``new`` already holds how trials convert.
- **Months**: the ``months`` calendar months after the current one (on 15 Jun: July, August,
  September). The first starts from today's MRR plus the scheduled changes still to land in
  the rest of the current month; each next one starts where the one before ended:
  ``end = start + growth − shrink rate × start + scheduled changes of the month``.

Exact fractions throughout; a month's figures are rounded (half up, minor units) only when
shown, so rounding never compounds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from stripe_kpi.metrics.calendar import month_end, month_start, next_month
from stripe_kpi.metrics.committed import Commitment
from stripe_kpi.metrics.ledger import Ledger
from stripe_kpi.metrics.report_json import money

BASE_MONTHS = 3
_GAINS = ("new", "expansion", "reactivation")
_LOSSES = ("churn", "contraction")


@dataclass(frozen=True, slots=True)
class BaseMonth:
    """One full month the projection comes from: MRR at its start, what it gained (new +
    expansion + reactivation, ≥ 0), what it lost (−(churn + contraction), ≥ 0) and the share
    of its starting MRR lost (None without starting MRR)."""

    month: date
    mrr_start: int
    gained: int
    lost: int

    @property
    def shrink_rate(self) -> Fraction | None:
        return Fraction(self.lost, self.mrr_start) if self.mrr_start else None


@dataclass(frozen=True, slots=True)
class ForecastMonth:
    """One projected month (reporting minor units, exact)."""

    month: date
    mrr_start: Fraction
    growth: Fraction
    shrink: Fraction
    scheduled: int
    mrr_end: Fraction


@dataclass(frozen=True, slots=True)
class Forecast:
    """A projection from ``mrr_now`` (at the end of ``last_day``), see the module."""

    last_day: date
    mrr_now: int
    based_on: tuple[BaseMonth, ...]
    growth: Fraction
    shrink_rate: Fraction
    scheduled_now: int
    months: tuple[ForecastMonth, ...]


def _base_month_starts(today: date) -> list[date]:
    """The first days of the :data:`BASE_MONTHS` full months before ``today``'s, oldest first."""
    months, month = [], month_start(today)
    for _ in range(BASE_MONTHS):
        month = month_start(month - timedelta(days=1))
        months.append(month)
    return months[::-1]


def first_day_read(today: date) -> date:
    """The first day whose ``daily_metrics`` row a projection made on ``today`` reads: the day
    before its oldest base month (that month's starting MRR)."""
    return _base_month_starts(today)[0] - timedelta(days=1)


def base_months(ledger: Ledger, today: date) -> list[BaseMonth]:
    """The full months before ``today``'s the projection comes from (see the module), oldest
    first."""
    first_day = ledger.first_day()
    found = []
    for month in _base_month_starts(today):
        a, b = month.toordinal(), month_end(month).toordinal()
        if first_day is None or b < first_day:
            continue
        gained = sum(ledger.flow(name, a, b) for name in _GAINS)
        lost = -sum(ledger.flow(name, a, b) for name in _LOSSES)
        found.append(BaseMonth(month, ledger.level("mrr", a - 1), gained, lost))
    return found


def project(
    mrr_now: int,
    today: date,
    based_on: Sequence[BaseMonth],
    scheduled: Iterable[Commitment],
    months: int = 3,
) -> Forecast:
    """The projection of ``months`` months after ``today``'s from ``mrr_now`` (see the module);
    ``scheduled``: the stored commitments (trials are left out)."""
    if months < 1:
        raise ValueError("a forecast needs at least one month")
    growth = Fraction(sum(m.gained for m in based_on), len(based_on)) if based_on else Fraction(0)
    rates = [r for r in (m.shrink_rate for m in based_on) if r is not None]
    shrink_rate = sum(rates, Fraction(0)) / len(rates) if rates else Fraction(0)
    by_month: dict[date, int] = {}
    now = 0
    current = month_start(today)
    for row in scheduled:
        if row.kind == "trial":
            continue
        day = date.fromordinal(row.day)
        if day <= today or month_start(day) == current:
            now += row.amount  # still to land this month (or due and not yet seen by a sync)
        else:
            key = month_start(day)
            by_month[key] = by_month.get(key, 0) + row.amount
    start = Fraction(mrr_now + now)
    projected = []
    month = current
    for _ in range(months):
        month = next_month(month)
        shrink = shrink_rate * start
        change = by_month.get(month, 0)
        end = max(Fraction(0), start + growth - shrink + change)
        projected.append(ForecastMonth(month, start, growth, shrink, change, end))
        start = end
    return Forecast(today, mrr_now, tuple(based_on), growth, shrink_rate, now, tuple(projected))


def forecast(
    ledger: Ledger, today: date, scheduled: Iterable[Commitment], months: int = 3
) -> Forecast:
    """The projection from the account's ledger (``daily_metrics``) at the end of ``today``."""
    mrr_now = ledger.level("mrr", today.toordinal())
    return project(mrr_now, today, base_months(ledger, today), scheduled, months)


def _minor(value: Fraction) -> int:
    exact = Decimal(value.numerator) / value.denominator
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def forecast_json(found: Forecast, currency: str) -> dict[str, Any]:
    """The ``stripe-kpi forecast --json`` document: money in major units (rounded once per
    figure), rates as fractions (six places), labelled a projection."""

    def cash(value: Fraction | int) -> int | float | None:
        return money(_minor(Fraction(value)), currency)

    def rate(value: Fraction | None) -> float | None:
        if value is None:
            return None
        return float(round(Decimal(value.numerator) / value.denominator, 6))

    return {
        "kind": "projection",
        "note": "a projection from the last three full months and the changes scheduled, "
        "not a measurement",
        "currency": currency,
        "as_of": found.last_day.isoformat(),
        "mrr_now": cash(found.mrr_now),
        "scheduled_this_month": cash(found.scheduled_now),
        "based_on": [
            {
                "month": m.month.isoformat()[:7],
                "mrr_start": cash(m.mrr_start),
                "gained": cash(m.gained),
                "lost": cash(m.lost),
                "shrink_rate": rate(m.shrink_rate),
            }
            for m in found.based_on
        ],
        "growth": cash(found.growth),
        "shrink_rate": rate(found.shrink_rate),
        "months": [
            {
                "month": m.month.isoformat()[:7],
                "mrr_start": cash(m.mrr_start),
                "growth": cash(m.growth),
                "shrink": cash(-m.shrink),
                "scheduled": cash(m.scheduled),
                "mrr_end": cash(m.mrr_end),
            }
            for m in found.months
        ],
    }
