"""What readers show beside the numbers: customers' names and emails, why and how a churned
subscription ended, the subscriptions whose MRR is at risk now, and when the last sync finished.

The metrics layer carries none of this (it works on ids and amounts); the report, the
``movements`` command and any later reader join it here, so the rule for a churn's feedback is
written once (:func:`churn_detail`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from stripe_kpi.store.models import Customer, Subscription, SubscriptionItem, SyncRun

#: Statuses that count in MRR (METRICS.md §1); only these can put MRR at risk.
_COUNTING = ("active", "past_due")
#: SQLite limits the parameters of one statement; ids are looked up in chunks of this many.
_CHUNK = 500

RiskReason = Literal["past_due", "cancel_scheduled", "collection_paused"]


@dataclass(frozen=True, slots=True)
class CancellationDetail:
    """``cancellation_details`` of a subscription, as Stripe has them."""

    reason: str | None = None
    feedback: str | None = None
    comment: str | None = None

    def __bool__(self) -> bool:
        return bool(self.reason or self.feedback or self.comment)


NO_DETAIL = CancellationDetail()


@dataclass(frozen=True, slots=True)
class RiskySubscription:
    """A subscription that counts now and may stop: past due, set to cancel on ``cancels_on`` (a
    local day), or with its collection paused (its renewals are not collected)."""

    subscription_id: str
    customer_id: str
    reason: RiskReason
    cancels_on: date | None


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _CHUNK):
        yield wanted[start : start + _CHUNK]


def customer_names(
    session: Session, ids: Iterable[str]
) -> dict[str, tuple[str | None, str | None]]:
    """``(name, email)`` per customer id, as Stripe has them."""
    found: dict[str, tuple[str | None, str | None]] = {}
    for chunk in _chunks(ids):
        query = select(Customer.id, Customer.name, Customer.email).where(
            col(Customer.id).in_(chunk)
        )
        for customer_id, name, email in session.exec(query):
            found[customer_id] = (name, email)
    return found


def cancellation_details(session: Session, ids: Iterable[str]) -> dict[str, CancellationDetail]:
    """The cancellation details of these subscriptions (only those stored)."""
    found: dict[str, CancellationDetail] = {}
    for chunk in _chunks(ids):
        query = select(
            Subscription.id,
            Subscription.cancellation_reason,
            Subscription.cancellation_feedback,
            Subscription.cancellation_comment,
        ).where(col(Subscription.id).in_(chunk))
        for sub_id, reason, feedback, comment in session.exec(query):
            found[sub_id] = CancellationDetail(reason, feedback, comment)
    return found


def churn_detail(
    subscription_ids: Sequence[str], details: dict[str, CancellationDetail]
) -> CancellationDetail:
    """What a churned customer said: the details of the first of the ending subscriptions that
    has any. The metrics layer lists first the subscription whose end decided the churn's
    reason (METRICS.md §3), so that one speaks when it has something to say."""
    for sub_id in subscription_ids:
        detail = details.get(sub_id, NO_DETAIL)
        if detail:
            return detail
    return NO_DETAIL


def risky_subscriptions(
    session: Session, zone: ZoneInfo, customer_ids: Collection[str] | None
) -> list[RiskySubscription]:
    """These customers' subscriptions (None: every customer's, in one query, as the dashboard
    lists them) that count now and may stop (past due, set to cancel, or with collection
    paused), ordered by subscription id."""
    rows = []
    chunks: Iterable[list[str] | None] = [None] if customer_ids is None else _chunks(customer_ids)
    # Only the columns read here: a whole row carries its raw JSON, most of the cost at scale.
    columns = (
        col(Subscription.id),
        col(Subscription.customer_id),
        col(Subscription.status),
        col(Subscription.cancel_at_period_end),
        col(Subscription.cancel_at),
    )
    for chunk in chunks:
        query = select(*columns)
        if chunk is not None:
            query = query.where(col(Subscription.customer_id).in_(chunk))
        query = (
            query.where(col(Subscription.status).in_(_COUNTING))
            .where(col(Subscription.ended_at).is_(None))
            .where(
                or_(
                    col(Subscription.status) == "past_due",
                    col(Subscription.cancel_at_period_end).is_(True),
                    col(Subscription.cancel_at).is_not(None),
                    col(Subscription.pause_collection_behavior).is_not(None),
                )
            )
        )
        rows += list(session.exec(query))
    rows.sort(key=lambda sub: sub.id)
    period_ends = _period_ends(session, [sub.id for sub in rows])
    risky = []
    for sub in rows:
        cancel_ts = sub.cancel_at or (period_ends.get(sub.id) if sub.cancel_at_period_end else None)
        risky.append(
            RiskySubscription(
                subscription_id=sub.id,
                customer_id=sub.customer_id,
                reason=_risk_reason(sub),
                cancels_on=datetime.fromtimestamp(cancel_ts, zone).date() if cancel_ts else None,
            )
        )
    return risky


def _risk_reason(sub: Any) -> RiskReason:
    """Past due first (money is owed now), then a scheduled end, then a paused collection."""
    if sub.status == "past_due":
        return "past_due"
    if sub.cancel_at_period_end or sub.cancel_at is not None:
        return "cancel_scheduled"
    return "collection_paused"


def _period_ends(session: Session, subscription_ids: list[str]) -> dict[str, int]:
    """The current period's end per subscription: when ``cancel_at_period_end`` takes effect
    (since 2025 Stripe keeps the period on the items)."""
    ends: dict[str, int] = {}
    for chunk in _chunks(subscription_ids):
        query = select(
            col(SubscriptionItem.subscription_id),
            col(SubscriptionItem.current_period_end),
            col(SubscriptionItem.deleted),
        ).where(col(SubscriptionItem.subscription_id).in_(chunk))
        for subscription_id, period_end, deleted in session.exec(query):
            if not deleted:
                ends[subscription_id] = max(ends.get(subscription_id, 0), period_end)
    return ends


def latest_sync(session: Session) -> datetime | None:
    """When the last successful sync finished (the report's footer says it)."""
    finished = session.exec(
        select(func.max(SyncRun.finished_at)).where(SyncRun.status == "ok")
    ).first()
    return datetime.fromtimestamp(finished, UTC) if finished else None
