"""``SimulatorServer``: the Stripe-compatible server as one object, on a background thread.

It wires ``api.StripeAPI`` (request → reply) to ``http.serve_in_thread`` (the sockets), swaps the
served account, exposes the fault knobs and counts what it answered. ``serve_forever`` runs one
until Ctrl-C, for ``stripe-kpi simulate serve``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from stripe_kpi.simulator.data import StripeData
from stripe_kpi.simulator.server.api import Knobs, StripeAPI
from stripe_kpi.simulator.server.http import serve_in_thread
from stripe_kpi.simulator.server.lists import AccountIndex

DEFAULT_API_KEY = "sk_test_simulator"
DEFAULT_PORT = 12111  # stripe-mock's port: a familiar default for a local Stripe


def _knob(name: str, doc: str) -> Any:
    """A server attribute that reads and writes one of its ``Knobs``, live."""
    return property(
        lambda self: getattr(self.knobs, name),
        lambda self, value: setattr(self.knobs, name, value),
        doc=doc,
    )


class SimulatorServer:
    """A Stripe-compatible server on a background thread; a context manager.

    ``url`` is where to point the client; ``knobs`` holds the fault-injection settings;
    ``request_count``, ``path_counts``, ``endpoint_counts`` and ``status_counts`` count what it
    answered. ``set_data`` swaps the account between syncs; ``mutate`` changes it in place.

    ``api_key`` is the full-access test key; ``restricted_keys`` maps more test keys to the
    ``rak_…_read`` permissions they hold (see ``PERMISSIONS``); ``revoked_keys`` are answered as a
    rolled key is. ``seed`` fixes the random faults; ``clock`` (monotonic seconds) drives the rate
    limiter, so a test can step time instead of sleeping.
    """

    def __init__(
        self,
        data: StripeData,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        restricted_keys: Mapping[str, Iterable[str]] | None = None,
        revoked_keys: Iterable[str] = (),
        latency: float = 0.0,
        rate_limit: float | None = None,
        endpoint_rate_limit: float | None = None,
        rate_limit_fraction: float = 0.0,
        fault_rate: float = 0.0,
        malformed_rate: float = 0.0,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.knobs = Knobs(
            latency=latency,
            rate_limit=rate_limit,
            endpoint_rate_limit=endpoint_rate_limit,
            rate_limit_fraction=rate_limit_fraction,
            fault_rate=fault_rate,
            malformed_rate=malformed_rate,
        )
        self.api = StripeAPI(
            data,
            api_key=api_key,
            restricted_keys=restricted_keys or {},
            revoked_keys=revoked_keys,
            knobs=self.knobs,
            seed=seed,
            clock=clock,
        )
        self._host, self._port = host, port
        self._stop: Callable[[], None] | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        if self._stop is None:
            (host, port), self._stop = serve_in_thread(self._host, self._port, self.api.handle)
            self.url = f"http://{host}:{port}"
        return self

    def close(self) -> None:
        """Stop serving, end open keep-alive connections and join every thread."""
        if self._stop is not None:
            self._stop()
            self._stop = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- data --------------------------------------------------------------------------------

    @property
    def data(self) -> StripeData:
        return self.api.index.data

    def set_data(self, data: StripeData) -> None:
        """Serve another account from the next request on (in-flight requests finish on the
        old one): the index is rebuilt aside and swapped in one assignment."""
        self.api.index = AccountIndex(data)

    @contextmanager
    def mutate(self) -> Iterator[StripeData]:
        """Change the served data in place, then re-index: ``with server.mutate() as data: …``.
        Do it between syncs; a request running meanwhile may see a half-made change."""
        data = self.data
        yield data
        self.set_data(data)

    # -- knobs and counters ------------------------------------------------------------------

    @property
    def api_key(self) -> str:
        return self.api.api_key

    @property
    def request_count(self) -> int:
        """Every request received, answered with success or not."""
        return self.api.counts_snapshot().total

    @property
    def path_counts(self) -> Counter[str]:
        """Requests per URL path (``/v1/invoices/in_1/lines``)."""
        return self.api.counts_snapshot().by_path

    @property
    def endpoint_counts(self) -> Counter[str]:
        """Requests per endpoint as Stripe's limiter sees them (``GET /v1/customers/:id``)."""
        return self.api.counts_snapshot().by_endpoint

    @property
    def status_counts(self) -> Counter[int]:
        """Answers per HTTP status."""
        return self.api.counts_snapshot().by_status

    def reset_counts(self) -> None:
        self.api.reset_counts()

    latency = _knob("latency", "Seconds each request waits before it is answered.")
    rate_limit = _knob("rate_limit", "Requests per second over all endpoints (None: no limit).")
    endpoint_rate_limit = _knob("endpoint_rate_limit", "Requests per second per endpoint.")
    rate_limit_fraction = _knob("rate_limit_fraction", "Share of requests answered 429 at random.")
    fault_rate = _knob("fault_rate", "Share of requests answered 500 api_error.")
    malformed_rate = _knob("malformed_rate", "Share of successes sent with a non-JSON body.")


def serve_forever(
    data: StripeData,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    api_key: str = DEFAULT_API_KEY,
    *,
    on_ready: Callable[[SimulatorServer], None] | None = None,
    until: threading.Event | None = None,
    **options: Any,
) -> None:
    """Serve until interrupted (Ctrl-C) or until ``until`` is set, for ``stripe-kpi simulate
    serve``.

    Prints nothing: ``on_ready`` receives the running server (its ``url``) for the CLI to
    announce. ``options`` are ``SimulatorServer``'s keyword arguments (latency, rate_limit…).
    """
    server = SimulatorServer(data, host=host, port=port, api_key=api_key, **options)
    stop = until or threading.Event()
    with server:
        if on_ready is not None:
            on_ready(server)
        with suppress(KeyboardInterrupt):
            while not stop.wait(0.5):  # a timed wait lets Ctrl-C through on every platform
                pass
