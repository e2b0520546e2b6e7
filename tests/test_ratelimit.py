"""The shared rate limiter, on virtual time: no test here waits for real."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict

import pytest

from stripe_kpi.errors import ConfigurationError
from stripe_kpi.stripe_api.limiter import RateLimiter, RateLimits, limits_for_key


class FakeClock:
    """Virtual time: ``sleep`` advances it at once. Remembers, per thread, the last time read,
    which after ``acquire`` returns is the instant the limiter granted the request."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def __call__(self) -> float:
        with self._lock:
            self._local.last = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def last_read(self) -> float:
        return self._local.last


def limiter_on(clock: FakeClock, overall: float, per_endpoint: float | None = None, **kw):
    return RateLimiter(overall, per_endpoint, clock=clock, sleep=clock.sleep, **kw)


def grant_times(limiter: RateLimiter, clock: FakeClock, endpoints: list[str]) -> list[float]:
    times = []
    for endpoint in endpoints:
        limiter.acquire(endpoint)
        times.append(clock.last_read())
    return times


# -- limits per key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("sk_test_abc123", RateLimits(25.0, None)),
        ("rk_test_abc123", RateLimits(25.0, None)),
        ("sk_live_abc123", RateLimits(100.0, 25.0)),
        ("rk_live_abc123", RateLimits(100.0, 25.0)),
    ],
)
def test_limits_follow_the_key_mode(key: str, expected: RateLimits) -> None:
    assert limits_for_key(key) == expected
    overall, per_endpoint = limits_for_key(key)  # unpacks as the (overall, per_endpoint) pair
    assert (overall, per_endpoint) == tuple(expected)


def test_limits_can_be_overridden() -> None:
    assert limits_for_key("rk_live_abc123", overall=250) == RateLimits(250, 25.0)
    assert limits_for_key("rk_live_abc123", per_endpoint=50) == RateLimits(100.0, 50)
    assert limits_for_key("sk_test_abc123", overall=1000, per_endpoint=80) == RateLimits(1000, 80)


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_override_must_be_a_positive_rate(bad: float) -> None:
    with pytest.raises(ValueError, match="overall rate must be a positive number"):
        limits_for_key("sk_test_abc123", overall=bad)


def test_limits_for_a_malformed_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a Stripe secret or restricted key"):
        limits_for_key("whsec_abc123")


# -- pacing -----------------------------------------------------------------------------------


def test_26_requests_at_25_per_second_take_exactly_one_second() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 25)
    times = grant_times(limiter, clock, ["/v1/customers"] * 26)
    assert times == pytest.approx([i / 25 for i in range(26)])
    assert clock.now == pytest.approx(1.0)


def test_first_request_does_not_wait() -> None:
    clock = FakeClock()
    assert limiter_on(clock, 25).acquire("/v1/customers") == 0.0
    assert clock.sleeps == []


def test_acquire_returns_the_time_it_waited() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 10)
    limiter.acquire()
    assert limiter.acquire() == pytest.approx(0.1)


def test_burst_lets_a_few_go_back_to_back_then_paces() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 25, burst=5)
    times = grant_times(limiter, clock, [""] * 10)
    assert times[:5] == [0.0] * 5
    assert times[5:] == pytest.approx([0.04, 0.08, 0.12, 0.16, 0.20])


def test_idle_time_is_not_banked_into_a_burst() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 25)
    limiter.acquire()
    clock.now = 60.0  # a minute of silence
    times = grant_times(limiter, clock, [""] * 3)
    assert times == pytest.approx([60.0, 60.04, 60.08])


def test_one_endpoint_is_held_to_its_own_budget() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 100, 25)
    grant_times(limiter, clock, ["/v1/invoices"] * 26)
    assert clock.now == pytest.approx(1.0)


def test_many_endpoints_together_reach_the_overall_budget() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 100, 25)
    endpoints = ["/v1/invoices", "/v1/customers", "/v1/prices", "/v1/subscriptions"]
    times = grant_times(limiter, clock, [endpoints[i % 4] for i in range(101)])
    assert times == pytest.approx([i / 100 for i in range(101)])


def test_named_endpoint_rates_override_the_default() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 100, 25, endpoint_rates={"/v1/subscriptions/search": 20})
    grant_times(limiter, clock, ["/v1/subscriptions/search"] * 21)
    assert clock.now == pytest.approx(1.0)
    clock.now = 10.0
    grant_times(limiter, clock, ["/v1/subscriptions"] * 26)
    assert clock.now == pytest.approx(11.0)


def test_without_a_per_endpoint_limit_only_the_overall_one_counts() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 100)
    grant_times(limiter, clock, ["/v1/invoices"] * 101)
    assert clock.now == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"burst": 0}, "burst must be at least 1"),
        ({"slowdown": 1.0}, "slowdown must be between 0 and 1"),
        ({"min_scale": 0}, "min_scale must be in"),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimiter(25, **kwargs)


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate must be a positive number"):
        RateLimiter(0)


# -- slowing down on 429 ------------------------------------------------------------------------


def test_a_429_halves_the_pace_of_the_account_and_the_endpoint() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 100, 25, recovery_per_second=0)
    limiter.note_rate_limited("/v1/invoices")
    assert limiter.current_rate() == pytest.approx(50)
    assert limiter.current_rate("/v1/invoices") == pytest.approx(12.5)
    assert limiter.current_rate("/v1/customers") == pytest.approx(25)
    grant_times(limiter, clock, ["/v1/invoices"] * 26)
    assert clock.now == pytest.approx(2.0)


def test_many_429s_at_once_count_as_one_overload() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 25, recovery_per_second=0)
    for _ in range(16):  # sixteen requests in flight all came back 429
        limiter.note_rate_limited("/v1/invoices")
    assert limiter.current_rate() == pytest.approx(12.5)
    clock.now = 1.0  # still 429 a second later: slow down again
    limiter.note_rate_limited("/v1/invoices")
    assert limiter.current_rate() == pytest.approx(6.25)


def test_slow_down_has_a_floor() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 25, recovery_per_second=0, min_scale=0.1)
    for second in range(20):
        clock.now = float(second)
        limiter.note_rate_limited()
    assert limiter.current_rate() == pytest.approx(2.5)


def test_pace_recovers_linearly_after_a_429() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 100, recovery_per_second=0.05)
    limiter.note_rate_limited()
    assert limiter.current_rate() == pytest.approx(50)
    clock.now = 4.0
    assert limiter.current_rate() == pytest.approx(70)
    clock.now = 10.0
    assert limiter.current_rate() == pytest.approx(100)
    clock.now = 100.0
    assert limiter.current_rate() == pytest.approx(100)


def test_pace_converges_below_a_server_that_allows_less_than_our_budget() -> None:
    """The server allows 10/s (one per 0.1 s, a burst of 10), we think 25/s: after a few cuts
    our pace settles under 10/s and 429s become rare."""
    clock = FakeClock()
    limiter = limiter_on(clock, 25)
    server_tat = 0.0
    outcomes: list[tuple[float, bool]] = []
    while clock.now < 120:
        limiter.acquire("/v1/invoices")
        now = clock.last_read()
        accepted = now >= server_tat - 0.9  # GCRA: 10/s, burst 10
        if accepted:
            server_tat = max(server_tat, now) + 0.1
        else:
            limiter.note_rate_limited("/v1/invoices")
        outcomes.append((now, accepted))
    late = [accepted for at, accepted in outcomes if at >= 60]
    accepted_rate = sum(late) / 60
    assert 7.0 <= accepted_rate <= 10.1
    assert late.count(False) / len(late) < 0.05


# -- threads ------------------------------------------------------------------------------------


def test_threads_together_respect_the_overall_and_endpoint_budgets() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, 100, 25)
    grants: list[tuple[float, str]] = []
    grants_lock = threading.Lock()
    endpoints = ["/v1/invoices", "/v1/customers", "/v1/prices", "/v1/subscriptions"]
    start = threading.Barrier(16)

    def worker(index: int) -> None:
        endpoint = endpoints[index % 4]
        start.wait()
        for _ in range(25):
            limiter.acquire(endpoint)
            with grants_lock:
                grants.append((clock.last_read(), endpoint))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert len(grants) == 400

    overall = sorted(at for at, _ in grants)
    assert min(b - a for a, b in itertools.pairwise(overall)) >= 0.01 - 1e-9
    by_endpoint: dict[str, list[float]] = defaultdict(list)
    for at, endpoint in grants:
        by_endpoint[endpoint].append(at)
    for times in by_endpoint.values():
        times.sort()
        assert len(times) == 100
        assert min(b - a for a, b in itertools.pairwise(times)) >= 0.04 - 1e-9


class OversleepingClock(FakeClock):
    """A busy machine: every sleep lasts 30% longer than asked."""

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds * 1.3)


def test_late_wake_ups_do_not_push_the_schedule_back() -> None:
    """At 25/s the n-th request's slot is n × 40 ms; a thread that wakes 30% late is charged at
    its slot, so 101 requests still end at slot 100 (4.0 s) plus one wake-up's lateness, not
    near 100 × 52 ms = 5.2 s. The lateness settles at L = 0.3 × (40 ms − L), L = 12/1.3 ms."""
    clock = OversleepingClock()
    limiter = limiter_on(clock, 25.0)
    times = grant_times(limiter, clock, [""] * 101)
    assert times[-1] == pytest.approx(4.0 + 0.012 / 1.3, abs=1e-9)
    assert all(b - a <= 0.052 + 1e-9 for a, b in itertools.pairwise(times))
