"""One request budget shared by every thread that talks to Stripe.

Stripe counts requests per second per account: about 100 reads a second in live mode and 25 in
test mode, and in live mode also 25 a second for each endpoint (``GET /v1/invoices`` and
``GET /v1/invoices/{id}`` are two endpoints). A backfill pages many ``created`` windows at once from
a thread pool; if each thread paced itself the total would overshoot, so every request passes
through one ``RateLimiter`` first.

Each budget is a GCRA (generic cell rate algorithm, the token bucket written as a "theoretical
arrival time"): requests are spaced ``1/rate`` apart, with at most ``burst`` of them back to back.
The spacing is smooth on purpose: Stripe's limiter counts per second, and a burst at the start of a
second followed by silence is what earns 429s.

Adaptive part: Stripe may limit an account below the documented numbers (they say they might),
and other software may share the same account. On a 429 the caller reports it with
``note_rate_limited``; the budgets involved are cut (multiplicative decrease) and then climb back
linearly with time (additive increase), so the pace settles just under whatever the server allows.

The clock and the sleep are injected, so tests run on virtual time and never wait.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from stripe_kpi.stripe_api.keys import key_mode

#: Documented Stripe limits (https://docs.stripe.com/rate-limits), requests per second.
LIVE_OVERALL = 100.0
LIVE_PER_ENDPOINT = 25.0
TEST_OVERALL = 25.0

# Floating-point slack when comparing virtual times: now + (ready - now) may land one ulp short.
_EPSILON = 1e-9


class RateLimits(NamedTuple):
    """Requests per second: for the whole account, and for each endpoint (None: no such limit)."""

    overall: float
    per_endpoint: float | None


def limits_for_key(
    api_key: str, *, overall: float | None = None, per_endpoint: float | None = None
) -> RateLimits:
    """Stripe's documented budget for this key's mode; ``overall``/``per_endpoint`` override it.

    Test keys (``sk_test_``, ``rk_test_``) get 25/s overall and no per-endpoint limit (the overall
    one is already that low). Live keys get 100/s overall and 25/s per endpoint. Overrides exist
    for accounts where Stripe granted more, and for a local simulator that allows anything.
    A malformed key raises ``ConfigurationError``.
    """
    if key_mode(api_key) == "live":
        default = RateLimits(LIVE_OVERALL, LIVE_PER_ENDPOINT)
    else:
        default = RateLimits(TEST_OVERALL, None)
    for name, value in (("overall", overall), ("per_endpoint", per_endpoint)):
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{name} rate must be a positive number, got {value!r}")
    return RateLimits(
        overall if overall is not None else default.overall,
        per_endpoint if per_endpoint is not None else default.per_endpoint,
    )


@dataclass(frozen=True)
class _Adaptation:
    slowdown: float
    min_scale: float
    recovery_per_second: float
    cut_interval: float


class _Budget:
    """One GCRA budget with an adaptive scale. Not thread-safe: the limiter's lock guards it."""

    def __init__(self, rate: float, burst: int, now: float, adaptation: _Adaptation) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number, got {rate!r}")
        self.rate = rate
        self.burst = burst
        self.tat = -math.inf  # theoretical arrival time of the next request
        self.scale = 1.0
        self._scale_at = now
        self._last_cut = -math.inf
        self._adaptation = adaptation

    def _refresh(self, now: float) -> None:
        if self.scale < 1.0 and now > self._scale_at:
            recovered = (now - self._scale_at) * self._adaptation.recovery_per_second
            self.scale = min(1.0, self.scale + recovered)
        self._scale_at = max(self._scale_at, now)

    def interval(self) -> float:
        return 1.0 / (self.rate * self.scale)

    def ready_at(self, now: float) -> float:
        self._refresh(now)
        return max(now, self.slot())

    def slot(self) -> float:
        """The earliest instant the next request may go, however far in the past."""
        return self.tat - (self.burst - 1) * self.interval()

    def consume(self, at: float) -> None:
        self.tat = max(self.tat, at) + self.interval()

    def cut(self, now: float) -> None:
        """Slow down once per ``cut_interval``: the requests in flight when the server started
        refusing all come back 429 together, and one overload must not count as many."""
        self._refresh(now)
        if now - self._last_cut < self._adaptation.cut_interval:
            return
        self._last_cut = now
        self.scale = max(self._adaptation.min_scale, self.scale * self._adaptation.slowdown)


class RateLimiter:
    """Thread-safe pacing: ``acquire(endpoint)`` blocks until both the overall budget and that
    endpoint's budget allow one more request, then spends one unit of each.

    ``per_endpoint`` applies to every endpoint; ``endpoint_rates`` sets stricter (or looser)
    budgets for named ones (Stripe's Search and Files APIs allow 20/s). ``burst`` requests may go
    back to back after an idle spell; the default of 1 means strictly evenly spaced.

    Waiting happens outside the lock, and a waiting thread reserves nothing: when it wakes it
    competes again. That keeps a queue on one slow endpoint from holding back the others.
    """

    def __init__(
        self,
        overall: float,
        per_endpoint: float | None = None,
        *,
        endpoint_rates: Mapping[str, float] | None = None,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        slowdown: float = 0.5,
        min_scale: float = 0.1,
        recovery_per_second: float = 0.05,
        cut_interval: float = 1.0,
    ) -> None:
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        if not 0 < slowdown < 1:
            raise ValueError(f"slowdown must be between 0 and 1, got {slowdown!r}")
        if not 0 < min_scale <= 1:
            raise ValueError(f"min_scale must be in (0, 1], got {min_scale!r}")
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._burst = burst
        self._adaptation = _Adaptation(slowdown, min_scale, recovery_per_second, cut_interval)
        self._overall = self._new_budget(overall)
        self._per_endpoint = per_endpoint
        self._endpoint_rates = dict(endpoint_rates or {})
        self._endpoints: dict[str, _Budget] = {}
        for endpoint, rate in self._endpoint_rates.items():
            self._endpoints[endpoint] = self._new_budget(rate)

    def _new_budget(self, rate: float) -> _Budget:
        return _Budget(rate, self._burst, self._clock(), self._adaptation)

    def _endpoint_budget(self, endpoint: str) -> _Budget | None:
        budget = self._endpoints.get(endpoint)
        if budget is None and self._per_endpoint is not None:
            budget = self._endpoints[endpoint] = self._new_budget(self._per_endpoint)
        return budget

    def acquire(self, endpoint: str = "") -> float:
        """Block until a request to ``endpoint`` may go out; return the seconds spent waiting.

        A thread that slept until its slot and woke late (the GIL, a busy machine) is charged at
        the slot it slept for, not at the late instant: otherwise every late wake-up would push
        the whole schedule back, and a busy client would pace itself well under its budget.
        """
        waited = 0.0
        planned: float | None = None
        while True:
            with self._lock:
                now = self._clock()
                budgets = [self._overall]
                endpoint_budget = self._endpoint_budget(endpoint) if endpoint else None
                if endpoint_budget is not None:
                    budgets.append(endpoint_budget)
                ready = max(budget.ready_at(now) for budget in budgets)
                if ready <= now + _EPSILON:
                    at = now
                    if planned is not None:  # charge the slot slept for, not the late wake-up
                        at = max(min(now, planned), *(budget.slot() for budget in budgets))
                    for budget in budgets:
                        budget.consume(at)
                    return waited
            planned = ready
            delay = ready - now
            self._sleep(delay)
            waited += delay

    def note_rate_limited(self, endpoint: str = "") -> None:
        """Stripe answered 429: slow the overall budget and this endpoint's budget for a while.

        Stripe's 429 does not say which limit was hit, so both the account-wide pace and the
        endpoint's pace are cut; both recover by ``recovery_per_second`` of their rate each second.
        """
        with self._lock:
            now = self._clock()
            self._overall.cut(now)
            endpoint_budget = self._endpoint_budget(endpoint) if endpoint else None
            if endpoint_budget is not None:
                endpoint_budget.cut(now)

    def current_rate(self, endpoint: str = "") -> float:
        """The pace in force now (requests per second), after any slow-down; for logs and tests."""
        with self._lock:
            now = self._clock()
            self._overall.ready_at(now)
            rate = self._overall.rate * self._overall.scale
            endpoint_budget = self._endpoint_budget(endpoint) if endpoint else None
            if endpoint_budget is not None:
                endpoint_budget.ready_at(now)
                rate = min(rate, endpoint_budget.rate * endpoint_budget.scale)
            return rate
