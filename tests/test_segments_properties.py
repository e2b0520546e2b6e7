"""Identities of the segments (METRICS.md §8) over random histories billed by the simulator:

- per day and kind, the segments' MRR adds up exactly to the account's MRR, and to each
  customer's own MRR; paying customers per segment add up to at least the account's;
- per segment, the day's MRR change is the sum of its movements (§2 inside the segment);
- a customer-level kind (country) moves exactly as the account does.
"""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings

from stripe_kpi.metrics import compute_customers, inputs_from_rows
from stripe_kpi.metrics.ledger import Ledger
from stripe_kpi.metrics.segments import STORED_KINDS
from tests.metrics_scripts import eur_rates, play, scripts

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scripts())
def test_segments_add_up_to_the_account_every_day(script: list) -> None:
    played = play(script)
    history = inputs_from_rows(played.rows)
    results = compute_customers(
        history, currency="usd", tz="UTC", as_of=played.as_of, rate=eur_rates, segments=True
    )
    ledger = Ledger(results.values())
    # (kind, segment) → day → [Δmrr, Δcustomers, flows…]; (kind, customer) → day → Δmrr
    changes: dict[tuple[str, str], dict[int, list[int]]] = defaultdict(dict)
    per_customer: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for customer_id, result in results.items():
        assert result.segments is not None
        for kind, segment, day, *values in result.segments:
            row = changes[kind, segment].setdefault(day, [0] * len(values))
            for i, value in enumerate(values):
                row[i] += value
            mine = per_customer[kind, customer_id]
            mine[day] = mine.get(day, 0) + values[0]
    days = sorted({d for c in changes.values() for d in c} | set(ledger.changes()))
    for kind in STORED_KINDS:
        levels: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        own: dict[str, int] = defaultdict(int)
        for day in days:
            for (k, segment), by_day in changes.items():
                if k != kind or day not in by_day:
                    continue
                mrr, customers, *flows = by_day[day]
                assert mrr == sum(flows), (kind, segment, day)  # §2 inside the segment
                levels[segment][0] += mrr
                levels[segment][1] += customers
                assert levels[segment][0] >= 0
                assert levels[segment][1] >= 0
            for (k, customer_id), by_day in per_customer.items():
                if k == kind:
                    own[customer_id] += by_day.get(day, 0)
            assert sum(v[0] for v in levels.values()) == ledger.level("mrr", day), (kind, day)
            assert sum(v[1] for v in levels.values()) >= ledger.level("customers", day)
            for customer_id, result in results.items():
                expected = next((v for d, v in reversed(result.mrr) if d <= day), 0)
                assert own[customer_id] == expected, (kind, customer_id, day)
    for day in days:  # country: one segment per customer, the account's own movements
        for name in ("new", "expansion", "contraction", "churn", "reactivation", "fx"):
            index = 2 + ("new", "expansion", "contraction", "churn", "reactivation", "fx").index(
                name
            )
            summed = sum(
                by_day.get(day, [0] * 8)[index]
                for (k, _), by_day in changes.items()
                if k == "country"
            )
            assert summed == ledger.flow(name, day, day), (name, day)


@FAST
@given(scripts())
def test_the_one_segment_shortcut_equals_the_walk(script: list) -> None:
    """A customer whose MRR only ever sat in one plan takes their own movements as each kind's
    (``segments.with_segments``): the same changes the per-segment walk finds."""
    from unittest import mock

    from stripe_kpi.metrics import segments

    played = play(script)
    history = inputs_from_rows(played.rows)
    kwargs = {"currency": "usd", "tz": "UTC", "as_of": played.as_of, "rate": eur_rates}
    fast = compute_customers(history, segments=True, **kwargs)
    with mock.patch.object(segments, "_single_segment", return_value=None):
        walked = compute_customers(history, segments=True, **kwargs)
    for customer_id, result in fast.items():
        assert sorted(result.segments or ()) == sorted(walked[customer_id].segments or ())
