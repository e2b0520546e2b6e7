"""Rows shaped like the database tables, as the sync stores them from Stripe objects.

Each factory states only what a test cares about and fills the rest as Stripe would: a renewal
invoice per period with one line per item, proration pairs (negative "unused time", positive
"remaining time") on the next invoice, discount amounts on the lines they reduce. Amounts are
integer minor units; instants are unix seconds (UTC).
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stripe_kpi.metrics.calendar import add_months

Row = dict[str, Any]


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Unix seconds of a UTC instant."""
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def at(year: int, month: int, day: int, hour: int = 23, minute: int = 59) -> datetime:
    """An aware UTC datetime, by default the last minute of the day (an ``as_of``)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def period_after(start: int, interval: str, count: int = 1) -> int:
    """The end of a billing period starting at ``start``."""
    moment = datetime.fromtimestamp(start, UTC)
    if interval == "month":
        return int(add_months(moment, count).timestamp())
    if interval == "year":
        return int(add_months(moment, 12 * count).timestamp())
    days = {"week": 7, "day": 1}[interval] * count
    return int((moment + timedelta(days=days)).timestamp())


def prorate(amount: int, start: int, end: int, period_start: int, period_end: int) -> int:
    """Stripe's proration: the amount for ``start``…``end`` of a period, rounded half up."""
    share = Decimal(end - start) / Decimal(period_end - period_start)
    return int((Decimal(amount) * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Account:
    """A Stripe account's rows, table by table (keys: the column names of ``models.py``)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Row]] = defaultdict(list)
        self._counter = itertools.count(1)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._counter):04d}"

    def tables(self) -> dict[str, list[Row]]:
        return {table: list(rows) for table, rows in self.rows.items()}

    def find(self, table: str, row_id: str) -> Row:
        return next(r for r in self.rows[table] if r["id"] == row_id)

    # -- catalogue -------------------------------------------------------------------------

    def customer(self, created: int = 0, currency: str = "usd") -> str:
        row_id = self._id("cus")
        self.rows["customer"].append(
            {"id": row_id, "created": created, "currency": currency, "deleted": False, "raw": "{}"}
        )
        return row_id

    def price(
        self,
        unit_amount: int | None,
        interval: str = "month",
        count: int = 1,
        *,
        currency: str = "usd",
        usage_type: str = "licensed",
        billing_scheme: str = "per_unit",
        tiers: list[dict] | None = None,
        tiers_mode: str | None = None,
        transform_quantity: dict | None = None,
        tax_behavior: str = "exclusive",
        product: str = "prod_main",
        currency_options: dict | None = None,
    ) -> str:
        row_id = self._id("price")
        raw = {"id": row_id, "object": "price", "currency_options": currency_options or {}}
        self.rows["price"].append(
            {
                "id": row_id,
                "created": 0,
                "product_id": product,
                "active": True,
                "currency": currency,
                "type": "recurring",
                "billing_scheme": billing_scheme,
                "unit_amount": unit_amount,
                "unit_amount_decimal": None if unit_amount is None else str(unit_amount),
                "tiers_mode": tiers_mode,
                "tiers": None if tiers is None else json.dumps(tiers),
                "transform_quantity": None
                if transform_quantity is None
                else json.dumps(transform_quantity),
                "recurring_interval": interval,
                "recurring_interval_count": count,
                "recurring_usage_type": usage_type,
                "tax_behavior": tax_behavior,
                "deleted": False,
                "raw": json.dumps(raw),
            }
        )
        return row_id

    def coupon(
        self,
        *,
        percent_off: str | None = None,
        amount_off: int | None = None,
        duration: str = "forever",
        months: int | None = None,
        currency: str | None = None,
        applies_to: list[str] | None = None,
    ) -> str:
        row_id = self._id("coupon")
        raw: dict[str, Any] = {"id": row_id, "object": "coupon"}
        if applies_to is not None:
            raw["applies_to"] = {"products": applies_to}
        self.rows["coupon"].append(
            {
                "id": row_id,
                "created": 0,
                "percent_off": percent_off,
                "amount_off": amount_off,
                "currency": currency if amount_off is not None else None,
                "duration": duration,
                "duration_in_months": months,
                "deleted": False,
                "raw": json.dumps(raw),
            }
        )
        return row_id

    def discount(
        self,
        coupon: str,
        start: int,
        *,
        end: int | None = None,
        customer: str | None = None,
        subscription: str | None = None,
    ) -> str:
        row_id = self._id("di")
        self.rows["discount"].append(
            {
                "id": row_id,
                "coupon_id": coupon,
                "customer_id": customer,
                "subscription_id": subscription,
                "subscription_item_id": None,
                "invoice_id": None,
                "start": start,
                "end": end,
                "deleted": False,
                "raw": "{}",
            }
        )
        if subscription is not None:
            sub = self.find("subscription", subscription)
            ids = json.loads(sub["discount_ids"])
            sub["discount_ids"] = json.dumps([*ids, row_id])
        return row_id

    def tax_rate(self, percentage: str, *, inclusive: bool) -> str:
        row_id = self._id("txr")
        self.rows["tax_rate"].append(
            {
                "id": row_id,
                "created": 0,
                "percentage": percentage,
                "inclusive": inclusive,
                "active": True,
                "raw": "{}",
            }
        )
        return row_id

    # -- subscriptions ----------------------------------------------------------------------

    def subscription(
        self,
        customer: str,
        start: int,
        *,
        status: str = "active",
        currency: str = "usd",
        trial_end: int | None = None,
        **fields: Any,
    ) -> str:
        row_id = self._id("sub")
        row: Row = {
            "id": row_id,
            "customer_id": customer,
            "status": status,
            "currency": currency,
            "created": start,
            "start_date": start,
            "billing_cycle_anchor": trial_end or start,
            "trial_start": start if trial_end else None,
            "trial_end": trial_end,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "ended_at": None,
            "cancellation_reason": None,
            "cancellation_feedback": None,
            "cancellation_comment": None,
            "collection_method": "charge_automatically",
            "latest_invoice_id": None,
            "discount_ids": "[]",
            "default_tax_rate_ids": "[]",
            "livemode": False,
            "raw": "{}",
        }
        row.update(fields)
        self.rows["subscription"].append(row)
        return row_id

    def update_subscription(self, sub: str, **fields: Any) -> None:
        self.find("subscription", sub).update(fields)

    def item(
        self,
        sub: str,
        price: str,
        quantity: int | None = 1,
        *,
        created: int,
        period: tuple[int, int],
        tax_rates: list[str] | None = None,
        deleted: bool = False,
    ) -> str:
        row_id = self._id("si")
        self.rows["subscription_item"].append(
            {
                "id": row_id,
                "subscription_id": sub,
                "price_id": price,
                "quantity": quantity,
                "created": created,
                "current_period_start": period[0],
                "current_period_end": period[1],
                "discount_ids": "[]",
                "tax_rate_ids": json.dumps(tax_rates or []),
                "deleted": deleted,
                "raw": "{}",
            }
        )
        return row_id

    def set_item(self, item: str, **fields: Any) -> None:
        self.find("subscription_item", item).update(fields)

    # -- invoices ---------------------------------------------------------------------------

    def invoice(
        self,
        sub: str | None,
        created: int,
        *,
        customer: str | None = None,
        status: str = "paid",
        billing_reason: str = "subscription_cycle",
        currency: str = "usd",
        **fields: Any,
    ) -> str:
        row_id = self._id("in")
        if customer is None and sub is not None:
            customer = self.find("subscription", sub)["customer_id"]
        row: Row = {
            "id": row_id,
            "customer_id": customer,
            "subscription_id": sub,
            "status": status,
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "currency": currency,
            "created": created,
            "period_start": created,
            "period_end": created,
            "subtotal": 0,
            "total": 0,
            "total_excluding_tax": 0,
            "amount_due": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "attempt_count": 1,
            "next_payment_attempt": None,
            "finalized_at": created,
            "paid_at": created if status == "paid" else None,
            "voided_at": None,
            "marked_uncollectible_at": None,
            "lines_complete": True,
            "livemode": False,
            "raw": "{}",
        }
        row.update(fields)
        self.rows["invoice"].append(row)
        if sub is not None:
            self.update_subscription(sub, latest_invoice_id=row_id)
        return row_id

    def line(
        self,
        invoice: str,
        *,
        amount: int,
        period: tuple[int, int],
        item: str | None = None,
        price: str | None = None,
        quantity: int | None = 1,
        proration: bool = False,
        discounts: list[tuple[str, int]] | None = None,
        tax_inclusive: int = 0,
        tax_exclusive: int = 0,
        one_off: bool = False,
    ) -> str:
        row_id = self._id("il")
        inv = self.find("invoice", invoice)
        sub = inv["subscription_id"]
        position = sum(1 for r in self.rows["invoice_line"] if r["invoice_id"] == invoice)
        discount_amounts = [{"discount": d, "amount": a} for d, a in discounts or []]
        self.rows["invoice_line"].append(
            {
                "id": row_id,
                "invoice_id": invoice,
                "position": position,
                "parent_type": "invoice_item_details" if one_off else "subscription_item_details",
                "subscription_id": sub,
                "subscription_item_id": None if one_off else item,
                "invoice_item_id": self._id("ii") if one_off or proration else None,
                "proration": proration,
                "price_id": price,
                "quantity": quantity,
                "amount": amount,
                "currency": inv["currency"],
                "period_start": period[0],
                "period_end": period[1],
                "discount_amount": sum(a for _, a in discounts or []),
                "discount_amounts": json.dumps(discount_amounts),
                "tax_exclusive_amount": tax_exclusive,
                "tax_inclusive_amount": tax_inclusive,
                "description": None,
                "raw": "{}",
            }
        )
        total = amount - sum(a for _, a in discounts or []) + tax_exclusive
        inv["subtotal"] += amount
        inv["total"] += total
        inv["amount_due"] += total
        if inv["status"] == "paid":
            inv["amount_paid"] += total
        else:
            inv["amount_remaining"] += total
        return row_id

    def event(self, created: int, type_: str, obj: dict, previous: dict | None = None) -> str:
        row_id = self._id("evt")
        raw = {"id": row_id, "type": type_, "created": created, "data": {"object": obj}}
        if previous is not None:
            raw["data"]["previous_attributes"] = previous
        self.rows["event"].append(
            {
                "id": row_id,
                "type": type_,
                "created": created,
                "object_id": obj.get("id"),
                "object_type": obj.get("object"),
                "api_version": "2026-10-28.endive",
                "raw": json.dumps(raw),
            }
        )
        return row_id

    def subscription_event(
        self,
        created: int,
        sub: str,
        *,
        status: str,
        previous: dict | None = None,
        items: list[tuple[str, str, int | None, int]] = (),
        discounts: list[str] = (),
        type_: str = "customer.subscription.updated",
    ) -> str:
        """A ``customer.subscription.*`` event: the subscription as it was at ``created``.

        ``items``: (item id, price id, quantity, current period start) as the event shows them.
        """
        obj = {
            "id": sub,
            "object": "subscription",
            "status": status,
            "discounts": list(discounts),
            "items": {
                "object": "list",
                "has_more": False,
                "data": [
                    {
                        "id": item,
                        "object": "subscription_item",
                        "price": {"id": price, "object": "price"},
                        "quantity": quantity,
                        "current_period_start": period_start,
                        "discounts": [],
                    }
                    for item, price, quantity, period_start in items
                ],
            },
        }
        return self.event(created, type_, obj, previous)

    # -- whole histories --------------------------------------------------------------------

    def renewals(
        self,
        sub: str,
        item: str,
        price: str,
        *,
        unit_amount: int,
        first: int,
        until: int,
        interval: str = "month",
        count: int = 1,
        quantity: int = 1,
        discounts: list[tuple[str, int]] | None = None,
        first_reason: str = "subscription_create",
        status: str = "paid",
    ) -> list[str]:
        """One paid invoice per period from ``first`` while periods start before ``until``.

        ``discounts``: (discount id, amount off per line) on every invoice.
        """
        invoices, start, reason = [], first, first_reason
        while start < until:
            end = period_after(start, interval, count)
            invoice = self.invoice(sub, start, billing_reason=reason, status=status)
            self.line(
                invoice,
                amount=unit_amount * quantity,
                period=(start, end),
                item=item,
                price=price,
                quantity=quantity,
                discounts=discounts,
            )
            invoices.append(invoice)
            start, reason = end, "subscription_cycle"
        return invoices

    def simple(
        self,
        unit_amount: int,
        start: int,
        until: int,
        *,
        interval: str = "month",
        count: int = 1,
        quantity: int = 1,
        customer: str | None = None,
        currency: str = "usd",
    ) -> tuple[str, str, str]:
        """A customer paying one licensed price from ``start``; returns (customer, sub, item)."""
        customer = customer or self.customer(start, currency)
        price = self.price(unit_amount, interval, count, currency=currency)
        sub = self.subscription(customer, start, currency=currency)
        last_start = start
        while period_after(last_start, interval, count) <= until:
            last_start = period_after(last_start, interval, count)
        item = self.item(
            sub,
            price,
            quantity,
            created=start,
            period=(last_start, period_after(last_start, interval, count)),
        )
        self.renewals(
            sub,
            item,
            price,
            unit_amount=unit_amount,
            first=start,
            until=until,
            interval=interval,
            count=count,
            quantity=quantity,
        )
        return customer, sub, item


def no_rates(from_ccy: str, to_ccy: str, day: object) -> Decimal:
    """A rate source for single-currency accounts: converting anything is a bug."""
    raise AssertionError(f"converted {from_ccy} to {to_ccy} on {day}: nothing needs converting")
