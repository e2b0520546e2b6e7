"""From database rows to the records the metrics read (:mod:`.records`).

The loader (elsewhere) queries the database and hands plain rows to :func:`inputs_from_rows`;
everything after that is pure. JSON columns are parsed here. The one place raw JSON is read is the
event table: a ``customer.subscription.*`` event carries the whole subscription as it was at that
instant, which is the only record of status changes and of changes no invoice shows yet
(METRICS.md §1).

Over 400 lines on purpose: one short builder per table, side by side, so the column → field
mapping of every record reads in one place (they share ``_json``/``_ids``/``_dec``).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson

from stripe_kpi.metrics.bulk import cycle_collector_paused
from stripe_kpi.metrics.records import (
    PENDING,
    AccountHistory,
    Coupon,
    Customer,
    Discount,
    Invoice,
    InvoiceLine,
    Price,
    SchedulePhase,
    SnapshotItem,
    Subscription,
    SubscriptionItem,
    SubscriptionSchedule,
    SubscriptionSnapshot,
    TaxRate,
    Tier,
)

__all__ = ["COLUMNS", "inputs_from_rows", "snapshot_from_event"]

Row = Mapping[str, Any]
_intern = sys.intern
_new = tuple.__new__

#: The columns :func:`inputs_from_rows` reads, by table: a loader selects just these (``raw`` is
#: only needed where listed: it is most of a row's size).
COLUMNS: dict[str, tuple[str, ...]] = {
    "customer": (
        "id", "created", "currency", "email", "name", "deleted", "address_country", "metadata",
    ),
    "price": (
        "id", "currency", "type", "billing_scheme", "unit_amount", "unit_amount_decimal",
        "tiers_mode", "tiers", "transform_quantity", "recurring_interval",
        "recurring_interval_count", "recurring_usage_type", "tax_behavior", "product_id", "raw",
        "nickname",
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
        "pause_collection_behavior", "pause_collection_resumes_at",
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
    "pending_invoice_item": (
        "id", "amount", "currency", "period_start", "period_end", "subscription_id",
        "subscription_item_id", "proration", "price_id", "quantity", "invoice_id", "deleted",
        "discount_ids",
    ),
    "event": ("id", "type", "created", "object_id", "raw"),
    "subscription_schedule": (
        "id", "customer_id", "status", "created", "subscription_id", "end_behavior",
        "current_phase_start", "canceled_at", "completed_at", "released_at", "phases",
    ),
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Rows → records
# ---------------------------------------------------------------------------------------------


def inputs_from_rows(tables: Mapping[str, Iterable[Row | Sequence[Any]]]) -> AccountHistory:
    """Turn rows (keys: the column names of ``models.py``) into an :class:`AccountHistory`.

    ``tables`` is keyed by table name (``customer``, ``price``, ``coupon``, ``tax_rate``,
    ``discount``, ``subscription``, ``subscription_item``, ``invoice``, ``invoice_line``,
    ``pending_invoice_item``, ``event``, ``subscription_schedule``); other tables are ignored.
    Pending prorations join the invoice lines (:data:`~.records.PENDING`). A row is a mapping (a
    dict, SQLAlchemy's ``row._mapping``) or, faster for the big tables, a plain sequence of the
    values of :data:`COLUMNS` in that order (SQLAlchemy's ``Row`` of ``select(*columns)``). Each
    table may be any iterable, a cursor included: rows are read once. Rows are deduplicated by
    id, the last one winning, so rows gathered by several syncs can simply be concatenated.
    """
    builders = {
        "customer": _customer,
        "price": _price,
        "coupon": _coupon,
        "tax_rate": _tax_rate,
        "discount": _discount,
        "subscription": _subscription,
        "subscription_item": _subscription_item,
        "subscription_schedule": _subscription_schedule,
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
        pending = tables.get("pending_invoice_item", ())
        for line in _pending_prorations(_as_values(pending, COLUMNS["pending_invoice_item"])):
            lines[line.id] = line  # an ii_… id: never an invoice line's
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
        schedules=built["subscription_schedule"],
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
    """A JSON column parsed (orjson: the kept events' raw subscriptions are a tenth of a large
    account's load time with the standard library's parser)."""
    if value is None or value == "":
        return None
    if isinstance(value, str | bytes):
        return orjson.loads(value)
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
        country=row.get("address_country"),
        metadata=tuple(sorted((_json(row.get("metadata")) or {}).items())),
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
        nickname=row.get("nickname"),
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
        pause_collection_behavior=row.get("pause_collection_behavior"),
        pause_collection_resumes_at=row.get("pause_collection_resumes_at"),
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


def _subscription_schedule(row: Row) -> SubscriptionSchedule:
    """Its phases from the JSON column: dates, ``(price, quantity)`` per item, discounts."""
    phases = tuple(
        SchedulePhase(
            start_date=int(phase["start_date"]),
            end_date=int(phase["end_date"]),
            items=tuple(
                (
                    item["price"] if isinstance(item["price"], str) else item["price"]["id"],
                    item.get("quantity"),
                )
                for item in phase.get("items") or ()
            ),
            # A phase begun before its schedule was made (the first phase of a schedule made
            # from a running subscription: its present, from its period's start) changed
            # nothing at its start: it takes off no discount.
            discounts=_phase_discounts(phase) if phase["start_date"] >= row["created"] else None,
        )
        for phase in _json(row.get("phases")) or ()
    )
    return SubscriptionSchedule(
        id=row["id"],
        customer_id=row["customer_id"],
        status=row["status"],
        created=row["created"],
        subscription_id=row.get("subscription_id"),
        end_behavior=row.get("end_behavior"),
        current_phase_start=row.get("current_phase_start"),
        canceled_at=row.get("canceled_at"),
        completed_at=row.get("completed_at"),
        released_at=row.get("released_at"),
        phases=phases,
    )


def _phase_discounts(phase: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The coupon and discount ids a phase's ``discounts`` name (each entry names a ``coupon``
    to create a discount for, an existing ``discount`` to reuse, or a ``promotion_code``), plus
    the older single ``coupon`` of the phase. None when the phase has no ``discounts`` key, or
    names a promotion code alone (its coupon is not in the row): the phase then drops nothing."""
    if "discounts" not in phase:
        return None
    found: list[str] = []
    entries = list(phase.get("discounts") or ())
    if phase.get("coupon"):
        entries.append({"coupon": phase["coupon"]})
    for entry in entries:
        refs = [_ref_id(entry.get(key)) for key in ("coupon", "discount")]
        named = [r for r in refs if r]
        if not named:
            return None
        found.extend(named)
    return tuple(found)


def _ref_id(value: Any) -> str | None:
    """An id, or the id of an expanded object."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value or None


def _invoices(rows: Iterable[Sequence[Any]]) -> dict[str, Invoice]:
    """Repeated strings are interned: a database driver returns a fresh copy of "usd" per row.
    Built with ``tuple.__new__`` (what ``Invoice._make`` does, without its length check and
    class-method call): at a million rows the named constructor's sixteen-argument call is a
    measurable share of the load."""
    found: dict[str, Invoice] = {}
    for row in rows:
        (id_, ccy, created, customer, sub, status, reason, method, due, finalized, paid, voided,
         uncollectible, complete) = row  # fmt: skip
        found[id_] = _new(
            Invoice,
            (
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
            ),
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
    """Only the strings a million lines share are interned (currency, parent type, price):
    an invoice, item or subscription id recurs a dozen times at most, and interning it cost
    more time than it saved memory."""
    found: dict[str, InvoiceLine] = {}
    for row in rows:
        (id_, invoice, amount, ccy, start, end, position, parent, sub, item, proration, price,
         quantity, discount, discounts, inclusive) = row  # fmt: skip
        found[id_] = _new(
            InvoiceLine,
            (
                id_,
                invoice,
                amount,
                _intern(ccy),
                start,
                end,
                position or 0,
                parent and _intern(parent),
                sub,
                item,
                bool(proration),
                price and _intern(price),
                quantity,
                discount or 0,
                () if discounts == "[]" else _discount_amounts(discounts),
                inclusive or 0,
            ),
        )
    return found


def _pending_prorations(rows: Iterable[Sequence[Any]]) -> Iterator[InvoiceLine]:
    """The pending prorations as the proration lines they will become on the next invoice.

    A proration invoice item carries what its line will: ``period.start`` (the instant of the
    change), the item, price and quantity it was computed for ("If the invoice item is a
    proration, the quantity of the subscription that the proration was computed for",
    ``InvoiceItem.quantity`` in the ``stripe`` package). One-off items are not MRR and are
    skipped, as their lines are. Its ``discounts`` are those its amount already carries
    (flexible billing mode, ``proration_discounts=included``): listed with an amount of 0, as a
    proration line lists them, so that they count on the rate it starts (``item_states``).
    """
    for row in rows:
        (id_, amount, ccy, start, end, sub, item, proration, price, quantity, invoice,
         deleted, discount_ids) = row  # fmt: skip
        if not proration or not item or invoice or deleted:
            continue  # a one-off, or no longer pending (its invoice's line says it now)
        yield InvoiceLine(
            id=id_,
            invoice_id=PENDING,
            amount=amount,
            currency=_intern(ccy),
            period_start=start,
            period_end=end,
            parent_type="subscription_item_details",
            subscription_id=sub,
            subscription_item_id=item,
            proration=True,
            price_id=price and _intern(price),
            quantity=quantity,
            discount_amounts=tuple((d, 0) for d in _ids(discount_ids)),
        )


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
        collection_paused=bool(obj["pause_collection"]) if "pause_collection" in obj else None,
        collection_pause_changed="pause_collection" in previous,
    )
