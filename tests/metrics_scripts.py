"""Random subscription histories for property tests: scripts run on the billing simulator.

A script is a list of plain actions (what customers and the merchant do, and when); ``play`` runs
it on a ``BillingAccount``, which bills it as Stripe would, and returns the stored rows (through
``stripe_kpi.sync.mapping``, as the sync stores them). With ``checkpoints`` it also records, at the
end of those days, each customer's MRR computed straight from the subscriptions *as they were then*
(``state_mrr``): an oracle that knows nothing of invoices, for the history to be compared with.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.data import StripeData
from stripe_kpi.sync.mapping import merge_rows, rows_for

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 200
_STORED = {"customer", "product", "price", "coupon", "tax_rate", "discount", "subscription"}
_STORED |= {"invoice", "invoiceitem", "event"}  # invoice items: the sync keeps the pending ones

#: price key → (amount, interval, count, currency, kwargs)
PRICES: dict[str, tuple[int | None, str, int, str, dict]] = {
    "m10": (1000, "month", 1, "usd", {}),
    "m25": (2500, "month", 1, "usd", {}),
    "m33": (3333, "month", 1, "usd", {"tax_behavior": "inclusive"}),
    "y240": (24000, "year", 1, "usd", {}),
    "w5": (500, "week", 1, "usd", {}),
    "q90": (9000, "month", 3, "usd", {}),
    "seats": (None, "month", 1, "usd", {
        "billing_scheme": "tiered", "tiers_mode": "volume",
        "tiers": [(5, 1200, None), (None, 900, 500)],
    }),
    "e20": (2000, "month", 1, "eur", {}),
    "e30": (3000, "month", 1, "eur", {}),
}  # fmt: skip
METERED = (7, "month", 1, "usd", {"usage_type": "metered"})
UPGRADES = {"m10": "m25", "m25": "m10", "e20": "e30", "e30": "e20", "m33": "m10"}
SWITCHES = {"m10": "y240", "y240": "m10"}
COUPONS = {
    "pct20": {"percent_off": 20, "duration": "forever"},
    "pct25x2": {"percent_off": 25, "duration": "repeating", "duration_in_months": 2},
    "off5": {"amount_off": 500, "currency": "usd", "duration": "forever"},
    "once50": {"percent_off": 50, "duration": "once"},
}


def eur_rates(from_ccy: str, to_ccy: str, day: date) -> Decimal:
    """A made-up EUR→USD rate that moves every day (only EUR is ever converted here)."""
    assert (from_ccy, to_ccy) == ("eur", "usd")
    return Decimal("1.05") + Decimal(day.toordinal() % 23) / 100


@dataclass(frozen=True)
class Action:
    day: int
    hour: int
    customer: int
    kind: str
    args: tuple = ()


def _customer_actions(draw: Callable, index: int, behaviors: list[str]) -> list[Action]:
    currency_pick = draw(st.sampled_from(["usd"] * 4 + ["eur"]))
    keys = [k for k, v in PRICES.items() if v[3] == currency_pick]
    start = draw(st.integers(0, DAYS - 40))
    price = draw(st.sampled_from(keys))
    quantity = draw(st.integers(1, 8)) if price == "seats" else draw(st.integers(1, 3))
    trial = draw(st.sampled_from([None, None, 14]))
    coupon = draw(st.sampled_from([None, None, None, *COUPONS])) if currency_pick == "usd" else None
    actions = [Action(start, draw(st.integers(1, 22)), index, "subscribe",
                      (price, quantity, trial, coupon))]  # fmt: skip
    day = start
    for _ in range(draw(st.integers(0, 4))):
        day += draw(st.integers(1, 60))
        if day >= DAYS:
            break
        kind = draw(st.sampled_from(
            ["quantity", "price", "switch", "cancel", "cancel_end", "fail", "metered", "second",
             "resubscribe"]
        ))  # fmt: skip
        args: tuple = ()
        if kind == "quantity":
            args = (draw(st.integers(1, 9)), draw(st.sampled_from(behaviors)))
        elif kind == "price":
            args = (draw(st.sampled_from(behaviors)),)
        elif kind == "fail":
            args = (draw(st.sampled_from([None, 4, 30])),)
        elif kind == "metered":
            args = (draw(st.integers(0, 900)),)
        elif kind in ("second", "resubscribe"):
            args = (draw(st.sampled_from(keys)),)
        elif kind in ("cancel", "cancel_end"):
            args = (draw(st.sampled_from(["cancellation_requested", "payment_failed"])),)
        actions.append(Action(day, draw(st.integers(1, 22)), index, kind, args))
        if kind == "metered":  # usage reported now and then afterwards
            for usage in draw(st.lists(st.integers(0, 900), max_size=3)):
                day += draw(st.integers(5, 40))
                actions.append(Action(day, 23, index, "usage", (usage,)))
    return actions


@st.composite
def scripts(draw: Callable, *, max_customers: int = 4, prorate_only: bool = False) -> list[Action]:
    """A random account history: a few customers, each subscribing and then living a little."""
    behaviors = ["create_prorations", "always_invoice"]
    if not prorate_only:
        behaviors.append("none")
    count = draw(st.integers(1, max_customers))
    actions = [a for i in range(count) for a in _customer_actions(draw, i, behaviors)]
    return sorted(actions, key=lambda a: (a.day, a.hour, a.customer))


@dataclass
class Played:
    rows: dict[str, list[dict]]
    as_of: datetime
    #: day → customer id → MRR at the end of that day, from the subscriptions as they were
    oracle: dict[date, dict[str, int]] = field(default_factory=dict)


def _moment(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return START + timedelta(days=day, hours=hour, minutes=minute)


class _Runner:
    def __init__(self) -> None:
        self.acct = BillingAccount(START)
        self.customers: dict[int, dict] = {}
        self.subs: dict[int, list[dict]] = defaultdict(list)
        self.prices: dict[str, dict] = {}
        self.coupons: dict[str, dict] = {}
        at = _moment(0)
        for key, (amount, interval, count, currency, kw) in PRICES.items():
            kw = dict(kw)
            self.prices[key] = self.acct.create_price(
                amount, interval, count, currency, at=at, **kw
            )
        amount, interval, count, currency, kw = METERED
        self.prices["metered"] = self.acct.create_price(
            amount, interval, count, currency, at=at, **kw
        )
        for key, kw in COUPONS.items():
            self.coupons[key] = self.acct.create_coupon(at=at, **kw)
        self.vat = self.acct.create_tax_rate(20, inclusive=True, at=at)

    def live(self, customer: int) -> dict | None:
        for sub in reversed(self.subs[customer]):
            if sub["status"] in ("active", "past_due", "trialing"):
                return sub
        return None

    def subscribe(self, a: Action, at: datetime, price: str, quantity: int, **kw: Any) -> None:
        if a.customer not in self.customers:
            self.customers[a.customer] = self.acct.create_customer(f"C{a.customer}", None, at)
        tax = [self.vat] if PRICES[price][4].get("tax_behavior") == "inclusive" else []
        sub = self.acct.subscribe(
            self.customers[a.customer], [(self.prices[price], quantity)], at, tax_rates=tax, **kw
        )
        self.subs[a.customer].append(sub)

    def run(self, a: Action) -> None:
        at = _moment(a.day, a.hour, 7)
        if a.kind == "subscribe":
            price, quantity, trial, coupon = a.args
            coupon_obj = None if coupon is None else self.coupons[coupon]
            self.subscribe(a, at, price, quantity, trial_days=trial, coupon=coupon_obj)
            return
        sub = self.live(a.customer)
        if a.kind == "resubscribe":
            if sub is None and a.customer in self.customers:
                self.subscribe(a, at, a.args[0], 1)
            return
        if sub is None:
            return
        item = sub["items"]["data"][0]
        nickname = next(k for k, p in self.prices.items() if p["id"] == item["price"]["id"])
        if a.kind == "quantity" and item["quantity"] is not None:
            self.acct.change(sub, at, quantity=a.args[0], item=item, proration_behavior=a.args[1])
        elif a.kind == "price" and nickname in UPGRADES:
            new = self.prices[UPGRADES[nickname]]
            self.acct.change(sub, at, price=new, item=item, proration_behavior=a.args[0])
        elif a.kind == "switch" and nickname in SWITCHES and len(sub["items"]["data"]) == 1:
            self.acct.change(sub, at, price=self.prices[SWITCHES[nickname]], item=item)
        elif a.kind == "cancel":
            self.acct.cancel(sub, at, reason=a.args[0])
        elif a.kind == "cancel_end" and not sub["cancel_at_period_end"]:
            self.acct.cancel(sub, at, at_period_end=True, reason=a.args[0])
        elif a.kind == "fail":
            until = None if a.args[0] is None else at + timedelta(days=a.args[0])
            self.acct.fail_payments(sub, at, until)
        elif a.kind == "metered" and sub["currency"] == "usd" and PRICES[nickname][1] == "month":
            if PRICES[nickname][2] != 1 or sub["status"] == "trialing":
                return
            metered = self.acct.add_item(sub, self.prices["metered"], None, at)
            self.acct.report_usage(sub, metered, a.args[0], at)
        elif a.kind == "usage":
            metered = [
                i for i in sub["items"]["data"] if i["price"]["id"] == self.prices["metered"]["id"]
            ]
            if metered:
                self.acct.report_usage(sub, metered[0], a.args[0], at)
        elif a.kind == "second" and PRICES[a.args[0]][3] == sub["currency"]:
            self.subscribe(a, at, a.args[0], 1)

    def rows(self, *, every_event: bool) -> dict[str, list[dict]]:
        rows = stored_rows(self.acct.snapshot())
        if every_event:  # a sync running since day one keeps events Stripe has since dropped
            rows["event"] = [rows_for(e)["event"][0] for e in self.acct.log.events]
        return rows


def stored_rows(data: StripeData) -> dict[str, list[dict]]:
    """Every object the sync stores, as table rows."""
    rows: dict[str, list[dict]] = {}
    for objects in data.objects.values():
        for obj in objects.values():
            if obj.get("object") in _STORED:
                merge_rows(rows, rows_for(obj))
    return rows


def play(
    script: list[Action], checkpoints: tuple[int, ...] = (), *, every_event: bool = False
) -> Played:
    """Run ``script``; at the end of each checkpoint day, record the oracle's MRR. The rows hold
    the events of the last 30 days, as Stripe keeps them, or with ``every_event`` all of them."""
    runner = _Runner()
    pending = sorted(checkpoints)
    played = Played(rows={}, as_of=_moment(DAYS, 12))
    for action in script:
        if action.day >= DAYS:
            break
        while pending and pending[0] < action.day:
            _checkpoint(runner, pending.pop(0), played)
        # Not possible any more (the script drew it blindly): a customer would not do it.
        with contextlib.suppress(ValueError):
            runner.run(action)
    for day in pending:
        _checkpoint(runner, day, played)
    runner.acct.advance(played.as_of)
    played.rows = runner.rows(every_event=every_event)
    return played


def _checkpoint(runner: _Runner, day: int, played: Played) -> None:
    end = _moment(day + 1) - timedelta(seconds=1)
    runner.acct.advance(end)
    played.oracle[end.date()] = state_mrr(runner.acct.snapshot(), int(end.timestamp()))


# ---------------------------------------------------------------------------------------------
# The oracle: METRICS.md §1 applied to the subscriptions as they are, independently written
# ---------------------------------------------------------------------------------------------


def _round(value: Fraction) -> int:
    """Half up, away from zero, exactly."""
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole = magnitude.numerator // magnitude.denominator
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return sign * whole


def _per_month(amount: Fraction, interval: str, count: int) -> Fraction:
    per = {"month": Fraction(1), "year": Fraction(1, 12), "week": Fraction(52, 12),
           "day": Fraction(365, 12)}[interval]  # fmt: skip
    return amount * per / count


def _charge(price: dict, quantity: int) -> Fraction:
    if price["billing_scheme"] == "per_unit":
        return Fraction(price["unit_amount"]) * quantity
    for tier in price["tiers"]:  # volume
        if tier["up_to"] is None or quantity <= tier["up_to"]:
            return Fraction(tier["unit_amount"] or 0) * quantity + (tier["flat_amount"] or 0)
    raise AssertionError("no tier")


def _last_usage(data: StripeData, item_id: str, t: int) -> Fraction:
    latest, amount = -1, Fraction(0)
    for invoice in data.objects["invoices"].values():
        if invoice["status"] == "void":
            continue
        for line in invoice["lines"]["data"]:
            details = (line.get("parent") or {}).get("subscription_item_details") or {}
            end = line["period"]["end"]
            mine = details.get("subscription_item") == item_id and not details.get("proration")
            if mine and latest < end <= t:
                latest, amount = end, Fraction(line["amount"])
    return amount


def state_mrr(data: StripeData, t: int, reporting: str = "usd") -> dict[str, int]:
    """Each customer's MRR at instant ``t`` from the subscriptions as they are at ``t``."""
    objects = data.objects
    found: dict[str, int] = defaultdict(int)
    for sub in objects["subscriptions"].values():
        if sub["status"] not in ("active", "past_due"):
            continue
        discounts = [objects["discounts"][d] if isinstance(d, str) else d for d in sub["discounts"]]
        coupons = []
        for discount in discounts:
            coupon = discount["source"]["coupon"]
            coupon = objects["coupons"][coupon] if isinstance(coupon, str) else coupon
            in_force = discount["start"] <= t and (discount["end"] is None or t < discount["end"])
            if in_force and coupon["duration"] != "once":
                coupons.append(coupon)
        rates = [r for r in sub["default_tax_rates"] if r["inclusive"]]
        inclusive = 1 + sum((Fraction(str(r["percentage"])) for r in rates), Fraction(0)) / 100
        parts: list[tuple[Fraction, Fraction, int]] = []  # gross, net, period start
        first_licensed = None
        for item in sub["items"]["data"]:
            price = item["price"]
            recurring = price["recurring"]
            if recurring["usage_type"] == "metered":
                gross = _last_usage(data, item["id"], t)
            else:
                gross = _charge(price, item["quantity"])
                first_licensed = first_licensed or recurring
            gross = _per_month(gross, recurring["interval"], recurring["interval_count"])
            for coupon in coupons:
                if coupon["percent_off"] is not None:
                    gross *= 1 - Fraction(str(coupon["percent_off"])) / 100
            parts.append((gross, gross / inclusive, item["current_period_start"]))
        total = 0
        for _, net, period_start in parts:
            total += _convert(net, sub["currency"], period_start, reporting)
        off = sum((Fraction(c["amount_off"]) for c in coupons if c["amount_off"]), Fraction(0))
        gross_total = sum((g for g, _, _ in parts), Fraction(0))
        if off and first_licensed and gross_total:
            off = _per_month(off, first_licensed["interval"], first_licensed["interval_count"])
            net_total = sum((n for _, n, _ in parts), Fraction(0))
            taken = min(off, gross_total) * net_total / gross_total
            total -= _convert(taken, sub["currency"], parts[0][2], reporting)
        found[sub["customer"]] += max(0, total)
    return {customer: mrr for customer, mrr in found.items() if mrr}


def _convert(amount: Fraction, currency: str, period_start: int, reporting: str) -> int:
    if currency == reporting:
        return _round(amount)
    day = datetime.fromtimestamp(period_start, UTC).date()
    rate = eur_rates(currency, reporting, day)
    return _round(amount * Fraction(rate))
