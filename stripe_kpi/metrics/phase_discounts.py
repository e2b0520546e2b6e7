"""Which discounts a subscription schedule's phase took off the subscription when it began.

"When a phase starts, Stripe updates the subscription based on the next phase's attributes"
(docs.stripe.com/billing/subscriptions/subscription-schedules, "Transitioning to the next
phase"), its discounts included: "In the second phase, the subscription would be reverted to the
normal cost and the coupon would be removed" (same page, "Phases"). A phase's ``discounts`` are
the subscription's during the phase; each entry names a ``coupon`` ("ID of the coupon to create a
new discount for") or an existing ``discount`` ("ID of an existing discount on the object ... to
reuse"), per the pinned ``stripe`` package's ``SubscriptionSchedule.Phase.Discount``.

So at a started phase's start, a discount recorded on the subscription (not on an item: the
phase's items carry their own discounts, which the sync's phases do not show reliably) that
began before the phase stops counting, unless the phase names it, or names its coupon and no
new discount of that coupon was made for the phase (Stripe then keeps the one there is). Once
the events are gone, nothing else dates this: no proration bills a discount change, and the next
renewal line only shows it gone by then (METRICS.md §1, "discounts in force at that instant").
"""

from __future__ import annotations

from stripe_kpi.metrics.catalog import Catalog, DiscountTerms
from stripe_kpi.metrics.records import SchedulePhase

__all__ = ["phase_drops"]


def phase_drops(
    phase: SchedulePhase, terms: DiscountTerms, subscription_id: str, catalog: Catalog
) -> bool:
    """Whether ``phase``, beginning, took the discount ``terms`` off ``subscription_id``."""
    named = phase.discounts
    if named is None or terms.item_id is not None or terms.subscription_id != subscription_id:
        return False  # the phase does not say, or the discount is not the subscription's own
    if not terms.start < phase.start_date:
        return False  # applied at the phase's start or later: the phase's own, or added since
    if terms.id in named:
        return False
    if terms.coupon_id not in named:
        return True
    return any(  # the phase made a new discount of that coupon: it replaced this one
        other != terms.id
        and catalog.discounts[other].coupon_id == terms.coupon_id
        and phase.start_date <= catalog.discounts[other].start < phase.end_date
        for other in catalog.on_subscription.get(subscription_id, ())
    )
