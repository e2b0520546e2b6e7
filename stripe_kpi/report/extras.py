"""The report's compact extras, from the stored tables: MRR by plan, the latest cohorts'
retention rows, and (when the metrics give them) committed MRR and next month's forecast.

Each is small on purpose (the report is read on a phone): the five plans with the most MRR
and the rest summed, the three newest cohorts that have a month behind them, two figures.
Pure: the rows come in (``services`` reads them from ``segment_mrr`` and ``cohort_month``).

- **MRR by plan** is METRICS.md §8's ``plan`` segment (the price's nickname, else its id): the
  MRR at the end of the report day and its change since the end of the month before, as
  ChartMogul's "MRR by plan" chart shows a month's change. The plans' MRR sums to the account's
  (§8), so the five and the rest add up to the report's MRR.
- **Outlook**: committed MRR (§9) and the forecast MRR at the end of next month, as
  ``metrics`` (``cmrr``) and ``stripe-kpi forecast --months 1`` give them, as of the tables'
  day (commitments are known as Stripe shows them now).
- **Cohorts** are §4's, by month of first payment: the share of each cohort's customers still
  paying at the end of each month since (the month in progress: so far), at most
  :data:`COHORT_MONTHS` months, as Baremetrics' and ChartMogul's retention rows start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from stripe_kpi.metrics.cohorts import Cohort, retention
from stripe_kpi.metrics.segment_report import SegmentDays

#: Plans shown by name; the others are summed into one line.
TOP_PLANS = 5
#: Cohorts shown, newest first among those with a month since their own.
COHORTS = 3
#: Months since the first shown per cohort (0 to 6): seven cells fit a phone's line.
COHORT_MONTHS = 7


@dataclass(frozen=True, slots=True)
class PlanLine:
    """A plan (or, for the rest, ``plans`` of them summed): MRR at the end of the report day,
    its change since the end of the month before, and its paying customers."""

    plan: str
    mrr: int
    change: int
    customers: int
    plans: int = 1


@dataclass(frozen=True, slots=True)
class CohortLine:
    """A cohort's retention row: customers still paying by month since (month 0 is 100 %)."""

    month: date
    size: int
    shares: tuple[Fraction | None, ...]


@dataclass(frozen=True, slots=True)
class Outlook:
    """Committed MRR at the end of the report day and the forecast MRR at the end of next
    month (METRICS.md §9), when the metrics give them."""

    cmrr: int | None = None
    forecast_month: date | None = None
    forecast_mrr: int | None = None


@dataclass(frozen=True, slots=True)
class ReportExtras:
    """What the report shows beyond the day's figures; each part None when there is nothing to
    show (no plan with MRR, no cohort a month old, no forecast)."""

    plans: tuple[PlanLine, ...] = ()
    rest: PlanLine | None = None
    cohorts: tuple[CohortLine, ...] = ()
    outlook: Outlook | None = None

    @property
    def empty(self) -> bool:
        return not (self.plans or self.rest or self.cohorts or self.outlook)


def plan_lines(
    segments: Mapping[str, SegmentDays], day: date, top: int = TOP_PLANS
) -> tuple[tuple[PlanLine, ...], PlanLine | None]:
    """The ``top`` plans by MRR at the end of ``day`` and the rest summed (None when at most
    one plan is left: it is shown by name), from the plan segments read for [first of the
    month, ``day``]. Plans with neither MRR nor a change this month are left out; ties by
    name."""
    lines = []
    limit = day.toordinal()
    for plan, segment in segments.items():
        mrr, customers = segment.mrr_start, segment.customers_start
        for row in segment.days:
            if row[0] > limit:
                break
            mrr, customers = row[1], row[2]
        change = mrr - segment.mrr_start
        if mrr or change:
            lines.append(PlanLine(plan, mrr, change, customers))
    lines.sort(key=lambda line: (-line.mrr, line.plan))
    if len(lines) <= top + 1:  # one plan more is shown by name rather than as "the rest"
        return tuple(lines), None
    shown, others = lines[:top], lines[top:]
    rest = PlanLine(
        "other plans",
        sum(line.mrr for line in others),
        sum(line.change for line in others),
        sum(line.customers for line in others),
        plans=len(others),
    )
    return tuple(shown), rest


def cohort_lines(
    found: Sequence[Cohort], day: date, count: int = COHORTS, months: int = COHORT_MONTHS
) -> tuple[CohortLine, ...]:
    """The ``count`` newest cohorts of ``day``'s month or before that have a month since their
    own, oldest first, each cut at ``day``'s month and at ``months`` cells."""
    current = day.year * 12 + day.month
    lines = []
    for cohort in reversed(found):
        base = cohort.month.year * 12 + cohort.month.month
        if base >= current:
            continue  # the month in progress's cohort: only its 100 % so far
        shares = retention(cohort, "customers")
        cells = [
            share
            for month, share in zip(cohort.months, shares, strict=True)
            if base + month.months_since <= current
        ]
        lines.append(CohortLine(cohort.month, cohort.size, tuple(cells[:months])))
        if len(lines) == count:
            break
    return tuple(reversed(lines))
