"""Add-on packs: the few customers of ``saas.generate_account`` who buy a team plan by the seat
and many add-ons, on a subscription of their own.

What real accounts have and a sync must not miss: subscriptions of 12 to 16 items (past the 10 a
subscription embeds), invoices of 15 and more lines (an add-on bought mid-month adds a proration
to the next renewal), seats on graduated and volume tiers, and a coupon limited to the add-on
products (``applies_to``). About 3 % of US-dollar customers buy a pack, drawn from a random
stream of their own, so every other step of their life (and every other customer) is drawn as
before; the pack joins their subscriptions, so their cancellations and failed payments end it too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.billing.ledger import MAX_ITEMS
from stripe_kpi.simulator.clock import DAY

StripeDict = dict[str, Any]

#: Share of US-dollar customers who buy a pack.
PACK_SHARE = 0.03

#: (name, monthly price in cents) of every add-on a pack may hold.
ADDONS = [
    ("SSO", 4900), ("Audit log", 2900), ("Data export", 1900), ("Sandbox", 2500),
    ("Priority support", 4900), ("Custom domain", 900), ("API access", 3900),
    ("Webhooks", 1500), ("Extra storage", 1000), ("Advanced analytics", 3500),
    ("Alerts", 900), ("Backups", 1900), ("Slack app", 500), ("Teams app", 500),
    ("Mobile app", 1500), ("White label", 4500), ("Sandbox data", 1200), ("Usage reports", 900),
]  # fmt: skip


@dataclass(frozen=True)
class PackCatalog:
    graduated_seats: StripeDict
    volume_seats: StripeDict
    addons: list[StripeDict]
    coupon: StripeDict


def build_pack_catalog(acct: BillingAccount) -> PackCatalog:
    """Seats on a graduated price (1–5 at $15, 6–20 at $12, then $9) and on a volume price (up
    to 10 at $8, then all at $6), the add-ons, and 25 % off forever on the add-ons only."""
    graduated = acct.create_price(
        product="Workspace seats",
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[(5, 1500, None), (20, 1200, None), (None, 900, None)],
        nickname="workspace_seats_m",
    )
    volume = acct.create_price(
        product="Viewer seats",
        billing_scheme="tiered",
        tiers_mode="volume",
        tiers=[(10, 800, None), (None, 600, None)],
        nickname="viewer_seats_m",
    )
    addons = [
        acct.create_price(amount, "month", product=f"Add-on: {name}", nickname=f"addon_{n}")
        for n, (name, amount) in enumerate(ADDONS)
    ]
    coupon = acct.create_coupon(
        percent_off=25,
        duration="forever",
        id="ADDONS25",
        name="25% off add-ons",
        applies_to=[price["product"] for price in addons],
    )
    return PackCatalog(graduated, volume, addons, coupon)


def plan_pack(rng: random.Random, signup: int, t1: int) -> list[tuple[int, str, dict[str, Any]]]:
    """``(at, kind, args)`` steps of a pack bought after ``signup``, or none (most customers)."""
    if rng.random() >= PACK_SHARE:
        return []
    bought = signup + int(rng.uniform(3, 60) * DAY)
    if bought >= t1:
        return []
    steps: list[tuple[int, str, dict[str, Any]]] = [
        (
            bought,
            "pack",
            {
                "volume": rng.random() < 0.4,
                "seats": rng.randint(3, 40),
                "addons": rng.sample(range(len(ADDONS)), rng.randint(11, 15)),
                "coupon": rng.random() < 0.35,
            },
        )
    ]
    t = bought
    while True:
        t += int(rng.uniform(20, 40) * DAY)
        if t >= t1:
            return steps
        draw = rng.random()
        if draw < 0.2:
            steps.append((t, "pack_addon", {"addon": rng.randrange(len(ADDONS))}))
        elif draw < 0.3:
            steps.append((t, "pack_seats", {"delta": rng.choice([-2, -1, 1, 2, 4])}))


def run_pack_step(
    acct: BillingAccount,
    c: PackCatalog,
    customer: StripeDict,
    pack: StripeDict | None,
    at: Any,
    kind: str,
    args: dict[str, Any],
) -> StripeDict | None:
    """Run one pack step; returns the pack subscription when this step bought it."""
    if kind == "pack":
        seats = c.volume_seats if args["volume"] else c.graduated_seats
        items = [(seats, args["seats"]), *((c.addons[n], 1) for n in args["addons"])]
        return acct.subscribe(customer, items, at, coupon=c.coupon if args["coupon"] else None)
    if pack is None or pack["status"] not in ("active", "past_due"):
        return None
    items = pack["items"]["data"]
    if kind == "pack_addon":
        price = c.addons[args["addon"]]
        held = {item["price"]["id"] for item in items}
        if price["id"] not in held and len(items) < MAX_ITEMS:
            acct.add_item(pack, price, 1, at)
    elif kind == "pack_seats":
        seat_item = items[0]
        acct.change(
            pack, at, quantity=max(1, seat_item["quantity"] + args["delta"]), item=seat_item
        )
    return None
