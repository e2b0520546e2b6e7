"""What a sync copies from Stripe, and how the objects it fetches become rows.

Both passes read these: the backfill pages every list, the events pass re-fetches single objects
from the same endpoints with the same expansions, and either way an invoice's lines are paged
past the 10 that a response embeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from stripe_kpi.stripe_api import StripeApi
from stripe_kpi.sync import mapping

#: The lists a backfill copies, with the parameters Stripe needs to return everything we use.
#: ``status=all``: without it Stripe hides canceled subscriptions, i.e. every churn.
#: ``expand discounts``: a discount's window (start, end) exists only on the Discount object.
LISTS: dict[str, tuple[str, dict[str, Any]]] = {
    "customers": ("/v1/customers", {}),
    "products": ("/v1/products", {}),
    "prices": ("/v1/prices", {}),
    "coupons": ("/v1/coupons", {}),
    "tax_rates": ("/v1/tax_rates", {}),
    "subscriptions": ("/v1/subscriptions", {"status": "all", "expand": ["data.discounts"]}),
    "invoices": ("/v1/invoices", {"expand": ["data.discounts"]}),
    # The subscription events Stripe still keeps: the only record of recent status changes
    # (past_due → unpaid) that no invoice shows. Only these are stored (STORED_EVENTS): the
    # other kinds, five in six of an account's events, are what the objects already say.
    "events": ("/v1/events", {"type": "customer.subscription.*"}),
}

#: Stripe keeps events for 30 days; a cursor older than that cannot be resumed.
EVENT_RETENTION_SECONDS = 30 * 24 * 3600

#: Told after each page is fetched: the list's name and how many of its objects the page held.
Progress = Callable[[str, int], None]


def invoice_with_all_lines(client: StripeApi, invoice: dict[str, Any]) -> mapping.Rows:
    """A list response embeds at most 10 lines; page the rest from /v1/invoices/{id}/lines."""
    extra: list[dict[str, Any]] = []
    embedded = invoice.get("lines") or {}
    if embedded.get("has_more"):
        after = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["starting_after"] = after
            page = client.list_page(f"/v1/invoices/{invoice['id']}/lines", params)
            extra += page["data"]
            if not page["has_more"] or not page["data"]:
                break
            after = page["data"][-1]["id"]
    return mapping.rows_for(invoice, extra)


def rows_for_objects(client: StripeApi, objects: Iterable[dict[str, Any]]) -> mapping.Rows:
    rows: mapping.Rows = {}
    for obj in objects:
        if obj.get("object") == "invoice":
            mapping.merge_rows(rows, invoice_with_all_lines(client, obj))
        else:
            mapping.merge_rows(rows, mapping.rows_for(obj))
    return rows
