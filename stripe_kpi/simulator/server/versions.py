"""Events at the account's API version, which may be older than the pinned one.

Stripe renders an event's ``data.object`` with the API version of the account when the event
was created and says which in the event's ``api_version`` (docs.stripe.com/upgrades: "Events …
are generated using the account's default API version"); a client pinned to a newer version
must re-fetch what it reads from such an event. The simulator models one older shape, the one
that matters to a sync reading billing periods: before 2025-03-31.basil (changelog
"Remove subscription-level current period", "Add parent to invoices") a subscription carried
``current_period_start``/``current_period_end`` itself and an invoice named its subscription
at the top level, with no ``parent``. ``Knobs.account_api_version`` sets the version.
"""

from __future__ import annotations

import copy

from stripe_kpi.simulator.data import StripeDict

#: The first version whose shapes the simulator builds (billing periods on items, ``parent``).
BASIL = "2025-03-31.basil"


def event_at_version(event: StripeDict, version: str | None, pinned: str) -> StripeDict:
    """``event`` as an account at ``version`` receives it (None: the pinned version)."""
    if version is None or version == pinned:
        return event
    shown = copy.deepcopy(event)
    shown["api_version"] = version
    if version < BASIL:
        obj = shown["data"]["object"]
        if obj.get("object") == "subscription":
            _period_on_subscription(obj)
        elif obj.get("object") == "invoice":
            _subscription_on_invoice(obj)
    return shown


def _period_on_subscription(sub: StripeDict) -> None:
    items = (sub.get("items") or {}).get("data") or []
    if items:
        sub["current_period_start"] = items[0].get("current_period_start")
        sub["current_period_end"] = items[0].get("current_period_end")
    for item in items:
        item.pop("current_period_start", None)
        item.pop("current_period_end", None)


def _subscription_on_invoice(invoice: StripeDict) -> None:
    parent = invoice.pop("parent", None) or {}
    details = parent.get("subscription_details") or {}
    invoice["subscription"] = details.get("subscription")
    for line in (invoice.get("lines") or {}).get("data") or []:
        line_parent = line.pop("parent", None) or {}
        item = (line_parent.get("subscription_item_details") or {}).get("subscription_item")
        line["subscription_item"] = item
        line["subscription"] = details.get("subscription")
