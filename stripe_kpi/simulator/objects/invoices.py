"""Invoices, their lines and pending invoice items. Totals, taxes, status and payment fields are
the billing engine's to fill (``billing/invoices.py``)."""

from __future__ import annotations

from stripe_kpi.simulator.objects.common import StripeDict, list_object


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
    pricing = _pricing(price)
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
    """A pending invoice item: a one-off charge or a proration, waiting for the next invoice.

    Per the pinned version's ``InvoiceItem`` (``stripe/_invoice_item.py``): ``discountable`` is
    "Always false for prorations", and ``net_amount`` "is ``null`` for ``discountable=true``
    items"; ``invoice`` is set once an invoice takes the item (``pending=false`` then).
    """
    pricing = _pricing(price)
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
        "discountable": not proration,
        "discounts": list(discounts or []),
        "frozen_fields": None,
        "id": id,
        "invoice": invoice,
        "invoicing_rules": [],
        "livemode": livemode,
        "metadata": {},
        "net_amount": amount if proration else None,
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


def _pricing(price: StripeDict | None) -> StripeDict | None:
    """A line's or an invoice item's ``pricing``: which price it bills (None: a custom amount)."""
    if price is None:
        return None
    return {
        "price_details": {"price": price["id"], "product": price["product"]},
        "type": "price_details",
        "unit_amount_decimal": price["unit_amount_decimal"],
    }
