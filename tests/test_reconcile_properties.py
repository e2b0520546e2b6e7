"""`stripe-kpi check` on random histories billed by the simulator (``tests/metrics_scripts.py``):
whatever the customers did, the metrics' MRR of every subscription agrees with its latest invoice,
or the invoice cannot state it (a change since, or a discount added since, which only the next
invoice will bill)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from stripe_kpi.metrics import inputs_from_rows
from stripe_kpi.metrics.reconcile import check_subscriptions
from tests.metrics_scripts import eur_rates, play, scripts

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scripts())
def test_no_history_makes_a_subscription_disagree_with_its_invoice(script) -> None:
    played = play(script)
    history = inputs_from_rows(played.rows)
    checks = check_subscriptions(history, currency="usd", as_of=played.as_of, rate=eur_rates)
    assert [c for c in checks if c.outcome == "disagrees"] == []
    reasons = {c.why for c in checks if c.outcome == "not_comparable"}
    # A schedule's phase may add a coupon after the latest invoice: only the next one bills it.
    assert reasons <= {"changed_since_invoice", "change_undated", "discount_added"}
