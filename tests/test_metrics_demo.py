"""The demo account (a synthetic SaaS from the simulator): METRICS.md §2's identity every day.

"For any period, MRR_end − MRR_start = net new MRR + fx: a test must hold this identity over every
day of the demo account." The account has every kind of life in it (trials, upgrades, seat
changes, interval switches, coupons, taxes, metered usage, dunning, a dispute, EUR and GBP
customers), synced as the sync stores it and converted with the ECB rates the package ships.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from currency_converter import CurrencyConverter

from stripe_kpi.metrics import AccountHistory, compute, ecb_rates, inputs_from_rows, metrics_json
from stripe_kpi.metrics.catalog import Catalog
from stripe_kpi.metrics.computation import Computed, _Index, subscription_components
from stripe_kpi.metrics.history import subscription_history
from stripe_kpi.simulator.saas import generate_account
from tests.metrics_scripts import stored_rows
from tests.test_metrics_properties import check_identities

END = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def history() -> AccountHistory:
    account = generate_account(
        seed=7, customers=250, start=datetime(2024, 6, 1, tzinfo=UTC), end=END
    )
    return inputs_from_rows(stored_rows(account.snapshot(copy=False)))


@pytest.fixture(scope="module")
def demo(history: AccountHistory) -> Computed:
    converter = CurrencyConverter(fallback_on_missing_rate=True, fallback_on_wrong_date=True)
    return compute(
        history,
        currency="usd",
        tz="Europe/Paris",
        as_of=END,
        rate=ecb_rates(converter),
    )


def test_identity_holds_every_day_of_the_demo_account(demo: Computed) -> None:
    check_identities(demo)


def test_demo_account_exercises_every_movement(demo: Computed) -> None:
    kinds = Counter(m.type for r in demo.customers.values() for m in r.movements)
    assert set(kinds) == {"new", "expansion", "contraction", "churn", "reactivation", "fx"}
    reasons = Counter(
        m.churn_reason for r in demo.customers.values() for m in r.movements if m.type == "churn"
    )
    assert set(reasons) == {"voluntary", "involuntary"}


def test_totals_of_a_year_add_up(demo: Computed) -> None:
    first, last = datetime(2025, 6, 1).date(), datetime(2026, 5, 31).date()
    totals = metrics_json(demo, first, last, "month")["totals"]
    moved = totals["movements"]
    assert round(totals["mrr_end"] - totals["mrr_start"], 2) == round(moved["net"] + moved["fx"], 2)
    assert totals["arr"] == round(12 * totals["mrr_end"], 2)


@pytest.mark.parametrize(
    "as_of",
    [END, datetime(2025, 9, 14, 3, tzinfo=UTC), datetime(2026, 5, 20, tzinfo=UTC)],
    ids=["end", "mid-history", "a-day-ahead-of-a-renewal"],
)
def test_components_at_one_instant_are_the_histories_step_then(
    history: AccountHistory, as_of: datetime
) -> None:
    """``stripe-kpi check`` reads each subscription's MRR at one instant: the same components as
    the step the whole history holds then, for every subscription of the demo account."""
    ids = sorted(history.subscriptions)
    at_once = subscription_components(history, currency="usd", as_of=as_of, subscription_ids=ids)
    index, catalog = _Index(history, set(ids)), Catalog(history)
    until = int(as_of.timestamp())
    for sub_id in ids:
        steps = subscription_history(index.records(sub_id), catalog, "usd", until).steps
        assert at_once[sub_id] == (steps[-1][1] if steps else ()), sub_id
