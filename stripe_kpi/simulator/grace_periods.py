"""Grace periods: the few customers of ``saas.generate_account`` whose payment collection the
merchant pauses (``pause_collection``) for a while, or until further notice.

Stripe keeps such a subscription ``active`` and keeps generating its invoices, which it voids,
leaves as drafts or marks uncollectible (docs.stripe.com/billing/subscriptions/pause-payment);
the metrics must keep counting it and show it in MRR at risk. About 2 % of customers get one,
drawn from a random stream of their own, so every other step of their life (and every other
customer) is drawn as before.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.clock import DAY

StripeDict = dict[str, Any]

#: Share of customers whose collection is paused once.
PAUSE_SHARE = 0.02
_BEHAVIORS = (("void", 6), ("keep_as_draft", 2), ("mark_uncollectible", 2))


def plan_pause(rng: random.Random, signup: int, end: int) -> tuple[int, dict[str, Any]] | None:
    """When (unix seconds) and how one customer's collection is paused, if it is."""
    if rng.random() >= PAUSE_SHARE:
        return None
    at = signup + rng.randint(45, 400) * DAY + rng.randint(0, DAY - 1)
    if at >= end:
        return None
    names, weights = zip(*_BEHAVIORS, strict=True)
    behavior = rng.choices(names, weights=weights)[0]
    resume_days = rng.randint(30, 90) if rng.random() < 0.7 else None
    return at, {"behavior": behavior, "resume_days": resume_days}


def run_pause(acct: BillingAccount, sub: StripeDict, at: datetime, args: dict[str, Any]) -> None:
    """Pause ``sub``'s collection if it is an active, automatically charged subscription that is
    not paused already (a customer in dunning is not given a grace period by this merchant)."""
    if (
        sub["status"] != "active"
        or sub["pause_collection"] is not None
        or sub["collection_method"] != "charge_automatically"
    ):
        return
    days = args["resume_days"]
    resumes_at = None if days is None else at + timedelta(days=days)
    acct.pause_collection(sub, args["behavior"], resumes_at=resumes_at, at=at)
