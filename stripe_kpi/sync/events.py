"""The incremental pass: the Events API from our cursor, oldest first.

The cursor is the newest event when a backfill started (taken *before* it, so changes made during
the backfill are replayed after it), then the newest event applied. Each page of events commits
with the cursor it leads to. For every object the page touched, the newest event about it says
its state: that event's own payload when it can be trusted as it is (:func:`usable_payload`),
else the object re-fetched at the pinned API version, once per object per page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine

from stripe_kpi.errors import EventCursorExpired, StripeNotFound, SyncInterrupted
from stripe_kpi.store.engine import session_scope, upsert_rows
from stripe_kpi.store.queue import queue_customers
from stripe_kpi.store.segments import customers_on_prices
from stripe_kpi.stripe_api import API_VERSION, StripeApi
from stripe_kpi.sync import mapping
from stripe_kpi.sync.lists import LISTS, Progress, retrieve_params, rows_for_objects
from stripe_kpi.sync.state import EVENTS_KEY, write_state

#: The events kept in the ``event`` table (the incremental sync reads every kind to know what to
#: re-fetch, and keeps these).
STORED_EVENTS = "customer.subscription."

#: event type prefix → (list, how to find the object to re-fetch)
_EVENT_TARGETS: tuple[tuple[str, str], ...] = (
    ("customer.subscription.", "subscriptions"),
    ("subscription_schedule.", "subscription_schedules"),
    ("customer.discount.", "discount"),
    ("customer.source.", ""),
    ("customer.tax_id.", ""),
    ("customer.cash_balance", ""),
    ("customer.", "customers"),
    ("invoiceitem.", "invoiceitem"),
    ("credit_note.", "credit_note"),
    ("invoice.", "invoices"),
    ("product.", "products"),
    ("price.", "prices"),
    ("plan.", "prices"),
    ("coupon.", "coupons"),
    ("tax_rate.", "tax_rates"),
)


def refetch_targets(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(list, id) pairs whose current state an event may have changed."""
    obj = (event.get("data") or {}).get("object") or {}
    kind = next((k for prefix, k in _EVENT_TARGETS if event["type"].startswith(prefix)), "")
    if kind == "discount":
        targets = [("customers", mapping._id(obj.get("customer")))]
        if obj.get("subscription"):
            targets.append(("subscriptions", obj["subscription"]))
        return [(k, i) for k, i in targets if i]
    if kind == "credit_note":
        # What a credit note changes is its invoice: ``pre_payment_credit_notes_amount`` /
        # ``post_payment_credit_notes_amount`` (and ``amount_due`` when it was still open).
        # Credit notes themselves are not stored: they are cash, never MRR (METRICS.md §1),
        # and no metric reads them.
        invoice = mapping._id(obj.get("invoice"))
        return [("invoices", invoice)] if invoice else []
    if kind == "invoiceitem":
        # The item itself (pending, or to be removed: invoiced or deleted), and the invoice it
        # went on. No ``invoiceitem.updated`` exists at the pinned version (stripe-node v15,
        # API 2024-04-10: "Remove deprecated events invoiceitem.updated"): an invoice taking
        # the item shows as that invoice's ``invoice.created``, whose line names the item.
        invoice = mapping._id(obj.get("invoice"))
        found = [("invoiceitems", obj["id"])] if obj.get("id") else []
        return found + ([("invoices", invoice)] if invoice else [])
    if kind and obj.get("id"):
        return [(kind, obj["id"])]
    return []


#: Objects whose event payload is the whole object at the pinned version. Prices and coupons are
#: not: a payload never carries their includable fields (``tiers``, ``currency_options``,
#: ``applies_to``), which only a request that expands them gets (docs.stripe.com/expand).
_WHOLE_IN_EVENTS = frozenset(
    {
        "customer",
        "product",
        "tax_rate",
        "subscription",
        "subscription_schedule",
        "invoice",
        "invoiceitem",
    }
)


#: Objects Stripe deletes for good, whose ``.deleted`` event is all that is left of them (a
#: subscription's ``.deleted`` event is its end: the object stays, canceled). ``plan`` is a
#: price seen through the old Plans API.
_DELETABLE = frozenset(
    {"customer", "product", "price", "coupon", "tax_rate", "plan", "invoiceitem"}
)


def usable_payload(event: dict[str, Any], target: tuple[str, str]) -> dict[str, Any] | None:
    """The event's ``data.object`` when it is ``target`` as a retrieve would return it, else None.

    Stripe renders an event's object at the API version of the account when the event happened
    (the event's ``api_version``; docs.stripe.com/upgrades#how-can-i-upgrade-my-api: "events …
    are generated using the account's default API version"), so a payload at another version
    is in another shape and is re-fetched. At the pinned version it is the object itself, except
    what a retrieve would expand: a subscription's (and its items') or an invoice's (and its
    lines') ``discounts`` come as ids there (the sync needs the Discount objects, which carry
    their start and end), and the includable fields of prices and coupons are never in it.
    Sub-lists cut at 10 are paged either way.
    """
    obj = (event.get("data") or {}).get("object") or {}
    if event.get("api_version") != API_VERSION or obj.get("id") != target[1]:
        return None
    kind = obj.get("object")
    if kind not in _WHOLE_IN_EVENTS or LISTS.get(target[0], ("",))[0] != f"/v1/{kind}s":
        return None
    if kind in ("subscription", "invoice") and _discount_ids_in(obj):
        return None
    return obj


def _discount_ids_in(obj: dict[str, Any]) -> bool:
    """Whether the object, or one of its embedded items or lines, names a discount by id only."""
    embedded = (obj.get("items") or obj.get("lines") or {}).get("data") or ()
    holders = [obj, *embedded]
    return any(isinstance(d, str) for h in holders for d in h.get("discounts") or ())


def _retrieve(client: StripeApi, kind: str, object_id: str) -> dict[str, Any] | None:
    """The object as its list shows it: the same expansions (``tiers`` and ``currency_options``
    of a price, ``applies_to`` and ``currency_options`` of a coupon, ``discounts``; see
    ``LISTS``), its sub-lists paged past 10 by ``rows_for_objects``."""
    path, _ = LISTS[kind]
    try:
        return client.retrieve(f"{path}/{object_id}", retrieve_params(kind))
    except StripeNotFound:  # deleted since the event
        return None


def apply_events(
    engine: Engine,
    client: StripeApi,
    cursor: dict[str, Any],
    *,
    concurrency: int,
    clock: Callable[[], int],
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    touched: set[str] | None = None,
) -> int:
    """Apply every event newer than ``cursor``, oldest first; returns how many. ``clock`` stamps
    the cursor's checkpoint; ``touched`` collects the customers whose rows changed.

    ``ending_before`` pages towards the present: each page holds the events just newer than the
    cursor (newest first), so it is applied reversed and the cursor moves to its newest event.
    Each page commits with the cursor it leads to. Nothing changed costs one request.

    Raises ``EventCursorExpired`` when Stripe does not know the cursor's event (it keeps events
    30 days; or the key now reads another account). For an unknown ``ending_before`` id Stripe
    answers 400 ``resource_missing`` (as the simulator does), not 404; the client raises
    ``StripeNotFound`` for either, and only this request knows that the missing object is our
    cursor.
    """
    applied = 0
    if not cursor.get("id"):
        # No event existed when the backfill began: find the oldest events by time instead.
        events = _events_since(client, int(cursor.get("created", 0)))
        for start in range(0, len(events), 100):
            chunk = events[start : start + 100]
            _apply_event_page(engine, client, chunk, concurrency, clock, touched)
            applied += len(chunk)
            if progress:
                progress("events", len(chunk))
        if not events:
            return 0
        cursor = {"id": events[-1]["id"], "created": events[-1]["created"]}
    while True:
        if stop is not None and stop.is_set():
            raise SyncInterrupted()
        try:
            page = client.list_page("/v1/events", {"limit": 100, "ending_before": cursor["id"]})
        except StripeNotFound as exc:
            raise EventCursorExpired(
                f"Stripe no longer has event {cursor['id']}, where the last sync stopped; "
                "a full sync (stripe-kpi sync --full) starts over"
            ) from exc
        events = list(reversed(page["data"]))
        if not events:
            return applied
        cursor = _apply_event_page(engine, client, events, concurrency, clock, touched)
        applied += len(events)
        if progress:
            progress("events", len(events))
        if not page["has_more"]:
            return applied


def _events_since(client: StripeApi, created: int) -> list[dict[str, Any]]:
    """Every event created after ``created``, oldest first (Stripe lists newest first)."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100, "created": {"gt": created}}
    while True:
        page = client.list_page("/v1/events", params)
        found += page["data"]
        if not page["has_more"] or not page["data"]:
            return list(reversed(found))
        params = {**params, "starting_after": page["data"][-1]["id"]}


def _apply_event_page(
    engine: Engine,
    client: StripeApi,
    events: list[dict[str, Any]],
    concurrency: int,
    clock: Callable[[], int],
    touched: set[str] | None = None,
) -> dict[str, Any]:
    """Re-fetch what these events touched, then commit rows, events, the customers whose
    derived rows they change (``derive_queue``) and the new cursor, together."""
    rows = _rows_for_events(client, events, concurrency)
    customers = customers_in(rows)
    newest = events[-1]
    cursor = {"id": newest["id"], "created": newest["created"]}
    stamp = clock()
    with session_scope(engine) as session:
        upsert_rows(session, rows)
        prices = sorted({row["id"] for row in rows.get("price", [])})
        customers |= customers_on_prices(session.connection(), prices)  # a renamed plan
        # The derived rows these customers are owed, committed with the rows that owe them.
        queue_customers(session.connection(), customers, at=stamp)
        write_state(session, EVENTS_KEY, cursor, at=stamp)
    if touched is not None:
        touched |= customers
    return cursor


def customers_in(rows: mapping.Rows) -> set[str]:
    """The customers a batch of rows belongs to."""
    found = {row["id"] for row in rows.get("customer", [])}
    tables = ("subscription", "subscription_schedule", "invoice", "discount")
    for table in (*tables, "pending_invoice_item"):
        found |= {row["customer_id"] for row in rows.get(table, []) if row.get("customer_id")}
    return found


def _rows_for_events(
    client: StripeApi, events: list[dict[str, Any]], concurrency: int
) -> mapping.Rows:
    rows: mapping.Rows = {
        "event": [mapping.event_row(e) for e in events if e["type"].startswith(STORED_EVENTS)]
    }
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        for target in refetch_targets(event):
            latest[target] = event
    deleted: list[dict[str, Any]] = []
    fetched: dict[tuple[str, str], dict[str, Any] | None] = {}
    stale = []
    for target, event in latest.items():
        payload = usable_payload(event, target)
        if (
            payload is not None
            and event["type"].endswith(".deleted")
            and payload["object"] in _DELETABLE
        ):
            fetched[target] = None  # gone: recorded from the payload below
        elif payload is not None:
            fetched[target] = payload
        else:
            stale.append(target)
    if stale:
        with ThreadPoolExecutor(max(1, min(concurrency, len(stale)))) as pool:
            retrieved = pool.map(lambda t: _retrieve(client, *t), stale)
            fetched.update(zip(stale, retrieved, strict=True))
    objects = []
    for target, obj in fetched.items():
        if obj is not None and not obj.get("deleted"):
            objects.append(obj)
            continue
        payload = (latest[target].get("data") or {}).get("object") or {}
        if payload.get("id") == target[1] and payload.get("object") in _DELETABLE:
            deleted.append({**payload, "deleted": True})
    mapping.merge_rows(rows, rows_for_objects(client, objects))
    for obj in deleted:
        if obj.get("object") == "plan":
            obj = {**obj, "object": "price"}
        mapping.merge_rows(rows, mapping.rows_for(obj))
    return rows
