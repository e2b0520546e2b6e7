"""The KPIs of METRICS.md §4, the --json document of §5 and the derived-table rows.

One small account, October 2026, every figure worked out by hand:

======  ==========================================  ==========================
A       $100/month since 1 Aug                       –
B       $50/month since 1 Aug, cancels 10 Oct        churn −50, voluntary
C       $200/month since 1 Sep, → $150 on 15 Oct     contraction −50
D       $80/month from 5 Oct                         new +80
E       $40/month since 1 Aug, dunning ends 20 Oct   churn −40, involuntary
F       $60/month since 1 Sep, → $90 on 12 Oct       expansion +30
G       $30/month since 1 Sep, cancels at period     at risk from 25 Oct
        end (asked 25 Oct, ends 1 Nov)
======  ==========================================  ==========================

MRR at the end of 30 Sep: 100 + 50 + 200 + 40 + 60 + 30 = 480 (6 customers); at the end of 31 Oct:
100 + 150 + 80 + 90 + 30 = 450 (5 customers).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from stripe_kpi.metrics import (
    AccountHistory,
    cohorts,
    compute,
    daily_metrics_rows,
    inputs_from_rows,
    kpis,
    metrics_json,
    mrr_movement_rows,
    period_kpis,
    series,
)
from stripe_kpi.metrics.computation import Computed
from stripe_kpi.metrics.kpis import churned_customers
from stripe_kpi.metrics.vocabulary import Movements
from tests.metrics_factories import Account, at, no_rates, prorate, ts

OCT = (date(2026, 10, 1), date(2026, 10, 31))


def _prorated_switch(account: Account, sub: str, item: str, old: int, new: int, day: int) -> None:
    """Change ``item`` from ``old`` to ``new`` cents a month on ``day`` October, prorated; the
    pair of proration lines is billed on the 1 Nov renewal, which bills the new price."""
    old_price = account.find("subscription_item", item)["price_id"]
    new_price = account.price(new)
    account.set_item(item, price_id=new_price)
    change, oct1, nov1 = ts(2026, 10, day), ts(2026, 10, 1), ts(2026, 11, 1)
    [november] = [
        r for r in account.rows["invoice"] if (r["subscription_id"], r["created"]) == (sub, nov1)
    ]
    [renewal] = [r for r in account.rows["invoice_line"] if r["invoice_id"] == november["id"]]
    renewal.update(amount=new, price_id=new_price)
    for amount, price in (
        (-prorate(old, change, nov1, oct1, nov1), old_price),
        (prorate(new, change, nov1, oct1, nov1), new_price),
    ):
        account.line(
            november["id"],
            amount=amount,
            period=(change, nov1),
            item=item,
            price=price,
            proration=True,
        )


def _end(account: Account, sub: str, when: int, reason: str, **fields) -> None:
    account.update_subscription(
        sub,
        status="canceled",
        canceled_at=fields.pop("canceled_at", when),
        ended_at=when,
        cancellation_reason=reason,
        **fields,
    )


@pytest.fixture(scope="module")
def october_and_history() -> tuple[Computed, AccountHistory]:
    account = Account()
    until = ts(2026, 11, 2)
    account.simple(10000, ts(2026, 8, 1), until)  # A
    _, b, _ = account.simple(5000, ts(2026, 8, 1), ts(2026, 10, 2))
    _end(
        account,
        b,
        ts(2026, 10, 10, 12),
        "cancellation_requested",
        cancellation_feedback="too_expensive",
        cancellation_comment="Budget <cuts>",
    )
    _, c, c_item = account.simple(20000, ts(2026, 9, 1), until)
    _prorated_switch(account, c, c_item, 20000, 15000, 15)
    account.simple(8000, ts(2026, 10, 5, 9), until)  # D
    _, e, _ = account.simple(4000, ts(2026, 8, 1), ts(2026, 10, 2))
    oct_invoice = [r for r in account.rows["invoice"] if r["subscription_id"] == e][-1]
    oct_invoice.update(status="open", paid_at=None)
    _end(account, e, ts(2026, 10, 20, 3), "payment_failed")
    _, f, f_item = account.simple(6000, ts(2026, 9, 1), until)
    _prorated_switch(account, f, f_item, 6000, 9000, 12)
    _, g, _ = account.simple(3000, ts(2026, 9, 1), ts(2026, 10, 2))
    _end(
        account,
        g,
        ts(2026, 11, 1),
        "cancellation_requested",
        cancel_at_period_end=True,
        canceled_at=ts(2026, 10, 25, 16),
    )
    history = inputs_from_rows(account.tables())
    computed = compute(history, currency="usd", tz="UTC", as_of=at(2026, 11, 5), rate=no_rates)
    return computed, history


@pytest.fixture(scope="module")
def october(october_and_history: tuple[Computed, AccountHistory]) -> Computed:
    return october_and_history[0]


def test_churned_customers_carry_reason_and_feedback(
    october_and_history: tuple[Computed, AccountHistory],
) -> None:
    computed, history = october_and_history
    churned = churned_customers(computed, history, *OCT)
    assert [(c.date, c.mrr, c.reason, c.feedback, c.comment) for c in churned] == [
        (date(2026, 10, 10), 5000, "voluntary", "too_expensive", "Budget <cuts>"),
        (date(2026, 10, 20), 4000, "involuntary", None, None),
    ]


def test_period_levels_and_movements(october: Computed) -> None:
    k = period_kpis(october, *OCT)
    assert (k.mrr_start, k.mrr_end) == (48000, 45000)
    assert (k.customers_start, k.customers_end) == (6, 5)
    m = k.movements
    assert (m.new, m.expansion, m.contraction, m.churn, m.reactivation, m.fx) == (
        8000,
        3000,
        -5000,
        -9000,
        0,
        0,
    )
    assert m.net == -3000 == k.mrr_end - k.mrr_start
    assert (k.churned_customers.voluntary, k.churned_customers.involuntary) == (1, 1)
    assert (k.churned_mrr.voluntary, k.churned_mrr.involuntary) == (5000, 4000)


def test_period_rates(october: Computed) -> None:
    k = period_kpis(october, *OCT)
    assert k.customer_churn_rate == Decimal(2) / 6
    assert k.gross_mrr_churn_rate == Decimal(14000) / 48000  # (90 + 50) / 480
    assert k.net_mrr_churn_rate == Decimal(11000) / 48000  # (140 − 30 − 0) / 480
    assert k.nrr == 1 - Decimal(11000) / 48000
    assert k.grr == 1 - Decimal(14000) / 48000
    assert k.quick_ratio == Decimal(11000) / 14000  # (80 + 30 + 0) / 140
    assert k.arpu == 9000  # 450 / 5
    assert k.arr == 540000
    assert k.mrr_at_risk == 3000  # G, set to cancel
    assert k.trial_conversion is None  # no trial ended


def test_kpi_definitions_on_plain_numbers() -> None:
    """The functions the report shares with period_kpis: October's figures, exact."""
    october = Movements(new=8000, expansion=3000, contraction=-5000, churn=-9000)
    assert kpis.customer_churn_rate(2, 6) == Fraction(1, 3)
    assert kpis.gross_mrr_churn_rate(48000, october) == Fraction(14000, 48000)
    assert kpis.net_mrr_churn_rate(48000, october) == Fraction(11000, 48000)
    assert kpis.nrr(48000, october) == Fraction(37000, 48000)
    assert kpis.grr(48000, october) == Fraction(34000, 48000)
    assert kpis.quick_ratio(october) == Fraction(11000, 14000)
    assert kpis.trial_conversion(1, 4) == Fraction(1, 4)
    assert kpis.arpu(45001, 2) == Decimal("22500.5")  # not rounded: the caller rounds once
    # Zero denominators: undefined, not 0.
    assert kpis.customer_churn_rate(0, 0) is None
    assert (kpis.nrr(0, october), kpis.grr(0, october), kpis.arpu(0, 0)) == (None,) * 3
    assert kpis.quick_ratio(Movements(new=100)) is None  # nothing lost
    assert kpis.trial_conversion(0, 0) is None


def test_ltv_reads_the_last_three_full_months(october: Computed) -> None:
    # August has no customer at its start (no rate); September lost nobody (0); October 2 of 6.
    # Mean of the rates that exist: (0 + 1/3) / 2 = 1/6; LTV = 90.00 × 6 = 540.00.
    assert period_kpis(october, *OCT).ltv == 54000
    # Ending mid-month, the months before it count: Aug (none), Sep (0), Jul (none) → 0 churn.
    assert period_kpis(october, date(2026, 10, 1), date(2026, 10, 15)).ltv is None


def test_mrr_at_risk_starts_when_cancellation_is_asked(october: Computed) -> None:
    assert period_kpis(october, date(2026, 10, 24), date(2026, 10, 24)).mrr_at_risk == 0
    assert period_kpis(october, date(2026, 10, 25), date(2026, 10, 25)).mrr_at_risk == 3000
    # E was past due from its unpaid 1 Oct renewal until dunning ended it on 20 Oct.
    assert period_kpis(october, date(2026, 10, 19), date(2026, 10, 19)).mrr_at_risk == 4000


def test_zero_denominators_are_none() -> None:
    empty = compute(
        AccountHistory(), currency="usd", tz="UTC", as_of=at(2026, 10, 31), rate=no_rates
    )
    k = period_kpis(empty, *OCT)
    assert (k.mrr_end, k.arr, k.customers_end) == (0, 0, 0)
    assert k.customer_churn_rate is None
    assert k.gross_mrr_churn_rate is None
    assert k.net_mrr_churn_rate is None
    assert (k.nrr, k.grr, k.quick_ratio, k.arpu, k.ltv, k.trial_conversion) == (None,) * 6


def test_daily_series(october: Computed) -> None:
    points = {p.date: p for p in series(october, *OCT, "day")}
    assert len(points) == 31
    # 480 → +80 (5th) → −50 (10th) → +30 (12th) → −50 (15th) → −40 (20th)
    expected = {5: 56000, 10: 51000, 12: 54000, 15: 49000, 20: 45000, 31: 45000}
    for day, value in expected.items():
        assert points[date(2026, 10, day)].mrr == value
    assert points[date(2026, 10, 20)].churned_customers.involuntary == 1
    assert points[date(2026, 10, 12)].movements.expansion == 3000


def test_json_by_day_has_the_contract_shape(october: Computed) -> None:
    document = json.loads(json.dumps(metrics_json(october, *OCT, "day")))
    assert list(document) == ["currency", "timezone", "from", "to", "by", "series", "totals"]
    assert (document["from"], document["to"], document["by"]) == ("2026-10-01", "2026-10-31", "day")
    first = document["series"][0]
    assert list(first) == ["date", "mrr", "customers", "arpu", "movements", "churned_customers"]
    assert list(first["movements"]) == [
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "net",
        "fx",
    ]
    assert first == {
        "date": "2026-10-01",
        "mrr": 480.0,
        "customers": 6,
        "arpu": 80.0,
        "movements": {
            "new": 0,
            "expansion": 0,
            "contraction": 0,
            "churn": 0,
            "reactivation": 0,
            "net": 0,
            "fx": 0,
        },
        "churned_customers": {"voluntary": 0, "involuntary": 0},
    }
    assert document["totals"] == {
        "mrr_start": 480.0,
        "mrr_end": 450.0,
        "customers_start": 6,
        "customers_end": 5,
        "movements": {
            "new": 80.0,
            "expansion": 30.0,
            "contraction": -50.0,
            "churn": -90.0,
            "reactivation": 0.0,
            "net": -30.0,
            "fx": 0.0,
        },
        "churned_customers": {"voluntary": 1, "involuntary": 1},
        "churned_mrr": {"voluntary": 50.0, "involuntary": 40.0},
        "customer_churn_rate": 0.333333,
        "gross_mrr_churn_rate": 0.291667,
        "net_mrr_churn_rate": 0.229167,
        "nrr": 0.770833,
        "grr": 0.708333,
        "quick_ratio": 0.785714,
        "arpu": 90.0,
        "arr": 5400.0,
        "ltv": 540.0,
        "trial_conversion": None,
        "mrr_at_risk": 30.0,
    }


def test_json_by_month(october: Computed) -> None:
    document = metrics_json(october, date(2026, 9, 1), date(2026, 10, 31), "month")
    dates = [p["date"] for p in document["series"]]
    assert dates == ["2026-09-30", "2026-10-31"]  # each month measured at its end
    september, october_point = document["series"]
    assert (september["mrr"], september["customers"]) == (480.0, 6)
    assert september["movements"]["new"] == 290.0  # C 200 + F 60 + G 30
    assert october_point["movements"]["churn"] == -90.0


def test_daily_metrics_rows(october: Computed) -> None:
    rows = {r["date"]: r for r in daily_metrics_rows(october)}
    assert min(rows) == "2026-08-01"
    assert max(rows) == "2026-11-05"  # the day of as_of
    tenth = rows["2026-10-10"]
    assert tenth == {
        "date": "2026-10-10",
        "currency": "usd",
        "mrr": 51000,
        "customers": 6,
        "mrr_at_risk": 4000,
        "new": 0,
        "expansion": 0,
        "contraction": 0,
        "churn": -5000,
        "reactivation": 0,
        "fx": 0,
        "churned_voluntary": 1,
        "churned_involuntary": 0,
        "churned_mrr_voluntary": 5000,
        "churned_mrr_involuntary": 0,
        "trials_ended": 0,  # no trial in this account
        "trials_converted": 0,
    }


def test_mrr_movement_rows(october: Computed) -> None:
    rows = mrr_movement_rows(october.movements(*OCT), october.currency)
    assert [(r["date"], r["type"], r["amount"]) for r in rows] == [
        ("2026-10-05", "new", 8000),
        ("2026-10-10", "churn", -5000),
        ("2026-10-12", "expansion", 3000),
        ("2026-10-15", "contraction", -5000),
        ("2026-10-20", "churn", -4000),
    ]
    churn = rows[1]
    assert (churn["mrr_before"], churn["mrr_after"], churn["churn_reason"]) == (
        5000,
        0,
        "voluntary",
    )
    assert len(json.loads(churn["subscription_ids"])) == 1


def test_cohorts_by_month_of_first_payment(october: Computed) -> None:
    found = {c.month: c for c in cohorts(october.customers.values(), date(2026, 10, 31))}
    august, september, this_month = (found[date(2026, m, 1)] for m in (8, 9, 10))
    assert august.size == 3  # A, B, E
    assert [(m.customers, m.mrr) for m in august.months] == [(3, 19000), (3, 19000), (1, 10000)]
    assert september.size == 3  # C, F, G
    assert [(m.customers, m.mrr) for m in september.months] == [(3, 29000), (3, 27000)]
    assert [(m.customers, m.mrr) for m in this_month.months] == [(1, 8000)]


def test_incremental_recompute_matches_a_full_one(october: Computed) -> None:
    some = sorted(october.customers)[:3]
    partial = october.with_customers({}, removed=some)
    restored = partial.with_customers({c: october.customers[c] for c in some})
    assert period_kpis(restored, *OCT) == period_kpis(october, *OCT)
    assert period_kpis(partial, *OCT) != period_kpis(october, *OCT)
