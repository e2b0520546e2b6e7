"""What the metrics read: frozen records named after the columns of ``stripe_kpi/models.py``.

The loader (elsewhere) queries the database and hands plain row mappings to
:func:`inputs_from_rows`; everything after that is pure. Only the columns the metrics need are kept;
JSON columns arrive parsed. The one place raw JSON is read is the event table: a
``customer.subscription.*`` event carries the whole subscription as it was at that instant, which
is the only record of status changes and of changes no invoice shows yet (METRICS.md §1).
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

from stripe_kpi.metrics.bulk import cycle_collector_paused

__all__ = [
    "COLUMNS",
    "AccountHistory",
    "Coupon",
    "Customer",
    "Discount",
    "Invoice",
    "InvoiceLine",
    "Price",
    "SnapshotItem",
    "Subscription",
    "SubscriptionItem",
    "SubscriptionSnapshot",
    "TaxRate",
    "Tier",
    "inputs_from_rows",
]

Row = Mapping[str, Any]
_intern = sys.intern

#: The columns :func:`inputs_from_rows` reads, by table: a loader selects just these (``raw`` is
#: only needed where listed: it is most of a row's size).
COLUMNS: dict[str, tuple[str, ...]] = {
    "customer": ("id", "created", "currency", "email", "name", "deleted"),
    "price": (
        "id", "currency", "type", "billing_scheme", "unit_amount", "unit_amount_decimal",
        "tiers_mode", "tiers", "transform_quantity", "recurring_interval",
        "recurring_interval_count", "recurring_usage_type", "tax_behavior", "product_id", "raw",
    ),
    "coupon": (
        "id", "duration", "percent_off", "amount_off", "currency", "duration_in_months", "raw",
    ),
    "tax_rate": ("id", "percentage", "inclusive"),
    "discount": (
        "id", "start", "coupon_id", "customer_id", "subscription_id", "subscription_item_id",
        "invoice_id", "end", "deleted",
    ),
    "subscription": (
        "id", "customer_id", "status", "currency", "created", "start_date",
        "billing_cycle_anchor", "trial_start", "trial_end", "cancel_at", "cancel_at_period_end",
        "canceled_at", "ended_at", "cancellation_reason", "cancellation_feedback",
        "cancellation_comment", "latest_invoice_id", "discount_ids", "default_tax_rate_ids",
    ),
    "subscription_item": (
        "id", "subscription_id", "price_id", "created", "current_period_start",
        "current_period_end", "quantity", "discount_ids", "tax_rate_ids", "deleted",
    ),
    "invoice": (
        "id", "currency", "created", "customer_id", "subscription_id", "status",
        "billing_reason", "collection_method", "amount_due", "finalized_at", "paid_at", "voided_at",
        "marked_uncollectible_at", "lines_complete",
    ),
    "invoice_line": (
        "id", "invoice_id", "amount", "currency", "period_start", "period_end", "position",
        "parent_type", "subscription_id", "subscription_item_id", "proration", "price_id",
        "quantity", "discount_amount", "discount_amounts", "tax_inclusive_amount",
    ),
    "event": ("id", "type", "created", "object_id", "raw"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier of a tiered price, amounts in minor units (``up_to`` None: the last tier)."""

    up_to: int | None
    unit_amount: Decimal
    flat_amount: Decimal


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    created: int
    currency: str | None = None
    email: str | None = None
    name: str | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Price:
    id: str
    currency: str
    type: str = "recurring"
    billing_scheme: str = "per_unit"
    unit_amount: Decimal | None = None  # minor units, exact (``unit_amount_decimal``)
    tiers_mode: str | None = None
    tiers: tuple[Tier, ...] = ()
    transform_divide_by: int | None = None
    transform_round: str | None = None
    recurring_interval: str | None = None
    recurring_interval_count: int | None = None
    recurring_usage_type: str | None = None
    tax_behavior: str | None = None
    product_id: str | None = None
    #: ``currency_options`` of a multi-currency price: (currency, unit amount, tiers).
    currency_options: tuple[tuple[str, Decimal | None, tuple[Tier, ...]], ...] = ()

    def currency_option(self, currency: str) -> tuple[Decimal | None, tuple[Tier, ...]] | None:
        """The unit amount and tiers this price charges in another currency, if it has them."""
        for ccy, unit, tiers in self.currency_options:
            if ccy == currency:
                return unit, tiers
        return None

    @property
    def metered(self) -> bool:
        return self.recurring_usage_type == "metered"


@dataclass(frozen=True, slots=True)
class Coupon:
    id: str
    duration: str  # forever | once | repeating
    percent_off: Decimal | None = None
    amount_off: int | None = None
    currency: str | None = None
    duration_in_months: int | None = None
    #: ``currency_options``: amount_off per other currency.
    amount_off_options: tuple[tuple[str, int], ...] = ()
    #: ``applies_to.products``; None: every product.
    applies_to_products: frozenset[str] | None = None

    def amount_off_in(self, currency: str) -> int | None:
        """The fixed amount off in ``currency`` (None: this coupon cannot apply in it)."""
        if self.amount_off is None:
            return None
        if self.currency is None or self.currency == currency:
            return self.amount_off
        return dict(self.amount_off_options).get(currency)


@dataclass(frozen=True, slots=True)
class TaxRate:
    id: str
    percentage: Decimal
    inclusive: bool = False


@dataclass(frozen=True, slots=True)
class Discount:
    id: str
    start: int
    coupon_id: str | None = None
    customer_id: str | None = None
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    invoice_id: str | None = None
    end: int | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    customer_id: str
    status: str
    currency: str
    created: int
    start_date: int
    billing_cycle_anchor: int | None = None
    trial_start: int | None = None
    trial_end: int | None = None
    cancel_at: int | None = None
    cancel_at_period_end: bool = False
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_reason: str | None = None
    cancellation_feedback: str | None = None
    cancellation_comment: str | None = None
    latest_invoice_id: str | None = None
    discount_ids: tuple[str, ...] = ()
    default_tax_rate_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubscriptionItem:
    id: str
    subscription_id: str
    price_id: str
    created: int
    current_period_start: int
    current_period_end: int
    quantity: int | None = None
    discount_ids: tuple[str, ...] = ()
    tax_rate_ids: tuple[str, ...] = ()
    deleted: bool = False


class Invoice(NamedTuple):
    """An invoice. A ``NamedTuple``, like :class:`InvoiceLine`: as immutable as a frozen
    dataclass, but built several times faster (a frozen dataclass sets every field through
    ``object.__setattr__``), which matters at a million rows."""

    id: str
    currency: str
    created: int
    customer_id: str | None = None
    subscription_id: str | None = None
    status: str | None = None
    billing_reason: str | None = None
    collection_method: str | None = None
    amount_due: int | None = None
    finalized_at: int | None = None
    paid_at: int | None = None
    voided_at: int | None = None
    marked_uncollectible_at: int | None = None
    lines_complete: bool = False


class InvoiceLine(NamedTuple):
    """One invoice line (a ``NamedTuple`` for speed, see :class:`Invoice`)."""

    id: str
    invoice_id: str
    amount: int  # before discounts; includes inclusive tax
    currency: str
    period_start: int
    period_end: int
    position: int = 0
    parent_type: str | None = None
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    proration: bool = False
    price_id: str | None = None
    quantity: int | None = None
    discount_amount: int = 0
    discount_amounts: tuple[tuple[str, int], ...] = ()
    tax_inclusive_amount: int = 0


@dataclass(frozen=True, slots=True)
class SnapshotItem:
    """A subscription item as a ``customer.subscription.*`` event showed it."""

    id: str
    price_id: str
    quantity: int | None
    created: int | None = None
    current_period_start: int | None = None
    discount_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubscriptionSnapshot:
    """The subscription at ``created``, from one ``customer.subscription.*`` event.

    ``previous_status`` is set when the event changed the status (``previous_attributes``).
    ``items_complete`` is false when Stripe truncated the embedded item list.
    """

    event_id: str
    created: int
    subscription_id: str
    status: str
    previous_status: str | None = None
    items: tuple[SnapshotItem, ...] = ()
    items_complete: bool = True
    discount_ids: tuple[str, ...] = ()
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    canceled_at: int | None = None


@dataclass(frozen=True, slots=True)
class AccountHistory:
    """Every record the metrics read, keyed by Stripe id."""

    customers: Mapping[str, Customer] = field(default_factory=dict)
    prices: Mapping[str, Price] = field(default_factory=dict)
    coupons: Mapping[str, Coupon] = field(default_factory=dict)
    tax_rates: Mapping[str, TaxRate] = field(default_factory=dict)
    discounts: Mapping[str, Discount] = field(default_factory=dict)
    subscriptions: Mapping[str, Subscription] = field(default_factory=dict)
    subscription_items: Mapping[str, SubscriptionItem] = field(default_factory=dict)
    invoices: Mapping[str, Invoice] = field(default_factory=dict)
    invoice_lines: Mapping[str, InvoiceLine] = field(default_factory=dict)
    snapshots: Mapping[str, SubscriptionSnapshot] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Rows → records
# ---------------------------------------------------------------------------------------------


def inputs_from_rows(tables: Mapping[str, Iterable[Row | Sequence[Any]]]) -> AccountHistory:
    """Turn rows (keys: the column names of ``models.py``) into an :class:`AccountHistory`.

    ``tables`` is keyed by table name (``customer``, ``price``, ``coupon``, ``tax_rate``,
    ``discount``, ``subscription``, ``subscription_item``, ``invoice``, ``invoice_line``,
    ``event``); other tables are ignored. A row is a mapping (a dict, SQLAlchemy's
    ``row._mapping``) or, faster for the big tables, a plain sequence of the values of
    :data:`COLUMNS` in that order (SQLAlchemy's ``Row`` of ``select(*columns)``). Each table may be
    any iterable, a cursor included: rows are read once. Rows are deduplicated by id, the last
    one winning, so rows gathered by several syncs can simply be concatenated.
    """
    builders = {
        "customer": _customer,
        "price": _price,
        "coupon": _coupon,
        "tax_rate": _tax_rate,
        "discount": _discount,
        "subscription": _subscription,
        "subscription_item": _subscription_item,
    }
    built: dict[str, dict[str, Any]] = {}
    snapshots: dict[str, SubscriptionSnapshot] = {}
    with cycle_collector_paused():
        for table, build in builders.items():
            records: dict[str, Any] = {}
            for row in _as_mappings(tables.get(table, ()), COLUMNS[table]):
                record = build(row)
                records[record.id] = record
            built[table] = records
        invoices = _invoices(_as_values(tables.get("invoice", ()), COLUMNS["invoice"]))
        lines = _invoice_lines(_as_values(tables.get("invoice_line", ()), COLUMNS["invoice_line"]))
        for row in _as_mappings(tables.get("event", ()), COLUMNS["event"]):
            snapshot = snapshot_from_event(row)
            if snapshot is not None:
                snapshots[snapshot.event_id] = snapshot
    return AccountHistory(
        customers=built["customer"],
        prices=built["price"],
        coupons=built["coupon"],
        tax_rates=built["tax_rate"],
        discounts=built["discount"],
        subscriptions=built["subscription"],
        subscription_items=built["subscription_item"],
        invoices=invoices,
        invoice_lines=lines,
        snapshots=snapshots,
    )


def _as_mappings(rows: Iterable[Any], columns: tuple[str, ...]) -> Iterator[Row]:
    for row in rows:
        yield row if isinstance(row, Mapping) else dict(zip(columns, row, strict=True))


def _as_values(rows: Iterable[Any], columns: tuple[str, ...]) -> Iterator[Sequence[Any]]:
    """The values of ``columns`` of each row, in order (one C call per row for a full mapping)."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return
    if not isinstance(first, Mapping):
        yield first
        yield from iterator
        return
    pick = itemgetter(*columns)
    for row in itertools.chain((first,), iterator):
        try:
            yield pick(row)
        except KeyError:  # a row without some optional columns (hand-built)
            yield tuple(row.get(c) for c in columns)


def _json(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


def _ids(value: Any) -> tuple[str, ...]:
    """A JSON list of ids (or of expanded objects with an ``id``) as a tuple of ids."""
    parsed = _json(value)
    if not parsed:
        return ()
    return tuple(v if isinstance(v, str) else v["id"] for v in parsed)


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        value = repr(value)  # Stripe's JSON numbers: take the digits as written, never binary
    return Decimal(value)


def _customer(row: Row) -> Customer:
    return Customer(
        id=row["id"],
        created=row["created"],
        currency=row.get("currency"),
        email=row.get("email"),
        name=row.get("name"),
        deleted=bool(row.get("deleted")),
    )


def _tiers(value: Any) -> tuple[Tier, ...]:
    parsed = _json(value) or ()
    return tuple(
        Tier(
            up_to=None if t.get("up_to") in (None, "inf") else int(t["up_to"]),
            unit_amount=_dec(t.get("unit_amount_decimal"))
            or _dec(t.get("unit_amount"))
            or Decimal(0),
            flat_amount=_dec(t.get("flat_amount_decimal"))
            or _dec(t.get("flat_amount"))
            or Decimal(0),
        )
        for t in parsed
    )


def _price(row: Row) -> Price:
    transform = _json(row.get("transform_quantity")) or {}
    unit = _dec(row.get("unit_amount_decimal"))
    if unit is None:
        unit = _dec(row.get("unit_amount"))
    raw = _json(row.get("raw")) or {}
    options = []
    for ccy, option in sorted((raw.get("currency_options") or {}).items()):
        if ccy == row["currency"]:
            continue
        option_unit = _dec(option.get("unit_amount_decimal"))
        if option_unit is None:
            option_unit = _dec(option.get("unit_amount"))
        options.append((ccy, option_unit, _tiers(option.get("tiers"))))
    return Price(
        id=row["id"],
        currency=row["currency"],
        type=row.get("type") or "recurring",
        billing_scheme=row.get("billing_scheme") or "per_unit",
        unit_amount=unit,
        tiers_mode=row.get("tiers_mode"),
        tiers=_tiers(row.get("tiers")),
        transform_divide_by=transform.get("divide_by"),
        transform_round=transform.get("round"),
        recurring_interval=row.get("recurring_interval"),
        recurring_interval_count=row.get("recurring_interval_count"),
        recurring_usage_type=row.get("recurring_usage_type"),
        tax_behavior=row.get("tax_behavior"),
        product_id=row.get("product_id"),
        currency_options=tuple(options),
    )


def _coupon(row: Row) -> Coupon:
    raw = _json(row.get("raw")) or {}
    applies_to = (raw.get("applies_to") or {}).get("products")
    options = raw.get("currency_options") or {}
    return Coupon(
        id=row["id"],
        duration=row["duration"],
        percent_off=_dec(row.get("percent_off")),
        amount_off=row.get("amount_off"),
        currency=row.get("currency"),
        duration_in_months=row.get("duration_in_months"),
        amount_off_options=tuple(
            sorted((ccy, int(o["amount_off"])) for ccy, o in options.items() if o.get("amount_off"))
        ),
        applies_to_products=frozenset(applies_to) if applies_to else None,
    )


def _tax_rate(row: Row) -> TaxRate:
    return TaxRate(
        id=row["id"], percentage=_dec(row["percentage"]), inclusive=bool(row.get("inclusive"))
    )


def _discount(row: Row) -> Discount:
    return Discount(
        id=row["id"],
        start=row["start"],
        coupon_id=row.get("coupon_id"),
        customer_id=row.get("customer_id"),
        subscription_id=row.get("subscription_id"),
        subscription_item_id=row.get("subscription_item_id"),
        invoice_id=row.get("invoice_id"),
        end=row.get("end"),
        deleted=bool(row.get("deleted")),
    )


def _subscription(row: Row) -> Subscription:
    return Subscription(
        id=row["id"],
        customer_id=row["customer_id"],
        status=row["status"],
        currency=row["currency"],
        created=row["created"],
        start_date=row["start_date"],
        billing_cycle_anchor=row.get("billing_cycle_anchor"),
        trial_start=row.get("trial_start"),
        trial_end=row.get("trial_end"),
        cancel_at=row.get("cancel_at"),
        cancel_at_period_end=bool(row.get("cancel_at_period_end")),
        canceled_at=row.get("canceled_at"),
        ended_at=row.get("ended_at"),
        cancellation_reason=row.get("cancellation_reason"),
        cancellation_feedback=row.get("cancellation_feedback"),
        cancellation_comment=row.get("cancellation_comment"),
        latest_invoice_id=row.get("latest_invoice_id"),
        discount_ids=_ids(row.get("discount_ids")),
        default_tax_rate_ids=_ids(row.get("default_tax_rate_ids")),
    )


def _subscription_item(row: Row) -> SubscriptionItem:
    return SubscriptionItem(
        id=row["id"],
        subscription_id=row["subscription_id"],
        price_id=row["price_id"],
        created=row["created"],
        current_period_start=row["current_period_start"],
        current_period_end=row["current_period_end"],
        quantity=row.get("quantity"),
        discount_ids=_ids(row.get("discount_ids")),
        tax_rate_ids=_ids(row.get("tax_rate_ids")),
        deleted=bool(row.get("deleted")),
    )


def _invoices(rows: Iterable[Sequence[Any]]) -> dict[str, Invoice]:
    """Repeated strings are interned: a database driver returns a fresh copy of "usd" per row."""
    found: dict[str, Invoice] = {}
    for row in rows:
        (id_, ccy, created, customer, sub, status, reason, method, due, finalized, paid, voided,
         uncollectible, complete) = row  # fmt: skip
        found[id_] = Invoice(
            id_,
            _intern(ccy),
            created,
            customer,
            sub and _intern(sub),
            status and _intern(status),
            reason and _intern(reason),
            method and _intern(method),
            due,
            finalized,
            paid,
            voided,
            uncollectible,
            bool(complete),
        )
    return found


def _discount_amounts(value: Any) -> tuple[tuple[str, int], ...]:
    if value is None or value == "" or value == "[]":
        return ()
    parsed = _json(value)
    return tuple(
        (d["discount"] if isinstance(d["discount"], str) else d["discount"]["id"], int(d["amount"]))
        for d in parsed
    )


def _invoice_lines(rows: Iterable[Sequence[Any]]) -> dict[str, InvoiceLine]:
    found: dict[str, InvoiceLine] = {}
    for row in rows:
        (id_, invoice, amount, ccy, start, end, position, parent, sub, item, proration, price,
         quantity, discount, discounts, inclusive) = row  # fmt: skip
        found[id_] = InvoiceLine(
            id_,
            _intern(invoice),
            amount,
            _intern(ccy),
            start,
            end,
            position or 0,
            parent and _intern(parent),
            sub and _intern(sub),
            item and _intern(item),
            bool(proration),
            price and _intern(price),
            quantity,
            discount or 0,
            _discount_amounts(discounts),
            inclusive or 0,
        )
    return found


def snapshot_from_event(row: Row) -> SubscriptionSnapshot | None:
    """The subscription a ``customer.subscription.*`` event carries (None for other events)."""
    if not str(row.get("type", "")).startswith("customer.subscription."):
        return None
    raw = _json(row.get("raw")) or {}
    data = raw.get("data") or {}
    obj = data.get("object") or {}
    previous = data.get("previous_attributes") or {}
    items_list = obj.get("items") or {}
    items = tuple(
        SnapshotItem(
            id=item["id"],
            price_id=item["price"] if isinstance(item["price"], str) else item["price"]["id"],
            quantity=item.get("quantity"),
            created=item.get("created"),
            current_period_start=item.get("current_period_start"),
            discount_ids=_ids(item.get("discounts")),
        )
        for item in items_list.get("data") or ()
        if not item.get("deleted")
    )
    return SubscriptionSnapshot(
        event_id=row["id"],
        created=row["created"],
        subscription_id=obj.get("id") or row.get("object_id"),
        status=obj.get("status") or "",
        previous_status=previous.get("status"),
        items=items,
        # No item list at all (a trimmed payload) says nothing about which items exist.
        items_complete="items" in obj and not items_list.get("has_more", False),
        discount_ids=_ids(obj.get("discounts")),
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        cancel_at=obj.get("cancel_at"),
        canceled_at=obj.get("canceled_at"),
    )
