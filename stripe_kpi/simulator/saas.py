"""A plausible SaaS business on a simulated Stripe account, drawn from a seed.

``generate_account`` builds a catalog (monthly, quarterly, yearly and weekly plans, a per-seat
price, a volume-tiered price, a metered add-on, coupons of every kind, exclusive and inclusive
tax rates) and customers whose subscriptions live real lives: trials that convert or lapse,
upgrades and downgrades, seat changes, interval switches, cancellations with feedback,
failed payments and dunning, a dispute, reactivations, second subscriptions, one-off charges,
a few customers paying in EUR or GBP, and a few add-on packs (``addon_packs``: 12–16 items,
seats on graduated or volume tiers, a coupon limited to the add-ons), a few grace periods
(``grace_periods``: payment collection paused, its renewals voided, drafted or uncollectible),
a few stacked discounts and prices billed through their ``currency_options``
(``discount_stacks``), a few subscription schedules (``scheduled_changes``: an upgrade at
the next renewal, a ramp in three phases), a few one-off invoices, credit notes and deleted
customers (``cash_events``), a few trials started without a card (``cardless_trials``:
paused, invoiced or canceled at the trial's end), and customers' countries (a few without an
address) and ``segment`` tags in their metadata (``customer_profiles``).

Each customer's life is planned from its own random stream (so adding customers does not
change the others), then every planned step of every customer runs in time order on one
``BillingAccount``. Steps that no longer make sense when they run (changing a subscription
that dunning has already ended) are skipped, as a real customer would not do them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from stripe_kpi.simulator.addon_packs import (
    PackCatalog,
    build_pack_catalog,
    plan_pack,
    run_pack_step,
)
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.cardless_trials import plan_cardless_trial, run_cardless_step
from stripe_kpi.simulator.cash_events import plan_cash, run_cash_step
from stripe_kpi.simulator.clock import DAY, from_unix, to_unix
from stripe_kpi.simulator.customer_profiles import plan_profile
from stripe_kpi.simulator.discount_stacks import (
    StackCatalog,
    build_stack_catalog,
    plan_stack,
    run_stack_step,
)
from stripe_kpi.simulator.events import RETENTION, no_cycle_collector
from stripe_kpi.simulator.grace_periods import plan_pause, run_pause
from stripe_kpi.simulator.scheduled_changes import plan_schedule, run_schedule

StripeDict = dict[str, Any]

_FIRST = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Linus", "Guido", "Radia",
    "Ken", "Frances", "John", "Katherine", "Tim", "Hedy", "Dennis", "Sophie",
]  # fmt: skip
_LAST = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Torvalds",
    "van Rossum", "Perlman", "Thompson", "Allen", "Backus", "Johnson", "Lee", "Lamarr",
]  # fmt: skip
_COMPANY = ["Labs", "Studio", "Works", "Analytics", "Cloud", "Systems", "Digital", "Partners"]
_COMMENTS = {
    "too_expensive": "Budget cuts this quarter.",
    "missing_features": "We need SSO & audit logs.",
    "switched_service": "Moved to a competitor's bundle.",
    "unused": "Nobody on the team logged in.",
    "too_complex": "Setup took too long for us.",
    "low_quality": "Too many <b>bugs</b> in the export.",
    "customer_service": "Support took a week to answer.",
    "other": "Company closed.",
}  # fmt: skip


@dataclass
class _Catalog:
    prices: dict[str, StripeDict] = field(default_factory=dict)
    coupons: dict[str, StripeDict] = field(default_factory=dict)
    taxes: dict[str, StripeDict] = field(default_factory=dict)
    packs: PackCatalog | None = None
    stacks: StackCatalog | None = None


@dataclass(order=True)
class _Step:
    at: int
    customer: int
    order: int
    kind: str = field(compare=False)
    args: dict[str, Any] = field(compare=False, default_factory=dict)


@dataclass
class _Life:
    """What the executor knows about one customer while running their steps."""

    customer: StripeDict | None = None
    currency: str = "usd"
    subs: list[StripeDict] = field(default_factory=list)
    pack: StripeDict | None = None
    stack: StripeDict | None = None


def generate_account(
    seed: int,
    customers: int,
    start: datetime,
    end: datetime,
    *,
    record_all_events: bool = False,
) -> BillingAccount:
    """An account with ``customers`` customers signing up between ``start`` and ``end``,
    advanced to ``end``. Same arguments, same account (byte for byte once serialised).

    Events older than 30 days before ``end`` are not built unless ``record_all_events``:
    Stripe would not return them, and copying every object at every change is most of the cost.
    """
    t0, t1 = to_unix(start), to_unix(end)
    if t1 <= t0 + 30 * DAY:
        raise ValueError("give the account at least a month of history")
    with no_cycle_collector():
        return _generate(seed, customers, start, end, record_all_events)


def _generate(
    seed: int, customers: int, start: datetime, end: datetime, record_all_events: bool
) -> BillingAccount:
    t0, t1 = to_unix(start), to_unix(end)
    acct = BillingAccount(
        start=start,
        seed=seed,
        name="Acme Analytics",
        record_events_from=None if record_all_events else from_unix(t1 - RETENTION),
    )
    catalog = _build_catalog(acct)
    steps: list[_Step] = []
    for index in range(customers):
        planned = _plan_customer(random.Random(f"{seed}:{index}"), index, t0, t1)
        steps.extend(planned)
        signup = planned[0]
        country, tags = plan_profile(  # a stream of its own: where they are, how they're tagged
            random.Random(f"{seed}:{index}:profile"), signup.args["currency"]
        )
        signup.args["country"], signup.args["metadata"] = country, tags
        if signup.args["currency"] == "usd":  # a stream of its own: the rest is drawn as before
            pack = plan_pack(random.Random(f"{seed}:{index}:pack"), signup.at, t1)
            steps.extend(_Step(at, index, 10_000 + n, k, a) for n, (at, k, a) in enumerate(pack))
        pause = plan_pause(random.Random(f"{seed}:{index}:pause"), signup.at, t1)
        if pause is not None:  # a stream of its own too
            steps.append(_Step(pause[0], index, 20_000, "pause", pause[1]))
        stack = plan_stack(
            random.Random(f"{seed}:{index}:stack"), signup.at, t1, signup.args["currency"]
        )
        steps.extend(_Step(at, index, 30_000 + n, k, a) for n, (at, k, a) in enumerate(stack))
        schedule = plan_schedule(random.Random(f"{seed}:{index}:schedule"), signup.at, t1)
        if schedule is not None:  # and one more
            steps.append(_Step(schedule[0], index, 40_000, "schedule", schedule[1]))
        cash = plan_cash(random.Random(f"{seed}:{index}:cash"), signup.at, t1)  # its own too
        steps.extend(_Step(at, index, 50_000 + n, k, a) for n, (at, k, a) in enumerate(cash))
        if signup.args["trial"] and not signup.args["lapses"]:  # and this one
            rng = random.Random(f"{seed}:{index}:cardless")
            cardless = plan_cardless_trial(rng, signup.at, _TRIAL_DAYS, t1)
            if cardless is not None:
                signup.args["cardless"], later = cardless
                steps.extend(
                    _Step(at, index, 60_000 + n, "cardless", {"kind": kind})
                    for n, (at, kind) in enumerate(later)
                )
    steps.sort()
    lives: dict[int, _Life] = {}
    dispute_left = [max(1, customers // 500)]
    for step in steps:
        if step.at >= t1:
            continue
        life = lives.setdefault(step.customer, _Life())
        _run(acct, catalog, life, step, dispute_left)
    acct.advance(end)
    return acct


def _build_catalog(acct: BillingAccount) -> _Catalog:
    c = _Catalog()
    p = c.prices
    p["starter_m"] = acct.create_price(2900, "month", product="Starter", nickname="starter_m")
    p["starter_y"] = acct.create_price(29000, "year", product="Starter", nickname="starter_y")
    p["pro_m"] = acct.create_price(9900, "month", product="Pro", nickname="pro_m")
    p["pro_q"] = acct.create_price(27000, "month", 3, product="Pro", nickname="pro_q")
    p["pro_y"] = acct.create_price(99000, "year", product="Pro", nickname="pro_y")
    p["lite_w"] = acct.create_price(900, "week", product="Lite", nickname="lite_w")
    p["seats_m"] = acct.create_price(1200, "month", product="Team seats", nickname="seats_m")
    p["business_m"] = acct.create_price(
        product="Business",
        billing_scheme="tiered",
        tiers_mode="volume",
        tiers=[(10, 2000, None), (50, 1500, None), (None, 1000, 5000)],
        nickname="business_m",
    )
    p["api_m"] = acct.create_price(
        product="API calls (per 1,000)",
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[(100, 0, None), (None, 50, None)],
        usage_type="metered",
        nickname="api_m",
    )
    p["starter_m_eur"] = acct.create_price(2700, "month", currency="eur", product="Starter")
    p["pro_m_eur"] = acct.create_price(8900, "month", currency="eur", product="Pro")
    p["pro_y_eur"] = acct.create_price(89000, "year", currency="eur", product="Pro")
    p["starter_m_gbp"] = acct.create_price(2400, "month", currency="gbp", product="Starter")
    p["pro_m_gbp"] = acct.create_price(7900, "month", currency="gbp", product="Pro")
    p["pro_y_gbp"] = acct.create_price(79000, "year", currency="gbp", product="Pro")
    k = c.coupons
    k["welcome"] = acct.create_coupon(percent_off=20, duration="once", id="WELCOME20")
    k["launch"] = acct.create_coupon(
        percent_off=25, duration="repeating", duration_in_months=3, id="LAUNCH25"
    )
    k["friends"] = acct.create_coupon(percent_off=15, duration="forever", id="FRIENDS15")
    k["save"] = acct.create_coupon(amount_off=1500, duration="forever", id="SAVE15USD")
    k["tenoff"] = acct.create_coupon(amount_off=1000, duration="once", id="TENOFF")
    k["partner"] = acct.create_coupon(percent_off=100, duration="forever", id="PARTNER100")
    t = c.taxes
    t["us_sales"] = acct.create_tax_rate(8.875, display_name="Sales tax", country="US")
    t["gb_vat"] = acct.create_tax_rate(20, display_name="VAT", country="GB")
    t["de_vat"] = acct.create_tax_rate(19, inclusive=True, display_name="MwSt.", country="DE")
    c.packs = build_pack_catalog(acct)  # after the rest: every object above keeps its id
    c.stacks = build_stack_catalog(acct)  # likewise
    return c


# -- planning: a life per customer, from its own random stream ----------------------------------

_PLANS = [("starter_m", 30), ("pro_m", 25), ("pro_y", 10), ("pro_q", 5), ("lite_w", 5),
          ("seats_m", 15), ("business_m", 6), ("starter_y", 4)]  # fmt: skip
_UPGRADES = {"starter_m": "pro_m", "starter_y": "pro_y", "pro_m": "starter_m", "pro_y": "starter_y"}
_SWITCH = {"starter_m": "starter_y", "starter_y": "starter_m", "pro_m": "pro_y", "pro_y": "pro_m"}
_TRIAL_DAYS = 14


def _plan_customer(rng: random.Random, index: int, t0: int, t1: int) -> list[_Step]:
    """Draw one customer's life: signup, then month by month what may happen."""
    span = t1 - t0
    signup = t0 + int(span * rng.random() ** 0.8)  # signups grow over time
    signup = min(signup, t1 - 2 * DAY)
    roll = rng.random()
    currency = "eur" if roll < 0.03 else "gbp" if roll < 0.05 else "usd"
    plan = rng.choices([p for p, _ in _PLANS], [w for _, w in _PLANS])[0]
    if currency != "usd":
        plan = rng.choice(["starter_m", "pro_m", "pro_y"])
    signup_args = _signup_args(rng, plan, currency)
    steps = [_Step(signup, index, 0, "signup", signup_args)]
    if signup_args["second"] and currency == "usd":
        second = "seats_m" if plan != "seats_m" else "lite_w"
        steps.append(_Step(signup + DAY, index, 1, "second", {"plan": second}))
    order = 2
    t = signup
    alive = True
    while alive:
        t += int(rng.uniform(20, 40) * DAY)
        if t >= t1:
            break
        draw = rng.random()
        kind, args = _monthly_event(rng, draw, plan)
        if kind is None:
            continue
        steps.append(_Step(t, index, order, kind, args))
        order += 1
        if kind == "fail" and args["recover_days"] is None and rng.random() < 0.2:
            # The merchant forgives the failed renewal: voids it once dunning has started.
            steps.append(_Step(t + 33 * DAY, index, order, "forgive", {}))
            order += 1
            continue
        if kind in ("cancel", "fail"):
            alive = False
            if rng.random() < 0.3:  # comes back later
                back = t + int(rng.uniform(45, 200) * DAY)
                steps.append(_Step(back, index, order, "reactivate", {"plan": plan}))
                order += 1
    if plan == "pro_m" and rng.random() < 0.3:  # a metered add-on, used every month
        steps.append(_Step(signup + 2 * DAY, index, order, "add_metered", {}))
        for month in range(1, 40):
            at = signup + int((month * 30 - 3) * DAY)
            if at >= t1:
                break
            steps.append(_Step(at, index, order + month, "usage", {"qty": rng.randint(20, 400)}))
    return steps


def _signup_args(rng: random.Random, plan: str, currency: str) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    trial = rng.random() < 0.3
    coupon = None
    if rng.random() < 0.15:
        coupon = rng.choice(["welcome", "launch", "friends", "save", "tenoff"])
    if rng.random() < 0.01:
        coupon = "partner"
    if currency != "usd" and coupon in ("save", "tenoff"):
        coupon = None
    tax = None
    if currency == "gbp" or (currency == "usd" and rng.random() < 0.15):
        tax = "gb_vat" if currency == "gbp" else "us_sales"
    elif currency == "eur" and rng.random() < 0.7:
        tax = "de_vat"
    return {
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower().replace(' ', '')}@example.com",
        "company": f"{last} {rng.choice(_COMPANY)}",
        "plan": plan,
        "currency": currency,
        "quantity": rng.randint(2, 25) if plan in ("seats_m", "business_m") else 1,
        "trial": trial,
        "lapses": trial and rng.random() < 0.35,
        "coupon": coupon,
        "tax": tax,
        "send_invoice": plan in ("pro_y", "starter_y") and rng.random() < 0.2,
        "setup_fee": rng.choice([None, None, None, None, None, None, None, None, 25000, 50000]),
        "second": rng.random() < 0.03,
    }


def _monthly_event(rng: random.Random, draw: float, plan: str) -> tuple[str | None, dict]:
    if draw < 0.025:
        feedback = rng.choice(list(_COMMENTS))
        return "cancel", {
            "at_period_end": rng.random() < 0.7,
            "feedback": feedback if rng.random() < 0.7 else None,
            "comment": _COMMENTS[feedback] if rng.random() < 0.5 else None,
        }
    if draw < 0.035:
        recovers = rng.random() < 0.25
        return "fail", {"recover_days": rng.randint(2, 9) if recovers else None}
    if draw < 0.06 and plan in _UPGRADES:
        return "change_plan", {"always_invoice": rng.random() < 0.2}
    if draw < 0.10 and plan in ("seats_m", "business_m"):
        return "seats", {"delta": rng.choice([-3, -2, -1, 1, 2, 3, 5])}
    if draw < 0.11 and plan in _SWITCH:
        return "switch", {}
    if draw < 0.115:
        return "one_off", {"amount": rng.choice([5000, 9900, 20000])}
    if draw < 0.118:
        return "dispute", {}
    return None, {}


# -- running a step ------------------------------------------------------------------------------


def _run(acct: BillingAccount, c: _Catalog, life: _Life, step: _Step, dispute_left: list) -> None:
    at = from_unix(step.at)
    kind, args = step.kind, step.args
    if kind == "signup":
        _signup(acct, c, life, at, args)
        return
    if kind.startswith("cash_"):
        if life.customer is not None:
            run_cash_step(acct, life.customer, life.subs, at, kind, args)
            if kind == "cash_delete":
                life.customer = None  # deleted: nothing more happens to them
        return
    live = [s for s in life.subs if s["status"] not in ("canceled", "incomplete_expired")]
    charged = kind in ("second", "reactivate", "stack", "option") or kind.startswith("pack")
    if charged and not (life.customer and acct.has_payment_method(life.customer["id"])):
        return  # no card yet: nothing else can be charged (only a $0 trial can start, for Stripe)
    if kind.startswith("pack"):
        if c.packs is not None and life.customer is not None and (live or kind != "pack"):
            bought = run_pack_step(acct, c.packs, life.customer, life.pack, at, kind, args)
            if bought is not None:
                life.pack = bought
                life.subs.append(bought)
        return
    if kind in ("stack", "option", "stack_seats"):
        if c.stacks is not None and life.customer is not None and (live or kind == "stack_seats"):
            started = run_stack_step(acct, c.stacks, life.customer, life.stack, at, kind, args)
            if started is not None:
                life.stack = started
                life.subs.append(started)
        return
    if kind == "reactivate" and not live and life.customer is not None:
        price = c.prices[_local(args["plan"], life.currency)]
        life.subs.append(acct.subscribe(life.customer, [(price, 1)], at))
        return
    if kind == "second" and live and life.customer is not None:
        life.subs.append(acct.subscribe(life.customer, [(c.prices[args["plan"]], 3)], at))
        return
    if not live:
        return
    sub = live[0]
    if kind == "cardless" and life.customer is not None:
        run_cardless_step(acct, life.customer, sub, at, args["kind"])
        return
    if sub["status"] == "paused" and kind not in ("cancel", "one_off"):
        return  # a paused subscription neither changes nor bills until it resumes
    item = sub["items"]["data"][0]
    nickname = _nickname(c, item["price"])
    if kind == "cancel":
        for s in live:
            now = args["at_period_end"] and s["status"] == "paused"  # no period runs: now
            acct.cancel(s, at, **(args | {"at_period_end": args["at_period_end"] and not now}))
    elif kind == "fail":
        days = args["recover_days"]
        until = None if days is None else at + timedelta(days=days)
        for s in live:
            if s["collection_method"] == "charge_automatically":
                acct.fail_payments(s, at, until)
    elif kind == "change_plan" and nickname in _UPGRADES and sub["status"] == "active":
        new = c.prices[_UPGRADES[nickname]]
        behavior = "always_invoice" if args["always_invoice"] else "create_prorations"
        acct.change(sub, at, price=new, item=item, proration_behavior=behavior)
    elif kind == "seats" and nickname in ("seats_m", "business_m"):
        quantity = max(1, item["quantity"] + args["delta"])
        acct.change(sub, at, quantity=quantity, item=item)
    elif kind == "switch" and nickname in _SWITCH and len(sub["items"]["data"]) == 1:
        acct.change(sub, at, price=c.prices[_SWITCH[nickname]])
    elif kind == "one_off" and life.customer is not None:
        acct.add_invoice_item(life.customer, args["amount"], at, description="Onboarding session")
    elif kind == "forgive":
        for s in live:
            invoice = acct.invoices.get(s["latest_invoice"] or "")
            if invoice is not None and invoice["status"] == "open":
                acct.void_invoice(invoice, at)
    elif kind == "dispute" and dispute_left[0] > 0:
        invoice = acct.invoices.get(sub["latest_invoice"] or "")
        if invoice is not None and invoice["id"] in acct.charges:
            acct.dispute(invoice, at)
            dispute_left[0] -= 1
    elif kind == "pause":
        run_pause(acct, sub, at, args)
    elif kind == "schedule":
        upgrade = c.prices.get(_UPGRADES.get(nickname or "", ""))
        run_schedule(acct, sub, at, args, upgrade)
    elif kind == "add_metered" and nickname == "pro_m" and sub["status"] == "active":
        acct.add_item(sub, c.prices["api_m"], None, at)
    elif kind == "usage":
        for it in sub["items"]["data"]:
            if it["price"]["id"] == c.prices["api_m"]["id"]:
                acct.report_usage(sub, it, args["qty"], at)


def _signup(acct: BillingAccount, c: _Catalog, life: _Life, at: datetime, a: dict) -> None:
    life.currency = a["currency"]
    cardless = a.get("cardless")
    life.customer = acct.create_customer(
        a["name"],
        a["email"],
        at,
        country=a.get("country"),
        metadata={"company": a["company"], **a.get("metadata", {})},
        payment_method=cardless is None,
    )
    price = c.prices[_local(a["plan"], a["currency"])]
    if a["setup_fee"] and a["currency"] == "usd" and cardless is None:
        acct.add_invoice_item(life.customer, a["setup_fee"], at, description="Setup fee")
    sub = acct.subscribe(
        life.customer,
        [(price, a["quantity"])],
        at,
        trial_days=_TRIAL_DAYS if a["trial"] else None,
        coupon=c.coupons[a["coupon"]] if a["coupon"] else None,
        tax_rates=[c.taxes[a["tax"]]] if a["tax"] else (),
        collection_method="send_invoice" if a["send_invoice"] else "charge_automatically",
        trial_end_behavior=cardless or "create_invoice",
    )
    life.subs.append(sub)
    if a["lapses"]:
        acct.trial_lapses(sub)


def _local(plan: str, currency: str) -> str:
    return plan if currency == "usd" else f"{plan}_{currency}"


def _nickname(c: _Catalog, price: StripeDict) -> str | None:
    for key, candidate in c.prices.items():
        if candidate["id"] == price["id"]:
            return key
    return None


def synthetic_account(seed: int, customers: int, months: int, now: datetime) -> BillingAccount:
    """An account of ``months`` months that ends at ``now`` (whole seconds): given the real
    present, a sync with the real clock sees its events as recent, as with a real account."""
    end = now.replace(microsecond=0)
    return generate_account(
        seed=seed, customers=customers, start=end - timedelta(days=round(months * 30.44)), end=end
    )
