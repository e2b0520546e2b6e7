"""Stripe payload → table rows: the one place that knows Stripe's field paths.

Pure functions from a Stripe object (a plain dict, as the API's JSON) to row dicts keyed by the
column names of ``stripe_kpi.store.models``. The sync writes these rows; the metrics read them.
The API version pinned by the ``stripe`` package (2025+) moved things: billing periods live on
subscription items, an invoice's subscription is under ``parent.subscription_details``, a line's
item and proration flag under ``parent.subscription_item_details``, a line's price under
``pricing.price_details``, a discount's coupon under ``source.coupon``. Older payloads (events
carry the account's default API version, not ours) are read where the old place is unambiguous.

Over 400 lines on purpose: it is the one mapping module (STYLE.md, habit 12), one short builder
per table side by side, so every Stripe field path the sync relies on reads in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import orjson

Row = dict[str, Any]
Rows = dict[str, list[Row]]


def dumps(value: Any) -> str:
    """Canonical JSON: the same object always gives the same text (sync-twice equality)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()


def _id(value: Any) -> str | None:
    """An expandable field: an id, or the expanded object whose id we want."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value.get("id")
    return str(value)


def _decimal_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(Decimal(str(value)).normalize()) if not isinstance(value, str) else value


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)  # type: ignore[assignment]
        if obj is None:
            return None
    return obj


def customer_row(obj: Mapping[str, Any]) -> Row:
    metadata = obj.get("metadata")
    return {
        "id": obj["id"],
        "created": obj.get("created") or 0,
        "email": obj.get("email"),
        "name": obj.get("name"),
        "currency": obj.get("currency"),
        # The segments by country and by metadata (METRICS.md §8); an empty metadata is None.
        "address_country": _get(obj, "address", "country") or None,
        "metadata": dumps(metadata) if isinstance(metadata, Mapping) and metadata else None,
        "deleted": bool(obj.get("deleted")),
        "livemode": bool(obj.get("livemode")),
        "raw": dumps(obj),
    }


def deleted_customer_row(
    stub: Mapping[str, Any], *, name: str | None, email: str | None, currency: str | None
) -> Row:
    """A customer Stripe deleted longer ago than its events go back: the stub a retrieve
    returns (``{"id", "object": "customer", "deleted": true}``, kept as ``raw``) with the name,
    email and currency that their latest invoice froze (``customer_name``…)."""
    return {**customer_row(stub), "name": name, "email": email, "currency": currency}


def product_row(obj: Mapping[str, Any]) -> Row:
    return {
        "id": obj["id"],
        "created": obj.get("created") or 0,
        "name": obj.get("name"),
        "active": bool(obj.get("active", True)),
        "deleted": bool(obj.get("deleted")),
        "raw": dumps(obj),
    }


def price_row(obj: Mapping[str, Any]) -> Row:
    recurring = obj.get("recurring") or {}
    tiers = obj.get("tiers")
    transform = obj.get("transform_quantity")
    return {
        "id": obj["id"],
        "created": obj.get("created") or 0,
        "product_id": _id(obj.get("product")),
        "active": bool(obj.get("active", True)),
        "currency": obj["currency"],
        "type": obj.get("type") or ("recurring" if recurring else "one_time"),
        "billing_scheme": obj.get("billing_scheme") or "per_unit",
        "unit_amount": obj.get("unit_amount"),
        "unit_amount_decimal": _decimal_text(obj.get("unit_amount_decimal")),
        "tiers_mode": obj.get("tiers_mode"),
        "tiers": dumps(tiers) if tiers is not None else None,
        "transform_quantity": dumps(transform) if transform is not None else None,
        "recurring_interval": recurring.get("interval"),
        "recurring_interval_count": recurring.get("interval_count"),
        "recurring_usage_type": recurring.get("usage_type"),
        "tax_behavior": obj.get("tax_behavior"),
        "nickname": obj.get("nickname"),
        "deleted": bool(obj.get("deleted")),
        "raw": dumps(obj),
    }


def coupon_row(obj: Mapping[str, Any]) -> Row:
    return {
        "id": obj["id"],
        "created": obj.get("created") or 0,
        "name": obj.get("name"),
        "percent_off": _decimal_text(obj.get("percent_off")),
        "amount_off": obj.get("amount_off"),
        "currency": obj.get("currency"),
        "duration": obj.get("duration") or "once",
        "duration_in_months": obj.get("duration_in_months"),
        "deleted": bool(obj.get("deleted")),
        "raw": dumps(obj),
    }


def tax_rate_row(obj: Mapping[str, Any]) -> Row:
    return {
        "id": obj["id"],
        "created": obj.get("created") or 0,
        "percentage": _decimal_text(obj.get("percentage")) or "0",
        "inclusive": bool(obj.get("inclusive")),
        "active": bool(obj.get("active", True)),
        "raw": dumps(obj),
    }


def discount_coupon(obj: Mapping[str, Any]) -> Any:
    """The coupon of a discount: ``source.coupon`` since 2025, ``coupon`` before."""
    source = obj.get("source")
    if isinstance(source, Mapping) and source.get("coupon") is not None:
        return source["coupon"]
    return obj.get("coupon")


def discount_row(obj: Mapping[str, Any]) -> Row:
    return {
        "id": obj["id"],
        "coupon_id": _id(discount_coupon(obj)),
        "customer_id": _id(obj.get("customer")),
        "subscription_id": obj.get("subscription"),
        "subscription_item_id": obj.get("subscription_item"),
        "invoice_id": obj.get("invoice"),
        "start": obj.get("start") or 0,
        "end": obj.get("end"),
        "deleted": bool(obj.get("deleted")),
        "raw": dumps(obj),
    }


def _discount_ids(values: Iterable[Any] | None) -> str:
    return dumps([_id(v) for v in (values or [])])


def _expanded(values: Iterable[Any] | None) -> list[Mapping[str, Any]]:
    return [v for v in (values or []) if isinstance(v, Mapping)]


#: Fields Stripe sends only when the request expands them ("includable"). A price or coupon met
#: embedded in another object (a subscription item's ``price``) comes without them, so it is
#: not written: its own list or retrieve, which asks for them, stores it whole.
INCLUDABLE = {"price": ("currency_options", "tiers"), "coupon": ("applies_to", "currency_options")}


def is_whole(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` carries every includable field of its kind (as asked, or as stored)."""
    return all(name in obj for name in INCLUDABLE.get(obj.get("object", ""), ()))


def subscription_rows(
    obj: Mapping[str, Any], extra_items: Iterable[Mapping[str, Any]] = ()
) -> Rows:
    """A subscription, its items, and the discounts it carries expanded (with their coupons).

    Its items are the embedded ones (at most 10 in a response) plus ``extra_items`` paged from
    ``/v1/subscription_items``; the store replaces a subscription's items by these, so a sync
    pages every item before writing (``sync.lists.subscription_with_all_items``).
    """
    details = obj.get("cancellation_details") or {}
    paused = obj.get("pause_collection") or {}
    items = list(_get(obj, "items", "data") or [])
    seen = {item["id"] for item in items}
    items += [item for item in extra_items if item["id"] not in seen]
    rows: Rows = {
        "subscription": [
            {
                "id": obj["id"],
                "customer_id": _id(obj.get("customer")),
                "status": obj["status"],
                "currency": obj.get("currency") or "usd",
                "created": obj.get("created") or 0,
                "start_date": obj.get("start_date") or obj.get("created") or 0,
                "billing_cycle_anchor": obj.get("billing_cycle_anchor"),
                "trial_start": obj.get("trial_start"),
                "trial_end": obj.get("trial_end"),
                "cancel_at": obj.get("cancel_at"),
                "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
                "canceled_at": obj.get("canceled_at"),
                "ended_at": obj.get("ended_at"),
                "cancellation_reason": details.get("reason"),
                "cancellation_feedback": details.get("feedback"),
                "cancellation_comment": details.get("comment"),
                "collection_method": obj.get("collection_method"),
                "pause_collection_behavior": paused.get("behavior"),
                "pause_collection_resumes_at": paused.get("resumes_at"),
                "latest_invoice_id": _id(obj.get("latest_invoice")),
                "discount_ids": _discount_ids(obj.get("discounts")),
                "default_tax_rate_ids": dumps([_id(t) for t in obj.get("default_tax_rates") or []]),
                "livemode": bool(obj.get("livemode")),
                "raw": dumps(obj),
            }
        ],
        "subscription_item": [],
        "discount": [],
        "coupon": [],
        "tax_rate": [],
        "price": [],
    }
    for discount in _expanded(obj.get("discounts")):
        _add_discount(rows, discount)
    for rate in obj.get("default_tax_rates") or []:
        if isinstance(rate, Mapping):
            rows["tax_rate"].append(tax_rate_row(rate))
    for item in items:
        rows["subscription_item"].append(subscription_item_row(item, obj["id"]))
        for discount in _expanded(item.get("discounts")):
            _add_discount(rows, discount)
        if isinstance(item.get("price"), Mapping) and is_whole(item["price"]):
            rows["price"].append(price_row(item["price"]))
        for rate in item.get("tax_rates") or []:
            if isinstance(rate, Mapping):
                rows["tax_rate"].append(tax_rate_row(rate))
    return rows


def _add_discount(rows: Rows, discount: Mapping[str, Any]) -> None:
    rows["discount"].append(discount_row(discount))
    coupon = discount_coupon(discount)
    if isinstance(coupon, Mapping) and is_whole(coupon):
        rows.setdefault("coupon", []).append(coupon_row(coupon))


def subscription_item_row(item: Mapping[str, Any], subscription_id: str) -> Row:
    # Before 2025 the period lived on the subscription; the item is where it is now.
    return {
        "id": item["id"],
        "subscription_id": item.get("subscription") or subscription_id,
        "price_id": _id(item.get("price")) or _id(item.get("plan")),
        "quantity": item.get("quantity"),
        "created": item.get("created") or 0,
        "current_period_start": item.get("current_period_start") or 0,
        "current_period_end": item.get("current_period_end") or 0,
        "discount_ids": _discount_ids(item.get("discounts")),
        "tax_rate_ids": dumps([_id(t) for t in item.get("tax_rates") or []]),
        "deleted": bool(item.get("deleted")),
        "raw": dumps(item),
    }


def subscription_schedule_row(obj: Mapping[str, Any]) -> Row:
    """A schedule and its phases. ``subscription_id`` keeps the subscription a schedule released
    (``subscription`` is null then, its id under ``released_subscription``)."""
    current = obj.get("current_phase") or {}
    return {
        "id": obj["id"],
        "customer_id": _id(obj.get("customer")),
        "subscription_id": _id(obj.get("subscription")) or obj.get("released_subscription"),
        "status": obj.get("status") or "active",
        "end_behavior": obj.get("end_behavior"),
        "created": obj.get("created") or 0,
        "current_phase_start": current.get("start_date"),
        "current_phase_end": current.get("end_date"),
        "canceled_at": obj.get("canceled_at"),
        "completed_at": obj.get("completed_at"),
        "released_at": obj.get("released_at"),
        "phases": dumps(obj.get("phases") or []),
        "livemode": bool(obj.get("livemode")),
        "raw": dumps(obj),
    }


def invoice_subscription_id(obj: Mapping[str, Any]) -> str | None:
    found = _get(obj, "parent", "subscription_details", "subscription")
    return _id(found) if found is not None else _id(obj.get("subscription"))


def invoice_row(obj: Mapping[str, Any], *, lines_complete: bool) -> Row:
    """The invoice without its lines: they are rows of their own (an invoice can have hundreds)."""
    transitions = obj.get("status_transitions") or {}
    without_lines = {k: v for k, v in obj.items() if k != "lines"}
    return {
        "id": obj["id"],
        "customer_id": _id(obj.get("customer")),
        "subscription_id": invoice_subscription_id(obj),
        "status": obj.get("status"),
        "billing_reason": obj.get("billing_reason"),
        "collection_method": obj.get("collection_method"),
        "currency": obj.get("currency") or "usd",
        "created": obj.get("created") or 0,
        "period_start": obj.get("period_start"),
        "period_end": obj.get("period_end"),
        "subtotal": obj.get("subtotal"),
        "total": obj.get("total"),
        "total_excluding_tax": obj.get("total_excluding_tax"),
        "amount_due": obj.get("amount_due"),
        "amount_paid": obj.get("amount_paid"),
        "amount_remaining": obj.get("amount_remaining"),
        "attempt_count": obj.get("attempt_count"),
        "next_payment_attempt": obj.get("next_payment_attempt"),
        "finalized_at": transitions.get("finalized_at"),
        "paid_at": transitions.get("paid_at"),
        "voided_at": transitions.get("voided_at"),
        "marked_uncollectible_at": transitions.get("marked_uncollectible_at"),
        "lines_complete": lines_complete,
        "livemode": bool(obj.get("livemode")),
        "raw": dumps(without_lines),
    }


def invoice_line_row(
    line: Mapping[str, Any], invoice_id: str, position: int, invoice_subscription: str | None
) -> Row:
    parent = line.get("parent") or {}
    item_details = parent.get("subscription_item_details") or {}
    invoice_item_details = parent.get("invoice_item_details") or {}
    details = item_details or invoice_item_details
    price = _get(line, "pricing", "price_details", "price") or line.get("price")
    period = line.get("period") or {}
    discount_amounts = [
        {"discount": _id(d.get("discount")), "amount": int(d.get("amount") or 0)}
        for d in line.get("discount_amounts") or []
    ]
    taxes = line.get("taxes") or []
    subscription_id = (
        details.get("subscription") or _id(line.get("subscription")) or invoice_subscription
    )
    return {
        "id": line["id"],
        "invoice_id": line.get("invoice") or invoice_id,
        "position": position,
        "parent_type": parent.get("type"),
        "subscription_id": subscription_id if details or line.get("subscription") else None,
        "subscription_item_id": item_details.get("subscription_item")
        or line.get("subscription_item"),
        "invoice_item_id": details.get("invoice_item"),
        "proration": bool(details.get("proration", line.get("proration", False))),
        "price_id": _id(price),
        "quantity": line.get("quantity"),
        "amount": int(line.get("amount") or 0),
        "currency": line.get("currency") or "usd",
        "period_start": period.get("start") or 0,
        "period_end": period.get("end") or 0,
        "discount_amount": sum(d["amount"] for d in discount_amounts),
        "discount_amounts": dumps(discount_amounts),
        "tax_exclusive_amount": sum(
            int(t.get("amount") or 0) for t in taxes if t.get("tax_behavior") == "exclusive"
        ),
        "tax_inclusive_amount": sum(
            int(t.get("amount") or 0) for t in taxes if t.get("tax_behavior") == "inclusive"
        ),
        "description": line.get("description"),
        "raw": dumps(line),
    }


def invoice_rows(obj: Mapping[str, Any], extra_lines: Iterable[Mapping[str, Any]] = ()) -> Rows:
    """An invoice with its lines: the embedded ones (at most 10 in a list response) plus
    ``extra_lines`` paged from ``/v1/invoices/{id}/lines``. ``lines_complete`` tells whether we
    hold all of them, so a crash between the two never passes for a whole invoice."""
    embedded = obj.get("lines") or {}
    extra = list(extra_lines)
    lines = list(embedded.get("data") or [])
    seen = {line["id"] for line in lines}
    lines += [line for line in extra if line["id"] not in seen]
    complete = not embedded.get("has_more") or bool(extra)
    subscription_id = invoice_subscription_id(obj)
    rows: Rows = {
        "invoice": [invoice_row(obj, lines_complete=complete)],
        "invoice_line": [
            invoice_line_row(line, obj["id"], position, subscription_id)
            for position, line in enumerate(lines)
        ],
        "discount": [],
        "coupon": [],
    }
    for discount in _expanded(obj.get("discounts")):
        _add_discount(rows, discount)
    seen_discounts = {row["id"] for row in rows["discount"]}
    for line in lines:  # an item's own discounts show on its lines only
        for discount in _expanded(line.get("discounts")):
            if discount["id"] not in seen_discounts:
                seen_discounts.add(discount["id"])
                _add_discount(rows, discount)
    return rows


def pending_invoice_item_row(obj: Mapping[str, Any]) -> Row:
    """An invoice item (``object: invoiceitem``). The pinned shape puts its subscription and item
    under ``parent.subscription_details``, its price under ``pricing.price_details`` (older
    versions: top-level ``subscription``, ``subscription_item``, ``price``). One with an
    ``invoice`` or ``deleted`` is written only to be removed (see ``PendingInvoiceItem``)."""
    details = _get(obj, "parent", "subscription_details") or {}
    price = _get(obj, "pricing", "price_details", "price") or obj.get("price")
    period = obj.get("period") or {}
    return {
        "id": obj["id"],
        "customer_id": _id(obj.get("customer")),
        "subscription_id": _id(details.get("subscription") or obj.get("subscription")),
        "subscription_item_id": _id(
            details.get("subscription_item") or obj.get("subscription_item")
        ),
        "proration": bool(obj.get("proration")),
        "price_id": _id(price),
        "quantity": obj.get("quantity"),
        "amount": int(obj.get("amount") or 0),
        "currency": obj.get("currency") or "usd",
        "date": obj.get("date") or 0,
        "period_start": period.get("start") or 0,
        "period_end": period.get("end") or 0,
        "discount_ids": _discount_ids(obj.get("discounts")),
        "invoice_id": _id(obj.get("invoice")),
        "deleted": bool(obj.get("deleted")),
        "livemode": bool(obj.get("livemode")),
        "raw": dumps(obj),
    }


def event_row(obj: Mapping[str, Any]) -> Row:
    data_object = _get(obj, "data", "object") or {}
    return {
        "id": obj["id"],
        "type": obj["type"],
        "created": obj.get("created") or 0,
        "object_id": data_object.get("id"),
        "object_type": data_object.get("object"),
        "api_version": obj.get("api_version"),
        "raw": dumps(obj),
    }


_SIMPLE = {
    "customer": ("customer", customer_row),
    "product": ("product", product_row),
    "price": ("price", price_row),
    "coupon": ("coupon", coupon_row),
    "tax_rate": ("tax_rate", tax_rate_row),
    "discount": ("discount", discount_row),
    "invoiceitem": ("pending_invoice_item", pending_invoice_item_row),
    "subscription_schedule": ("subscription_schedule", subscription_schedule_row),
    "event": ("event", event_row),
}


def rows_for(obj: Mapping[str, Any], extra: Iterable[Mapping[str, Any]] = ()) -> Rows:
    """Rows for any object we store, dispatched on Stripe's ``object`` field. ``extra`` are the
    entries of its sub-list past the embedded ones: an invoice's lines, a subscription's items.
    """
    kind = obj.get("object")
    if kind == "subscription":
        return subscription_rows(obj, extra)
    if kind == "invoice":
        return invoice_rows(obj, extra)
    if kind in _SIMPLE:
        table, build = _SIMPLE[kind]
        return {table: [build(obj)]}
    raise ValueError(f"stripe_kpi does not store objects of kind {kind!r}")


def merge_rows(into: Rows, more: Rows) -> Rows:
    for table, rows in more.items():
        into.setdefault(table, []).extend(rows)
    return into
