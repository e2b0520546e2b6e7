"""The network edge: every request to Stripe (or to a server that speaks its API) goes through here.

Built on the official ``stripe.StripeClient`` for what it does well (authentication headers, the
pinned ``Stripe-Version``, form encoding of ``created[gte]=…``/``expand[0]=…``, error parsing), with
three things of our own:

* **Our retry loop, not the SDK's.** The SDK's loop (``stripe._http_client``) ignores
  ``Retry-After``, never retries a 429, and cannot talk to a shared rate limiter. So the client is
  built with ``max_network_retries=0`` and ``_get`` retries 429, 409, 5xx and retryable network
  errors with exponential backoff and full jitter, obeying ``Stripe-Should-Retry`` both ways.
* **One shared rate limiter** (``stripe_kpi.stripe_api.limiter``) that every attempt passes
  first, keyed by the endpoint (``/v1/invoices/{id}/lines``), and told about every 429 so it
  slows down.
* **Raw JSON out.** ``raw_request`` returns the body as text; we parse it into plain dicts, which is
  what the database stores. ``StripeObject`` would turn some decimal strings into ``Decimal``.

Errors the user can act on become one ``StripeAccessError`` line: a rejected key (401), a missing
restricted-key permission named in Dashboard terms (403), an address that cannot be reached. When
Stripe says the id we sent names nothing, the line comes as ``StripeNotFound`` (still a
``StripeAccessError``), so that callers catch the meaning rather than read HTTP codes.

Threads: ``StripeClient`` keeps no per-request state, and the SDK's ``RequestsClient`` already keeps
one ``requests.Session`` per thread. We still give each thread its own client over a session we
create, so that ``close()`` can close every pooled connection (the SDK's ``close`` only closes the
calling thread's session, leaving the other threads' sockets to the garbage collector).
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import requests
import stripe
import structlog
from stripe._api_version import _ApiVersion

from stripe_kpi.errors import (
    ConfigurationError,
    StripeAccessError,
    StripeNotFound,
    StripePermissionDenied,
)
from stripe_kpi.stripe_api.keys import key_kind, key_mode
from stripe_kpi.stripe_api.limiter import RateLimiter, limits_for_key
from stripe_kpi.stripe_api.messages import final_message, network_reason

if TYPE_CHECKING:
    from stripe_kpi.config import Settings

#: The API version the installed ``stripe`` package is generated for: the shape we parse.
API_VERSION: str = _ApiVersion.CURRENT
DEFAULT_API_BASE: str = stripe.DEFAULT_API_BASE

#: Connect and read timeouts in seconds. Stripe's SDK waits 80 s for an answer; connecting to an
#: address that drops packets should fail much sooner than that.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 80.0)

# ``raw_request`` takes these as request options, not as query parameters: a list parameter of
# that name would silently change the key, the version or the host instead of being sent.
_OPTION_NAMES = frozenset(
    {
        "api_key",
        "stripe_version",
        "stripe_account",
        "stripe_context",
        "max_network_retries",
        "idempotency_key",
        "content_type",
        "headers",
        "base",
        "usage",
    }
)

log = structlog.get_logger(__name__)


def endpoint_key(path: str) -> str:
    """The rate-limit key of a request path: object ids replaced by ``{id}``.

    Stripe counts each API operation as one endpoint, whatever the id: ``/v1/invoices/in_1Ab`` and
    ``/v1/invoices/in_2Cd`` share a budget. A segment is taken to be an id unless it is made only of
    lower-case letters and underscores, as collection names are (``credit_notes``); ids carry
    digits or capitals (``in_1NsBcd…``), and custom ids (old plan ids such as ``gold-monthly``)
    usually carry a dash.
    """
    bare = path.split("?", 1)[0]
    segments = [
        segment if not segment or re.fullmatch(r"[a-z_]+|v\d+", segment) else "{id}"
        for segment in bare.split("/")
    ]
    return "/".join(segments)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again. ``max_attempts`` counts the first try; ``max_elapsed`` bounds the whole
    call in seconds (a retry whose wait would pass it is not made). Waits grow as
    ``base_delay * 2**(n-1)`` capped at ``max_delay``, and each is drawn uniformly from zero to
    that ("full jitter": many threads failing together must not come back together). A server's
    ``Retry-After`` replaces the drawn wait, capped at ``max_retry_after``."""

    max_attempts: int = 8
    max_elapsed: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 60.0

    def backoff_ceiling(self, failures: int) -> float:
        """The upper bound of the wait after ``failures`` failed attempts (1, 2, …)."""
        return min(self.max_delay, self.base_delay * 2 ** (failures - 1))


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _retry_after(
    headers: Mapping[str, str] | None, wall_clock: Callable[[], float]
) -> float | None:
    """``Retry-After`` in seconds: either delta-seconds or an HTTP date (RFC 9110), which is
    counted from ``wall_clock`` (unix seconds)."""
    value = _header(headers, "retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - wall_clock()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _should_retry(err: stripe.StripeError) -> bool:
    """Stripe's own rule (``HTTPClient._should_retry``) plus 429, which the SDK never retries.

    ``Stripe-Should-Retry`` wins either way: ``false`` means a retry cannot succeed (even on a 5xx
    or 409), ``true`` means it may (a lock timeout on a 4xx, say).
    """
    if isinstance(err, stripe.APIConnectionError):
        return err.should_retry
    advice = _header(err.headers, "stripe-should-retry")
    if advice == "true":
        return True
    if advice == "false":
        return False
    status = err.http_status or 0
    return status in (409, 429) or status >= 500


def _not_found(err: stripe.StripeError) -> bool:
    """Stripe's answer that the id we sent names nothing: a 404 for the id in the path, or its
    ``resource_missing`` code for an id in a parameter, which comes as a 400 (an unknown
    ``ending_before`` cursor, say). A body that is not Stripe's error JSON (a proxy's 404 page)
    says nothing about the object."""
    if err.error is None:
        return False
    return err.http_status == 404 or err.code == "resource_missing"


class StripeApi:
    """Read-only access to one Stripe account, safe to share between threads.

    Every method returns plain JSON-ready dicts exactly as Stripe sent them. Build one with
    ``make_client``; close it (or use it as a context manager) to release pooled connections.
    """

    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        *,
        limiter: RateLimiter,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.kind, self.mode = key_kind(api_key), key_mode(api_key)
        base = (api_base or DEFAULT_API_BASE).strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+$", base):
            raise ConfigurationError(
                "STRIPE_API_BASE must be a base address such as https://api.stripe.com"
            )
        self.api_base = base
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self._api_key = api_key
        self._timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._wall_clock = wall_clock
        self._local = threading.local()
        self._requests = 0
        self._round_trip = 0.25
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    @property
    def round_trip(self) -> float:
        """Seconds a request takes on the wire and at the server (a moving average, limiter
        waits excluded): with the rate, it says how many requests must be in flight."""
        return self._round_trip

    @property
    def request_count(self) -> int:
        """Requests sent so far, retries included (the sync reports it)."""
        return self._requests

    def __repr__(self) -> str:  # never show the key
        return f"StripeApi(api_base={self.api_base!r}, mode={self.mode!r}, kind={self.kind!r})"

    def __enter__(self) -> StripeApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every thread's pooled connections. Call it once the thread pool is done."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def _client(self) -> stripe.StripeClient:
        client = getattr(self._local, "client", None)
        if client is None:
            session = requests.Session()
            with self._sessions_lock:
                self._sessions.append(session)
            client = stripe.StripeClient(
                self._api_key,
                stripe_version=API_VERSION,
                base_addresses={"api": self.api_base},
                max_network_retries=0,
                http_client=stripe.RequestsClient(session=session, timeout=self._timeout),
            )
            self._local.client = client
        return client

    # -- the read operations the sync needs ------------------------------------------------

    def list_page(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One page of a list endpoint: Stripe's list object (``data``, ``has_more``, ``url``…).

        ``params`` as Stripe documents them: ``{"limit": 100, "created": {"gte": t},
        "starting_after": "in_…", "expand": ["data.discounts"]}``; nested dicts and lists are
        form-encoded as ``created[gte]=…`` and ``expand[0]=…``.
        """
        page = self._get(path, params)
        if not isinstance(page.get("data"), list) or not isinstance(page.get("has_more"), bool):
            raise StripeAccessError(
                f"The server at {self.api_base} answered GET {path} without a list "
                "(no data/has_more); check STRIPE_API_BASE"
            )
        return page

    def retrieve(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One object, e.g. ``retrieve("/v1/invoices/in_123", {"expand": ["discounts"]})``."""
        return self._get(path, params)

    def account(self) -> dict[str, Any]:
        """The account the key belongs to (``GET /v1/account``), for ``doctor`` to name it."""
        return self._get("/v1/account", None)

    # -- the retry loop ---------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        clashes = _OPTION_NAMES.intersection(params or {})
        if clashes:
            raise ValueError(f"not sendable as query parameters: {', '.join(sorted(clashes))}")
        endpoint = endpoint_key(path)
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire(endpoint)
            with self._sessions_lock:
                self._requests += 1
            try:
                sent = time.monotonic()
                body = self._fetch(path, dict(params or {}))
                self._round_trip = 0.9 * self._round_trip + 0.1 * (time.monotonic() - sent)
            except stripe.StripeError as err:
                status = err.http_status
                if status == 429:
                    self.limiter.note_rate_limited(endpoint)
                if status in (401, 403) or not _should_retry(err):
                    raise self._final_error(err, path, attempt, started, exhausted=False) from err
                wait = self._wait_before_retry(err, attempt)
                if (
                    attempt >= self.retry.max_attempts
                    or self._clock() - started + wait > self.retry.max_elapsed
                ):
                    raise self._final_error(err, path, attempt, started, exhausted=True) from err
                log.warning(
                    "stripe_retry",
                    path=path,
                    status=status,
                    attempt=attempt,
                    wait=round(wait, 3),
                    reason=network_reason(err)
                    if isinstance(err, stripe.APIConnectionError)
                    else None,
                )
                self._sleep(wait)
                continue
            return self._decode(body, path)

    def _wait_before_retry(self, err: stripe.StripeError, failures: int) -> float:
        retry_after = _retry_after(err.headers, self._wall_clock)
        if retry_after is not None:
            return min(retry_after, self.retry.max_retry_after)
        return self._jitter() * self.retry.backoff_ceiling(failures)

    def _fetch(self, path: str, params: dict[str, Any]) -> Any:
        """One GET through the SDK's requestor (auth, pinned version, form encoding), the body
        parsed once with orjson. ``raw_request`` would parse every body into OrderedDicts first,
        and a backfill is CPU-bound on parsing: errors alone go through the SDK's interpretation,
        so callers still catch its exception classes."""
        requestor = self._client()._requestor
        rbody, rcode, rheaders = requestor.request_raw(
            "get",
            path,
            params=params,
            options={},
            base_address="api",
            api_mode="V1",
            usage=["raw_request"],
        )
        if 200 <= rcode < 300:
            try:
                return orjson.loads(rbody)  # type: ignore[arg-type]
            except orjson.JSONDecodeError:
                pass  # the SDK turns an unreadable body into its APIError below
        return requestor._interpret_response(rbody, rcode, rheaders, "V1").data

    def _decode(self, body: Any, path: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise StripeAccessError(
                f"The server at {self.api_base} answered GET {path} with JSON that is not an "
                "object; check STRIPE_API_BASE"
            )
        return body

    def _final_error(
        self, err: stripe.StripeError, path: str, attempts: int, started: float, *, exhausted: bool
    ) -> StripeAccessError:
        """The error a request finally fails with: its type says what happened, its message is
        the line a founder reads."""
        message = final_message(
            err,
            path,
            api_base=self.api_base,
            attempts=attempts,
            seconds=self._clock() - started,
            exhausted=exhausted,
        )
        if _not_found(err):
            return StripeNotFound(message)
        if err.http_status == 403:
            return StripePermissionDenied(message)
        return StripeAccessError(message)


def make_client(
    api_key: str,
    api_base: str | None = None,
    *,
    rate_limit: float | None = None,
    rate_limit_per_endpoint: float | None = None,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
    wall_clock: Callable[[], float] = time.time,
) -> StripeApi:
    """A ``StripeApi`` for this key, paced at Stripe's documented limits for its mode.

    ``rate_limit``/``rate_limit_per_endpoint`` override those limits (requests per second);
    ``limiter`` replaces the limiter altogether (to share one between clients). ``clock``,
    ``sleep`` and ``jitter`` exist for tests: virtual time, recorded waits, fixed randomness;
    ``wall_clock`` (unix seconds) is what a ``Retry-After`` date is counted from.
    """
    if limiter is None:
        limits = limits_for_key(api_key, overall=rate_limit, per_endpoint=rate_limit_per_endpoint)
        limiter = RateLimiter(limits.overall, limits.per_endpoint, clock=clock, sleep=sleep)
    return StripeApi(
        api_key,
        api_base,
        limiter=limiter,
        retry=retry,
        timeout=timeout,
        clock=clock,
        sleep=sleep,
        jitter=jitter,
        wall_clock=wall_clock,
    )


def client_from_settings(settings: Settings, *, retry: RetryPolicy | None = None) -> StripeApi:
    """The client the CLI and the worker use: key, base address and rate limits from settings.

    ``retry`` shortens the patience where a person is waiting (``doctor``:
    ``RetryPolicy(max_attempts=2)`` says "unreachable" in a second instead of minutes).
    """
    return make_client(
        settings.api_key_value(),
        settings.stripe_api_base,
        rate_limit=settings.rate_limit,
        rate_limit_per_endpoint=settings.rate_limit_per_endpoint,
        retry=retry,
    )
