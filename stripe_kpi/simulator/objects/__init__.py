"""Builders of Stripe-shaped objects: complete dicts in the pinned API version's shape.

Each builder returns every field the API returns for that object, with ``None``, ``[]``, ``{}`` or
``False`` where Stripe would have them for something we do not model (shipping, Connect, Stripe
Tax…). Shapes follow the type annotations of the installed ``stripe`` package, but are written
out by hand: ``tests/stripe_shape.py`` checks them against those annotations, which it could not
do if we filled them from the annotations.

Builders are pure: ids and times come in as arguments. Tests that need a single Stripe object
use them as factories ("builders, not blobs"). One module per object family: ``customers`` (the
account, customers), ``catalog`` (products, prices, coupons, tax rates), ``subscriptions``
(subscriptions, items, discounts), ``schedules`` (subscription schedules), ``invoices``
(invoices, lines, invoice items), ``events``, ``disputes``, ``credit_notes``; ``common`` holds
what they share. Every builder is re-exported here, so callers write ``objects.customer(...)``.

Not returned, as in the API unless expanded or included: ``Customer.cash_balance``,
``invoice_credit_balance``, ``sources``, ``subscriptions``, ``tax``, ``tax_ids``;
``Invoice.payments``; ``deleted`` (only on deleted objects). The builders keep the optional
keys Stripe leaves out when unset (as ``None``, for the engine to read); the server leaves them
out as Stripe does (``omitted.py``, ``OMITTED_WHEN_UNSET``).
"""

from stripe_kpi.simulator.objects.catalog import (
    coupon,
    currency_option,
    plan_from_price,
    price,
    price_tier,
    product,
    tax_rate,
)
from stripe_kpi.simulator.objects.common import API_VERSION, StripeDict, list_object
from stripe_kpi.simulator.objects.credit_notes import credit_note, credit_note_line_item
from stripe_kpi.simulator.objects.customers import account, address, customer
from stripe_kpi.simulator.objects.disputes import dispute
from stripe_kpi.simulator.objects.events import event
from stripe_kpi.simulator.objects.invoices import invoice, invoice_item, invoice_line_item
from stripe_kpi.simulator.objects.schedules import (
    schedule_phase,
    schedule_phase_item,
    subscription_schedule,
)
from stripe_kpi.simulator.objects.subscriptions import discount, subscription, subscription_item

__all__ = [
    "API_VERSION",
    "StripeDict",
    "account",
    "address",
    "coupon",
    "credit_note",
    "credit_note_line_item",
    "currency_option",
    "customer",
    "discount",
    "dispute",
    "event",
    "invoice",
    "invoice_item",
    "invoice_line_item",
    "list_object",
    "plan_from_price",
    "price",
    "price_tier",
    "product",
    "schedule_phase",
    "schedule_phase_item",
    "subscription",
    "subscription_item",
    "subscription_schedule",
    "tax_rate",
]
