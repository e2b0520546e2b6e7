"""The simulator's request → reply logic, without sockets.

Authentication, restricted-key permissions, the fault knobs (latency, rate limit, random 429 /
500 / malformed bodies), routing to the list and retrieve endpoints, rendering and ``expand[]``.
``SimulatorServer`` (``simulator_server.py``) puts it behind HTTP.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

import orjson
import stripe

from stripe_kpi.simulator.data import StripeData, StripeDict
from stripe_kpi.simulator.server.errors import (
    StripeHTTPError,
    api_error,
    expired_api_key,
    invalid_api_key,
    missing_api_key,
    missing_parameter,
    missing_permission,
    rate_limited,
    resource_missing,
    unknown_parameter,
    unrecognized_url,
)
from stripe_kpi.simulator.server.expand import Resolver, expand_list, expand_object
from stripe_kpi.simulator.server.filters import SPECS, Params, as_list, text
from stripe_kpi.simulator.server.http import HTTPReply
from stripe_kpi.simulator.server.lists import AccountIndex, render, shown_item, shown_line
from stripe_kpi.simulator.server.params import (
    PageRequest,
    parse_list_request,
    parse_query,
    pop_page_params,
)
from stripe_kpi.simulator.server.versions import event_at_version

#: The one API version the simulator speaks: the installed ``stripe`` package's.
API_VERSION: str = stripe.api_version

#: The permission a restricted key needs per resource (the names Stripe's dashboard uses;
#: prices still go by their old name, plans). ``account`` is taken from one observed 403 for
#: GET /v1/account with a restricted key (stripe-node#2246): a best guess.
PERMISSIONS = {
    "customers": "rak_customer_read",
    "products": "rak_product_read",
    "prices": "rak_plan_read",
    "coupons": "rak_coupon_read",
    "tax_rates": "rak_tax_rate_read",
    "subscriptions": "rak_subscription_read",
    # Schedules are read with the Subscriptions permission (a guess: the dashboard lists no
    # permission of their own).
    "subscription_schedules": "rak_subscription_read",
    "invoices": "rak_invoice_read",
    "events": "rak_event_read",
    # Guessed from the dashboard's "Credit notes" and "Invoice items" rows (not confirmed).
    "credit_notes": "rak_credit_note_read",
    "invoiceitems": "rak_invoice_item_read",
    "account": "rak_accounts_kyc_id_numbers_read",
}
#: The objects whose ``lines`` sub-list pages at ``/v1/<kind>/{id}/lines``, and what a line is.
_LINES_OF = {"invoices": "line_item", "credit_notes": "credit_note_line_item"}
MALFORMED_BODY = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


class TokenBucket:
    """Stripe limits requests per second with token buckets: a burst of up to one second's
    allowance, then one request per ``1/rate`` seconds. ``rate`` is read on every call, so the
    knob can change while the server runs."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens: float | None = None
        self._stamp = 0.0
        self._lock = threading.Lock()

    def take(self, rate: float) -> bool:
        with self._lock:
            now = self._clock()
            capacity = max(rate, 1.0)
            if self._tokens is None:
                self._tokens = capacity
            else:
                self._tokens = min(capacity, self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


def _check_test_key(key: str) -> str:
    if not key.startswith(("sk_test_", "rk_test_")):
        raise ValueError("the simulator accepts test keys only (sk_test_… or rk_test_…)")
    return key


@dataclass
class Knobs:
    """Fault injection, all mutable while the server runs (``server.knobs.latency = 0.2``)."""

    latency: float = 0.0
    rate_limit: float | None = None
    endpoint_rate_limit: float | None = None
    rate_limit_fraction: float = 0.0
    fault_rate: float = 0.0
    malformed_rate: float = 0.0
    #: The account's default API version, at which events are rendered (None: the pinned one).
    account_api_version: str | None = None


@dataclass
class Counts:
    total: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)


class StripeAPI:
    """The request → reply logic, without sockets: auth, knobs, routing, paging, expansion."""

    def __init__(
        self,
        data: StripeData,
        *,
        api_key: str,
        restricted_keys: Mapping[str, Iterable[str]],
        revoked_keys: Iterable[str],
        knobs: Knobs,
        seed: int,
        clock: Callable[[], float],
    ) -> None:
        self.api_key = _check_test_key(api_key)
        self.restricted_keys = {
            _check_test_key(k): frozenset(perms) for k, perms in restricted_keys.items()
        }
        self.revoked_keys = frozenset(revoked_keys)
        self.knobs = knobs
        self.index = AccountIndex(data)
        self.counts = Counts()
        self._random = random.Random(seed)
        self._clock = clock
        self._bucket = TokenBucket(clock)
        self._endpoint_buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def counts_snapshot(self) -> Counts:
        with self._lock:
            counts = self.counts
            return Counts(
                counts.total,
                Counter(counts.by_path),
                Counter(counts.by_endpoint),
                Counter(counts.by_status),
            )

    def reset_counts(self) -> None:
        with self._lock:
            self.counts = Counts()

    # -- the pipeline ------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> HTTPReply:
        path, _, query = target.partition("?")
        endpoint = _endpoint(method, path)
        with self._lock:
            self.counts.total += 1
            self.counts.by_path[path] += 1
            self.counts.by_endpoint[endpoint] += 1
            draws = [self._random.random() for _ in range(3)]
        if self.knobs.latency > 0:
            time.sleep(self.knobs.latency)
        try:
            index = self.index  # one snapshot per request, even if the data is swapped meanwhile
            key = self._authenticate(headers.get("Authorization"))
            self._throttle(endpoint, draws[0])
            if draws[1] < self.knobs.fault_rate:
                raise api_error()
            if method != "GET":
                reply = self._error(StripeHTTPError(405, _read_only(method, path)))
            else:
                body = self._route(index, path, parse_query(query), key)
                if draws[2] < self.knobs.malformed_rate:
                    reply = HTTPReply(200, {"Content-Type": "text/html"}, MALFORMED_BODY)
                else:
                    reply = HTTPReply(200, {}, orjson.dumps(body))  # fast: pages are big
        except StripeHTTPError as error:
            reply = self._error(error)
        with self._lock:
            self.counts.by_status[reply.status] += 1
        reply.headers.setdefault("Content-Type", "application/json")
        reply.headers["Request-Id"] = f"req_{secrets.token_hex(7)}"
        reply.headers["Stripe-Version"] = API_VERSION
        return reply

    @staticmethod
    def _error(error: StripeHTTPError) -> HTTPReply:
        return HTTPReply(error.status, dict(error.headers), json.dumps(error.body).encode())

    def _authenticate(self, header: str | None) -> str:
        """Stripe takes the key as a Bearer token or as the user name of Basic auth."""
        if not header:
            raise missing_api_key()
        scheme, _, credentials = header.partition(" ")
        key = credentials.strip()
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(key, validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                raise invalid_api_key(key) from None
        elif scheme.lower() != "bearer":
            raise invalid_api_key(header)
        if not key:
            raise missing_api_key()
        if key in self.revoked_keys:
            raise expired_api_key(key)
        if key != self.api_key and key not in self.restricted_keys:
            raise invalid_api_key(key)
        return key

    def _require(self, index: AccountIndex, key: str, resource: str) -> None:
        granted = self.restricted_keys.get(key)
        if granted is None:
            return
        permission = PERMISSIONS.get(resource)
        if permission is None or permission in granted:
            return
        raise missing_permission(key, index.data.account.get("id", ""), permission)

    def _throttle(self, endpoint: str, draw: float) -> None:
        knobs = self.knobs
        if knobs.rate_limit is not None and not self._bucket.take(knobs.rate_limit):
            raise rate_limited("global-rate")
        if knobs.endpoint_rate_limit is not None:
            with self._lock:
                bucket = self._endpoint_buckets.setdefault(endpoint, TokenBucket(self._clock))
            if not bucket.take(knobs.endpoint_rate_limit):
                raise rate_limited("endpoint-rate")
        if draw < knobs.rate_limit_fraction:
            raise rate_limited("global-rate")

    # -- routes ------------------------------------------------------------------------------

    def _route(self, index: AccountIndex, path: str, params: Params, key: str) -> StripeDict:
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if parts[0] != "v1" or len(parts) < 2:
            raise unrecognized_url("GET", path)
        resolve = _IndexResolver(self, index, key)
        if parts[1:] == ["account"]:
            self._require(index, key, "account")
            return _retrieve_one("account", render("account", index.data.account), params, resolve)
        if parts[1:] == ["subscription_items"]:
            self._require(index, key, "subscriptions")  # items are read as Subscriptions (guessed)
            return _subscription_items(index, path, params, resolve)
        kind = parts[1]
        if kind not in SPECS or len(parts) > 4:
            raise unrecognized_url("GET", path)
        self._require(index, key, kind)
        if len(parts) == 2:
            request = parse_list_request(kind, params)
            items, has_more = index.page(kind, request)
            shown = [self._render(kind, obj) for obj in items]
            return _list_body(path, expand_list(shown, request.expand, resolve), has_more)
        obj = index.get(kind, parts[2])
        if obj is None:
            raise resource_missing(SPECS[kind].object_name, parts[2])
        if len(parts) == 3:
            return _retrieve_one(kind, self._render(kind, obj), params, resolve)
        line_object = _LINES_OF.get(kind)
        if line_object is None or parts[3] != "lines":
            raise unrecognized_url("GET", path)
        page = _page_request(params)
        lines = obj.get("lines", {}).get("data", [])
        found, has_more = index.sublist_page(obj["id"], lines, page, line_object)
        shown = [shown_line(line) for line in found]
        return _list_body(path, expand_list(shown, page.expand, resolve), has_more)

    def _render(self, kind: str, obj: StripeDict) -> StripeDict:
        shown = render(kind, obj)
        if kind == "events":
            return event_at_version(shown, self.knobs.account_api_version, API_VERSION)
        return shown


class _IndexResolver:
    """Expansion's view of one account snapshot for one key (see ``expand.Resolver``)."""

    def __init__(self, api: StripeAPI, index: AccountIndex, key: str) -> None:
        self._api, self._index, self._key = api, index, key

    def __call__(self, object_id: str, path: str) -> StripeDict | None:
        found = self._index.by_id.get(object_id)
        if found is None:
            return None
        kind, obj = found
        self._api._require(self._index, self._key, kind)  # expanding needs read access to it
        return render(kind, obj)

    def stored(self, object_id: str) -> StripeDict | None:
        found = self._index.by_id.get(object_id)
        return None if found is None else found[1]


def _page_request(params: Params) -> PageRequest:
    """A sub-list's parameters: paging and ``expand`` only."""
    page = PageRequest()
    pop_page_params(params, page)
    for name in params:
        raise unknown_parameter(name)
    return page


def _subscription_items(
    index: AccountIndex, path: str, params: Params, resolve: Resolver
) -> StripeDict:
    """``GET /v1/subscription_items?subscription=sub_…``: the items past the 10 a subscription
    embeds. "subscription (string, required): The ID of the subscription whose items will be
    retrieved"; paged like any list (https://docs.stripe.com/api/subscription_items/list). The
    items keep the subscription's order, as its embedded list shows them."""
    params = dict(params)
    if "subscription" not in params:
        raise missing_parameter("subscription")
    sub_id = text("subscription", params.pop("subscription"))
    sub = index.get("subscriptions", sub_id)
    if sub is None:
        raise resource_missing("subscription", sub_id, param="subscription")
    page = _page_request(params)
    items = sub.get("items", {}).get("data", [])
    found, has_more = index.sublist_page(sub_id, items, page, "subscription_item")
    shown = [shown_item(item) for item in found]
    return _list_body(path, expand_list(shown, page.expand, resolve), has_more)


def _retrieve_one(kind: str, shown: StripeDict, params: Params, resolve: Resolver) -> StripeDict:
    """One object as the API shows it (``shown``, rendered), expanded as asked."""
    paths = as_list("expand", params.pop("expand", []))
    for name in params:
        raise unknown_parameter(name)
    return expand_object(shown, paths, resolve)


def _list_body(url: str, data: list[StripeDict], has_more: bool) -> StripeDict:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _endpoint(method: str, path: str) -> str:
    """Stripe counts an endpoint per operation: every id of ``/v1/customers/:id`` is one."""
    parts = path.strip("/").split("/")
    if len(parts) >= 3:
        parts[2] = ":id"
    return f"{method} /{'/'.join(parts)}"


def _read_only(method: str, path: str) -> dict[str, str]:
    message = f"The Stripe simulator is read-only: {method} {path} is not served."
    return {"type": "invalid_request_error", "message": message}
