"""The simulator's HTTP server, exercised through the official ``stripe`` client, unchanged.

Every expected id and order below is worked out by hand from the small account built in
``build_account()``: T is an arbitrary epoch second, and ``created`` offsets from it fix the order
Stripe lists in (newest first; within one second, the object added last first).
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe

from stripe_kpi.simulator.data import StripeData
from stripe_kpi.simulator.server import (
    API_VERSION,
    DEFAULT_API_KEY,
    SimulatorServer,
    serve_forever,
)

T = 1_700_000_000
RESTRICTED = "rk_test_readonly_customers_9Xy4Qp"
SUBS_ONLY = "rk_test_subscriptions_only_3Zz8Lm"
REVOKED = "sk_test_rolled_last_month_77Ab"


def customer(cid: str, created: int, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "object": "customer", "created": created, "email": f"{cid}@x.test", **extra}


def price(pid: str, created: int, *, active: bool) -> dict[str, Any]:
    return {"id": pid, "object": "price", "created": created, "active": active, "product": "p1"}


def subscription(
    sid: str, cus: str, status: str, created: int, latest_invoice: str | None = None
) -> dict[str, Any]:
    item = {"id": f"si_{sid}", "object": "subscription_item", "price": {"id": "price_m"}}
    return {
        "id": sid,
        "object": "subscription",
        "created": created,
        "customer": cus,
        "status": status,
        "discounts": [],
        "latest_invoice": latest_invoice,
        "items": {"object": "list", "data": [item], "has_more": False, "url": "/v1/x"},
    }


def invoice(iid: str, cus: str, sub: str, status: str, created: int, lines: int) -> dict[str, Any]:
    data = [{"id": f"il_{iid}_{n:02d}", "object": "line_item", "amount": n} for n in range(lines)]
    return {
        "id": iid,
        "object": "invoice",
        "created": created,
        "customer": cus,
        "status": status,
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub}},
        "lines": {"object": "list", "data": data, "has_more": False, "url": f"/v1/x/{iid}"},
    }


def event(eid: str, kind: str, created: int) -> dict[str, Any]:
    return {"id": eid, "object": "event", "type": kind, "created": created, "data": {}}


def build_account() -> StripeData:
    data = StripeData(account={"id": "acct_sim", "object": "account"}, now=T + 1000)
    for cid, offset in [("cus_01", 10), ("cus_02", 20), ("cus_03", 20), ("cus_04", 30)]:
        data.add("customers", customer(cid, T + offset))
    data.add("customers", customer("cus_05", T + 40))
    data.add("customers", customer("cus_06", T + 50))
    data.add("customers", {"id": "cus_gone", "object": "customer", "deleted": True, "created": T})
    data.add("prices", price("price_m", T + 5, active=True))
    data.add("prices", price("price_old", T + 3, active=False))
    data.add("subscriptions", subscription("sub_1", "cus_01", "active", T + 100, "in_1"))
    data.add("subscriptions", subscription("sub_2", "cus_02", "canceled", T + 110))
    data.add("subscriptions", subscription("sub_3", "cus_01", "past_due", T + 120))
    data.add("subscriptions", subscription("sub_4", "cus_03", "incomplete_expired", T + 130))
    data.add("subscriptions", subscription("sub_5", "cus_04", "trialing", T + 140))
    data.objects["subscriptions"]["sub_1"]["discounts"] = ["di_1"]
    data.add("discounts", {"id": "di_1", "object": "discount", "subscription": "sub_1"})
    data.add("invoices", invoice("in_1", "cus_01", "sub_1", "paid", T + 200, lines=23))
    data.add("invoices", invoice("in_2", "cus_02", "sub_2", "void", T + 210, lines=1))
    data.add("invoices", invoice("in_3", "cus_01", "sub_3", "open", T + 220, lines=0))
    for eid, kind, offset in [
        ("evt_1", "customer.created", 300),
        ("evt_2", "customer.subscription.created", 310),
        ("evt_3", "invoice.paid", 320),
        ("evt_4", "customer.subscription.updated", 330),
        ("evt_5", "invoice.paid", 340),
    ]:
        data.add("events", event(eid, kind, T + offset))
    return data


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(
        build_account(),
        restricted_keys={
            RESTRICTED: {"rak_customer_read"},
            SUBS_ONLY: {"rak_subscription_read"},
        },
        revoked_keys={REVOKED},
    ) as running:
        yield running


@contextmanager
def official_client(server: SimulatorServer, key: str | None = None) -> Iterator:
    """The SDK as a sync would build it; its keep-alive session is closed afterwards."""
    http_client = stripe.RequestsClient()
    try:
        yield stripe.StripeClient(
            key or server.api_key,
            base_addresses={"api": server.url},
            max_network_retries=0,
            http_client=http_client,
        )
    finally:
        http_client.close()


@pytest.fixture
def client(server: SimulatorServer) -> Iterator[stripe.StripeClient]:
    with official_client(server) as sdk:
        yield sdk


def raw_get(
    server: SimulatorServer, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection, closed at once: for what the SDK will not send."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def bearer(key: str = DEFAULT_API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def ids(objects: Any) -> list[str]:
    return [obj.id for obj in objects]


# --- the server itself ----------------------------------------------------------------------


def test_listens_on_loopback_on_a_free_port(server: SimulatorServer) -> None:
    parts = urlsplit(server.url)
    assert parts.scheme == "http"
    assert parts.hostname == "127.0.0.1"
    assert parts.port is not None
    assert parts.port > 0
    assert server.api_key == DEFAULT_API_KEY


def test_constructor_refuses_live_keys() -> None:
    with pytest.raises(ValueError, match="test keys only"):
        SimulatorServer(build_account(), api_key="sk_live_abc")


def test_responses_carry_request_id_and_the_pinned_version(server: SimulatorServer) -> None:
    status, headers, body = raw_get(
        server, "/v1/account", {**bearer(), "Stripe-Version": "2020-08-27"}
    )
    assert status == 200
    assert headers["Request-Id"].startswith("req_")
    assert headers["Stripe-Version"] == API_VERSION == stripe.api_version
    assert json.loads(body) == {"id": "acct_sim", "object": "account"}


def test_account_through_the_sdk(client: stripe.StripeClient) -> None:
    assert client.v1.accounts.retrieve_current().id == "acct_sim"


def test_unknown_url_and_writes_are_refused(server: SimulatorServer) -> None:
    status, _, body = raw_get(server, "/v1/charges", bearer())
    assert status == 404
    assert json.loads(body)["error"]["message"].startswith(
        "Unrecognized request URL (GET: /v1/charges)."
    )
    status, _, body = raw_get(server, "/v1/customers", bearer(), method="POST")
    assert status == 405
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


# --- authentication and permissions ----------------------------------------------------------


def test_wrong_key_is_401_with_the_key_masked(server: SimulatorServer) -> None:
    with (
        official_client(server, "sk_test_wrongwrongwrong1234") as sdk,
        pytest.raises(stripe.AuthenticationError) as caught,
    ):
        sdk.v1.customers.list()
    assert caught.value.http_status == 401
    message = caught.value.user_message
    assert message.startswith("Invalid API Key provided: sk_test_*")
    assert message.endswith("1234")
    assert "wrongwrong" not in message


def test_missing_key_is_401(server: SimulatorServer) -> None:
    status, _, body = raw_get(server, "/v1/customers")
    assert status == 401
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")


def test_basic_auth_with_the_key_as_user_is_accepted(server: SimulatorServer) -> None:
    token = base64.b64encode(f"{DEFAULT_API_KEY}:".encode()).decode()
    status, _, body = raw_get(server, "/v1/customers?limit=1", {"Authorization": f"Basic {token}"})
    assert status == 200
    assert [c["id"] for c in json.loads(body)["data"]] == ["cus_06"]


def test_revoked_key_is_401_expired(server: SimulatorServer) -> None:
    with official_client(server, REVOKED) as sdk, pytest.raises(stripe.AuthenticationError) as e:
        sdk.v1.customers.list()
    assert e.value.error.code == "api_key_expired"


def test_restricted_key_reads_what_it_may_and_is_told_what_it_lacks(
    server: SimulatorServer,
) -> None:
    with official_client(server, RESTRICTED) as sdk:
        assert len(sdk.v1.customers.list().data) == 6
        with pytest.raises(stripe.PermissionError) as caught:
            sdk.v1.subscriptions.list()
        assert caught.value.http_status == 403
        assert caught.value.user_message == (
            "The provided key 'rk_test_*********************8Lm' does not have the required "
            "permissions for this endpoint on account 'acct_sim'. Having the "
            "'rak_subscription_read' permission would allow this request to continue."
        ).replace("*********************8Lm", "*" * (len(RESTRICTED) - 14) + RESTRICTED[-6:])
        with pytest.raises(stripe.PermissionError, match="'rak_plan_read'"):
            sdk.v1.prices.list()


def test_expanding_needs_read_access_to_the_expanded_object(server: SimulatorServer) -> None:
    with official_client(server, SUBS_ONLY) as sdk:
        assert len(sdk.v1.subscriptions.list().data) == 4
        with pytest.raises(stripe.PermissionError, match="'rak_customer_read'"):
            sdk.v1.subscriptions.list({"expand": ["data.customer"]})


# --- lists: paging, order, filters ------------------------------------------------------------


def test_pages_newest_first(server: SimulatorServer, client: stripe.StripeClient) -> None:
    # created: 06=+50, 05=+40, 04=+30, 03=+20, 02=+20 (added before 03), 01=+10;
    # cus_gone is deleted: retrievable, never listed.
    everything = ids(client.v1.customers.list({"limit": 2}).auto_paging_iter())
    assert everything == ["cus_06", "cus_05", "cus_04", "cus_03", "cus_02", "cus_01"]
    assert server.request_count == 3  # 2 + 2 + 2, the last page says has_more=false


def test_same_second_lists_the_later_added_first(server: SimulatorServer) -> None:
    data = StripeData(account={"id": "acct_sim", "object": "account"}, now=T)
    for eid in ("evt_c", "evt_a", "evt_b"):  # created in this order, in one second
        data.add("events", event(eid, "invoice.paid", T))
    server.set_data(data)
    with official_client(server) as sdk:
        assert ids(sdk.v1.events.list().data) == ["evt_b", "evt_a", "evt_c"]
        page = sdk.v1.events.list({"limit": 1, "starting_after": "evt_a"})
        assert (ids(page.data), page.has_more) == (["evt_c"], False)


def test_page_fields(client: stripe.StripeClient) -> None:
    page = client.v1.customers.list({"limit": 4})
    assert page.object == "list"
    assert page.url == "/v1/customers"
    assert page.has_more is True
    assert ids(page.data) == ["cus_06", "cus_05", "cus_04", "cus_03"]
    last = client.v1.customers.list({"limit": 4, "starting_after": "cus_03"})
    assert ids(last.data) == ["cus_02", "cus_01"]
    assert last.has_more is False
    assert client.v1.customers.list().has_more is False  # default limit 10


def test_ending_before_pages_backwards(client: stripe.StripeClient) -> None:
    page = client.v1.customers.list({"limit": 2, "ending_before": "cus_02"})
    assert ids(page.data) == ["cus_04", "cus_03"]
    assert page.has_more is True
    # The SDK walks backwards from ending_before, yielding oldest first.
    backwards = client.v1.customers.list({"limit": 2, "ending_before": "cus_02"})
    assert ids(backwards.auto_paging_iter()) == ["cus_03", "cus_04", "cus_05", "cus_06"]


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (T + 20, ["cus_03", "cus_02"]),
        ({"gt": T + 20}, ["cus_06", "cus_05", "cus_04"]),
        ({"gte": T + 20, "lt": T + 50}, ["cus_05", "cus_04", "cus_03", "cus_02"]),
        ({"lte": T + 20}, ["cus_03", "cus_02", "cus_01"]),
        ({"gt": T + 60}, []),
    ],
)
def test_created_filters(client: stripe.StripeClient, created: Any, expected: list[str]) -> None:
    assert ids(client.v1.customers.list({"created": created}).auto_paging_iter()) == expected


def test_created_window_pages_with_cursor(client: stripe.StripeClient) -> None:
    page = client.v1.customers.list(
        {"created": {"gte": T + 20}, "limit": 2, "starting_after": "cus_04"}
    )
    assert ids(page.data) == ["cus_03", "cus_02"]
    assert page.has_more is False


def test_subscriptions_hide_canceled_unless_asked(client: stripe.StripeClient) -> None:
    subs = client.v1.subscriptions
    assert ids(subs.list().auto_paging_iter()) == ["sub_5", "sub_4", "sub_3", "sub_1"]
    assert ids(subs.list({"status": "all"}).auto_paging_iter()) == [
        "sub_5",
        "sub_4",
        "sub_3",
        "sub_2",
        "sub_1",
    ]
    assert ids(subs.list({"status": "canceled"}).data) == ["sub_2"]
    assert ids(subs.list({"status": "ended"}).data) == ["sub_4", "sub_2"]
    assert ids(subs.list({"status": "past_due"}).data) == ["sub_3"]
    assert ids(subs.list({"customer": "cus_01"}).data) == ["sub_3", "sub_1"]
    assert ids(subs.list({"customer": "cus_02"}).data) == []
    assert ids(subs.list({"customer": "cus_02", "status": "all"}).data) == ["sub_2"]
    with pytest.raises(stripe.InvalidRequestError, match="Invalid status"):
        subs.list({"status": "sleeping"})


def test_invoice_filters(client: stripe.StripeClient) -> None:
    invoices = client.v1.invoices
    assert ids(invoices.list().data) == ["in_3", "in_2", "in_1"]
    assert ids(invoices.list({"customer": "cus_01"}).data) == ["in_3", "in_1"]
    assert ids(invoices.list({"subscription": "sub_1"}).data) == ["in_1"]
    assert ids(invoices.list({"status": "open"}).data) == ["in_3"]
    assert ids(invoices.list({"customer": "cus_01", "status": "paid"}).data) == ["in_1"]


def test_price_active_filter(client: stripe.StripeClient) -> None:
    assert ids(client.v1.prices.list().data) == ["price_m", "price_old"]
    assert ids(client.v1.prices.list({"active": True}).data) == ["price_m"]
    assert ids(client.v1.prices.list({"active": False}).data) == ["price_old"]


def test_bad_list_requests_are_400(client: stripe.StripeClient) -> None:
    for limit, message in [(0, "greater than or equal to 1"), (101, "less than or equal to 100")]:
        with pytest.raises(stripe.InvalidRequestError, match=message) as caught:
            client.v1.customers.list({"limit": limit})
        assert caught.value.http_status == 400
        assert caught.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.list({"colour": "blue"})  # type: ignore[typeddict-unknown-key]
    assert caught.value.code == "parameter_unknown"
    assert caught.value.user_message == "Received unknown parameter: colour"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.list({"starting_after": "cus_nobody"})
    assert caught.value.code == "resource_missing"
    assert caught.value.param == "starting_after"


# --- single objects, invoice lines, expansion -------------------------------------------------


def test_retrieve_and_missing(client: stripe.StripeClient) -> None:
    assert client.v1.customers.retrieve("cus_03").email == "cus_03@x.test"
    assert client.v1.customers.retrieve("cus_gone").deleted is True
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve("cus_nobody")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert caught.value.user_message == "No such customer: 'cus_nobody'"


def test_invoice_embeds_ten_lines_and_pages_the_rest(
    server: SimulatorServer, client: stripe.StripeClient
) -> None:
    invoice = client.v1.invoices.retrieve("in_1")
    lines = invoice.lines
    assert len(lines.data) == 10
    assert lines.has_more is True
    assert lines.total_count == 23
    assert lines.url == "/v1/invoices/in_1/lines"
    every = ids(lines.auto_paging_iter())
    assert every == [f"il_in_1_{n:02d}" for n in range(23)]
    # 1 retrieve + lines after il_09 (10..19) + lines after il_19 (20..22)
    assert server.request_count == 3
    assert server.path_counts["/v1/invoices/in_1/lines"] == 2


def test_invoice_lines_endpoint(client: stripe.StripeClient) -> None:
    line_items = client.v1.invoices.line_items
    page = line_items.list("in_1", {"limit": 5, "starting_after": "il_in_1_19"})
    assert ids(page.data) == ["il_in_1_20", "il_in_1_21", "il_in_1_22"]
    assert page.has_more is False
    before = line_items.list("in_1", {"limit": 3, "ending_before": "il_in_1_05"})
    assert ids(before.data) == ["il_in_1_02", "il_in_1_03", "il_in_1_04"]
    assert before.has_more is True
    assert ids(line_items.list("in_3").data) == []


def test_listed_invoices_embed_ten_lines_too(client: stripe.StripeClient) -> None:
    paid = client.v1.invoices.list({"status": "paid"}).data[0]
    assert (len(paid.lines.data), paid.lines.has_more) == (10, True)


def test_expand_on_lists_and_objects(client: stripe.StripeClient) -> None:
    subs = client.v1.subscriptions.list(
        {"customer": "cus_01", "expand": ["data.customer", "data.discounts", "data.latest_invoice"]}
    ).data
    assert [s.customer.object for s in subs] == ["customer", "customer"]
    sub_3, sub_1 = subs
    assert sub_3.latest_invoice is None
    assert sub_1.discounts[0].object == "discount"
    assert len(sub_1.latest_invoice.lines.data) == 10  # an expanded invoice is shown as listed
    one = client.v1.subscriptions.retrieve("sub_1", {"expand": ["discounts", "customer"]})
    assert (one.discounts[0].id, one.customer.email) == ("di_1", "cus_01@x.test")
    invoices = client.v1.invoices.list({"expand": ["data.customer"], "limit": 1}).data
    assert invoices[0].customer.id == "cus_01"


def test_embedded_objects_expand_as_they_are(client: stripe.StripeClient) -> None:
    subs = client.v1.subscriptions.list({"expand": ["data.items.data.price"]}).data
    assert subs[0]["items"].data[0].price.id == "price_m"


def test_unknown_expansions_are_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.subscriptions.list({"expand": ["customer"]})
    assert caught.value.user_message == (
        "This property cannot be expanded (customer). "
        "You may want to try expanding 'data.customer' instead."
    )
    for path in ("status", "nonexistent"):
        with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
            client.v1.subscriptions.retrieve("sub_1", {"expand": [path]})


def test_stored_objects_are_never_modified_by_expansion(
    server: SimulatorServer, client: stripe.StripeClient
) -> None:
    client.v1.subscriptions.retrieve("sub_1", {"expand": ["customer", "latest_invoice"]})
    stored = server.data.objects["subscriptions"]["sub_1"]
    assert (stored["customer"], stored["latest_invoice"]) == ("cus_01", "in_1")
    assert len(server.data.objects["invoices"]["in_1"]["lines"]["data"]) == 23


# --- events ---------------------------------------------------------------------------------


def test_events_by_type_types_and_wildcard(client: stripe.StripeClient) -> None:
    events = client.v1.events
    assert ids(events.list().data) == ["evt_5", "evt_4", "evt_3", "evt_2", "evt_1"]
    assert ids(events.list({"type": "invoice.paid"}).data) == ["evt_5", "evt_3"]
    assert ids(events.list({"type": "customer.subscription.*"}).data) == ["evt_4", "evt_2"]
    types = ["customer.created", "invoice.paid"]
    assert ids(events.list({"types": types}).data) == ["evt_5", "evt_3", "evt_1"]
    assert ids(events.list({"created": {"gt": T + 320}}).data) == ["evt_5", "evt_4"]
    page = events.list({"type": "invoice.paid", "limit": 1, "starting_after": "evt_5"})
    assert (ids(page.data), page.has_more) == (["evt_3"], False)
    assert events.retrieve("evt_2").type == "customer.subscription.created"
    with pytest.raises(stripe.InvalidRequestError, match="not both"):
        events.list({"type": "invoice.paid", "types": types})


# --- swapping the account between syncs -------------------------------------------------------


def test_mutate_and_swap_data(server: SimulatorServer, client: stripe.StripeClient) -> None:
    with server.mutate() as data:
        data.add("customers", customer("cus_07", T + 60))
    assert ids(client.v1.customers.list({"limit": 1}).data) == ["cus_07"]
    fresh = StripeData(account={"id": "acct_other", "object": "account"}, now=T)
    server.set_data(fresh)
    assert client.v1.accounts.retrieve_current().id == "acct_other"
    assert client.v1.customers.list().data == []


# --- knobs: counters, latency, rate limits, faults ---------------------------------------------


def test_counters(server: SimulatorServer, client: stripe.StripeClient) -> None:
    client.v1.customers.list()
    client.v1.customers.retrieve("cus_01")
    client.v1.customers.retrieve("cus_02")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve("cus_nobody")
    assert server.request_count == 4
    assert server.path_counts["/v1/customers"] == 1
    assert server.endpoint_counts["GET /v1/customers/:id"] == 3
    assert server.status_counts == {200: 3, 404: 1}
    server.reset_counts()
    assert server.request_count == 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_answers_429_like_stripe() -> None:
    clock = FakeClock()
    with SimulatorServer(build_account(), rate_limit=2, clock=clock) as server:
        with official_client(server) as sdk:
            sdk.v1.customers.list()
            sdk.v1.customers.list()
            with pytest.raises(stripe.RateLimitError) as caught:
                sdk.v1.customers.list()
            clock.now += 0.5  # half a second refills one of the two tokens
            sdk.v1.customers.list()
        error = caught.value
        assert error.http_status == 429
        assert error.error.code == "rate_limit"
        assert error.error.type == "invalid_request_error"
        assert "stripe-should-retry" not in {k.lower() for k in error.headers}
        assert server.status_counts == {200: 3, 429: 1}
        server.rate_limit = None  # a knob, live
        assert raw_get(server, "/v1/account", bearer())[0] == 200


def test_endpoint_rate_limit_counts_each_endpoint_apart() -> None:
    clock = FakeClock()
    with (
        SimulatorServer(build_account(), endpoint_rate_limit=1, clock=clock) as server,
        official_client(server) as sdk,
    ):
        sdk.v1.customers.retrieve("cus_01")
        sdk.v1.customers.list()
        with pytest.raises(stripe.RateLimitError) as caught:
            sdk.v1.customers.retrieve("cus_02")  # same endpoint, another id
        assert caught.value.headers["Stripe-Rate-Limited-Reason"] == "endpoint-rate"


def test_injected_faults(server: SimulatorServer, client: stripe.StripeClient) -> None:
    server.fault_rate = 1.0
    with pytest.raises(stripe.APIError) as caught:
        client.v1.customers.list()
    assert caught.value.http_status == 500
    assert caught.value.headers["Stripe-Should-Retry"] == "true"
    assert caught.value.error.type == "api_error"
    server.fault_rate = 0.0
    server.rate_limit_fraction = 1.0
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.list()
    server.rate_limit_fraction = 0.0
    server.malformed_rate = 1.0
    with pytest.raises(stripe.APIError, match="Invalid response body"):
        client.v1.customers.list()


def test_faults_are_deterministic_per_seed() -> None:
    def statuses(seed: int) -> list[int]:
        with SimulatorServer(build_account(), fault_rate=0.5, seed=seed) as server:
            return [raw_get(server, "/v1/account", bearer())[0] for _ in range(12)]

    first = statuses(7)
    assert first == statuses(7)
    assert set(first) == {200, 500}
    assert first != statuses(8)


def test_latency_is_served_concurrently() -> None:
    with SimulatorServer(build_account(), latency=0.2) as server:
        start = time.monotonic()
        assert raw_get(server, "/v1/account", bearer())[0] == 200
        assert time.monotonic() - start >= 0.2
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(
                pool.map(lambda _: raw_get(server, "/v1/customers", bearer())[0], range(20))
            )
        elapsed = time.monotonic() - start
        assert codes == [200] * 20
        assert elapsed < 2.0  # one after another this would take 4 s
        assert server.request_count == 21


# --- the CLI-facing helper ----------------------------------------------------------------------


def test_serve_forever_until_stopped() -> None:
    ready: list[SimulatorServer] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=serve_forever,
        args=(build_account(),),
        kwargs={"port": 0, "on_ready": ready.append, "until": stop},
    )
    thread.start()
    try:
        for _ in range(100):
            if ready:
                break
            time.sleep(0.02)
        (running,) = ready
        assert raw_get(running, "/v1/account", bearer())[0] == 200
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
