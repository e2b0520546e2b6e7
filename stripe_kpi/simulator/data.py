"""The hand-off between the simulated billing engine and the simulated HTTP server.

The engine (``billing/``) produces a ``StripeData``; the server (``server/``) serves it with
Stripe's list semantics. Objects are plain JSON-ready dicts in the exact shape of the API version
that the installed ``stripe`` package pins; the server never invents fields, the engine never
knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

StripeDict = dict[str, Any]

#: The list endpoints the simulator serves, by URL segment under /v1/.
#: ``invoices`` hold *every* line under ``lines.data`` and ``subscriptions`` every item under
#: ``items.data``; the server shows 10 of each and pages the rest. Objects are stored whole, the
#: fields Stripe shows only when expanded (a price's ``tiers``…) included: the server withholds
#: them.
LIST_KINDS = (
    "customers",
    "products",
    "prices",
    "coupons",
    "tax_rates",
    "subscriptions",
    "subscription_schedules",
    "invoices",
    "invoiceitems",
    "credit_notes",
    "events",
)


@dataclass
class StripeData:
    """Every object of one simulated Stripe account, keyed by list endpoint and id.

    ``objects["events"]`` holds only the events Stripe still keeps (the last 30 days of
    ``now``). ``now`` is the account's clock (unix seconds): "the present" for the server.
    """

    account: StripeDict
    now: int
    objects: dict[str, dict[str, StripeDict]] = field(
        default_factory=lambda: {kind: {} for kind in LIST_KINDS}
    )

    def add(self, kind: str, obj: StripeDict) -> None:
        self.objects.setdefault(kind, {})[obj["id"]] = obj

    def count(self, kind: str) -> int:
        return len(self.objects.get(kind, {}))
