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
from pathlib import Path

from sqlalchemy import Engine

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.partition import compute_account, reconcile_account
from stripe_kpi.sync.lists import EVENT_RETENTION_SECONDS
from stripe_kpi.sync.run import sync
from tests.metrics_factories import no_rates
from tests.sync_support import fast_client, synced_rows

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


def _ended_item_discount() -> tuple[BillingAccount, str]:
    """$100 core + $50 add-on from 2 March, 50 % off the add-on item for one month."""
    acct = BillingAccount(datetime(2026, 3, 1, tzinfo=UTC), seed=43)
    core = acct.create_price(10000, "month", product="Core")
    addon = acct.create_price(5000, "month", product="Add-on")
    half = acct.create_coupon(percent_off=50, duration="repeating", duration_in_months=1)
    customer = acct.create_customer("Ida", "ida@x.test", START)
    acct.subscribe(customer, [(core, 1), (addon, 1)], START, item_coupons={addon["id"]: [half]})
    return acct, customer["id"]


def test_an_item_discount_that_ended_is_known_from_the_invoice_lines(engine: Engine) -> None:
    acct, customer = _ended_item_discount()
    later = datetime(2026, 4, 20, tzinfo=UTC)
    acct.advance(later)  # the discount ended on 2 April and left the add-on item
    with SimulatorServer(acct.snapshot()) as server, fast_client(server) as client:
        sync(engine, client, now=server.data.now, concurrency=2)
    computed = compute_account(engine, currency="usd", tz="UTC", as_of=later, rate=no_rates)
    moves = [(date.fromordinal(m.day), m.type, m.amount) for m in computed.movements()]
    # March: 100 + 50 × 0.5 = $125.00; from 2 April the add-on's full $50: expansion +$25.00.
    assert [m for m in moves if m[0] >= date(2026, 3, 1)] == [
        (date(2026, 3, 2), "new", 12500),
        (date(2026, 4, 2), "expansion", 2500),
    ]
    assert computed.customers[customer].mrr[-1][1] == 15000


def test_incremental_sync_over_an_item_discounts_end_equals_a_full_sync(tmp_path: Path) -> None:
    acct, _ = _ended_item_discount()
    # An event on 19 March keeps the first sync's cursor within Stripe's 30 days on 10 April.
    acct.create_customer("Jo", "jo@x.test", datetime(2026, 3, 19, tzinfo=UTC))
    acct.advance(NOW)  # 20 March: the discount is still on the add-on item
    with SimulatorServer(acct.snapshot()) as server, fast_client(server) as client:
        engine = open_database(f"sqlite:///{tmp_path / 'kpi.db'}")
        fresh = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
        sync(engine, client, now=server.data.now, concurrency=2)
        acct.advance(datetime(2026, 4, 10, tzinfo=UTC))
        server.set_data(acct.snapshot())
        assert sync(engine, client, now=server.data.now, concurrency=2).mode == "incremental"
        sync(fresh, client, now=server.data.now, concurrency=2)
        since = server.data.now - EVENT_RETENTION_SECONDS
        assert synced_rows(engine, since) == synced_rows(fresh, since)
        engine.dispose()
        fresh.dispose()
