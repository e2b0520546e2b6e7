"""The Monday edition (``STRIPE_KPI_WEEKLY=monday``): besides yesterday, the week it ends.

The report sent on Monday is about Sunday; its week is the seven days Monday to Sunday, so it
is the report *of a Sunday* that carries the week (the edition is decided by the day reported
on, not by the day it is sent: ``report --date`` of a Sunday, run any day, gives the same
report). The week follows METRICS.md §4 for the period [Monday, Sunday]: its MRR change is the
end of Sunday against the end of the Sunday before, which is the week's net new MRR plus FX
(§2's identity); its churned customers are every churn dated in it, largest loss first. As
Stripe's and ChartMogul's weekly digests, it is a calendar week, Monday first (ISO 8601).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from stripe_kpi.metrics.vocabulary import Movements
from stripe_kpi.report.inputs import DayRow, MovementRow

WEEK_DAYS = 7
Weekly = Literal["off", "monday"]


def is_weekly_edition(weekly: Weekly, day: date) -> bool:
    """Whether the report of ``day`` is the Monday edition: weekly reports are on, and ``day``
    is a Sunday (the report sent on Monday morning)."""
    return weekly == "monday" and day.weekday() == 6


def week_first_day(day: date) -> date:
    """The first day of the week that ends on ``day`` (its Monday, when ``day`` is a Sunday)."""
    return day - timedelta(days=WEEK_DAYS - 1)


@dataclass(frozen=True, slots=True)
class WeekChurn:
    """A customer who churned during the week, on ``day``. Strings as Stripe gave them."""

    day: date
    customer_id: str
    name: str | None
    email: str | None
    amount: int  # signed: negative
    churn_reason: str | None

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.customer_id


@dataclass(frozen=True, slots=True)
class WeekSummary:
    """The seven days ``first``…``last``: MRR and paying customers at the end of the day before
    ``first`` and at the end of ``last``, the movements summed, the customers won (new and
    reactivated) and those who churned."""

    first: date
    last: date
    mrr_start: int
    mrr_end: int
    customers_start: int
    customers_end: int
    movements: Movements
    customers_won: int
    churned: tuple[WeekChurn, ...]

    @property
    def change(self) -> int:
        return self.mrr_end - self.mrr_start


def build_week(
    day_at: Callable[[date], DayRow], movements: Sequence[MovementRow], last: date
) -> WeekSummary:
    """The week ending on ``last``. ``day_at`` gives the account at the end of any day (the
    summary's series: empty before the account's first day, carried forward over gaps);
    ``movements`` must cover the week."""
    first = week_first_day(last)
    start, end = day_at(first - timedelta(days=1)), day_at(last)
    days = [day_at(first + timedelta(days=i)) for i in range(WEEK_DAYS)]
    week = [m for m in movements if first <= m.date <= last]
    churns = sorted(
        (m for m in week if m.type == "churn"), key=lambda m: (m.amount, m.date, m.customer_id)
    )
    return WeekSummary(
        first=first,
        last=last,
        mrr_start=start.mrr,
        mrr_end=end.mrr,
        customers_start=start.customers,
        customers_end=end.customers,
        movements=Movements.total(days),
        customers_won=sum(1 for m in week if m.type in ("new", "reactivation")),
        churned=tuple(
            WeekChurn(
                m.date,
                m.customer_id,
                m.customer_name,
                m.customer_email,
                m.amount,
                m.churn_reason,
            )
            for m in churns
        ),
    )
