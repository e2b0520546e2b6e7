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

from stripe_kpi.metrics import compute, ecb_rates, inputs_from_rows, metrics_json
from stripe_kpi.metrics.computation import Computed
from stripe_kpi.simulator.saas import generate_account
from tests.metrics_scripts import stored_rows
from tests.test_metrics_properties import check_identities

END = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> Computed:
    account = generate_account(
        seed=7, customers=250, start=datetime(2024, 6, 1, tzinfo=UTC), end=END
    )
    rows = stored_rows(account.snapshot(copy=False))
    converter = CurrencyConverter(fallback_on_missing_rate=True, fallback_on_wrong_date=True)
    return compute(
        inputs_from_rows(rows),
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
