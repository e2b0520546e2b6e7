"""The KPIs of METRICS.md §4: their definitions, and a period and a daily or monthly series read
from a :class:`~stripe_kpi.metrics.computation.Computed` (monthly cohorts: :mod:`.cohorts`).

The definitions (:func:`arpu`, :func:`customer_churn_rate`, :func:`gross_mrr_churn_rate`,
:func:`net_mrr_churn_rate`, :func:`nrr`, :func:`grr`, :func:`quick_ratio`,
:func:`trial_conversion`) take plain numbers, so the daily report computes its figures with the
same functions as ``--json``. Rates are exact ``Fraction``s there (the report formats them as
percentages); :class:`PeriodKpis` and :class:`SeriesPoint` hold them as ``Decimal`` (28
significant digits, correctly rounded once), which ``--json`` rounds to six places. A rate whose
denominator is zero is ``None`` (never 0, never an error). Money stays in reporting minor units:
``int``, or an unrounded ``Decimal`` for ARPU until the caller rounds it (``money.round_minor``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from stripe_kpi.metrics.calendar import month_end, month_start
from stripe_kpi.metrics.computation import Computed
from stripe_kpi.metrics.ledger import Ledger
from stripe_kpi.metrics.records import AccountHistory
from stripe_kpi.metrics.vocabulary import MOVEMENT_TYPES, Movements

Granularity = Literal["day", "month"]


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    """``numerator ÷ denominator``, exact; None when the denominator is zero."""
    return Fraction(numerator, denominator) if denominator else None


def _decimal(rate: Fraction | None) -> Decimal | None:
    """An exact rate as a ``Decimal``, rounded once to the context's 28 significant digits."""
    return None if rate is None else Decimal(rate.numerator) / rate.denominator


def arpu(mrr: int, customers: int) -> Decimal | None:
    """MRR ÷ paying customers, in minor units, not rounded yet; None without customers."""
    return Decimal(mrr) / Decimal(customers) if customers else None


def customer_churn_rate(churned: int, customers_start: int) -> Fraction | None:
    """Customers churned in a period ÷ paying customers at its start (§6: "active at start", not
    "+ new in period"); a customer who joins and leaves within the period counts, as in
    Baremetrics."""
    return _ratio(churned, customers_start)


def _lost(movements: Movements) -> int:
    """MRR lost by the customers there were: −(churn + contraction), ≥ 0."""
    return -(movements.churn + movements.contraction)


def gross_mrr_churn_rate(mrr_start: int, movements: Movements) -> Fraction | None:
    """−(churn + contraction) ÷ MRR_start."""
    return _ratio(_lost(movements), mrr_start)


def net_mrr_churn_rate(mrr_start: int, movements: Movements) -> Fraction | None:
    """−(churn + contraction + expansion + reactivation) ÷ MRR_start (negative is good): the
    period's new customers do not count."""
    return _ratio(_lost(movements) - movements.expansion - movements.reactivation, mrr_start)


def nrr(mrr_start: int, movements: Movements) -> Fraction | None:
    """Net revenue retention: 1 − net MRR churn rate."""
    net = net_mrr_churn_rate(mrr_start, movements)
    return None if net is None else 1 - net


def grr(mrr_start: int, movements: Movements) -> Fraction | None:
    """Gross revenue retention: 1 − gross MRR churn rate."""
    gross = gross_mrr_churn_rate(mrr_start, movements)
    return None if gross is None else 1 - gross


def quick_ratio(movements: Movements) -> Fraction | None:
    """(new + expansion + reactivation) ÷ −(churn + contraction); None when nothing was lost."""
    gained = movements.new + movements.expansion + movements.reactivation
    return _ratio(gained, _lost(movements))


def trial_conversion(converted: int, ended: int) -> Fraction | None:
    """Trials that ended in a period and became paying ÷ trials that ended in it."""
    return _ratio(converted, ended)


@dataclass(frozen=True, slots=True)
class ChurnSplit:
    voluntary: int = 0
    involuntary: int = 0


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One day or one month: MRR and customers at the end of ``date`` (the bucket's last day),
    movements and churn summed over ``first``…``date``."""

    date: date
    first: date
    mrr: int
    customers: int
    arpu: Decimal | None
    movements: Movements
    churned_customers: ChurnSplit
    churned_mrr: ChurnSplit
    mrr_at_risk: int


@dataclass(frozen=True, slots=True)
class PeriodKpis:
    """METRICS.md §4 for the days ``first``…``last``: ``*_start`` at the end of the day before
    ``first``, ``*_end`` at the end of ``last``."""

    first: date
    last: date
    mrr_start: int
    mrr_end: int
    customers_start: int
    customers_end: int
    movements: Movements
    churned_customers: ChurnSplit
    churned_mrr: ChurnSplit
    customer_churn_rate: Decimal | None
    gross_mrr_churn_rate: Decimal | None
    net_mrr_churn_rate: Decimal | None
    nrr: Decimal | None
    grr: Decimal | None
    quick_ratio: Decimal | None
    arpu: Decimal | None
    arr: int
    ltv: Decimal | None
    trial_conversion: Decimal | None
    trials_ended: int
    trials_converted: int
    mrr_at_risk: int


def _movements(ledger: Ledger, first: int, last: int) -> Movements:
    return Movements(**{name: ledger.flow(name, first, last) for name in MOVEMENT_TYPES})


def _churned(ledger: Ledger, first: int, last: int, what: str) -> ChurnSplit:
    return ChurnSplit(
        ledger.flow(f"{what}_voluntary", first, last),
        ledger.flow(f"{what}_involuntary", first, last),
    )


def period_kpis(computed: Computed, first: date, last: date) -> PeriodKpis:
    """The KPIs of one period (see :class:`PeriodKpis`).

    Churned customers are the churn movements in the period. Churned MRR is reported as the
    positive MRR those customers had (the ``churn`` movement is its negative).
    """
    if last < first:
        raise ValueError("the period ends before it starts")
    ledger = computed.ledger
    a, b = first.toordinal(), last.toordinal()
    mrr_start, mrr_end = ledger.level("mrr", a - 1), ledger.level("mrr", b)
    customers_start, customers_end = ledger.level("customers", a - 1), ledger.level("customers", b)
    moves = _movements(ledger, a, b)
    churned = _churned(ledger, a, b, "churned")
    ended = ledger.flow("trials_ended", a, b)
    converted = ledger.flow("trials_converted", a, b)
    return PeriodKpis(
        first=first,
        last=last,
        mrr_start=mrr_start,
        mrr_end=mrr_end,
        customers_start=customers_start,
        customers_end=customers_end,
        movements=moves,
        churned_customers=churned,
        churned_mrr=_churned(ledger, a, b, "churned_mrr"),
        customer_churn_rate=_decimal(
            customer_churn_rate(churned.voluntary + churned.involuntary, customers_start)
        ),
        gross_mrr_churn_rate=_decimal(gross_mrr_churn_rate(mrr_start, moves)),
        net_mrr_churn_rate=_decimal(net_mrr_churn_rate(mrr_start, moves)),
        nrr=_decimal(nrr(mrr_start, moves)),
        grr=_decimal(grr(mrr_start, moves)),
        quick_ratio=_decimal(quick_ratio(moves)),
        arpu=arpu(mrr_end, customers_end),
        arr=12 * mrr_end,
        ltv=lifetime_value(computed, last),
        trial_conversion=_decimal(trial_conversion(converted, ended)),
        trials_ended=ended,
        trials_converted=converted,
        mrr_at_risk=ledger.level("mrr_at_risk", b),
    )


def _monthly_churn(computed: Computed, month: date) -> Fraction | None:
    first, last = month_start(month).toordinal(), month_end(month).toordinal()
    ledger = computed.ledger
    churned = ledger.flow("churned_voluntary", first, last) + ledger.flow(
        "churned_involuntary", first, last
    )
    return customer_churn_rate(churned, ledger.level("customers", first - 1))


def lifetime_value(computed: Computed, last: date) -> Decimal | None:
    """LTV = ARPU at ``last`` ÷ the mean monthly customer churn rate of the last three full months.

    Reading of "the last three full months": the three calendar months that end on or before
    ``last`` (the period's last day) — ``last``'s own month when ``last`` is its final day,
    otherwise the three months before it. Months with no paying customer at their start have no
    rate and are left out of the mean (the mean of the rates that exist; None if none exist). The
    mean is of the monthly rates, as ChartMogul and Baremetrics average them, not a pooled rate.
    None when there is no paying customer at ``last`` or the mean churn is 0 ("none at 0
    churn"). Computed in exact fractions, rounded once (reporting minor units).
    """
    ledger = computed.ledger
    customers = ledger.level("customers", last.toordinal())
    if not customers:
        return None
    months = _ltv_months(last)
    rates = [r for r in (_monthly_churn(computed, m) for m in months) if r is not None]
    if not rates or not any(rates):
        return None
    ltv = Fraction(ledger.level("mrr", last.toordinal()), customers) * len(rates) / sum(rates)
    return Decimal(ltv.numerator) / ltv.denominator


def _ltv_months(last: date) -> list[date]:
    """The first days of LTV's three full months for a period ending ``last``, newest first."""
    newest = month_start(last) if last == month_end(last) else month_start(last) - timedelta(days=1)
    months = [month_start(newest)]
    for _ in range(2):
        months.append(month_start(months[-1] - timedelta(days=1)))
    return months


def earliest_day_read(first: date, last: date) -> date:
    """The earliest day :func:`period_kpis` and :func:`series` read for ``first``…``last``: the
    day before the period (its start) or before LTV's oldest month. A reader of the stored
    ``daily_metrics`` needs the rows from there on only."""
    return min(first, _ltv_months(last)[-1]) - timedelta(days=1)


def series(computed: Computed, first: date, last: date, by: Granularity) -> list[SeriesPoint]:
    """One point per day, or per calendar month (clipped to ``first``…``last``)."""
    ledger = computed.ledger
    points = []
    for lo, hi in _buckets(first, last, by):
        a, b = lo.toordinal(), hi.toordinal()
        mrr, customers = ledger.level("mrr", b), ledger.level("customers", b)
        points.append(
            SeriesPoint(
                date=hi,
                first=lo,
                mrr=mrr,
                customers=customers,
                arpu=arpu(mrr, customers),
                movements=_movements(ledger, a, b),
                churned_customers=_churned(ledger, a, b, "churned"),
                churned_mrr=_churned(ledger, a, b, "churned_mrr"),
                mrr_at_risk=ledger.level("mrr_at_risk", b),
            )
        )
    return points


def _buckets(first: date, last: date, by: Granularity) -> list[tuple[date, date]]:
    if by == "day":
        return [(d, d) for d in (first + timedelta(days=i) for i in range((last - first).days + 1))]
    if by != "month":
        raise ValueError(f"unknown granularity {by!r}")
    buckets, lo = [], first
    while lo <= last:
        hi = min(month_end(lo), last)
        buckets.append((lo, hi))
        lo = hi + timedelta(days=1)
    return buckets


@dataclass(frozen=True, slots=True)
class ChurnedCustomer:
    """A customer lost on ``date``: the MRR they had, why, and what they said when they left
    (``cancellation_details`` of the subscription whose end decided the reason)."""

    date: date
    customer_id: str
    mrr: int
    reason: str
    subscription_id: str
    feedback: str | None
    comment: str | None


def churned_customers(
    computed: Computed, history: AccountHistory, first: date, last: date
) -> list[ChurnedCustomer]:
    """Every churn in ``first``…``last``, for the report (which shows feedback and comments)."""
    found = []
    for movement in computed.movements(first, last):
        if movement.type != "churn":
            continue
        sub_id = movement.subscription_ids[0]
        sub = history.subscriptions.get(sub_id)
        found.append(
            ChurnedCustomer(
                date=date.fromordinal(movement.day),
                customer_id=movement.customer_id,
                mrr=-movement.amount,
                reason=movement.churn_reason or "voluntary",
                subscription_id=sub_id,
                feedback=None if sub is None else sub.cancellation_feedback,
                comment=None if sub is None else sub.cancellation_comment,
            )
        )
    return found
