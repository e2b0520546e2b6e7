"""What the report reads: plain rows, whoever computed them.

The summary is arithmetic over a handful of row kinds that the metrics layer produces anyway (the
``daily_metrics`` and ``mrr_movement`` tables, plus the customers' names and the subscriptions'
cancellation details). Keeping them as small frozen dataclasses here, behind the
:class:`ComputedMetrics` protocol, lets the report be tested with hand-written rows; in the program
they come from the metrics layer's result (:mod:`stripe_kpi.report.from_metrics`).

Money is ``int`` minor units of the reporting currency; days are local calendar days in
``STRIPE_KPI_TIMEZONE``; a day's MRR is the MRR at the end of that day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from stripe_kpi.metrics.vocabulary import ChurnReason, MovementType

RiskReason = Literal["past_due", "cancel_scheduled", "collection_paused"]


@dataclass(frozen=True, slots=True)
class DayRow:
    """The account at the end of one day: a ``daily_metrics`` row. Movements are signed sums."""

    date: date
    mrr: int
    customers: int
    new: int = 0
    expansion: int = 0
    contraction: int = 0
    churn: int = 0
    reactivation: int = 0
    fx: int = 0
    mrr_at_risk: int | None = None
    trials_ended: int = 0  # trials that ended that day
    trials_converted: int = 0  # of those, the ones that became paying


@dataclass(frozen=True, slots=True)
class MovementRow:
    """One customer's MRR change on one day (an ``mrr_movement`` row) with what the report shows
    beside it: who (name, email) and, for a churn, why (reason, feedback and comment of the
    subscription whose end brought the customer to zero)."""

    date: date
    customer_id: str
    type: MovementType
    amount: int
    mrr_before: int = 0
    mrr_after: int = 0
    customer_name: str | None = None
    customer_email: str | None = None
    churn_reason: ChurnReason | None = None
    feedback: str | None = None
    comment: str | None = None
    subscription_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AtRiskRow:
    """A subscription still counting in MRR that may stop: ``past_due`` (dunning under way) or
    set to cancel (``cancel_at_period_end`` / ``cancel_at``). ``mrr`` is ``None`` when the source
    cannot attribute an amount to this one subscription."""

    subscription_id: str
    customer_id: str
    reason: RiskReason | None  # None: at risk, reason no longer known
    mrr: int | None
    customer_name: str | None = None
    customer_email: str | None = None
    cancels_on: date | None = None


class ComputedMetrics(Protocol):
    """What :func:`stripe_kpi.report.summary.build_summary` needs from the metrics layer.

    ``days`` must cover the report day and, for the chart and the trailing-30-day change, the 90
    days before it (days missing before the first row count as an empty account; a gap after it
    carries the last known day forward). ``movements`` must cover the month to date and the
    week ending on the report day (the Monday edition's, ``report.weekly``).
    """

    @property
    def currency(self) -> str: ...

    @property
    def days(self) -> Sequence[DayRow]: ...

    @property
    def movements(self) -> Sequence[MovementRow]: ...

    @property
    def at_risk(self) -> Sequence[AtRiskRow]: ...

    @property
    def synced_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """The plain implementation of :class:`ComputedMetrics` (what the loader returns)."""

    currency: str
    days: Sequence[DayRow]
    movements: Sequence[MovementRow] = ()
    at_risk: Sequence[AtRiskRow] = ()
    synced_at: datetime | None = None
