"""Subscriptions, their items (where the billing period lives since 2025), and the discounts that
apply a coupon to a subscription."""

from __future__ import annotations

from stripe_kpi.simulator.objects.catalog import plan_from_price
from stripe_kpi.simulator.objects.common import StripeDict, list_object


def discount(
    *,
    id: str,
    coupon_id: str,
    customer: str,
    subscription: str | None,
    start: int,
    end: int | None,
    subscription_item: str | None = None,
) -> StripeDict:
    """A coupon applied to a subscription, or to one of its items (``subscription_item``, the
    subscription named too); ``end`` is set only for ``repeating`` coupons."""
    return {
        "checkout_session": None,
        "customer": customer,
        "customer_account": None,
        "end": end,
        "id": id,
        "invoice": None,
        "invoice_item": None,
        "object": "discount",
        "promotion_code": None,
        "source": {"coupon": coupon_id, "type": "coupon"},
        "start": start,
        "subscription": subscription,
        "subscription_item": subscription_item,
    }


def subscription_item(
    *,
    id: str,
    subscription: str,
    price: StripeDict,
    quantity: int | None,
    created: int,
    current_period_start: int,
    current_period_end: int,
    tax_rates: list[StripeDict] | None = None,
) -> StripeDict:
    """A subscription item. Since 2025 the billing period lives here, not on the subscription.

    Metered items have no quantity (usage is reported to a meter and billed in arrears).
    """
    return {
        "billed_until": None,
        "billing_thresholds": None,
        "created": created,
        "current_period_end": current_period_end,
        "current_period_start": current_period_start,
        "current_trial": None,
        "discounts": [],
        "id": id,
        "metadata": {},
        "object": "subscription_item",
        "plan": plan_from_price(price),
        "price": price,
        "quantity": quantity,
        "subscription": subscription,
        "tax_rates": list(tax_rates or []),
    }


def subscription(
    *,
    id: str,
    customer: str,
    created: int,
    livemode: bool,
    currency: str,
    items: list[StripeDict],
    status: str,
    billing_cycle_anchor: int,
    collection_method: str = "charge_automatically",
    days_until_due: int | None = None,
    default_tax_rates: list[StripeDict] | None = None,
    discounts: list[str] | None = None,
    trial_start: int | None = None,
    trial_end: int | None = None,
    latest_invoice: str | None = None,
    default_payment_method: str | None = None,
    metadata: dict[str, str] | None = None,
    missing_payment_method: str = "create_invoice",
) -> StripeDict:
    """A subscription with every item stored in its ``items`` list object; the server shows the
    first 10 and pages the rest from ``/v1/subscription_items``, as Stripe does.

    ``missing_payment_method`` is what the trial's end does without a payment method:
    ``create_invoice`` (Stripe's default), ``pause`` or ``cancel`` (see ``billing.trials``).
    """
    return {
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": billing_cycle_anchor,
        "billing_cycle_anchor_config": None,
        "billing_mode": {
            "flexible": {"proration_discounts": "included"},
            "type": "flexible",
            "updated_at": created,
        },
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {
            "comment": None,
            "feedback": None,
            "feedback_option": None,
            "reason": None,
        },
        "collection_method": collection_method,
        "created": created,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "days_until_due": days_until_due,
        "default_payment_method": default_payment_method,
        "default_source": None,
        "default_tax_rates": list(default_tax_rates or []),
        "description": None,
        "discounts": list(discounts or []),
        "ended_at": None,
        "id": id,
        "invoice_settings": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": {"account": None, "type": "self"},
        },
        "items": list_object(items, f"/v1/subscription_items?subscription={id}"),
        "latest_invoice": latest_invoice,
        "livemode": livemode,
        "managed_payments": None,
        "metadata": dict(metadata or {}),
        "next_pending_invoice_item_invoice": None,
        "object": "subscription",
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "presentment_details": None,
        "schedule": None,
        "start_date": created,
        "status": status,
        "status_details": None,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": trial_end,
        "trial_settings": {
            "end_behavior": {
                "billing_cycle_anchor": None,
                "missing_payment_method": missing_payment_method,
            }
        },
        "trial_start": trial_start,
    }
