"""Stacked discounts and prices billed through ``currency_options``: two features a few customers
of ``saas.generate_account`` use, each drawn from a random stream of its own (so every other step
of their life, and every other customer, is drawn as before).

- **Stacks** (about 4 % of US-dollar customers): a subscription of their own with seats and an
  add-on, carrying several discounts at once: 10 % off and $10 off the subscription, or 10 % off
  the subscription and 20 % (or $10) off the add-on item alone. Stripe takes an item's discounts
  before the subscription's ("Subscription item discounts are applied before subscription
  discounts", ``subscription.discounts`` in the API reference); see ``billing.invoices.
  stack_order``. Seats change now and then, with prorations net of the percentages in force.
  No ``once`` coupon is stacked: METRICS.md adds a one-time reduction back, but the discounts
  after it were computed on what it left, so no invoice could state the MRR.
- **Currency options** (about a third of EUR and GBP customers): a second subscription, in their
  currency, on a US-dollar price that offers EUR and GBP amounts (``currency_options``).

Both join the customer's subscriptions, so their cancellations and failed payments end them too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.clock import DAY

StripeDict = dict[str, Any]

#: Share of US-dollar customers with a stacked-discount subscription.
STACK_SHARE = 0.04
#: Share of EUR and GBP customers who also subscribe to the multi-currency price.
OPTION_SHARE = 0.35

#: The stacks a customer may get: subscription-level coupons, add-on item coupons.
_STACKS = (
    (("ten", "fixed"), ()),  # percent and amount off the subscription
    (("ten",), ("addon20",)),  # 20 % off the add-on, then 10 % off everything
    (("ten",), ("addon_fixed",)),  # $10 off the add-on, then 10 % off everything
)


@dataclass(frozen=True)
class StackCatalog:
    seats: StripeDict
    addon: StripeDict
    coupons: dict[str, StripeDict]
    multi_currency: StripeDict


def build_stack_catalog(acct: BillingAccount) -> StackCatalog:
    """Seats at $15, an Insights add-on at $30, the coupons the stacks use, and a Growth price
    at $79 a month that also bills €72 and £62 (``currency_options``)."""
    seats = acct.create_price(1500, "month", product="Studio seats", nickname="studio_seats_m")
    addon = acct.create_price(3000, "month", product="Insights add-on", nickname="insights_m")
    coupons = {
        "ten": acct.create_coupon(percent_off=10, duration="forever", id="LOYAL10"),
        "fixed": acct.create_coupon(amount_off=1000, duration="forever", id="LOYAL10USD"),
        "addon20": acct.create_coupon(
            percent_off=20, duration="forever", id="INSIGHTS20", applies_to=[addon["product"]]
        ),
        "addon_fixed": acct.create_coupon(amount_off=1000, duration="forever", id="INSIGHTS10USD"),
    }
    growth = acct.create_price(
        7900,
        "month",
        product="Growth",
        nickname="growth_m",
        currency_options={"eur": 7200, "gbp": 6200},
    )
    return StackCatalog(seats, addon, coupons, growth)


def plan_stack(
    rng: random.Random, signup: int, t1: int, currency: str
) -> list[tuple[int, str, dict[str, Any]]]:
    """``(at, kind, args)`` steps of a stacked-discount or a currency-option subscription, or
    none (most customers)."""
    if currency == "usd":
        if rng.random() >= STACK_SHARE:
            return []
        kind: str = "stack"
        args: dict[str, Any] = {"stack": rng.randrange(len(_STACKS)), "seats": rng.randint(2, 12)}
    else:
        if rng.random() >= OPTION_SHARE:
            return []
        kind, args = "option", {"quantity": rng.randint(1, 3)}
    bought = signup + int(rng.uniform(2, 45) * DAY)
    if bought >= t1:
        return []
    steps = [(bought, kind, args)]
    t = bought
    while kind == "stack":
        t += int(rng.uniform(20, 40) * DAY)
        if t >= t1:
            break
        if rng.random() < 0.25:
            steps.append((t, "stack_seats", {"delta": rng.choice([-2, -1, 1, 3])}))
    return steps


def run_stack_step(
    acct: BillingAccount,
    c: StackCatalog,
    customer: StripeDict,
    current: StripeDict | None,
    at: Any,
    kind: str,
    args: dict[str, Any],
) -> StripeDict | None:
    """Run one step; returns the subscription when this step started it."""
    if kind == "stack":
        on_sub, on_addon = _STACKS[args["stack"]]
        return acct.subscribe(
            customer,
            [(c.seats, args["seats"]), (c.addon, 1)],
            at,
            coupons=[c.coupons[k] for k in on_sub],
            item_coupons={c.addon["id"]: [c.coupons[k] for k in on_addon]},
        )
    if kind == "option":
        currency = customer["currency"]
        return acct.subscribe(
            customer, [(c.multi_currency, args["quantity"])], at, currency=currency
        )
    if current is None or current["status"] not in ("active", "past_due"):
        return None
    seat_item = current["items"]["data"][0]
    quantity = max(1, seat_item["quantity"] + args["delta"])
    acct.change(current, at, quantity=quantity, item=seat_item)
    return None
