"""What a sync copies from Stripe, and how the objects it fetches become rows.

Both passes read these: the backfill pages every list, the events pass re-fetches single objects
from the same endpoints with the same expansions (:func:`retrieve_params`), and either way the
sub-lists Stripe cuts at their first 10 entries are paged to the end: an invoice's lines
(``/v1/invoices/{id}/lines``) and a subscription's items (``/v1/subscription_items``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from stripe_kpi.stripe_api import StripeApi
from stripe_kpi.sync import mapping

#: The lists a backfill copies, with the parameters Stripe needs to return everything we use.
#: ``status=all``: without it Stripe hides canceled subscriptions, i.e. every churn.
#: ``expand discounts``: a discount's window (start, end) exists only on the Discount object;
#: a subscription's items carry their own (``data.items.data.discounts``, four levels: within
#: Stripe's limit), and the items paged past 10 expand ``data.discounts`` too
#: (:data:`ITEM_PARAMS`). An item's discount comes before the subscription's ("Subscription
#: item discounts are applied before subscription discounts", ``subscription.discounts``).
#: An invoice's lines carry the item-level ones, which its own ``discounts`` do not list
#: ("Line item discounts are applied before invoice discounts", ``invoice.discounts``): they
#: are expanded on the lines (``data.lines.data.discounts``, four levels) so that a discount
#: since removed from its item (a ``repeating`` one that ended) is still known to a full sync.
#: ``expand tiers, currency_options`` (prices) and ``applies_to, currency_options`` (coupons):
#: "includable" fields, left out of the object unless the request expands them ("Some available
#: fields aren't included in the responses by default ... You can request these fields as an
#: expanded response by using the expand request parameter", docs.stripe.com/api/
#: expanding_objects; for these fields: stripe-java#1838 (tiers), stripe-java#1317 and
#: stripe-node#2234 (applies_to)). Without them a graduated price bills $0 in our metrics and a
#: coupon limited to one product discounts every item. A list expands ``data.<field>``.
#: Prices embedded in subscription items cannot be expanded from a list (``data.items.data.
#: price.tiers`` is five levels; "Expansions have a maximum depth of four levels"): the prices
#: list is where tiers come from, and the mapping never writes an embedded price over it.
LISTS: dict[str, tuple[str, dict[str, Any]]] = {
    "customers": ("/v1/customers", {}),
    "products": ("/v1/products", {}),
    "prices": ("/v1/prices", {"expand": ["data.tiers", "data.currency_options"]}),
    "coupons": ("/v1/coupons", {"expand": ["data.applies_to", "data.currency_options"]}),
    "tax_rates": ("/v1/tax_rates", {}),
    "subscriptions": (
        "/v1/subscriptions",
        {"status": "all", "expand": ["data.discounts", "data.items.data.discounts"]},
    ),
    # Every schedule, finished ones included (the list has no status filter to forget): their
    # phases date the changes they made or will make (docs.stripe.com/api/
    # subscription_schedules/list). Phase items name prices by id: nothing to expand.
    "subscription_schedules": ("/v1/subscription_schedules", {}),
    "invoices": ("/v1/invoices", {"expand": ["data.discounts", "data.lines.data.discounts"]}),
    # The prorations (and one-off items) no invoice has taken yet: "Set to `true` to only show
    # pending invoice items, which are not yet attached to any invoices"
    # (``InvoiceItemListParams.pending``). On a yearly plan a seat change's prorations wait
    # up to a year for the renewal; once its events are gone they alone date the change.
    "invoiceitems": ("/v1/invoiceitems", {"pending": True}),
    # The subscription events Stripe still keeps: the only record of recent status changes
    # (past_due → unpaid) that no invoice shows. Only these are stored (STORED_EVENTS): the
    # other kinds, five in six of an account's events, are what the objects already say.
    "events": ("/v1/events", {"type": "customer.subscription.*"}),
}

#: What the items a subscription does not embed are paged with: their discounts expanded.
ITEM_PARAMS: dict[str, Any] = {"expand": ["data.discounts"]}
#: What the lines an invoice does not embed are paged with: their discounts expanded.
LINE_PARAMS: dict[str, Any] = {"expand": ["data.discounts"]}

#: Stripe keeps events for 30 days; a cursor older than that cannot be resumed.
EVENT_RETENTION_SECONDS = 30 * 24 * 3600

#: Told after each page is fetched: the list's name and how many of its objects the page held.
Progress = Callable[[str, int], None]


def retrieve_params(kind: str) -> dict[str, Any] | None:
    """What a retrieve of one object of ``kind`` asks for: its list's expansions without the
    ``data.`` a list puts before them (``expand[]=tiers`` where the list has ``data.tiers``)."""
    expand = [path.removeprefix("data.") for path in LISTS[kind][1].get("expand", [])]
    return {"expand": expand} if expand else None


def _rest_of(client: StripeApi, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entry of a sub-list endpoint, 100 a page, from its start."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page_params: dict[str, Any] = {**params, "limit": 100}
        if after:
            page_params["starting_after"] = after
        page = client.list_page(path, page_params)
        found += page["data"]
        if not page["has_more"] or not page["data"]:
            return found
        after = page["data"][-1]["id"]


def invoice_with_all_lines(client: StripeApi, invoice: dict[str, Any]) -> mapping.Rows:
    """A list response embeds at most 10 lines; page the rest from /v1/invoices/{id}/lines."""
    extra: list[dict[str, Any]] = []
    if (invoice.get("lines") or {}).get("has_more"):
        extra = _rest_of(client, f"/v1/invoices/{invoice['id']}/lines", LINE_PARAMS)
    return mapping.rows_for(invoice, extra)


def subscription_with_all_items(client: StripeApi, subscription: dict[str, Any]) -> mapping.Rows:
    """A subscription embeds its first 10 items; when ``items.has_more`` says there are more,
    page them from ``items.url``, ``/v1/subscription_items?subscription=…`` ("subscription
    (string, required): The ID of the subscription whose items will be retrieved",
    docs.stripe.com/api/subscription_items/list). Stripe cuts embedded lists as it cuts an
    invoice's lines ("only 10 of the line items are returned … HasMore=true",
    stripe-dotnet#381), and a subscription may have up to 20 items."""
    extra: list[dict[str, Any]] = []
    if (subscription.get("items") or {}).get("has_more"):
        params = {"subscription": subscription["id"], **ITEM_PARAMS}
        extra = _rest_of(client, "/v1/subscription_items", params)
    return mapping.rows_for(subscription, extra)


def rows_for_objects(client: StripeApi, objects: Iterable[dict[str, Any]]) -> mapping.Rows:
    rows: mapping.Rows = {}
    for obj in objects:
        kind = obj.get("object")
        if kind == "invoice":
            mapping.merge_rows(rows, invoice_with_all_lines(client, obj))
        elif kind == "subscription":
            mapping.merge_rows(rows, subscription_with_all_items(client, obj))
        else:
            mapping.merge_rows(rows, mapping.rows_for(obj))
    return rows
