"""The report's rows from the metrics layer's result (``stripe_kpi.metrics.Computed``): the one
source of every figure the daily summary shows.

The numbers come from ``computed`` (the same ledger that fills ``daily_metrics``); only what the
metrics do not carry is joined from the database (:mod:`stripe_kpi.store.details`): customers'
names and emails, the cancellation feedback and comment of churned subscriptions, and why a
customer's MRR is at risk (past due or set to cancel, and when). The MRR at risk is per customer
(``CustomerResult.at_risk`` at the end of the day), and trials ended and converted are the
daily rows' counts.

Whoever gives the figures — a computation (:func:`inputs_from_computed`) or the derived tables
read back (``services``: ``daily_metrics``, ``mrr_movement`` and the customers at risk) — the
rows are made by one function, :func:`report_inputs`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from stripe_kpi.metrics import Computed, Movement, daily_metrics_rows
from stripe_kpi.report.inputs import AtRiskRow, DayRow, MovementRow, ReportInputs
from stripe_kpi.report.summary import CHART_DAYS
from stripe_kpi.report.weekly import week_first_day
from stripe_kpi.store.details import (
    NO_DETAIL,
    RiskySubscription,
    cancellation_details,
    churn_detail,
    customer_names,
    latest_sync,
    risky_subscriptions,
)


def inputs_from_computed(
    engine: Engine, computed: Computed, day: date, *, history_days: int = CHART_DAYS
) -> ReportInputs:
    """The rows :func:`~stripe_kpi.report.summary.build_summary` needs for ``day``, from a
    computation of every customer.

    Days after ``computed.last_day`` are not there (the summary then says the metrics end
    earlier); days before the account's first are an empty account.
    """
    first, last = report_window(day, computed.last_day)
    movements = computed.movements(first, last)
    return report_inputs(
        engine, computed, day, movements, _at_risk_values(computed, day), history_days=history_days
    )


def report_window(day: date, last_day: date) -> tuple[date, date]:
    """The days whose movements the report of ``day`` lists: its month to date and the week
    ending on ``day`` (the Monday edition's, which may start in the month before), cut at
    ``last_day`` (the last day the metrics reach)."""
    return min(day.replace(day=1), week_first_day(day)), min(day, last_day)


def report_inputs(
    engine: Engine,
    account: Computed,
    day: date,
    movements: Sequence[Movement],
    at_risk_values: Mapping[str, int],
    *,
    history_days: int = CHART_DAYS,
) -> ReportInputs:
    """The report's rows of ``day`` from the account's ledger (``account`` needs no customers:
    its daily figures may be read back from ``daily_metrics``), the movements of its
    :func:`report_window` and each customer's MRR at risk at the end of ``day`` (only those
    with some), joined with names, feedback and why each customer is at risk."""
    last = min(day, account.last_day)
    days = [
        _day_row(row)
        for row in daily_metrics_rows(account, last - timedelta(days=history_days), last)
    ]
    with Session(engine) as session:
        names = customer_names(session, {m.customer_id for m in movements} | set(at_risk_values))
        churn_subs = {s for m in movements if m.type == "churn" for s in m.subscription_ids}
        details = cancellation_details(session, churn_subs)
        risky = risky_subscriptions(session, ZoneInfo(account.tz), set(at_risk_values))
        synced_at = latest_sync(session)
    rows = []
    for m in movements:
        name, email = names.get(m.customer_id, (None, None))
        detail = churn_detail(m.subscription_ids, details) if m.type == "churn" else NO_DETAIL
        rows.append(
            MovementRow(
                date=date.fromordinal(m.day),
                customer_id=m.customer_id,
                type=m.type,  # type: ignore[arg-type]
                amount=m.amount,
                mrr_before=m.mrr_before,
                mrr_after=m.mrr_after,
                customer_name=name,
                customer_email=email,
                churn_reason=m.churn_reason,  # type: ignore[arg-type]
                feedback=detail.feedback,
                comment=detail.comment,
                subscription_ids=tuple(m.subscription_ids),
            )
        )
    return ReportInputs(
        currency=account.currency,
        days=days,
        movements=rows,
        at_risk=_at_risk_rows(dict(at_risk_values), risky, names),
        synced_at=synced_at,
    )


#: A ``daily_metrics`` row's columns that a ``DayRow`` carries as they are.
_DAY_COLUMNS = tuple(f.name for f in fields(DayRow) if f.name != "date")


def _day_row(row: dict) -> DayRow:
    return DayRow(date=date.fromisoformat(row["date"]), **{c: row[c] for c in _DAY_COLUMNS})


def _at_risk_values(computed: Computed, day: date) -> dict[str, int]:
    """Each customer's MRR at risk at the end of ``day`` (only those with some)."""
    n = day.toordinal()
    values = {}
    for customer_id, result in computed.customers.items():
        value = 0
        for changed, amount in result.at_risk:
            if changed > n:
                break
            value = amount
        if value > 0:
            values[customer_id] = value
    return values


def _at_risk_rows(
    values: dict[str, int],
    risky: list[RiskySubscription],
    names: dict[str, tuple[str | None, str | None]],
) -> list[AtRiskRow]:
    """One row per customer with their exact amount; the reason and date from their risky
    subscriptions (past due wins over a scheduled cancellation; the earliest cancellation)."""
    by_customer: dict[str, list[RiskySubscription]] = defaultdict(list)
    for row in risky:
        by_customer[row.customer_id].append(row)
    rows = []
    for customer_id, value in sorted(values.items()):
        subs = by_customer.get(customer_id, [])
        past_due = [s for s in subs if s.reason == "past_due"]
        ending = [s for s in subs if s.reason == "cancel_scheduled"]
        cancels = sorted(s.cancels_on for s in subs if s.cancels_on is not None)
        first = (past_due or ending or subs or [None])[0]
        name, email = names.get(customer_id, (None, None))
        rows.append(
            AtRiskRow(
                subscription_id=first.subscription_id if first else "",
                customer_id=customer_id,
                # No risky subscription now: the state changed since; say "at risk", not why.
                reason=first.reason if first else None,
                mrr=value,
                customer_name=name,
                customer_email=email,
                cancels_on=None if past_due else (cancels[0] if cancels else None),
            )
        )
    return rows
