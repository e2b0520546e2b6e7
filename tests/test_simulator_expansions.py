"""The simulator withholds what Stripe withholds, and gives it back when asked.

Includable fields (a price's ``tiers`` and ``currency_options``, a plan's ``tiers``, a coupon's
``applies_to`` and ``currency_options``) are left out unless the request expands them; paths
deeper than Stripe's four levels are refused; a subscription embeds its first 10 items and
``/v1/subscription_items`` pages the rest. Responses are read as raw JSON, so "absent" means the
key is not there (the SDK would show an absent key and a ``null`` alike).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from tests.test_simulator_server import official_client

CUSTOMERS_ONLY = "rk_test_customers_only_8Hq2"
SUBS_ONLY = "rk_test_subscriptions_only_4Wm9"

#: The graduated seat price's tiers as stored: seats 1–4 at $12, 5 and up at $9.
GRADUATED_TIERS = [
    {
        "flat_amount": None,
        "flat_amount_decimal": None,
        "unit_amount": 1200,
        "unit_amount_decimal": "1200",
        "up_to": 4,
    },
    {
        "flat_amount": None,
        "flat_amount_decimal": None,
        "unit_amount": 900,
        "unit_amount_decimal": "900",
        "up_to": None,
    },
]


def on(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


class Account:
    """Ada on 7 graduated seats (then 8), Bea on core + add-on with a coupon limited to the
    add-on, and Pack Co with 12 add-ons."""

    def __init__(self) -> None:
        acct = BillingAccount(on(2026, 1, 1), seed=2)
        self.graduated = acct.create_price(
            product="Seats",
            billing_scheme="tiered",
            tiers_mode="graduated",
            tiers=[(4, 1200, None), (None, 900, None)],
        )
        core = acct.create_price(4000, "month", product="Core")
        addon = acct.create_price(2000, "month", product="Add-on")
        self.coupon = acct.create_coupon(
            percent_off=25, duration="forever", applies_to=["Add-on"], id="ADDON25"
        )
        self.addon_product = addon["product"]
        ada = acct.create_customer("Ada", "ada@example.com")
        self.ada = acct.subscribe(ada, [(self.graduated, 7)])
        bea = acct.create_customer("Bea", "bea@example.com")
        self.bea = acct.subscribe(bea, [(core, 1), (addon, 1)], coupon=self.coupon)
        pack = acct.create_customer("Pack Co", "ops@pack.example")
        addons = [acct.create_price(100 * (n + 1), "month", product=f"Pack {n}") for n in range(12)]
        self.pack = acct.subscribe(pack, [(price, 1) for price in addons])
        self.pack_items = [item["id"] for item in self.pack["items"]["data"]]
        acct.change(self.ada, on(2026, 1, 1), quantity=8)  # an update with previous items
        acct.advance(on(2026, 1, 2))
        self.billing = acct


@pytest.fixture(scope="module")
def account() -> Account:
    return Account()


@pytest.fixture(scope="module")
def server(account: Account) -> Iterator[SimulatorServer]:
    keys = {CUSTOMERS_ONLY: {"rak_customer_read"}, SUBS_ONLY: {"rak_subscription_read"}}
    with SimulatorServer(account.billing.snapshot(), restricted_keys=keys) as running:
        yield running


def get(
    server: SimulatorServer, path: str, key: str | None = None, **params: Any
) -> tuple[int, dict[str, Any]]:
    """GET ``path`` with Stripe's form encoding (``expand=[...]`` becomes ``expand[]=…``)."""
    pairs = []
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        suffix = "[]" if isinstance(value, list) else ""
        pairs += [(f"{name}{suffix}", v) for v in values]
    target = f"{path}?{urlencode(pairs)}" if pairs else path
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", target, headers={"Authorization": f"Bearer {key or server.api_key}"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def ok(server: SimulatorServer, path: str, **params: Any) -> dict[str, Any]:
    status, body = get(server, path, **params)
    assert status == 200, body
    return body


# -- includable fields -------------------------------------------------------------------------


def test_a_price_leaves_out_tiers_and_currency_options_unless_expanded(
    server: SimulatorServer, account: Account
) -> None:
    path = f"/v1/prices/{account.graduated['id']}"
    plain = ok(server, path)
    assert "tiers" not in plain
    assert "currency_options" not in plain
    assert plain["tiers_mode"] == "graduated"  # not includable: always there
    assert ok(server, path, expand=["tiers"])["tiers"] == GRADUATED_TIERS
    both = ok(server, path, expand=["tiers", "currency_options"])
    assert (both["tiers"], both["currency_options"]) == (GRADUATED_TIERS, None)


def test_listed_prices_show_tiers_with_data_tiers(
    server: SimulatorServer, account: Account
) -> None:
    plain = ok(server, "/v1/prices", limit=100)["data"]
    assert len(plain) == 15  # seats, core, add-on and the 12 pack add-ons
    assert not [p["id"] for p in plain if "tiers" in p or "currency_options" in p]
    expanded = ok(server, "/v1/prices", limit=100, expand=["data.tiers"])["data"]
    tiers = {p["id"]: p["tiers"] for p in expanded}
    assert tiers[account.graduated["id"]] == GRADUATED_TIERS
    assert sum(t is None for t in tiers.values()) == 14  # per-unit prices have none
    status, body = get(server, "/v1/prices", expand=["tiers"])
    assert status == 400
    assert body["error"]["message"] == (
        "This property cannot be expanded (tiers). You may want to try expanding 'data.tiers' "
        "instead."
    )


def test_a_coupon_shows_applies_to_only_when_expanded(
    server: SimulatorServer, account: Account
) -> None:
    plain = ok(server, "/v1/coupons/ADDON25")
    assert "applies_to" not in plain
    assert "currency_options" not in plain
    expanded = ok(server, "/v1/coupons/ADDON25", expand=["applies_to", "currency_options"])
    assert expanded["applies_to"] == {"products": [account.addon_product]}
    assert expanded["currency_options"] is None
    (listed,) = ok(server, "/v1/coupons", expand=["data.applies_to"])["data"]
    assert listed["applies_to"] == {"products": [account.addon_product]}
    assert "currency_options" not in listed


def test_prices_embedded_in_a_subscription_expand_through_its_items(
    server: SimulatorServer, account: Account
) -> None:
    path = f"/v1/subscriptions/{account.ada['id']}"
    (item,) = ok(server, path)["items"]["data"]
    assert "tiers" not in item["price"]
    assert "tiers" not in item["plan"]  # the legacy plan view withholds them too
    (item,) = ok(server, path, expand=["items.data.price.tiers"])["items"]["data"]
    assert item["price"]["tiers"] == GRADUATED_TIERS
    assert "tiers" not in item["plan"]
    (item,) = ok(server, path, expand=["items.data.plan.tiers"])["items"]["data"]
    assert item["plan"]["tiers"] == GRADUATED_TIERS
    listed = ok(server, "/v1/subscriptions", expand=["data.items.data.price"])["data"]
    assert all("tiers" not in i["price"] for s in listed for i in s["items"]["data"])


def test_paths_deeper_than_four_levels_are_refused(
    server: SimulatorServer, account: Account
) -> None:
    # On a list ``data`` is a level: this is five, as Stripe's data.items.data.price.product.
    status, body = get(server, "/v1/subscriptions", expand=["data.items.data.price.tiers"])
    assert status == 400
    assert body["error"] == {
        "type": "invalid_request_error",
        "message": "You cannot expand more than 4 levels of a property. "
        "Property: data.items.data.price.tiers",
        "param": "expand",
    }
    path = f"/v1/subscriptions/{account.ada['id']}"
    status, body = get(server, path, expand=["items.data.price.product.name"])
    assert status == 400
    assert body["error"]["message"].startswith("You cannot expand more than 4 levels")
    (item,) = ok(server, path, expand=["items.data.price.product"])["items"]["data"]
    assert item["price"]["product"]["name"] == "Seats"  # four levels are fine


def test_an_includable_field_ends_a_path_and_belongs_to_its_kind(
    server: SimulatorServer, account: Account
) -> None:
    status, body = get(server, "/v1/coupons/ADDON25", expand=["applies_to.products"])
    assert (status, body["error"]["message"]) == (
        400,
        "This property cannot be expanded (applies_to.products).",
    )
    status, _ = get(server, f"/v1/customers/{account.ada['customer']}", expand=["tiers"])
    assert status == 400


def test_expanding_never_changes_what_is_stored(server: SimulatorServer, account: Account) -> None:
    ok(server, f"/v1/subscriptions/{account.ada['id']}", expand=["items.data.price.tiers"])
    ok(server, f"/v1/prices/{account.graduated['id']}")
    stored = server.data.objects["prices"][account.graduated["id"]]
    assert stored["tiers"] == GRADUATED_TIERS
    assert len(server.data.objects["subscriptions"][account.pack["id"]]["items"]["data"]) == 12


# -- a subscription's items past the first 10 ---------------------------------------------------


def test_a_subscription_embeds_ten_items_and_says_where_the_rest_are(
    server: SimulatorServer, account: Account
) -> None:
    sub_id = account.pack["id"]
    for sub in (
        ok(server, f"/v1/subscriptions/{sub_id}"),
        next(s for s in ok(server, "/v1/subscriptions")["data"] if s["id"] == sub_id),
    ):
        items = sub["items"]
        assert [i["id"] for i in items["data"]] == account.pack_items[:10]
        assert (items["has_more"], items["total_count"]) == (True, 12)
        assert items["url"] == f"/v1/subscription_items?subscription={sub_id}"
    one = ok(server, f"/v1/subscriptions/{account.ada['id']}")["items"]
    assert (len(one["data"]), one["has_more"], one["total_count"]) == (1, False, 1)


def test_subscription_items_page_in_the_subscriptions_order(
    server: SimulatorServer, account: Account
) -> None:
    sub_id, every = account.pack["id"], account.pack_items
    first = ok(server, "/v1/subscription_items", subscription=sub_id)
    assert (first["object"], first["url"]) == ("list", "/v1/subscription_items")
    assert ([i["id"] for i in first["data"]], first["has_more"]) == (every[:10], True)
    rest = ok(server, "/v1/subscription_items", subscription=sub_id, starting_after=every[9])
    assert ([i["id"] for i in rest["data"]], rest["has_more"]) == (every[10:], False)
    before = ok(server, "/v1/subscription_items", subscription=sub_id, ending_before=every[2])
    assert ([i["id"] for i in before["data"]], before["has_more"]) == (every[:2], False)
    whole = ok(server, "/v1/subscription_items", subscription=sub_id, limit=100)
    assert [i["id"] for i in whole["data"]] == every
    with official_client(server) as sdk:
        paged = sdk.v1.subscription_items.list({"subscription": sub_id, "limit": 5})
        assert [i.id for i in paged.auto_paging_iter()] == every


def test_subscription_items_show_their_prices_as_a_subscription_does(
    server: SimulatorServer, account: Account
) -> None:
    sub_id = account.ada["id"]
    (plain,) = ok(server, "/v1/subscription_items", subscription=sub_id)["data"]
    assert "tiers" not in plain["price"]
    (item,) = ok(
        server, "/v1/subscription_items", subscription=sub_id, expand=["data.price.tiers"]
    )["data"]
    assert item["price"]["tiers"] == GRADUATED_TIERS


def test_subscription_items_want_a_subscription_they_know(
    server: SimulatorServer, account: Account
) -> None:
    status, body = get(server, "/v1/subscription_items")
    assert status == 400
    assert (body["error"]["code"], body["error"]["param"]) == ("parameter_missing", "subscription")
    assert body["error"]["message"] == "Missing required param: subscription."
    status, body = get(server, "/v1/subscription_items", subscription="sub_nope")
    assert (status, body["error"]["code"], body["error"]["param"]) == (
        400,
        "resource_missing",
        "subscription",
    )
    sub_id = account.ada["id"]
    status, body = get(server, "/v1/subscription_items", subscription=sub_id, price="x")
    assert (status, body["error"]["code"]) == (400, "parameter_unknown")
    status, body = get(server, "/v1/subscription_items", subscription=sub_id, starting_after="si_x")
    assert (status, body["error"]["message"]) == (400, "No such subscription item: 'si_x'")


def test_subscription_items_need_the_subscription_read_permission(
    server: SimulatorServer, account: Account
) -> None:
    sub_id = account.ada["id"]
    status, body = get(server, "/v1/subscription_items", key=CUSTOMERS_ONLY, subscription=sub_id)
    assert status == 403
    assert "'rak_subscription_read'" in body["error"]["message"]
    status, body = get(server, "/v1/subscription_items", key=SUBS_ONLY, subscription=sub_id)
    assert (status, len(body["data"])) == (200, 1)
    status, body = get(
        server,
        "/v1/subscription_items",
        key=SUBS_ONLY,
        subscription=sub_id,
        expand=["data.price.tiers"],
    )
    assert status == 200  # the price is embedded: its tiers need no price permission
    status, body = get(
        server,
        "/v1/subscription_items",
        key=SUBS_ONLY,
        subscription=sub_id,
        expand=["data.price.product"],
    )
    assert status == 403
    assert "'rak_product_read'" in body["error"]["message"]


def test_an_event_shows_its_object_as_its_endpoint_does(
    server: SimulatorServer, account: Account
) -> None:
    """Event payloads are not expanded either: a tiered price without its tiers, a
    subscription with its first 10 items (the sync re-fetches what an event names)."""
    events = ok(server, "/v1/events", limit=100)["data"]
    created = {
        e["data"]["object"]["id"]: e["data"]["object"] for e in events if "created" in e["type"]
    }
    price = created[account.graduated["id"]]
    assert (price["tiers_mode"], "tiers" in price) == ("graduated", False)
    assert "applies_to" not in created["ADDON25"]
    items = created[account.pack["id"]]["items"]
    assert (len(items["data"]), items["has_more"], items["total_count"]) == (10, True, 12)
    (updated,) = [e for e in events if e["type"] == "customer.subscription.updated"]
    (before,) = updated["data"]["previous_attributes"]["items"]["data"]
    assert (before["quantity"], "tiers" in before["price"]) == (7, False)
    stored = next(
        e for e in server.data.objects["events"].values() if e["data"]["object"]["id"] == "ADDON25"
    )
    assert stored["data"]["object"]["applies_to"] == {"products": [account.addon_product]}
