"""The network edge against a scripted HTTP server on 127.0.0.1: retries, waits, error lines.

The server answers each request with the next scripted response (a 200 list page once the script
runs out) and records what it was asked. Retry waits go to a fake clock, so nothing sleeps.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from structlog.testing import capture_logs

from stripe_kpi.errors import (
    ConfigurationError,
    StripeAccessError,
    StripeNotFound,
    StripePermissionDenied,
)
from stripe_kpi.stripe_api import (
    API_VERSION,
    RetryPolicy,
    StripeApi,
    endpoint_key,
    key_kind,
    key_mode,
    make_client,
    permission_label,
)
from stripe_kpi.stripe_api.limiter import RateLimiter

KEY = "rk_test_51AbCdEfGhIjKlMnOpQrStUv"
EMPTY_PAGE = {"object": "list", "url": "/v1/x", "data": [], "has_more": False}
RATE_LIMITED = {
    "error": {
        "message": "Too many requests hit the API too quickly. We recommend an exponential "
        "backoff of your requests.",
        "type": "invalid_request_error",
        "code": "rate_limit",
    }
}
SERVER_ERROR = {"error": {"message": "An unknown error occurred", "type": "api_error"}}
CONFLICT = {"error": {"message": "Lock timeout", "type": "invalid_request_error"}}
BAD_KEY = {
    "error": {
        "message": f"Invalid API Key provided: {KEY[:12]}****************UvXy",
        "type": "invalid_request_error",
    }
}
NO_SUBSCRIPTION_READ = {
    "error": {
        "message": "The provided key 'rk_test_*****************************************Uv' does "
        "not have the required permissions for this endpoint on account 'acct_1PJBLEBBLEfV'. "
        "Having the 'rak_subscription_read' permission would allow this request to continue.",
        "type": "invalid_request_error",
    }
}


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=lambda: EMPTY_PAGE)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class StubStripe:
    """What the handler answers (``script``) and what it was asked (``seen``)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.script: deque[Reply] = deque()
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    def then(self, status: int = 200, body: object = EMPTY_PAGE, **headers: str) -> StubStripe:
        self.script.append(
            Reply(status, body, {k.replace("_", "-"): v for k, v in headers.items()})
        )
        return self

    def next_reply(self, seen: Seen) -> Reply:
        with self.lock:
            self.seen.append(seen)
            return self.script.popleft() if self.script else Reply()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as with api.stripe.com
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def do_GET(self) -> None:
        stub: StubStripe = self.server.stub  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        reply = stub.next_reply(Seen(parts.path, parse_qs(parts.query), dict(self.headers)))
        body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def stub() -> Iterator[StubStripe]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    server.stub = StubStripe(f"http://{host}:{port}")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server.stub  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class FakeClock:
    """Virtual time for the retry loop: ``sleep`` records the wait and advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client(
    base: str,
    clock: FakeClock,
    *,
    jitter=lambda: 1.0,
    limiter: RateLimiter | None = None,
    key: str = KEY,
    **retry: float,
) -> StripeApi:
    """A client whose retry waits land in ``clock``; its limiter is so generous that it never
    waits (real time, so its pacing does not mix with the retry waits being asserted)."""
    return make_client(
        key,
        base,
        limiter=limiter or RateLimiter(1_000_000),
        retry=RetryPolicy(**retry),
        clock=clock,
        sleep=clock.sleep,
        jitter=jitter,
    )


@pytest.fixture
def api(stub: StubStripe, clock: FakeClock) -> Iterator[StripeApi]:
    with client(stub.base, clock) as stripe_api:
        yield stripe_api


# -- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "kind", "mode"),
    [
        ("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "secret", "test"),
        ("sk_live_51AbCdEf", "secret", "live"),
        ("rk_test_51AbCdEf", "restricted", "test"),
        ("rk_live_51AbCdEf", "restricted", "live"),
    ],
)
def test_key_kind_and_mode(key: str, kind: str, mode: str) -> None:
    assert key_kind(key) == kind
    assert key_mode(key) == mode


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "STRIPE_API_KEY is empty: set it to a restricted key (rk_live_…) with read access"),
        (
            " rk_live_51AbCdEf",
            "STRIPE_API_KEY has surrounding spaces or quotes: set it to the key alone",
        ),
        (
            '"rk_live_51AbCdEf"',
            "STRIPE_API_KEY has surrounding spaces or quotes: set it to the key alone",
        ),
        (
            "pk_live_51AbCdEf",
            "STRIPE_API_KEY is a publishable key (pk_…), which cannot read billing data: use a "
            "restricted key (rk_…) with read access, or a secret key (sk_…)",
        ),
        (
            "whsec_51AbCdEf",
            "STRIPE_API_KEY is not a Stripe secret or restricted key (expected sk_test_…, "
            "sk_live_…, rk_test_… or rk_live_…)",
        ),
        (
            "sk_prod_51AbCdEf",
            "STRIPE_API_KEY is not a Stripe secret or restricted key (expected sk_test_…, "
            "sk_live_…, rk_test_… or rk_live_…)",
        ),
    ],
)
def test_malformed_keys_get_a_line_that_never_shows_the_key(key: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        key_mode(key)
    assert caught.value.message == message
    assert "51AbCdEf" not in message
    with pytest.raises(ConfigurationError):
        key_kind(key)


def test_client_refuses_a_malformed_base_address(clock: FakeClock) -> None:
    with pytest.raises(ConfigurationError, match="STRIPE_API_BASE must be a base address"):
        client("ftp://example.com", clock)


def test_repr_never_shows_the_key(api: StripeApi, stub: StubStripe) -> None:
    assert repr(api) == f"StripeApi(api_base='{stub.base}', mode='test', kind='restricted')"


# -- endpoints and permissions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v1/invoices", "/v1/invoices"),
        ("/v1/invoices?limit=100", "/v1/invoices"),
        ("/v1/invoices/in_1NsBcdLkdIwHu7ix", "/v1/invoices/{id}"),
        ("/v1/invoices/in_1NsBcdLkdIwHu7ix/lines", "/v1/invoices/{id}/lines"),
        ("/v1/credit_notes", "/v1/credit_notes"),
        ("/v1/plans/gold-monthly", "/v1/plans/{id}"),
        ("/v1/billing_portal/configurations", "/v1/billing_portal/configurations"),
        ("/v1/account", "/v1/account"),
    ],
)
def test_endpoint_key_groups_requests_as_stripe_counts_them(path: str, key: str) -> None:
    assert endpoint_key(path) == key


@pytest.mark.parametrize(
    ("permission", "label"),
    [
        ("rak_subscription_read", ("Subscriptions", "read")),
        ("rak_invoice_read", ("Invoices", "read")),
        ("rak_plan_read", ("Prices", "read")),
        ("rak_credit_note_read", ("Credit notes", "read")),
        ("rak_tax_rate_read", ("Tax rates", "read")),
        ("rak_balance_read", ("Balance", "read")),
        ("rak_webhook_write", ("Webhooks", "write")),
    ],
)
def test_permission_label_uses_dashboard_names(permission: str, label: tuple[str, str]) -> None:
    assert permission_label(permission) == label


# -- success ------------------------------------------------------------------------------------


def test_list_page_sends_pinned_version_key_and_form_encoded_params(
    api: StripeApi, stub: StubStripe
) -> None:
    page = {
        "object": "list",
        "url": "/v1/invoices",
        "has_more": True,
        "data": [
            {
                "id": "in_1",
                "object": "invoice",
                "amount_due": 4999,
                "lines": {"object": "list", "data": [], "has_more": False},
                "parent": {"subscription_details": {"subscription": "sub_1"}},
                "pricing": {"unit_amount_decimal": "1234.5678900000"},
            }
        ],
    }
    stub.then(body=page)
    params = {
        "limit": 100,
        "created": {"gte": 1700000000, "lt": 1710000000},
        "expand": ["data.discounts", "data.lines"],
        "status": None,
    }
    assert api.list_page("/v1/invoices", params) == page
    [seen] = stub.seen
    assert seen.path == "/v1/invoices"
    assert seen.query == {
        "limit": ["100"],
        "created[gte]": ["1700000000"],
        "created[lt]": ["1710000000"],
        "expand[0]": ["data.discounts"],
        "expand[1]": ["data.lines"],
    }
    assert seen.headers["Authorization"] == f"Bearer {KEY}"
    assert seen.headers["Stripe-Version"] == API_VERSION == "2026-10-28.endive"


def test_responses_are_plain_dicts_with_stripes_exact_values(
    api: StripeApi, stub: StubStripe
) -> None:
    """Decimal strings stay strings (StripeObject would make them Decimal); no OrderedDict."""
    price = {"id": "price_1", "unit_amount_decimal": "0.0125", "metadata": {"tier": "a"}}
    stub.then(body=price)
    got = api.retrieve("/v1/prices/price_1")
    assert got == price
    assert type(got) is dict
    assert type(got["metadata"]) is dict
    assert got["unit_amount_decimal"] == "0.0125"


def test_retrieve_and_account_paths(api: StripeApi, stub: StubStripe) -> None:
    stub.then(body={"id": "in_1", "object": "invoice"})
    stub.then(body={"id": "acct_1", "object": "account"})
    assert api.retrieve("/v1/invoices/in_1", {"expand": ["discounts"]})["id"] == "in_1"
    assert api.account()["id"] == "acct_1"
    assert [(s.path, s.query) for s in stub.seen] == [
        ("/v1/invoices/in_1", {"expand[0]": ["discounts"]}),
        ("/v1/account", {}),
    ]


def test_a_trailing_slash_on_the_base_address_is_harmless(
    stub: StubStripe, clock: FakeClock
) -> None:
    with client(stub.base + "/", clock) as api:
        api.list_page("/v1/customers")
    assert stub.seen[0].path == "/v1/customers"


def test_list_page_refuses_something_that_is_not_a_list(api: StripeApi, stub: StubStripe) -> None:
    stub.then(body={"id": "cus_1", "object": "customer"})
    with pytest.raises(StripeAccessError) as caught:
        api.list_page("/v1/customers")
    assert caught.value.message == (
        f"The server at {stub.base} answered GET /v1/customers without a list "
        "(no data/has_more); check STRIPE_API_BASE"
    )


# -- retries ------------------------------------------------------------------------------------


def test_429_then_200_retries_once_and_slows_the_limiter(stub: StubStripe, clock) -> None:
    limiter = RateLimiter(1_000_000, 1_000_000)
    stub.then(429, RATE_LIMITED).then(200)
    with client(stub.base, clock, limiter=limiter) as api, capture_logs() as logs:
        assert api.list_page("/v1/invoices") == EMPTY_PAGE
    assert len(stub.seen) == 2
    assert clock.waits == [0.5]  # jitter 1.0: the top of the first backoff step
    assert logs == [
        {
            "event": "stripe_retry",
            "log_level": "warning",
            "path": "/v1/invoices",
            "status": 429,
            "attempt": 1,
            "wait": 0.5,
            "reason": None,
        }
    ]
    assert limiter.current_rate("/v1/invoices") == pytest.approx(500_000, rel=0.01)


def test_backoff_doubles_up_to_the_cap_then_gives_up(stub: StubStripe, clock) -> None:
    for _ in range(10):
        stub.then(500, SERVER_ERROR)
    with (
        client(stub.base, clock, max_attempts=7, max_delay=4.0) as api,
        pytest.raises(StripeAccessError) as caught,
    ):
        api.list_page("/v1/invoices")
    assert len(stub.seen) == 7
    assert clock.waits == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert caught.value.message == (
        "Stripe kept failing GET /v1/invoices (HTTP 500) after 7 attempts over 16s; try again "
        "later (https://status.stripe.com)"
    )


def test_full_jitter_keeps_each_wait_within_its_step(stub: StubStripe, clock) -> None:
    for _ in range(8):
        stub.then(503, SERVER_ERROR)
    rng = random.Random(7)
    with (
        client(stub.base, clock, jitter=rng.random, max_attempts=8, max_delay=30) as api,
        pytest.raises(StripeAccessError),
    ):
        api.list_page("/v1/invoices")
    assert len(clock.waits) == 7
    for failures, wait in enumerate(clock.waits, start=1):
        assert 0 <= wait <= min(30, 0.5 * 2 ** (failures - 1))
    assert len(set(clock.waits)) == 7  # drawn, not fixed


def test_stripe_should_retry_false_stops_even_a_500(api: StripeApi, stub: StubStripe, clock):
    stub.then(500, SERVER_ERROR, Stripe_Should_Retry="false")
    with pytest.raises(StripeAccessError) as caught:
        api.list_page("/v1/invoices")
    assert len(stub.seen) == 1
    assert clock.waits == []
    assert caught.value.message == (
        "Stripe failed GET /v1/invoices (HTTP 500) and said a retry would not help: "
        "An unknown error occurred"
    )
    assert getattr(caught.value.__cause__, "http_status", None) == 500


def test_stripe_should_retry_false_stops_a_409(api: StripeApi, stub: StubStripe, clock) -> None:
    stub.then(409, CONFLICT, Stripe_Should_Retry="false")
    with pytest.raises(StripeAccessError, match=r"\(HTTP 409\) and said a retry would not help"):
        api.list_page("/v1/invoices")
    assert len(stub.seen) == 1


def test_a_409_is_retried_by_default(api: StripeApi, stub: StubStripe, clock) -> None:
    stub.then(409, CONFLICT).then(200)
    assert api.list_page("/v1/invoices") == EMPTY_PAGE
    assert len(stub.seen) == 2


def test_stripe_should_retry_true_retries_a_400(api: StripeApi, stub: StubStripe, clock) -> None:
    stub.then(400, CONFLICT, Stripe_Should_Retry="true").then(200)
    assert api.list_page("/v1/invoices") == EMPTY_PAGE
    assert len(stub.seen) == 2


def test_a_plain_400_is_not_retried(api: StripeApi, stub: StubStripe, clock) -> None:
    body = {
        "error": {
            "message": "Received unknown parameter: colour",
            "param": "colour",
            "type": "invalid_request_error",
        }
    }
    stub.then(400, body)
    with pytest.raises(StripeAccessError) as caught:
        api.list_page("/v1/invoices", {"colour": "red"})
    assert len(stub.seen) == 1
    assert caught.value.message == (
        "Stripe refused GET /v1/invoices (HTTP 400): Received unknown parameter: colour"
    )


def test_retry_after_is_honoured(api: StripeApi, stub: StubStripe, clock) -> None:
    stub.then(429, RATE_LIMITED, Retry_After="1").then(200)
    assert api.list_page("/v1/invoices") == EMPTY_PAGE
    assert clock.waits == [1.0]


def test_retry_after_as_an_http_date_in_the_past_means_now(api: StripeApi, stub, clock) -> None:
    stub.then(503, SERVER_ERROR, Retry_After="Wed, 21 Oct 2015 07:28:00 GMT").then(200)
    assert api.list_page("/v1/invoices") == EMPTY_PAGE
    assert clock.waits == [0.0]


def test_retry_after_as_an_http_date_counts_from_the_wall_clock(stub: StubStripe, clock) -> None:
    half_a_minute_before = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC).timestamp()
    stub.then(503, SERVER_ERROR, Retry_After="Wed, 21 Oct 2015 07:28:00 GMT").then(200)
    with make_client(
        KEY,
        stub.base,
        limiter=RateLimiter(1_000_000),
        clock=clock,
        sleep=clock.sleep,
        wall_clock=lambda: half_a_minute_before,
    ) as api:
        assert api.list_page("/v1/invoices") == EMPTY_PAGE
    assert clock.waits == [30.0]


def test_retry_after_is_capped(api: StripeApi, stub: StubStripe, clock) -> None:
    stub.then(429, RATE_LIMITED, Retry_After="3600").then(200)
    api.list_page("/v1/invoices")
    assert clock.waits == [60.0]


def test_max_elapsed_bounds_the_whole_call(stub: StubStripe, clock) -> None:
    for _ in range(5):
        stub.then(429, RATE_LIMITED, Retry_After="10")
    with (
        client(stub.base, clock, max_elapsed=15) as api,
        pytest.raises(StripeAccessError) as caught,
    ):
        api.list_page("/v1/invoices")
    assert len(stub.seen) == 2
    assert clock.waits == [10.0]
    assert caught.value.message == (
        "Stripe kept rate-limiting GET /v1/invoices (429) after 2 attempts over 10s; try again "
        "later, or lower STRIPE_KPI_RATE_LIMIT"
    )


def test_every_attempt_passes_the_limiter_by_endpoint(stub: StubStripe, clock) -> None:
    class RecordingLimiter(RateLimiter):
        def __init__(self) -> None:
            super().__init__(1_000_000)
            self.calls: list[tuple[str, str]] = []

        def acquire(self, endpoint: str = "") -> float:
            self.calls.append(("acquire", endpoint))
            return super().acquire(endpoint)

        def note_rate_limited(self, endpoint: str = "") -> None:
            self.calls.append(("429", endpoint))
            super().note_rate_limited(endpoint)

    limiter = RecordingLimiter()
    stub.then(429, RATE_LIMITED).then(500, SERVER_ERROR).then(200)
    with client(stub.base, clock, limiter=limiter) as api:
        api.list_page("/v1/invoices/in_1NsBcdLkdIwHu7ix/lines")
    endpoint = "/v1/invoices/{id}/lines"
    assert limiter.calls == [
        ("acquire", endpoint),
        ("429", endpoint),
        ("acquire", endpoint),
        ("acquire", endpoint),
    ]


# -- errors the founder reads -----------------------------------------------------------------


def test_401_stops_at_once_with_a_line_about_the_key(api: StripeApi, stub: StubStripe, clock):
    stub.then(401, BAD_KEY, Stripe_Should_Retry="true")
    with pytest.raises(StripeAccessError) as caught:
        api.account()
    assert len(stub.seen) == 1
    assert clock.waits == []
    assert caught.value.message == (
        "Stripe rejected the API key (401): check STRIPE_API_KEY; the key may be mistyped, "
        "expired or revoked (Dashboard → Developers → API keys)"
    )


def test_403_names_the_missing_permission(api: StripeApi, stub: StubStripe, clock) -> None:
    stub.then(403, NO_SUBSCRIPTION_READ)
    with pytest.raises(StripeAccessError) as caught:
        api.list_page("/v1/subscriptions", {"status": "all"})
    assert len(stub.seen) == 1
    assert caught.value.message == (
        "Stripe refused GET /v1/subscriptions (403): the key lacks the 'Subscriptions: read' "
        "permission; create a restricted key with read access to Subscriptions (Dashboard → "
        "Developers → API keys), or add that permission to this key"
    )
    assert getattr(caught.value.__cause__, "http_status", None) == 403
    assert isinstance(caught.value, StripePermissionDenied)  # doctor catches the meaning
    assert caught.value.exit_code == StripeAccessError.exit_code


def test_403_without_a_named_permission_passes_stripes_words_on(
    api: StripeApi, stub: StubStripe
) -> None:
    body = {
        "error": {
            "message": "This is a restricted API key, but the required permissions are not "
            "available for use by restricted keys. Key: rk_test_****Uv",
            "type": "invalid_request_error",
        }
    }
    stub.then(403, body)
    with pytest.raises(StripeAccessError) as caught:
        api.list_page("/v1/events")
    assert caught.value.message == (
        "Stripe refused GET /v1/events (403): This is a restricted API key, but the required "
        "permissions are not available for use by restricted keys. Key: [key]; give the key "
        "read access to this resource (Dashboard → Developers → API keys)"
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_retried_then_names_the_address(clock: FakeClock) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with (
        client(base, clock, max_attempts=3) as api,
        capture_logs() as logs,
        pytest.raises(StripeAccessError) as caught,
    ):
        api.list_page("/v1/customers")
    assert clock.waits == [0.5, 1.0]
    assert [(log["attempt"], log["status"], log["reason"]) for log in logs] == [
        (1, None, "Connection refused"),
        (2, None, "Connection refused"),
    ]
    assert caught.value.message == (
        f"Cannot reach the Stripe API at {base}: Connection refused (3 attempts over 2s); "
        "check the network connection and proxy, or STRIPE_API_BASE"
    )


def test_malformed_json_on_200_is_not_retried(api: StripeApi, stub: StubStripe, clock) -> None:
    stub.then(200, b"<html><body>Welcome to the hotel wifi</body></html>")
    with pytest.raises(StripeAccessError) as caught:
        api.list_page("/v1/customers")
    assert len(stub.seen) == 1
    assert caught.value.message == (
        f"The server at {stub.base} answered GET /v1/customers with HTTP 200 and a body that is "
        "not Stripe's JSON; check STRIPE_API_BASE"
    )


def test_truncated_json_is_refused(api: StripeApi, stub: StubStripe) -> None:
    stub.then(200, b'{"object": "list", "data": [')
    with pytest.raises(StripeAccessError, match="a body that is not Stripe's JSON"):
        api.list_page("/v1/customers")


def test_malformed_json_on_502_is_retried(api: StripeApi, stub: StubStripe, clock) -> None:
    stub.then(502, b"<html>Bad Gateway</html>").then(200)
    assert api.list_page("/v1/customers") == EMPTY_PAGE
    assert len(stub.seen) == 2


def test_a_json_body_that_is_not_an_object_is_refused(api: StripeApi, stub: StubStripe) -> None:
    stub.then(200, [1, 2, 3])
    with pytest.raises(StripeAccessError, match="with JSON that is not an object"):
        api.retrieve("/v1/customers/cus_1")


def test_the_key_never_reaches_logs_or_messages(stub: StubStripe, clock: FakeClock) -> None:
    secret = "sk_live_51SuperSecretKeyValue"
    stub.then(429, RATE_LIMITED).then(500, SERVER_ERROR)
    stub.then(401, {"error": {"message": f"Invalid API Key provided: {secret}"}})
    with (
        client(stub.base, clock, key=secret) as api,
        capture_logs() as logs,
        pytest.raises(StripeAccessError) as caught,
    ):
        api.list_page("/v1/invoices")
    assert len(logs) == 2
    assert "SuperSecret" not in repr(logs)
    assert "SuperSecret" not in caught.value.message
    assert "SuperSecret" not in repr(api)


# -- threads ------------------------------------------------------------------------------------


def test_one_client_shared_by_many_threads(api: StripeApi, stub: StubStripe) -> None:
    errors: list[BaseException] = []
    results: list[dict] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            for page in range(10):
                got = api.list_page("/v1/invoices", {"created": {"gte": index}, "page": page})
                with lock:
                    results.append(got)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 160
    assert len(stub.seen) == 160
    assert {s.query["created[gte]"][0] for s in stub.seen} == {str(i) for i in range(16)}
    assert len(api._sessions) == 16  # one pooled session per thread, all closed by close()


def test_request_option_names_are_refused_as_query_parameters(api: StripeApi, stub) -> None:
    with pytest.raises(ValueError, match="not sendable as query parameters: api_key, base"):
        api.list_page("/v1/customers", {"api_key": "x", "base": "files", "limit": 1})
    assert stub.seen == []


def test_client_from_settings_uses_base_and_rate_limits(stub: StubStripe) -> None:
    from stripe_kpi.config import load_settings
    from stripe_kpi.stripe_api import client_from_settings

    settings = load_settings(
        STRIPE_API_KEY="rk_live_51AbCdEfGh",
        STRIPE_API_BASE=stub.base,
        STRIPE_KPI_RATE_LIMIT=400,
        STRIPE_KPI_RATE_LIMIT_PER_ENDPOINT=80,
    )
    with client_from_settings(settings, retry=RetryPolicy(max_attempts=1)) as api:
        assert (api.mode, api.kind, api.api_base) == ("live", "restricted", stub.base)
        assert api.retry.max_attempts == 1
        assert api.limiter.current_rate() == 400
        assert api.limiter.current_rate("/v1/invoices") == 80
        assert api.list_page("/v1/invoices") == EMPTY_PAGE


def test_404_is_not_retried_and_keeps_the_stripe_error_as_cause(api: StripeApi, stub) -> None:
    """The SDK's error stays the cause (``--debug`` shows it); the type says "not found"."""
    missing = {
        "error": {
            "message": "No such invoice: 'in_gone'",
            "type": "invalid_request_error",
            "code": "resource_missing",
        }
    }
    stub.then(404, missing)
    with pytest.raises(StripeAccessError) as caught:
        api.retrieve("/v1/invoices/in_gone")
    assert len(stub.seen) == 1
    assert caught.value.message == (
        "Stripe refused GET /v1/invoices/in_gone (HTTP 404): No such invoice: 'in_gone'"
    )
    assert getattr(caught.value.__cause__, "http_status", None) == 404
    assert getattr(caught.value.__cause__, "code", None) == "resource_missing"


def test_404_for_an_object_raises_stripe_not_found(api: StripeApi, stub: StubStripe) -> None:
    """Callers catch the meaning ("Stripe has no such object"), and a caller that still catches
    ``StripeAccessError`` gets the same error and the same line as before."""
    stub.then(
        404,
        {
            "error": {
                "message": "No such customer: 'cus_gone'",
                "type": "invalid_request_error",
                "code": "resource_missing",
                "param": "id",
            }
        },
    )
    with pytest.raises(StripeNotFound) as caught:
        api.retrieve("/v1/customers/cus_gone")
    assert isinstance(caught.value, StripeAccessError)
    assert caught.value.exit_code == StripeAccessError.exit_code
    assert caught.value.message == (
        "Stripe refused GET /v1/customers/cus_gone (HTTP 404): No such customer: 'cus_gone'"
    )
    assert len(stub.seen) == 1


def test_an_unknown_cursor_is_a_400_that_raises_stripe_not_found(
    api: StripeApi, stub: StubStripe
) -> None:
    """An id Stripe does not know in a parameter (a list's cursor) comes as a 400 with
    ``resource_missing``, not a 404: it is the same meaning."""
    stub.then(
        400,
        {
            "error": {
                "message": "No such event: 'evt_gone'",
                "type": "invalid_request_error",
                "code": "resource_missing",
                "param": "ending_before",
            }
        },
    )
    with pytest.raises(StripeNotFound) as caught:
        api.list_page("/v1/events", {"limit": 100, "ending_before": "evt_gone"})
    assert caught.value.message == (
        "Stripe refused GET /v1/events (HTTP 400): No such event: 'evt_gone'"
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            400,
            {
                "error": {
                    "message": "Received unknown parameter: colour",
                    "type": "invalid_request_error",
                    "code": "parameter_unknown",
                    "param": "colour",
                }
            },
        ),
        (404, b"<html>Not Found</html>"),  # not Stripe's answer about an object: a wrong server
    ],
)
def test_other_refusals_are_not_stripe_not_found(
    api: StripeApi, stub: StubStripe, status: int, body: object
) -> None:
    stub.then(status, body)
    with pytest.raises(StripeAccessError) as caught:
        api.list_page("/v1/customers")
    assert not isinstance(caught.value, StripeNotFound)
