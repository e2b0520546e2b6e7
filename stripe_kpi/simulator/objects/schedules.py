"""Subscription schedules: a subscription's changes decided in advance, phase by phase.

Shape of ``stripe._subscription_schedule.SubscriptionSchedule`` at the pinned version: phases
carry ``start_date``/``end_date`` (the end of one is the start of the next), their ``items`` name
prices by id (``price`` and the legacy ``plan``, both expandable ids) with a ``quantity``, and
``discounts`` as ``{coupon, discount, promotion_code}`` triples. ``current_phase`` is set only
while the schedule is ``active`` ("Object representing the start and end dates for the current
phase of the subscription schedule, if it is ``active``", docs.stripe.com/api/
subscription_schedules/object). A released schedule has ``subscription`` null and the id in
``released_subscription`` (docs.stripe.com/api/subscription_schedules/release).
"""

from __future__ import annotations

from collections.abc import Sequence

from stripe_kpi.simulator.objects.common import StripeDict


def schedule_phase_item(*, price: str, quantity: int | None) -> StripeDict:
    """One item of a phase: the price (also under its old name, ``plan``) and its quantity."""
    return {
        "billing_thresholds": None,
        "discounts": [],
        "metadata": {},
        "plan": price,
        "price": price,
        "quantity": quantity,
        "tax_rates": [],
    }


def schedule_phase(
    *,
    start_date: int,
    end_date: int,
    currency: str,
    items: list[StripeDict],
    coupons: Sequence[str] = (),
    proration_behavior: str = "create_prorations",
    billing_cycle_anchor: str | None = None,
) -> StripeDict:
    """A phase: what the subscription is from ``start_date`` until ``end_date``."""
    return {
        "add_invoice_items": [],
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": billing_cycle_anchor,
        "billing_thresholds": None,
        "collection_method": None,
        "currency": currency,
        "default_payment_method": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [
            {"coupon": coupon, "discount": None, "promotion_code": None} for coupon in coupons
        ],
        "end_date": end_date,
        "invoice_settings": None,
        "items": items,
        "metadata": {},
        "on_behalf_of": None,
        "proration_behavior": proration_behavior,
        "start_date": start_date,
        "transfer_data": None,
        "trial": False,
        "trial_end": None,
    }


def subscription_schedule(
    *,
    id: str,
    customer: str,
    subscription: str,
    created: int,
    livemode: bool,
    phases: list[StripeDict],
    end_behavior: str,
    status: str,
    current_phase: tuple[int, int] | None,
) -> StripeDict:
    """A schedule that manages ``subscription`` (created from it, as ``from_subscription``)."""
    return {
        "application": None,
        "billing_mode": {
            "flexible": {"proration_discounts": "included"},
            "type": "flexible",
            "updated_at": created,
        },
        "canceled_at": None,
        "completed_at": None,
        "created": created,
        "current_phase": None
        if current_phase is None
        else {"end_date": current_phase[1], "start_date": current_phase[0]},
        "customer": customer,
        "customer_account": None,
        "default_settings": {
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": "automatic",
            "billing_thresholds": None,
            "collection_method": "charge_automatically",
            "default_payment_method": None,
            "description": None,
            "invoice_settings": {
                "account_tax_ids": None,
                "custom_fields": None,
                "days_until_due": None,
                "description": None,
                "footer": None,
                "issuer": {"account": None, "type": "self"},
            },
            "on_behalf_of": None,
            "transfer_data": None,
        },
        "end_behavior": end_behavior,
        "id": id,
        "livemode": livemode,
        "metadata": {},
        "object": "subscription_schedule",
        "pause_schedules": [],
        "phases": phases,
        "released_at": None,
        "released_subscription": None,
        "status": status,
        "subscription": subscription,
        "test_clock": None,
    }
