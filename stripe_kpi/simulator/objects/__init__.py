"""Builders of Stripe-shaped objects: complete dicts in the pinned API version's shape.

Each builder returns every field the API returns for that object, with ``None``, ``[]``, ``{}`` or
``False`` where Stripe would have them for something we do not model (shipping, Connect, Stripe
Tax…). Shapes follow the type annotations of the installed ``stripe`` package, but are written
out by hand: ``tests/stripe_shape.py`` checks them against those annotations, which it could not
do if we filled them from the annotations.

Builders are pure: ids and times come in as arguments. Tests that need a single Stripe object
use them as factories ("builders, not blobs"); invoice-side builders are in ``objects_billing``.

Not returned, as in the API unless expanded or included: ``Customer.cash_balance``,
``invoice_credit_balance``, ``sources``, ``subscriptions``, ``tax``, ``tax_ids``;
``Invoice.payments``; ``deleted`` (only on deleted objects).
"""

from __future__ import annotations

from typing import Any

from stripe._api_version import _ApiVersion

StripeDict = dict[str, Any]

API_VERSION = _ApiVersion.CURRENT


def list_object(data: list[StripeDict], url: str) -> StripeDict:
    """A Stripe list: what ``subscription.items`` and ``invoice.lines`` embed."""
    return {"object": "list", "data": data, "has_more": False, "url": url}


def address(country: str | None = None) -> StripeDict:
    return {
        "city": None,
        "country": country,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


def account(
    *, id: str, name: str, country: str, currency: str, email: str, created: int
) -> StripeDict:
    """The account whose key the founder uses (``GET /v1/account``)."""
    return {
        "business_profile": {
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": "5734",
            "minority_owned_business_designation": None,
            "monthly_estimated_revenue": None,
            "name": name,
            "product_description": "Software as a service",
            "specified_commercial_transactions_act_url": None,
            "support_address": None,
            "support_email": email,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": "company",
        "capabilities": None,
        "charges_enabled": True,
        "company": None,
        "controller": None,
        "country": country,
        "created": created,
        "default_currency": currency,
        "details_submitted": True,
        "email": email,
        "external_accounts": None,
        "future_requirements": None,
        "groups": None,
        "id": id,
        "individual": None,
        "metadata": {},
        "object": "account",
        "payouts_enabled": True,
        "requirements": None,
        "settings": None,
        "tos_acceptance": None,
        "type": "standard",
    }


def customer(
    *,
    id: str,
    created: int,
    livemode: bool,
    name: str | None,
    email: str | None,
    invoice_prefix: str,
    country: str | None = None,
    default_payment_method: str | None = None,
    currency: str | None = None,
    metadata: dict[str, str] | None = None,
) -> StripeDict:
    return {
        "address": address(country) if country else None,
        "balance": 0,
        "business_name": None,
        "created": created,
        "currency": currency,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email,
        "id": id,
        "individual_name": None,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": default_payment_method,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": livemode,
        "metadata": dict(metadata or {}),
        "name": name,
        "next_invoice_sequence": 1,
        "object": "customer",
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def product(
    *, id: str, name: str, created: int, livemode: bool, unit_label: str | None = None
) -> StripeDict:
    return {
        "active": True,
        "created": created,
        "default_price": None,
        "description": None,
        "id": id,
        "images": [],
        "livemode": livemode,
        "marketing_features": [],
        "metadata": {},
        "name": name,
        "object": "product",
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "tax_details": None,
        "type": "service",
        "unit_label": unit_label,
        "updated": created,
        "url": None,
    }


def price_tier(
    *, up_to: int | None, unit_amount: int | None, flat_amount: int | None
) -> StripeDict:
    """One tier of a tiered price; ``up_to=None`` is Stripe's ``inf`` (the last tier)."""
    return {
        "flat_amount": flat_amount,
        "flat_amount_decimal": None if flat_amount is None else str(flat_amount),
        "unit_amount": unit_amount,
        "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
        "up_to": up_to,
    }


def price(
    *,
    id: str,
    product: str,
    created: int,
    livemode: bool,
    currency: str,
    unit_amount: int | None,
    interval: str,
    interval_count: int = 1,
    usage_type: str = "licensed",
    meter: str | None = None,
    billing_scheme: str = "per_unit",
    tiers: list[StripeDict] | None = None,
    tiers_mode: str | None = None,
    tax_behavior: str = "unspecified",
    nickname: str | None = None,
    lookup_key: str | None = None,
) -> StripeDict:
    """A recurring price. Tiered prices have ``unit_amount=None`` and their ``tiers``.

    Tiers are part of the Price object only when expanded (``expand[]=tiers``); the simulator
    returns them always, as an account that lists prices with that expansion sees them.
    """
    return {
        "active": True,
        "billing_scheme": billing_scheme,
        "created": created,
        "currency": currency,
        "currency_options": None,
        "custom_unit_amount": None,
        "id": id,
        "livemode": livemode,
        "lookup_key": lookup_key,
        "metadata": {},
        "nickname": nickname,
        "object": "price",
        "product": product,
        "recurring": {
            "interval": interval,
            "interval_count": interval_count,
            "meter": meter,
            "trial_period_days": None,
            "usage_type": usage_type,
        },
        "tax_behavior": tax_behavior,
        "tiers": tiers,
        "tiers_mode": tiers_mode,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
    }


def plan_from_price(price: StripeDict) -> StripeDict:
    """The legacy Plan view of a recurring price, which subscription items still embed."""
    recurring = price["recurring"]
    return {
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "id": price["id"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": price["livemode"],
        "metadata": dict(price["metadata"]),
        "meter": recurring["meter"],
        "nickname": price["nickname"],
        "object": "plan",
        "product": price["product"],
        "tiers": price["tiers"],
        "tiers_mode": price["tiers_mode"],
        "transform_usage": None,
        "trial_period_days": recurring["trial_period_days"],
        "usage_type": recurring["usage_type"],
    }


def coupon(
    *,
    id: str,
    created: int,
    livemode: bool,
    duration: str,
    percent_off: float | None = None,
    amount_off: int | None = None,
    currency: str | None = None,
    duration_in_months: int | None = None,
    name: str | None = None,
) -> StripeDict:
    return {
        "amount_off": amount_off,
        "applies_to": None,
        "created": created,
        "currency": currency,
        "currency_options": None,
        "duration": duration,
        "duration_in_months": duration_in_months,
        "id": id,
        "livemode": livemode,
        "max_redemptions": None,
        "metadata": {},
        "name": name,
        "object": "coupon",
        "percent_off": percent_off,
        "redeem_by": None,
        "times_redeemed": 0,
        "valid": True,
    }


def discount(
    *,
    id: str,
    coupon_id: str,
    customer: str,
    subscription: str | None,
    start: int,
    end: int | None,
) -> StripeDict:
    """A coupon applied to a subscription; ``end`` is set only for ``repeating`` coupons."""
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
        "subscription_item": None,
    }


def tax_rate(
    *,
    id: str,
    created: int,
    livemode: bool,
    display_name: str,
    percentage: float,
    inclusive: bool,
    country: str | None = None,
    jurisdiction: str | None = None,
) -> StripeDict:
    return {
        "active": True,
        "country": country,
        "created": created,
        "description": None,
        "display_name": display_name,
        "effective_percentage": percentage,
        "flat_amount": None,
        "id": id,
        "inclusive": inclusive,
        "jurisdiction": jurisdiction,
        "jurisdiction_level": None,
        "livemode": livemode,
        "metadata": {},
        "object": "tax_rate",
        "percentage": percentage,
        "rate_type": "percentage",
        "state": None,
        "tax_type": "vat",
    }


def event(
    *,
    id: str,
    type: str,
    created: int,
    livemode: bool,
    data_object: StripeDict,
    previous_attributes: StripeDict | None = None,
    request_id: str | None = None,
) -> StripeDict:
    """A snapshot event. ``request.id`` is null when Stripe acted on its own (renewal, retry)."""
    data: StripeDict = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "account": None,
        "api_version": API_VERSION,
        "context": None,
        "created": created,
        "data": data,
        "id": id,
        "livemode": livemode,
        "object": "event",
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": None},
        "type": type,
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
) -> StripeDict:
    """A subscription with its items embedded as a list object (all of them: we never page)."""
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
            "end_behavior": {"billing_cycle_anchor": None, "missing_payment_method": "cancel"}
        },
        "trial_start": trial_start,
    }


def line_tax(*, amount: int, taxable_amount: int, tax_rate: str, inclusive: bool) -> StripeDict:
    """One tax on an invoice line (manual tax rates: ``tax_rate_details``)."""
    return {
        "amount": amount,
        "tax_behavior": "inclusive" if inclusive else "exclusive",
        "tax_rate_details": {"tax_rate": tax_rate},
        "taxability_reason": "standard_rated",
        "taxable_amount": taxable_amount,
        "type": "tax_rate_details",
    }


def invoice_line_item(
    *,
    id: str,
    invoice: str | None,
    livemode: bool,
    currency: str,
    amount: int,
    description: str,
    period_start: int,
    period_end: int,
    quantity: int | None,
    price: StripeDict | None,
    subscription: str | None,
    subscription_item: str | None,
    invoice_item: str | None,
    proration: bool,
    credited_invoice: str | None = None,
    credited_lines: list[str] | None = None,
    discounts: list[str] | None = None,
    discount_amounts: list[StripeDict] | None = None,
    taxes: list[StripeDict] | None = None,
) -> StripeDict:
    """An invoice line. Its ``parent`` says where it comes from, in the 2025+ shape:

    - ``subscription_item_details`` for a subscription item's period or a proration of it
      (``invoice_item`` set for prorations, which are invoice items under the hood);
    - ``invoice_item_details`` for a one-off invoice item.
    """
    proration_details = None
    if credited_invoice is not None:
        proration_details = {
            "credited_items": {
                "invoice": credited_invoice,
                "invoice_line_items": list(credited_lines or []),
            }
        }
    elif proration:
        proration_details = {"credited_items": None}
    if subscription_item is not None:
        parent: StripeDict = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": invoice_item,
                "proration": proration,
                "proration_details": proration_details,
                "subscription": subscription,
                "subscription_item": subscription_item,
            },
            "type": "subscription_item_details",
        }
    else:
        parent = {
            "invoice_item_details": {
                "invoice_item": invoice_item,
                "proration": proration,
                "proration_details": proration_details,
                "subscription": subscription,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
    pricing = None
    if price is not None:
        pricing = {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"],
        }
    return {
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": list(discount_amounts or []),
        "discountable": True,
        "discounts": list(discounts or []),
        "id": id,
        "invoice": invoice,
        "livemode": livemode,
        "metadata": {},
        "object": "line_item",
        "parent": parent,
        "period": {"end": period_end, "start": period_start},
        "pretax_credit_amounts": [],
        "pricing": pricing,
        "quantity": quantity,
        "quantity_decimal": None if quantity is None else str(quantity),
        "subscription": subscription,
        "subtotal": amount,
        "taxes": list(taxes or []),
    }


def invoice_item(
    *,
    id: str,
    customer: str,
    livemode: bool,
    currency: str,
    amount: int,
    date: int,
    description: str,
    period_start: int,
    period_end: int,
    quantity: int,
    price: StripeDict | None,
    subscription: str | None,
    subscription_item: str | None,
    proration: bool,
    tax_rates: list[StripeDict] | None = None,
    discounts: list[str] | None = None,
    invoice: str | None = None,
) -> StripeDict:
    """A pending invoice item: a one-off charge or a proration, waiting for the next invoice."""
    pricing = None
    if price is not None:
        pricing = {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"],
        }
    parent = None
    if subscription is not None:
        parent = {
            "subscription_details": {
                "subscription": subscription,
                "subscription_item": subscription_item,
            },
            "type": "subscription_details",
        }
    return {
        "amount": amount,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "date": date,
        "description": description,
        "discountable": True,
        "discounts": list(discounts or []),
        "frozen_fields": None,
        "id": id,
        "invoice": invoice,
        "invoicing_rules": [],
        "livemode": livemode,
        "metadata": {},
        "net_amount": amount,
        "object": "invoiceitem",
        "parent": parent,
        "period": {"end": period_end, "start": period_start},
        "pricing": pricing,
        "proration": proration,
        "proration_details": {"credited_items": None, "discount_amounts": []}
        if proration
        else None,
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "tax_rates": list(tax_rates or []),
        "test_clock": None,
    }


def invoice(
    *,
    id: str,
    customer: StripeDict,
    account: StripeDict,
    created: int,
    livemode: bool,
    currency: str,
    billing_reason: str,
    collection_method: str,
    subscription: str | None,
    period_start: int,
    period_end: int,
    lines: list[StripeDict],
    discounts: list[str] | None = None,
    days_until_due: int | None = None,
    proration_date: int | None = None,
) -> StripeDict:
    """A draft invoice. Totals, status and payment fields are filled by the billing engine.

    ``customer_*`` fields copy the customer at creation, as Stripe freezes them on the invoice.
    """
    parent = None
    if subscription is not None:
        parent = {
            "quote_details": None,
            "subscription_details": {
                "metadata": {},
                "subscription": subscription,
                "subscription_proration_date": proration_date,
            },
            "type": "subscription_details",
        }
    return {
        "account_country": account["country"],
        "account_name": account["business_profile"]["name"],
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_paid_off_stripe": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": collection_method,
        "confirmation_secret": None,
        "created": created,
        "currency": currency,
        "custom_fields": None,
        "customer": customer["id"],
        "customer_account": None,
        "customer_address": customer["address"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": None,
        "customer_tax_exempt": customer["tax_exempt"],
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": list(discounts or []),
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "id": id,
        "invoice_pdf": None,
        "issuer": {"account": None, "type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": list_object(lines, f"/v1/invoices/{id}/lines"),
        "livemode": livemode,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "object": "invoice",
        "on_behalf_of": None,
        "parent": parent,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_details": None,
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "test_clock": None,
        "threshold_reason": None,
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def dispute(
    *,
    id: str,
    charge: str,
    payment_intent: str,
    amount: int,
    currency: str,
    created: int,
    livemode: bool,
    reason: str = "fraudulent",
) -> StripeDict:
    """A card dispute on an invoice's charge, as ``charge.dispute.created`` carries it."""
    return {
        "amount": amount,
        "balance_transactions": [],
        "charge": charge,
        "created": created,
        "currency": currency,
        "enhanced_eligibility_types": [],
        "evidence": {
            "access_activity_log": None,
            "appeal": None,
            "billing_address": None,
            "cancellation_policy": None,
            "cancellation_policy_disclosure": None,
            "cancellation_rebuttal": None,
            "customer_communication": None,
            "customer_email_address": None,
            "customer_name": None,
            "customer_purchase_ip": None,
            "customer_signature": None,
            "duplicate_charge_documentation": None,
            "duplicate_charge_explanation": None,
            "duplicate_charge_id": None,
            "enhanced_evidence": {
                "mastercard_compliance": None,
                "visa_compelling_evidence_3": None,
                "visa_compliance": None,
            },
            "product_description": None,
            "receipt": None,
            "refund_policy": None,
            "refund_policy_disclosure": None,
            "refund_refusal_explanation": None,
            "service_date": None,
            "service_documentation": None,
            "shipping_address": None,
            "shipping_carrier": None,
            "shipping_date": None,
            "shipping_documentation": None,
            "shipping_tracking_number": None,
            "uncategorized_file": None,
            "uncategorized_text": None,
        },
        "evidence_details": {
            "due_by": created + 21 * 86_400,
            "enhanced_eligibility": {
                "mastercard_compliance": None,
                "visa_compelling_evidence_3": None,
                "visa_compliance": None,
            },
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "id": id,
        "intended_submission_method": None,
        "is_charge_refundable": False,
        "livemode": livemode,
        "metadata": {},
        "network_reason_code": "10.4",
        "object": "dispute",
        "payment_intent": payment_intent,
        "payment_method_details": {
            "amazon_pay": None,
            "card": {
                "brand": "visa",
                "case_type": "chargeback",
                "network": "visa",
                "network_reason_code": "10.4",
            },
            "klarna": None,
            "paypal": None,
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }
