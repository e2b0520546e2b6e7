"""The daily summary: every figure the email shows for one day, computed once.

Text, HTML and chart all read one :class:`DailySummary`, so they can never disagree; the
templates only format. The definitions are shared/METRICS.md's: a day's MRR is the MRR at the end
of that day; "month to date" is [first of the month, D] with ``MRR_start`` at the end of the day
before; "trailing 30 days" compares the end of D with the end of D−30; rates with a zero
denominator are ``None`` ("n/a"), never 0. Each KPI is computed by :mod:`stripe_kpi.metrics.kpis`,
the same functions as ``stripe-kpi metrics --json``; rates stay exact fractions for the templates.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from stripe_kpi.errors import InputError
from stripe_kpi.metrics import kpis
from stripe_kpi.metrics.money import round_minor
from stripe_kpi.metrics.vocabulary import ChurnReason, Movements, MovementType
from stripe_kpi.report.extras import ReportExtras
from stripe_kpi.report.inputs import AtRiskRow, ComputedMetrics, DayRow, MovementRow, RiskReason
from stripe_kpi.report.weekly import WeekSummary, build_week

CHART_DAYS = 90
TRAILING_DAYS = 30


@dataclass(frozen=True, slots=True)
class CustomerLine:
    """A customer who started, came back or left on the report day (``movement`` is ``new``,
    ``reactivation`` or ``churn``). Strings come from Stripe unchanged (the templates escape
    them); ``amount`` is the signed movement; ``churn_reason`` is set for a churn."""

    customer_id: str
    name: str | None
    email: str | None
    movement: MovementType
    amount: int
    churn_reason: ChurnReason | None = None
    feedback: str | None = None
    comment: str | None = None

    @property
    def display_name(self) -> str:
        """The name, else the email, else the Stripe id: a customer is never a blank line."""
        return self.name or self.email or self.customer_id


@dataclass(frozen=True, slots=True)
class AtRiskLine:
    """A subscription whose MRR may be lost: past due, or set to cancel on ``cancels_on``."""

    subscription_id: str
    customer_id: str
    name: str | None
    email: str | None
    reason: RiskReason | None  # None: at risk, reason no longer known
    mrr: int | None
    cancels_on: date | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.customer_id


@dataclass(frozen=True, slots=True)
class DailySummary:
    """Everything the daily email shows about day ``day`` (local to ``timezone``), money in minor
    units of ``currency``."""

    day: date
    currency: str
    timezone: str
    mrr: int
    mrr_previous_day: int  # end of D−1
    mrr_month_start: int  # end of the last day of the previous month
    mrr_trailing_start: int  # end of D−30
    customers: int
    customers_month_start: int
    day_movements: Movements
    mtd_movements: Movements
    new_customers: tuple[CustomerLine, ...]
    churned_customers: tuple[CustomerLine, ...]
    churned_mtd_voluntary: int
    churned_mtd_involuntary: int
    arpu: int | None  # rounded half up to the minor unit
    customer_churn_rate: Fraction | None  # month to date
    nrr: Fraction | None  # month to date
    trials_ended: int  # month to date
    trials_converted: int
    mrr_at_risk: int
    at_risk: tuple[AtRiskLine, ...]
    series: tuple[tuple[date, int], ...]  # the chart: end-of-day MRR, oldest first
    synced_at: datetime | None = None
    week: WeekSummary | None = None  # the Monday edition's week (report.weekly), else None
    extras: ReportExtras | None = None  # by plan, cohorts, outlook (report.extras)

    @property
    def change_day(self) -> int:
        return self.mrr - self.mrr_previous_day

    @property
    def change_mtd(self) -> int:
        return self.mrr - self.mrr_month_start

    @property
    def change_trailing(self) -> int:
        return self.mrr - self.mrr_trailing_start

    @property
    def arr(self) -> int:
        return 12 * self.mrr

    @property
    def month_start(self) -> date:
        return self.day.replace(day=1)

    @property
    def trailing_start(self) -> date:
        return self.day - timedelta(days=TRAILING_DAYS)

    @property
    def churned_mtd(self) -> int:
        return self.churned_mtd_voluntary + self.churned_mtd_involuntary

    @property
    def trial_conversion(self) -> Fraction | None:
        return kpis.trial_conversion(self.trials_converted, self.trials_ended)


class DaySeries:
    """End-of-day rows by date: days before the first row are an empty account (it did not exist
    yet); a gap after it carries the last known day forward with no movements."""

    def __init__(self, rows: Sequence[DayRow]) -> None:
        self._rows = sorted(rows, key=lambda r: r.date)
        self._dates = [r.date for r in self._rows]
        self._by_date = {r.date: r for r in self._rows}

    def last_date(self) -> date | None:
        return self._rows[-1].date if self._rows else None

    def at(self, day: date) -> DayRow:
        row = self._by_date.get(day)
        if row is not None:
            return row
        index = bisect_left(self._dates, day)
        if index == 0:
            return DayRow(date=day, mrr=0, customers=0)
        last = self._rows[index - 1]
        return DayRow(date=day, mrr=last.mrr, customers=last.customers)

    def between(self, first: date, last: date) -> list[DayRow]:
        return [self.at(first + timedelta(days=i)) for i in range((last - first).days + 1)]


def build_summary(
    computed: ComputedMetrics,
    day: date,
    *,
    timezone: str = "UTC",
    chart_days: int = CHART_DAYS,
    weekly: bool = False,
    extras: ReportExtras | None = None,
) -> DailySummary:
    """Fill the summary of ``day`` from the metrics layer's rows (see :class:`ComputedMetrics`).
    ``weekly``: the Monday edition, which also sums up the week ending on ``day``.

    Raises ``InputError`` when the rows end before ``day``: a report on numbers that were never
    computed would show a silent zero.
    """
    series = DaySeries(computed.days)
    last = series.last_date()
    if last is None or last < day:
        ends = f"the computed metrics end on {last.isoformat()}" if last else "no metrics yet"
        raise InputError(
            f"no metrics for {day.isoformat()} ({ends}): run `stripe-kpi sync` first, or pick an "
            "earlier --date"
        )
    month_start = day.replace(day=1)
    today = series.at(day)
    before_month = series.at(month_start - timedelta(days=1))
    mtd_rows = series.between(month_start, day)
    mtd = Movements.total(mtd_rows)
    month_movements = [m for m in computed.movements if month_start <= m.date <= day]
    churned_mtd = [m for m in month_movements if m.type == "churn"]
    at_risk = tuple(_at_risk_line(r) for r in sorted(computed.at_risk, key=_risk_order))
    risk_total = today.mrr_at_risk
    if risk_total is None:
        risk_total = sum(r.mrr or 0 for r in computed.at_risk)
    return DailySummary(
        day=day,
        currency=computed.currency,
        timezone=timezone,
        mrr=today.mrr,
        mrr_previous_day=series.at(day - timedelta(days=1)).mrr,
        mrr_month_start=before_month.mrr,
        mrr_trailing_start=series.at(day - timedelta(days=TRAILING_DAYS)).mrr,
        customers=today.customers,
        customers_month_start=before_month.customers,
        day_movements=Movements.total([today]),
        mtd_movements=mtd,
        new_customers=_customer_lines(
            month_movements, day, ("new", "reactivation"), descending=True
        ),
        churned_customers=_customer_lines(month_movements, day, ("churn",), descending=False),
        churned_mtd_voluntary=sum(1 for m in churned_mtd if m.churn_reason != "involuntary"),
        churned_mtd_involuntary=sum(1 for m in churned_mtd if m.churn_reason == "involuntary"),
        arpu=_rounded(kpis.arpu(today.mrr, today.customers)),
        customer_churn_rate=kpis.customer_churn_rate(len(churned_mtd), before_month.customers),
        nrr=kpis.nrr(before_month.mrr, mtd),
        trials_ended=sum(r.trials_ended for r in mtd_rows),
        trials_converted=sum(r.trials_converted for r in mtd_rows),
        mrr_at_risk=risk_total,
        at_risk=at_risk,
        series=tuple(
            (r.date, r.mrr) for r in series.between(day - timedelta(days=chart_days - 1), day)
        ),
        synced_at=computed.synced_at,
        week=build_week(series.at, computed.movements, day) if weekly else None,
        extras=None if extras is None or extras.empty else extras,
    )


def _customer_lines(
    movements: Sequence[MovementRow],
    day: date,
    kinds: tuple[MovementType, ...],
    *,
    descending: bool,
) -> tuple[CustomerLine, ...]:
    """The day's customers of these kinds, biggest first (largest gain, or largest loss)."""
    rows = [m for m in movements if m.date == day and m.type in kinds]
    rows.sort(key=lambda m: (-m.amount if descending else m.amount, m.customer_id))
    return tuple(
        CustomerLine(
            customer_id=m.customer_id,
            name=m.customer_name,
            email=m.customer_email,
            movement=m.type,
            amount=m.amount,
            churn_reason=m.churn_reason,
            feedback=m.feedback,
            comment=m.comment,
        )
        for m in rows
    )


def _risk_order(row: AtRiskRow) -> tuple[int, int, str]:
    """Largest amount first (unknown amounts last), then by subscription for a stable order."""
    return (0 if row.mrr is not None else 1, -(row.mrr or 0), row.subscription_id)


def _at_risk_line(row: AtRiskRow) -> AtRiskLine:
    return AtRiskLine(
        subscription_id=row.subscription_id,
        customer_id=row.customer_id,
        name=row.customer_name,
        email=row.customer_email,
        reason=row.reason,
        mrr=row.mrr,
        cancels_on=row.cancels_on,
    )


def _rounded(amount: Decimal | None) -> int | None:
    """Half up to the minor unit, as ``--json`` rounds money (``money.round_minor``)."""
    return None if amount is None else round_minor(amount)
