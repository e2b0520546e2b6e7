"""Scheduled changes: the few customers of ``saas.generate_account`` whose subscription the
merchant puts on a subscription schedule.

Two deals real accounts have: an upgrade (or downgrade) agreed now that starts at the next
renewal (a quarter of them mid-period instead, prorated), sometimes for a fixed term after which
the subscription ends (``end_behavior=cancel``); and a ramp, a larger quantity at the next
renewal and larger again one period later (three phases in all), released at its end. A plan
with no upgrade gets the ramp. About 3 % of customers are drawn one, from a random stream of
their own, so every other step of their life (and every other customer) is drawn as before;
about 2 % still have an ``active`` subscription, on no schedule yet, when it comes. Other items
(a metered add-on) stay in every phase.
"""

from __future__ import annotations

import random
from typing import Any

from stripe_kpi.simulator.billing import BillingAccount, Phase
from stripe_kpi.simulator.clock import DAY, add_months, from_unix, period_boundary

StripeDict = dict[str, Any]

#: Share of customers drawn a schedule (some have churned by the time it comes).
SCHEDULE_SHARE = 0.03


def plan_schedule(rng: random.Random, signup: int, end: int) -> tuple[int, dict[str, Any]] | None:
    """When (unix seconds) and which schedule one customer's subscription gets, if any."""
    if rng.random() >= SCHEDULE_SHARE:
        return None
    at = signup + rng.randint(10, 200) * DAY + rng.randint(0, DAY - 1)
    if at >= end:
        return None
    if rng.random() < 0.6:
        return at, {
            "kind": "upgrade",
            "mid_period": rng.random() < 0.25,
            "periods": rng.randint(3, 12),
            "fixed_term": rng.random() < 0.25,
            "step": rng.randint(1, 3),
        }
    return at, {"kind": "ramp", "step": rng.randint(1, 3)}


def run_schedule(
    acct: BillingAccount,
    sub: StripeDict,
    at: Any,
    args: dict[str, Any],
    upgrade: StripeDict | None,
) -> None:
    """Put ``sub`` on the planned schedule (``upgrade``: the price its plan moves to, if any)."""
    acct.advance(at)  # what Stripe did up to now first: the period may have just renewed
    items = sub["items"]["data"]
    first = items[0]
    if (
        sub["status"] != "active"
        or sub["schedule"] is not None
        or sub["cancel_at_period_end"]
        or first["quantity"] is None
    ):
        return
    price, quantity = first["price"], first["quantity"]
    recurring = price["recurring"]
    interval = (recurring["interval"], recurring["interval_count"])
    others = [(item["price"], item["quantity"]) for item in items[1:]]
    renewal = first["current_period_end"]
    now = int(at.timestamp())
    if upgrade is not None and _interval(upgrade) != interval:
        upgrade = None
    if args["kind"] == "upgrade" and upgrade is not None:
        start = now + (renewal - now) // 2 if args["mid_period"] else renewal
        phases = [Phase(from_unix(start), [(upgrade, quantity), *others])]
        end = period_boundary(renewal, *interval, args["periods"])
        behavior = "cancel" if args["fixed_term"] else "release"
    else:
        step = args["step"]
        later = period_boundary(renewal, *interval, 1)
        phases = [
            Phase(from_unix(renewal), [(price, quantity + step), *others]),
            Phase(from_unix(later), [(price, quantity + 2 * step), *others]),
        ]
        end = max(period_boundary(renewal, *interval, 2), add_months(renewal, 6))
        behavior = "release"
    acct.create_schedule(sub, phases, end=from_unix(end), end_behavior=behavior, at=at)


def _interval(price: StripeDict) -> tuple[str, int]:
    recurring = price["recurring"]
    return recurring["interval"], recurring["interval_count"]
