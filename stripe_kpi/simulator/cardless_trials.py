"""Cardless trials: the few trials of ``saas.generate_account`` that start without a payment method.

Stripe lets a free trial start without one (Checkout's ``payment_method_collection="if_required"``);
what the trial's end does then is the subscription's ``trial_settings.end_behavior.
missing_payment_method`` (``billing.trials``). About 4 % of trial signups get each of the three
behaviours, drawn from a random stream of their own, so every other step of their life (and every
other customer) is drawn as before:

- ``pause``: most add a card within three weeks and the subscription is resumed then (a new cycle
  from the resume), some are canceled by the merchant a few weeks later, the rest stay paused;
- ``create_invoice``: the first invoice fails for want of a card; half add one during dunning (the
  next retry pays it), the others are canceled when the retries run out (``payment_failed``);
- ``cancel``: canceled at the trial's end.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.billing.trials import TrialEndBehavior
from stripe_kpi.simulator.clock import DAY

StripeDict = dict[str, Any]

#: Share of trial signups without a card, per end behaviour.
SHARE_PER_BEHAVIOR = 0.04
BEHAVIORS: tuple[TrialEndBehavior, ...] = ("pause", "create_invoice", "cancel")


def plan_cardless_trial(
    rng: random.Random, signup: int, trial_days: int, end: int
) -> tuple[TrialEndBehavior, list[tuple[int, str]]] | None:
    """The end behaviour of one trial started without a card, if it is one, and the ``(at,
    kind)`` steps that follow its end: ``card_added`` (and resumed, when paused) or
    ``paused_canceled``."""
    if rng.random() >= SHARE_PER_BEHAVIOR * len(BEHAVIORS):
        return None
    behavior = rng.choice(BEHAVIORS)
    trial_end = signup + trial_days * DAY
    steps: list[tuple[int, str]] = []
    draw = rng.random()
    if behavior == "pause" and draw < 0.6:
        steps.append((trial_end + rng.randint(1, 20) * DAY + rng.randint(0, DAY - 1), "card_added"))
    elif behavior == "pause" and draw < 0.8:
        steps.append((trial_end + rng.randint(10, 40) * DAY, "paused_canceled"))
    elif behavior == "create_invoice" and draw < 0.5:
        # Within the default dunning's 15 days (retries after 3, 5 and 7 days).
        steps.append((trial_end + rng.randint(1, 12) * DAY + rng.randint(0, DAY - 1), "card_added"))
    return behavior, [(at, kind) for at, kind in steps if at < end]


def run_cardless_step(
    acct: BillingAccount, customer: StripeDict, sub: StripeDict, at: datetime, kind: str
) -> None:
    """A card is added (a paused subscription is resumed with it), or the merchant cancels a
    subscription still paused."""
    if kind == "card_added":
        acct.add_payment_method(customer, at)
        if sub["status"] == "paused":
            acct.resume(sub, at)
    elif kind == "paused_canceled" and sub["status"] == "paused":
        acct.cancel(sub, at)
