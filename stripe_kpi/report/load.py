"""Load the report's rows from the database: the derived tables the metrics layer stores
(``daily_metrics``, ``mrr_movement``) joined with customers and subscriptions for names and
cancellation details.

This is the report's only database read, kept apart from the summary arithmetic (STYLE.md habit
1). Two figures are not stored per row by the metrics layer, so they are read from the state as
synced, with the rule written here:

- **MRR at risk, per subscription.** The total is ``daily_metrics.mrr_at_risk`` of the report
  day. Each listed subscription is one that counts now (``active`` or ``past_due``, not ended) and
  is ``past_due`` or set to cancel; its amount is its customer's MRR (``mrr_after`` of their
  latest movement up to the report day) when that subscription is the customer's only counting
  one, else unknown ("—"): splitting a customer's MRR between subscriptions needs the metrics
  layer's per-subscription series.
- **Trial conversion.** A trial ended on the local day of ``trial_end``; it converted when a
  positive movement (new, reactivation or expansion) that names the subscription (or, when the
  movement names none, its customer) happened that same day: METRICS.md example 5 dates a
  converted trial's ``new`` on the day the trial ends.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, or_
from sqlmodel import Session, col, select

from stripe_kpi.report.inputs import AtRiskRow, DayRow, MovementRow, ReportInputs, TrialRow
from stripe_kpi.report.summary import CHART_DAYS
from stripe_kpi.store.models import (
    Customer,
    DailyMetrics,
    MrrMovement,
    Subscription,
    SubscriptionItem,
    SyncRun,
)

_COUNTING = ("active", "past_due")
_GAINS = ("new", "reactivation", "expansion")


def load_report_inputs(
    engine: Engine, day: date, *, currency: str, timezone: str, history_days: int = CHART_DAYS
) -> ReportInputs:
    """The rows :func:`~stripe_kpi.report.summary.build_summary` needs for ``day``: the daily
    series from ``history_days`` before it, the month's movements, the trials that ended this
    month, the subscriptions at risk, and when the last sync finished."""
    zone = ZoneInfo(timezone)
    month_start = day.replace(day=1)
    with Session(engine) as session:
        days = _days(session, day - timedelta(days=history_days), day)
        movements = _movements(session, month_start, day)
        at_risk = _at_risk(session, day, zone)
        trials = _trials(session, month_start, day, zone, movements)
        synced_at = latest_sync(session)
    row_currency = next((d.currency for d in reversed(days) if d.currency), None)
    return ReportInputs(
        currency=row_currency or currency,
        days=tuple(_day_row(d) for d in days),
        movements=tuple(movements),
        at_risk=tuple(at_risk),
        trials=tuple(trials),
        synced_at=synced_at,
    )


def _days(session: Session, first: date, last: date) -> list[DailyMetrics]:
    """The window, plus the last row before it (a day without a row carries it forward)."""
    window = session.exec(
        select(DailyMetrics)
        .where(DailyMetrics.date >= first.isoformat(), DailyMetrics.date <= last.isoformat())
        .order_by(col(DailyMetrics.date))
    ).all()
    before = session.exec(
        select(DailyMetrics)
        .where(DailyMetrics.date < first.isoformat())
        .order_by(col(DailyMetrics.date).desc())
        .limit(1)
    ).first()
    return ([before] if before else []) + list(window)


def _day_row(row: DailyMetrics) -> DayRow:
    return DayRow(
        date=date.fromisoformat(row.date),
        mrr=row.mrr,
        customers=row.customers,
        new=row.new,
        expansion=row.expansion,
        contraction=row.contraction,
        churn=row.churn,
        reactivation=row.reactivation,
        fx=row.fx,
        mrr_at_risk=row.mrr_at_risk,
    )


def _movements(session: Session, first: date, last: date) -> list[MovementRow]:
    rows = session.exec(
        select(MrrMovement, Customer)
        .join(Customer, col(Customer.id) == col(MrrMovement.customer_id), isouter=True)
        .where(MrrMovement.date >= first.isoformat(), MrrMovement.date <= last.isoformat())
        .order_by(col(MrrMovement.date), col(MrrMovement.id))
    ).all()
    churn_subscriptions = {
        sub_id for movement, _ in rows if movement.type == "churn" for sub_id in _ids(movement)
    }
    details = cancellation_details(session, churn_subscriptions)
    result = []
    for movement, customer in rows:
        feedback = comment = None
        if movement.type == "churn":
            feedback, comment = churn_detail(_ids(movement), details)
        result.append(
            MovementRow(
                date=date.fromisoformat(movement.date),
                customer_id=movement.customer_id,
                type=movement.type,  # type: ignore[arg-type]
                amount=movement.amount,
                mrr_before=movement.mrr_before,
                mrr_after=movement.mrr_after,
                customer_name=customer.name if customer else None,
                customer_email=customer.email if customer else None,
                churn_reason=movement.churn_reason,  # type: ignore[arg-type]
                feedback=feedback,
                comment=comment,
                subscription_ids=_ids(movement),
            )
        )
    return result


def _ids(movement: MrrMovement) -> tuple[str, ...]:
    if not movement.subscription_ids:
        return ()
    value = json.loads(movement.subscription_ids)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def customer_names(
    session: Session, ids: Iterable[str]
) -> dict[str, tuple[str | None, str | None]]:
    """``(name, email)`` per customer id, as Stripe has them."""
    wanted = sorted(set(ids))
    found: dict[str, tuple[str | None, str | None]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for customer in session.exec(select(Customer).where(col(Customer.id).in_(chunk))):
            found[customer.id] = (customer.name, customer.email)
    return found


def cancellation_details(
    session: Session, ids: Iterable[str]
) -> dict[str, tuple[str | None, str | None]]:
    wanted = sorted(set(ids))
    found: dict[str, tuple[str | None, str | None]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for sub in session.exec(select(Subscription).where(col(Subscription.id).in_(chunk))):
            found[sub.id] = (sub.cancellation_feedback, sub.cancellation_comment)
    return found


def churn_detail(
    ids: tuple[str, ...], details: dict[str, tuple[str | None, str | None]]
) -> tuple[str | None, str | None]:
    """The first of the ending subscriptions that says something (the metrics layer lists the
    one that carried the churn first)."""
    for sub_id in ids:
        feedback, comment = details.get(sub_id, (None, None))
        if feedback or comment:
            return feedback, comment
    return None, None


def risky_subscriptions(
    session: Session, zone: ZoneInfo, customer_ids: Collection[str] | None = None
) -> list[AtRiskRow]:
    """Subscriptions that count now and may stop (past due, or set to cancel), with who and
    when, ``mrr`` left unknown (the caller attributes amounts). Ordered by subscription id."""
    query = (
        select(Subscription, Customer)
        .join(Customer, col(Customer.id) == col(Subscription.customer_id), isouter=True)
        .where(col(Subscription.status).in_(_COUNTING), col(Subscription.ended_at).is_(None))
        .where(
            or_(
                col(Subscription.status) == "past_due",
                col(Subscription.cancel_at_period_end).is_(True),
                col(Subscription.cancel_at).is_not(None),
            )
        )
        .order_by(col(Subscription.id))
    )
    if customer_ids is not None:
        query = query.where(col(Subscription.customer_id).in_(sorted(customer_ids)))
    risky = session.exec(query).all()
    period_ends = _period_ends(session, [sub.id for sub, _ in risky])
    rows = []
    for sub, customer in risky:
        cancel_ts = sub.cancel_at or (period_ends.get(sub.id) if sub.cancel_at_period_end else None)
        rows.append(
            AtRiskRow(
                subscription_id=sub.id,
                customer_id=sub.customer_id,
                reason="past_due" if sub.status == "past_due" else "cancel_scheduled",
                mrr=None,
                customer_name=customer.name if customer else None,
                customer_email=customer.email if customer else None,
                cancels_on=_local_day(cancel_ts, zone) if cancel_ts else None,
            )
        )
    return rows


def _at_risk(session: Session, day: date, zone: ZoneInfo) -> list[AtRiskRow]:
    rows = risky_subscriptions(session, zone)
    if not rows:
        return []
    customer_ids = sorted({row.customer_id for row in rows})
    counting = _counting_subscriptions(session, customer_ids)
    mrr = _customer_mrr(session, customer_ids, day)
    return [
        replace(row, mrr=mrr.get(row.customer_id, 0))
        if counting.get(row.customer_id, 0) == 1
        else row
        for row in rows
    ]


def _counting_subscriptions(session: Session, customer_ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start : start + 500]
        query = (
            select(Subscription.customer_id, func.count())
            .where(col(Subscription.customer_id).in_(chunk))
            .where(col(Subscription.status).in_(_COUNTING), col(Subscription.ended_at).is_(None))
            .group_by(col(Subscription.customer_id))
        )
        for customer_id, count in session.exec(query):
            counts[customer_id] += count
    return counts


def _customer_mrr(session: Session, customer_ids: list[str], day: date) -> dict[str, int]:
    """Each customer's MRR at the end of ``day``: ``mrr_after`` of their latest movement."""
    latest: dict[str, tuple[str, int, int]] = {}
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start : start + 500]
        query = (
            select(MrrMovement)
            .where(col(MrrMovement.customer_id).in_(chunk))
            .where(MrrMovement.date <= day.isoformat())
            .where(MrrMovement.type != "fx")
        )
        for m in session.exec(query):
            key = (m.date, m.id or 0, m.mrr_after)
            if m.customer_id not in latest or key > latest[m.customer_id]:
                latest[m.customer_id] = key
    return {customer_id: value[2] for customer_id, value in latest.items()}


def _period_ends(session: Session, subscription_ids: list[str]) -> dict[str, int]:
    """The current period's end per subscription: when ``cancel_at_period_end`` takes effect
    (since 2025 Stripe keeps the period on the items)."""
    ends: dict[str, int] = {}
    for start in range(0, len(subscription_ids), 500):
        chunk = subscription_ids[start : start + 500]
        query = select(SubscriptionItem).where(col(SubscriptionItem.subscription_id).in_(chunk))
        for item in session.exec(query):
            if not item.deleted:
                current = ends.get(item.subscription_id, 0)
                ends[item.subscription_id] = max(current, item.current_period_end)
    return ends


def _trials(
    session: Session, first: date, last: date, zone: ZoneInfo, movements: list[MovementRow]
) -> list[TrialRow]:
    start = int(datetime.combine(first, time(0), zone).timestamp())
    end = int(datetime.combine(last + timedelta(days=1), time(0), zone).timestamp())
    subs = session.exec(
        select(Subscription)
        .where(col(Subscription.trial_end).is_not(None))
        .where(col(Subscription.trial_end) >= start, col(Subscription.trial_end) < end)
        .order_by(col(Subscription.id))
    ).all()
    gains: dict[date, list[MovementRow]] = defaultdict(list)
    for m in movements:
        if m.type in _GAINS and m.amount > 0:
            gains[m.date].append(m)
    rows = []
    for sub in subs:
        assert sub.trial_end is not None
        ended_on = _local_day(sub.trial_end, zone)
        converted = any(_names(m, sub) for m in gains.get(ended_on, ()))
        rows.append(TrialRow(sub.id, sub.customer_id, ended_on, converted))
    return rows


def _names(movement: MovementRow, sub: Subscription) -> bool:
    if movement.subscription_ids:
        return sub.id in movement.subscription_ids
    return movement.customer_id == sub.customer_id


def latest_sync(session: Session) -> datetime | None:
    """When the last successful sync finished (the report's footer says it)."""
    finished = session.exec(
        select(func.max(SyncRun.finished_at)).where(SyncRun.status == "ok")
    ).first()
    return datetime.fromtimestamp(finished, UTC) if finished else None


def _local_day(ts: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(ts, zone).date()
