"""Stacked discounts and ``currency_options`` end to end: simulator server → sync over HTTP →
metrics, and ``stripe-kpi check``'s reconciliation, on SQLite and PostgreSQL.

Stripe's order, as the simulator bills it (``simulator.billing.invoices.stack_order``): an item's
own discounts before the subscription's ("Subscription item discounts are applied before
subscription discounts", the API reference of ``subscription.discounts``), each on what the
ones before it left; within a level ``percent_off`` before ``amount_off``. METRICS.md §1 takes
``percent_off`` "on the amount it applies to": the amount left after the discounts before it.
Every figure is worked out by hand beside it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.partition import compute_account, reconcile_account
from stripe_kpi.sync.run import sync
from tests.metrics_factories import no_rates
from tests.sync_support import fast_client

START, NOW = datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC)


class Stacks:
    """One customer per case, each alone with what it tests."""

    def __init__(self) -> None:
        acct = BillingAccount(datetime(2026, 3, 1, tzinfo=UTC), seed=41)
        core = acct.create_price(10000, "month", product="Core")
        addon = acct.create_price(5000, "month", product="Add-on")
        ten = acct.create_coupon(percent_off=10, duration="forever", id="TEN")
        twenty = acct.create_coupon(percent_off=20, duration="forever", id="TWENTY")
        fifteen = acct.create_coupon(amount_off=1500, currency="usd", duration="forever")
        tenner = acct.create_coupon(amount_off=1000, currency="usd", duration="forever")
        pro = acct.create_price(5000, "month", product="Pro", currency_options={"eur": 4500})
        self.ids: dict[str, str] = {}
        self.subs: dict[str, str] = {}
        both = [(core, 1), (addon, 1)]
        for name, items, extra in [
            ("item and sub", both, {"coupon": ten, "item_coupons": {addon["id"]: [twenty]}}),
            ("amount and percent", both, {"coupons": [fifteen, ten]}),
            ("item amount", both, {"coupon": ten, "item_coupons": {addon["id"]: [tenner]}}),
            ("eur option", [(pro, 1)], {"currency": "eur"}),
        ]:
            customer = acct.create_customer(name.title(), f"{name.replace(' ', '.')}@x.test", START)
            self.ids[name] = customer["id"]
            self.subs[name] = acct.subscribe(customer, items, START, **extra)["id"]
        acct.advance(NOW)
        self.account = acct


def synced(engine: Engine, stacks: Stacks) -> None:
    with SimulatorServer(stacks.account.snapshot()) as server, fast_client(server) as client:
        sync(engine, client, now=server.data.now, concurrency=2)


def eur_rates(from_ccy: str, to_ccy: str, day: date) -> Decimal:
    """1 EUR = 1.10 USD on 2 March 2026, the only day a rate may be asked for here."""
    assert (from_ccy, to_ccy, day) == ("eur", "usd", date(2026, 3, 2))
    return Decimal("1.10")


def mrr_by_customer(engine: Engine, rate=no_rates) -> dict[str, int]:
    computed = compute_account(engine, currency="usd", tz="UTC", as_of=NOW, rate=rate)
    return {
        cid: result.mrr[-1][1] if result.mrr else 0 for cid, result in computed.customers.items()
    }


def test_item_discount_then_subscription_discount(engine: Engine) -> None:
    stacks = Stacks()
    synced(engine, stacks)
    mrr = mrr_by_customer(engine, eur_rates)
    # $100 core + $50 add-on; 20 % off the add-on item, 10 % off the subscription. The item's
    # discount first: add-on 50 × 0.8 = 40, then 10 % of that: 36; core 100 × 0.9 = 90.
    # MRR 90 + 36 = $126.00 (the invoice: 15000 − 1000 − 1000 − 400 = 12600).
    assert mrr[stacks.ids["item and sub"]] == 12600


def test_amount_off_and_percent_off_on_the_subscription(engine: Engine) -> None:
    stacks = Stacks()
    synced(engine, stacks)
    mrr = mrr_by_customer(engine, eur_rates)
    # $150 with $15 off and 10 % off (listed in that order): the percentage first, 150 × 0.9 =
    # 135, then $15 once per invoice: $120.00 (the invoice: 1000 + 500, then 1000 + 500).
    assert mrr[stacks.ids["amount and percent"]] == 12000


def test_an_items_amount_off_comes_before_the_subscriptions_percentage(engine: Engine) -> None:
    stacks = Stacks()
    synced(engine, stacks)
    mrr = mrr_by_customer(engine, eur_rates)
    # $10 off the add-on item, then 10 % off the subscription: add-on (50 − 10) × 0.9 = 36,
    # core 100 × 0.9 = 90: $126.00. (Fixed amount last would give 45 − 10 + 90 = $125.00.)
    assert mrr[stacks.ids["item amount"]] == 12600


def test_a_eur_customer_on_a_usd_price_counts_its_eur_option(engine: Engine) -> None:
    stacks = Stacks()
    synced(engine, stacks)
    mrr = mrr_by_customer(engine, eur_rates)
    # The USD price's EUR option: €45.00 a month, converted at the rate of the day its billing
    # period started (2 March: 1.10): 45 × 1.10 = $49.50.
    assert mrr[stacks.ids["eur option"]] == 4950


def test_every_stack_reconciles_with_its_invoice(engine: Engine) -> None:
    stacks = Stacks()
    synced(engine, stacks)
    checks = reconcile_account(engine, currency="usd", as_of=NOW, rate=eur_rates)
    assert {c.subscription_id: c.outcome for c in checks} == dict.fromkeys(
        stacks.subs.values(), "reconciles"
    )
