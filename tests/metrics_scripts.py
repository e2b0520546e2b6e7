"""Random subscription histories for property tests: scripts run on the billing simulator.

A script is a list of plain actions (what customers and the merchant do, and when); ``play`` runs
it on a ``BillingAccount``, which bills it as Stripe would, and returns the stored rows (through
``stripe_kpi.sync.mapping``, as the sync stores them). With ``checkpoints`` it also records, at the
end of those days, each customer's MRR computed straight from the subscriptions *as they were then*
(``state_mrr``): an oracle that knows nothing of invoices, for the history to be compared with.

Besides plain subscriptions, a script draws stacked discounts (a second subscription-level coupon,
an item-level one), a USD price billed in EUR through its ``currency_options``, subscription
schedules with a phase to come, credit notes, one-off invoice items (left pending for the next
invoice, invoiced at once, or through a one-off invoice), and deleted customers.
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

from stripe_kpi.simulator.billing import BillingAccount, Phase
from stripe_kpi.simulator.data import StripeData
from stripe_kpi.sync.mapping import merge_rows, rows_for

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 200
_STORED = {"customer", "product", "price", "coupon", "tax_rate", "discount", "subscription"}
_STORED |= {"invoice", "invoiceitem", "event"}  # invoice items: the sync keeps the pending ones
_STORED |= {"subscription_schedule"}  # their phases date the changes they make

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
    # A USD price that EUR customers are billed in EUR, at its currency option's amount.
    "o15": (1500, "month", 1, "usd", {"currency_options": {"eur": 1400}}),
}  # fmt: skip
METERED = (7, "month", 1, "usd", {"usage_type": "metered"})
UPGRADES = {"m10": "m25", "m25": "m10", "e20": "e30", "e30": "e20", "m33": "m10", "o15": "m25"}
SWITCHES = {"m10": "y240", "y240": "m10"}
COUPONS = {
    "pct20": {"percent_off": 20, "duration": "forever"},
    "pct25x2": {"percent_off": 25, "duration": "repeating", "duration_in_months": 2},
    "off5": {"amount_off": 500, "currency": "usd", "duration": "forever"},
    "once50": {"percent_off": 50, "duration": "once"},
    "pct10": {"percent_off": 10, "duration": "forever"},
    "off3": {"amount_off": 300, "currency": "usd", "duration": "forever"},
}
#: Coupons stacked after the first on a subscription, and coupons put on its first item.
MORE_COUPONS = ["pct10", "off3", "pct25x2", "once50"]
ITEM_COUPONS = ["pct10", "off3", "pct25x2", "once50", "off5"]


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


def _bills_in(key: str, currency: str) -> bool:
    *_, own, kw = PRICES[key]
    return own == currency or currency in kw.get("currency_options", {})


def _fits(coupon: str | None, currency: str) -> bool:
    """Whether ``coupon`` may discount a subscription billed in ``currency``."""
    return coupon is None or COUPONS[coupon].get("currency", currency) == currency


def _customer_actions(
    draw: Callable, index: int, behaviors: list[str], cardless_trials: bool = False
) -> list[Action]:
    currency_pick = draw(st.sampled_from(["usd"] * 4 + ["eur"]))
    keys = [k for k in PRICES if _bills_in(k, currency_pick)]
    start = draw(st.integers(0, DAYS - 40))
    price = draw(st.sampled_from(keys))
    quantity = draw(st.integers(1, 8)) if price == "seats" else draw(st.integers(1, 3))
    trial = draw(st.sampled_from([None, None, 14]))
    fitting = [c for c in COUPONS if _fits(c, currency_pick)]
    coupon = draw(st.sampled_from([None, None, None, *fitting]))
    more = None
    if coupon is not None:  # a second subscription-level coupon, stacked after the first
        others = [c for c in MORE_COUPONS if c in fitting and c != coupon]  # a coupon once
        more = draw(st.sampled_from([None, None, *others]))
    on_item = [c for c in ITEM_COUPONS if c in fitting]
    item_coupon = draw(st.sampled_from([None] * 4 + on_item))
    cardless = None
    if cardless_trials:
        # A trial started without a card: what its end does then (billing.trials), and maybe a
        # card (and the resume of a paused one) some days after it.
        trial, coupon, more, item_coupon = 14, None, None, None
        cardless = draw(st.sampled_from(["pause", "create_invoice", "cancel"]))
    terms = (price, quantity, trial, coupon, more, item_coupon, currency_pick, cardless)
    actions = [Action(start, draw(st.integers(1, 22)), index, "subscribe", terms)]
    if cardless in ("pause", "create_invoice") and draw(st.booleans()):
        actions.append(Action(start + 14 + draw(st.integers(0, 20)), 23, index, "card"))
    day = start
    for _ in range(draw(st.integers(0, 4))):
        day += draw(st.integers(1, 60))
        if day >= DAYS:
            break
        kind = draw(st.sampled_from(
            ["quantity", "price", "switch", "cancel", "cancel_end", "fail", "metered", "second",
             "resubscribe", "schedule", "credit_note", "invoice_item", "delete"]
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
        elif kind == "schedule":
            # (days to the phase, its change, its quantity, its coupon, its proration, days it
            # lasts, what happens at the end)
            args = (draw(st.integers(1, 45)), draw(st.sampled_from(["price", "switch", "same"])),
                    draw(st.integers(1, 6)),
                    draw(st.sampled_from([None, "keep", *[c for c in COUPONS
                                                          if _fits(c, currency_pick)]])),
                    draw(st.sampled_from(behaviors)), draw(st.integers(10, 90)),
                    draw(st.sampled_from(["release", "cancel"])))  # fmt: skip
        elif kind == "credit_note":  # a share (in percent) of the latest invoice's total
            args = (draw(st.integers(1, 100)), draw(st.booleans()))
        elif kind == "invoice_item":
            how = draw(st.sampled_from(["pending", "invoice_now", "create_invoice"]))
            args = (draw(st.integers(100, 5000)), how)
        actions.append(Action(day, draw(st.integers(1, 22)), index, kind, args))
        if kind == "metered":  # usage reported now and then afterwards
            for usage in draw(st.lists(st.integers(0, 900), max_size=3)):
                day += draw(st.integers(5, 40))
                actions.append(Action(day, 23, index, "usage", (usage,)))
    return actions


@st.composite
def scripts(
    draw: Callable,
    *,
    max_customers: int = 4,
    prorate_only: bool = False,
    cardless_trials: bool = False,
) -> list[Action]:
    """A random account history: a few customers, each subscribing and then living a little
    (with ``cardless_trials``: each on a trial started without a card)."""
    behaviors = ["create_prorations", "always_invoice"]
    if not prorate_only:
        behaviors.append("none")
    count = draw(st.integers(1, max_customers))
    actions = [
        a for i in range(count) for a in _customer_actions(draw, i, behaviors, cardless_trials)
    ]
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
    def __init__(self, offset: int = 1) -> None:
        #: Minutes from a subscription's own minute to every other action's.
        self.offset = offset
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
        self.deleted: set[int] = set()

    def live(self, customer: int) -> dict | None:
        for sub in reversed(self.subs[customer]):
            if sub["status"] in ("active", "past_due", "trialing"):
                return sub
        return None

    def subscribe(
        self, a: Action, at: datetime, price: str, quantity: int, card: bool = True, **kw: Any
    ) -> None:
        if a.customer not in self.customers:
            self.customers[a.customer] = self.acct.create_customer(
                f"C{a.customer}", None, at, payment_method=card
            )
        customer = self.customers[a.customer]
        tax = [self.vat] if PRICES[price][4].get("tax_behavior") == "inclusive" else []
        sub = self.acct.subscribe(
            customer, [(self.prices[price], quantity)], at, tax_rates=tax,
            currency=kw.pop("currency", None) or customer["currency"], **kw,
        )  # fmt: skip
        self.subs[a.customer].append(sub)

    def run(self, a: Action) -> None:
        at = _moment(a.day, a.hour, 7)
        if a.kind != "subscribe":
            at += timedelta(minutes=self.offset)
        # What the customer sees then: a renewal, a phase or a release due by ``at`` has run.
        self.acct.advance(at)
        if a.kind == "subscribe":
            price, quantity, trial, coupon, more, item_coupon, currency, cardless = a.args
            item_coupons = None
            if item_coupon is not None:
                item_coupons = {self.prices[price]["id"]: [self.coupons[item_coupon]]}
            self.subscribe(
                a, at, price, quantity, trial_days=trial,
                coupon=None if coupon is None else self.coupons[coupon],
                coupons=[] if more is None else [self.coupons[more]],
                item_coupons=item_coupons, currency=currency, card=cardless is None,
                trial_end_behavior=cardless or "create_invoice",
            )  # fmt: skip
            return
        if a.kind == "card":
            self.acct.add_payment_method(self.customers[a.customer], at)
            for paused in (s for s in self.subs[a.customer] if s["status"] == "paused"):
                self.acct.resume(paused, at)
            return
        if a.customer in self.deleted:
            return
        if a.kind == "delete":
            if a.customer in self.customers:
                self.acct.delete_customer(self.customers[a.customer], at)
                self.deleted.add(a.customer)
            return
        if a.kind == "invoice_item":
            if a.customer in self.customers:
                self.invoice_item(a.customer, at, *a.args)
            return
        if a.kind == "credit_note":
            self.credit_note(a.customer, at, *a.args)
            return
        sub = self.live(a.customer)
        if a.kind == "resubscribe":
            if sub is None and a.customer in self.customers:
                self.subscribe(a, at, a.args[0], 1)
            return
        if sub is None:
            return
        if a.kind == "schedule":
            self.schedule(sub, at, *a.args)
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
        elif a.kind == "second" and _bills_in(a.args[0], sub["currency"]):
            self.subscribe(a, at, a.args[0], 1)

    def schedule(
        self, sub: dict, at: datetime, delay: int, change: str, quantity: int,
        coupon: str | None, behavior: str, length: int, end_behavior: str,
    ) -> None:  # fmt: skip
        """Put ``sub`` on a schedule whose one phase to come, in ``delay`` days, changes its
        first item (another price, another interval, or only the quantity) and its coupon
        (``keep``: the subscription's coupons as they are)."""
        if sub["schedule"] is not None:
            return
        items = [(i["price"], i["quantity"]) for i in sub["items"]["data"]]
        price, old_quantity = items[0]
        nickname = next(k for k, p in self.prices.items() if p["id"] == price["id"])
        target = {"price": UPGRADES, "switch": SWITCHES}.get(change, {}).get(nickname, nickname)
        if target != nickname and change == "switch" and len(items) > 1:
            return  # one item of several cannot change interval
        items[0] = (self.prices[target], quantity if old_quantity is not None else None)
        phase_coupon: Any = None
        if coupon == "keep":
            on_sub = [self.acct.discounts[d]["source"]["coupon"] for d in sub["discounts"]]
            if len(on_sub) > 1:
                return  # a phase here takes one coupon; it would drop the others
            phase_coupon = self.acct.coupons[on_sub[0]] if on_sub else None
        elif coupon is not None:
            phase_coupon = self.coupons[coupon]
        start = at + timedelta(days=delay)
        phase = Phase(start, items, coupon=phase_coupon, proration_behavior=behavior)
        self.acct.create_schedule(
            sub, [phase], end=start + timedelta(days=length), end_behavior=end_behavior, at=at
        )

    def credit_note(self, customer: int, at: datetime, share: int, refund: bool) -> None:
        """Credit ``share`` % of the customer's latest invoice that billed anything."""
        if customer not in self.customers:
            return
        self.acct.advance(at)
        cid = self.customers[customer]["id"]
        billed = [
            i for i in self.acct.invoices.values()
            if i["customer"] == cid and i["status"] in ("open", "paid") and i["total"] > 0
        ]  # fmt: skip
        if billed:
            latest = max(billed, key=lambda i: (i["created"], i["id"]))
            amount = max(1, latest["total"] * share // 100)
            self.acct.issue_credit_note(latest, amount, at, refund=refund)

    def invoice_item(self, customer: int, at: datetime, amount: int, how: str) -> None:
        """A one-off charge: pending for the next invoice, invoiced at once, or through a
        one-off invoice of the customer's pending items."""
        cus = self.customers[customer]
        self.acct.add_invoice_item(cus, amount, at, invoice_now=how == "invoice_now")
        if how == "create_invoice":
            self.acct.create_invoice(cus, at)

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
            if obj.get("object") not in _STORED:
                continue
            if obj["object"] == "invoiceitem" and obj.get("invoice") is not None:
                continue  # the sync keeps only the pending ones (GET /v1/invoiceitems?pending=true)
            merge_rows(rows, rows_for(obj))
    return rows


def play(
    script: list[Action],
    checkpoints: tuple[int, ...] = (),
    *,
    every_event: bool = False,
    same_second: bool = False,
) -> Played:
    """Run ``script``; at the end of each checkpoint day, record the oracle's MRR. The rows hold
    the events of the last 30 days, as Stripe keeps them, or with ``every_event`` all of them.

    Actions other than subscribing run a minute after the subscriptions' own minute, never at
    the very second a renewal or a trial end runs (``same_second``: at that second). Two events
    of one second come in no stated order (Stripe orders a list by ``created`` alone), so the
    metrics cannot tell which one is the later; the property tests leave that ambiguity out."""
    runner = _Runner(0 if same_second else 1)
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


def _charge(price: dict, quantity: int, currency: str) -> Fraction:
    """What the price charges for ``quantity`` billed in ``currency`` (its own, or one of its
    ``currency_options``)."""
    terms = price if price["currency"] == currency else price["currency_options"][currency]
    if price["billing_scheme"] == "per_unit":
        return Fraction(terms["unit_amount"]) * quantity
    if price["tiers_mode"] == "volume":
        for tier in terms["tiers"]:
            if tier["up_to"] is None or quantity <= tier["up_to"]:
                return Fraction(tier["unit_amount"] or 0) * quantity + (tier["flat_amount"] or 0)
        raise AssertionError("no tier")
    total, below = Fraction(0), 0
    for tier in terms["tiers"]:  # graduated: each tier the units inside it
        top = quantity if tier["up_to"] is None else min(quantity, tier["up_to"])
        if top <= below:
            break
        total += Fraction(tier["unit_amount"] or 0) * (top - below) + (tier["flat_amount"] or 0)
        below = top
    return total


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


def _coupons_in_force(objects: dict, holder: dict, t: int) -> list[dict]:
    """The coupons of the discounts attached to ``holder`` (a subscription or an item) that
    lower MRR at ``t``: in their window, and never a ``once`` coupon (a one-time reduction)."""
    found = []
    for ref in holder.get("discounts") or []:
        discount = objects["discounts"][ref] if isinstance(ref, str) else ref
        coupon = discount["source"]["coupon"]
        coupon = objects["coupons"][coupon] if isinstance(coupon, str) else coupon
        in_force = discount["start"] <= t and (discount["end"] is None or t < discount["end"])
        if in_force and coupon["duration"] != "once":
            found.append(coupon)
    return found


def _applies(coupon: dict, price: dict) -> bool:
    limited = coupon.get("applies_to")
    return not limited or price["product"] in limited["products"]


def _percent(gross: Fraction, coupons: list[dict], price: dict) -> Fraction:
    for coupon in coupons:
        if coupon["percent_off"] is not None and _applies(coupon, price):
            gross *= 1 - Fraction(str(coupon["percent_off"])) / 100
    return gross


def state_mrr(data: StripeData, t: int, reporting: str = "usd") -> dict[str, int]:
    """Each customer's MRR at instant ``t`` from the subscriptions as they are at ``t``.

    Discounts stack as Stripe takes them ("Subscription item discounts are applied before
    subscription discounts", the API reference of ``subscription.discounts``), percentages before
    fixed amounts within a level (the simulator's order): per item, its own percentages, then its
    own amounts off (once per invoice: normalised with its interval, at most what is left of it),
    then the subscription's percentages; last the subscription's amounts off, once per invoice,
    at most what the items have left, shared between them as a discount spread over the lines.
    """
    objects = data.objects
    found: dict[str, int] = defaultdict(int)
    for sub in objects["subscriptions"].values():
        if sub["status"] not in ("active", "past_due"):
            continue
        coupons = _coupons_in_force(objects, sub, t)
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
                gross = _charge(price, item["quantity"], sub["currency"])
                first_licensed = first_licensed or recurring
            gross = _per_month(gross, recurring["interval"], recurring["interval_count"])
            own = _coupons_in_force(objects, item, t)
            gross = _percent(gross, own, price)
            for coupon in own:
                if coupon["amount_off"] and _applies(coupon, price):
                    off = _per_month(Fraction(coupon["amount_off"]), recurring["interval"],
                                     recurring["interval_count"])  # fmt: skip
                    gross -= min(gross, off)
            gross = _percent(gross, coupons, price)
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
