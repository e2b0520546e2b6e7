"""The sync asks Stripe for what Stripe leaves out, and misses no item past the first 10.

The simulator withholds, as Stripe does, a price's ``tiers`` and ``currency_options`` and a
coupon's ``applies_to`` and ``currency_options`` unless the request expands them, and embeds a
subscription's first 10 items only. A sync that forgot to ask would price a graduated seat plan
at $0, apply a coupon limited to the add-on to the core plan too, and lose the 11th and 12th
add-on: each customer's MRR below is worked out by hand (METRICS.md §7, examples 21–23).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.models import Coupon, Price, SubscriptionItem
from stripe_kpi.store.partition import compute_account
from stripe_kpi.sync import mapping
from stripe_kpi.sync.run import sync
from tests.metrics_factories import no_rates
from tests.sync_support import fast_client

START, NOW = datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC)


class Founders:
    """Four customers, each alone on what the sync must ask for."""

    def __init__(self) -> None:
        acct = BillingAccount(datetime(2026, 3, 1, tzinfo=UTC), seed=31)
        graduated = acct.create_price(
            product="Seats",
            billing_scheme="tiered",
            tiers_mode="graduated",
            tiers=[(4, 1200, None), (None, 900, None)],
        )
        volume = acct.create_price(
            product="Team seats",
            billing_scheme="tiered",
            tiers_mode="volume",
            tiers=[(10, 800, None), (None, 600, None)],
        )
        core = acct.create_price(4000, "month", product="Core")
        addon = acct.create_price(2000, "month", product="Add-on")
        coupon = acct.create_coupon(percent_off=25, duration="forever", applies_to=["Add-on"])
        pack = [acct.create_price(100 * n, "month", product=f"Pack {n}") for n in range(1, 13)]
        self.ids: dict[str, str] = {}
        for name, items, extra in [
            ("graduated", [(graduated, 7)], {}),
            ("volume", [(volume, 15)], {}),
            ("limited coupon", [(core, 1), (addon, 1)], {"coupon": coupon}),
            ("twelve items", [(price, 1) for price in pack], {}),
        ]:
            customer = acct.create_customer(name.title(), f"{name.replace(' ', '.')}@x.test", START)
            self.ids[name] = customer["id"]
            acct.subscribe(customer, items, START, **extra)
        acct.advance(NOW)
        self.account = acct


def mrr_by_customer(engine: Engine) -> dict[str, int]:
    computed = compute_account(engine, currency="usd", tz="UTC", as_of=NOW, rate=no_rates)
    return {
        cid: result.mrr[-1][1] if result.mrr else 0 for cid, result in computed.customers.items()
    }


def test_the_sync_asks_for_what_stripe_withholds(engine: Engine) -> None:
    founders = Founders()
    with SimulatorServer(founders.account.snapshot()) as server:
        with fast_client(server) as client:
            sync(engine, client, now=server.data.now, concurrency=2)
        asked = server.path_counts
    mrr = mrr_by_customer(engine)
    ids = founders.ids
    # Example 21: 7 seats, graduated: 4 × $12 + 3 × $9 = $48 + $27 = $75.00.
    assert mrr[ids["graduated"]] == 7500
    # Example 22: 15 seats, volume: all 15 at the 11+ tier, 15 × $6 = $90.00.
    assert mrr[ids["volume"]] == 9000
    # Example 23: $40 core + $20 add-on, 25 % off the add-on only: 40 + 15 = $55.00.
    assert mrr[ids["limited coupon"]] == 5500
    # Twelve add-ons at $1 … $12: $78.00; the 10 embedded ones alone would be $55.00.
    assert mrr[ids["twelve items"]] == 7800
    assert asked["/v1/subscription_items"] == 1  # the 11th and 12th items, in one page
    with Session(engine) as session:
        assert len(session.exec(select(SubscriptionItem.id)).all()) == 1 + 1 + 2 + 12


def test_an_event_about_a_tiered_price_or_a_limited_coupon_refetches_it_whole(
    engine: Engine,
) -> None:
    founders = Founders()
    acct = founders.account
    with SimulatorServer(acct.snapshot()) as server, fast_client(server) as client:
        sync(engine, client, now=server.data.now, concurrency=2)
        # New since the last sync: a volume-tiered price, a coupon limited to its product,
        # and a customer on both with 11 more add-ons (12 items: past the embedded 10).
        tiered = acct.create_price(
            product="Analysts",
            billing_scheme="tiered",
            tiers_mode="volume",
            tiers=[(5, 3000, None), (None, 2500, None)],
        )
        limited = acct.create_coupon(
            percent_off=10, duration="forever", applies_to=["Analysts"], id="ANALYSTS10"
        )
        pack = [acct.create_price(100 * n, "month", product=f"Pack {n}") for n in range(1, 12)]
        late = acct.create_customer("Late Larry", "larry@x.test")
        acct.subscribe(late, [(tiered, 6), *((p, 1) for p in pack)], coupon=limited)
        acct.advance(NOW.replace(day=25))
        server.set_data(acct.snapshot())
        server.reset_counts()
        report = sync(engine, client, now=server.data.now, concurrency=2)
        assert report.mode == "incremental"
        retrieved = server.path_counts
    assert retrieved[f"/v1/prices/{tiered['id']}"] == 1
    assert retrieved["/v1/coupons/ANALYSTS10"] == 1
    assert retrieved["/v1/subscription_items"] == 1
    with Session(engine) as session:
        price = session.get(Price, tiered["id"])
        coupon = session.get(Coupon, "ANALYSTS10")
        items = session.exec(
            select(SubscriptionItem.id).where(
                SubscriptionItem.price_id.in_([p["id"] for p in pack])
            )
        ).all()
    assert price is not None
    assert coupon is not None
    assert mapping.dumps(tiered["tiers"]) == price.tiers
    assert '"applies_to":{"products":["' + tiered["product"] + '"]}' in coupon.raw
    assert len(items) == 11
    # 6 analysts, volume: 6 × $25 = $150, 10 % off: $135; plus $1 + … + $11 = $66: $201.00.
    assert mrr_by_customer(engine)[late["id"]] == 20100


# -- the mapping: what an embedded price or coupon may overwrite --------------------------------


def _item(item_id: str, price: dict) -> dict:
    return {"id": item_id, "object": "subscription_item", "price": price, "quantity": 1}


def test_an_embedded_price_without_its_includable_fields_is_no_price_row() -> None:
    withheld = {"id": "price_t", "object": "price", "currency": "usd", "tiers_mode": "graduated"}
    whole = {**withheld, "tiers": [{"up_to": None, "unit_amount": 900}], "currency_options": None}
    sub = {
        "id": "sub_1",
        "object": "subscription",
        "status": "active",
        "items": {"object": "list", "data": [_item("si_1", withheld)], "has_more": False},
    }
    assert mapping.rows_for(sub)["price"] == []
    rows = mapping.rows_for({**sub, "items": {"data": [_item("si_1", whole)]}})
    assert [row["id"] for row in rows["price"]] == ["price_t"]


def test_a_subscription_has_its_embedded_items_and_the_paged_rest() -> None:
    price = {"id": "price_1", "object": "price", "currency": "usd"}
    embedded = [_item(f"si_{n:02d}", price) for n in range(10)]
    rest = [_item(f"si_{n:02d}", price) for n in range(9, 12)]  # one page may overlap
    sub = {
        "id": "sub_1",
        "object": "subscription",
        "status": "active",
        "items": {"object": "list", "data": embedded, "has_more": True, "total_count": 12},
    }
    items = mapping.rows_for(sub, rest)["subscription_item"]
    assert [row["id"] for row in items] == [f"si_{n:02d}" for n in range(12)]


@pytest.mark.parametrize("kind", ["prices", "coupons", "subscriptions", "invoices", "customers"])
def test_a_retrieve_asks_for_what_its_list_asks_for(kind: str) -> None:
    from stripe_kpi.sync.lists import LISTS, retrieve_params

    listed = LISTS[kind][1].get("expand", [])
    asked = (retrieve_params(kind) or {}).get("expand", [])
    assert [f"data.{path}" for path in asked] == listed
