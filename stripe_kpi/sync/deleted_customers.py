"""Customers Stripe deleted: the backfill keeps their row although the list no longer shows them.

"Permanently deletes a customer. … Also immediately cancels any active subscriptions on the
customer. … Unlike other objects, deleted customers can still be retrieved through the API in
order to be able to track their history" (docs.stripe.com/api/customers/delete). So
``/v1/customers`` leaves them out, while their subscriptions (canceled) and invoices still list:
their history stays, and their churn on the day of the deletion with it. Without a customer row
the movements would show an id where the founder expects a name.

After the lists, for every customer that a subscription or an invoice names and that has no row:

- deleted within the 30 days Stripe keeps events: the ``customer.deleted`` event's payload, the
  whole customer as it was ("The event would have the full object from before it was deleted",
  Stripe's staff, stripe-dotnet#1870), marked deleted; the very row the events pass writes for
  that event (``sync.events``), so a full sync and an incremental one end alike;
- deleted earlier: what a retrieve returns, ``{"id", "object": "customer", "deleted": true}``,
  with the name, email and currency their latest invoice froze (``customer_name``,
  ``customer_email``);
- not deleted (created while the backfill ran, after its window was paged): retrieved whole.

A ``customer.deleted`` event of a customer whose row exists (a ``--full`` sync over an older
database) marks that row deleted too, as the events pass would have.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, select, union
from sqlmodel import Session

from stripe_kpi.errors import StripeNotFound
from stripe_kpi.store.engine import session_scope, upsert_rows
from stripe_kpi.store.models import Customer, Invoice, Subscription
from stripe_kpi.store.queue import queue_customers
from stripe_kpi.stripe_api import StripeApi
from stripe_kpi.sync import mapping


def restore_deleted_customers(engine: Engine, client: StripeApi, *, since: int, at: int) -> int:
    """Write the rows of the customers Stripe deleted (see the module), and queue their derived
    rows (``derive_queue``, stamped ``at``) in the same transaction; returns how many.
    ``since``: where Stripe's events begin (older ones are gone)."""
    payloads = _deleted_payloads(client, since)
    with Session(engine) as session:
        missing = _unknown_customers(session)
        rows = [mapping.customer_row({**p, "deleted": True}) for p in payloads.values()]
        for customer_id in sorted(missing - payloads.keys()):
            row = _retrieved_row(session, client, customer_id)
            if row is not None:
                rows.append(row)
    if rows:
        with session_scope(engine) as session:
            upsert_rows(session, {"customer": rows})
            queue_customers(session.connection(), [row["id"] for row in rows], at=at)
    return len(rows)


def _deleted_payloads(client: StripeApi, since: int) -> dict[str, dict[str, Any]]:
    """The customers of the ``customer.deleted`` events Stripe keeps, by id."""
    found: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {"type": "customer.deleted", "limit": 100, "created": {"gte": since}}
    while True:
        page = client.list_page("/v1/events", params)
        for event in page["data"]:
            payload = (event.get("data") or {}).get("object") or {}
            if payload.get("id"):
                found.setdefault(payload["id"], payload)  # newest first: the first is the last
        if not page["has_more"] or not page["data"]:
            return found
        params = {**params, "starting_after": page["data"][-1]["id"]}


def _unknown_customers(session: Session) -> set[str]:
    """Customers named by a subscription or an invoice that have no row."""
    named = union(
        select(Subscription.customer_id).where(Subscription.customer_id.is_not(None)),  # type: ignore[union-attr]
        select(Invoice.customer_id).where(Invoice.customer_id.is_not(None)),  # type: ignore[union-attr]
    ).subquery()
    known = select(Customer.id)
    query = select(named.c.customer_id).where(named.c.customer_id.not_in(known))
    return {customer_id for (customer_id,) in session.execute(query)}


def _retrieved_row(session: Session, client: StripeApi, customer_id: str) -> dict[str, Any] | None:
    try:
        obj = client.retrieve(f"/v1/customers/{customer_id}")
    except StripeNotFound:  # not even a stub: nothing to record
        return None
    if not obj.get("deleted"):
        return mapping.customer_row(obj)
    latest = session.execute(
        select(Invoice.raw)
        .where(Invoice.customer_id == customer_id)
        .order_by(Invoice.created.desc(), Invoice.id.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).scalar()
    frozen = orjson.loads(latest) if latest else {}
    return mapping.deleted_customer_row(
        obj,
        name=frozen.get("customer_name"),
        email=frozen.get("customer_email"),
        currency=frozen.get("currency"),
    )
