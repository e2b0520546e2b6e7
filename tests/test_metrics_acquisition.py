"""CAC, LTV:CAC and CAC payback (METRICS.md §9), worked out by hand in minor units (cents).

New customers are those with a ``new`` movement (reactivations are not acquired customers);
a period's spend is each month's entry times the share of its days inside the period; one month
without an entry makes every figure null, never 0.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest

from stripe_kpi.metrics.acquisition import (
    acquisition,
    cac,
    cac_payback_months,
    ltv_to_cac,
    new_customers_per_day,
    period_spend,
    with_acquisition,
)
from stripe_kpi.metrics.movements import Movement

SPEND = {"2026-01": 60_000, "2026-02": 30_000}  # $600 in January, $300 in February


def test_whole_months_count_their_whole_spend() -> None:
    # 60,000 + 30,000 cents
    assert period_spend(SPEND, date(2026, 1, 1), date(2026, 2, 28)) == 90_000


def test_part_of_a_month_counts_its_share_of_days() -> None:
    # 1–15 January: 15 of January's 31 days of $3,100 → 310,000 × 15 / 31 = 150,000 cents.
    assert period_spend({"2026-01": 310_000}, date(2026, 1, 1), date(2026, 1, 15)) == 150_000
    # 20 January – 10 February: 60,000 × 12/31 + 30,000 × 10/28 = 720,000/31 + 75,000/7
    assert period_spend(SPEND, date(2026, 1, 20), date(2026, 2, 10)) == Fraction(
        720_000, 31
    ) + Fraction(75_000, 7)


def test_the_days_of_a_month_add_up_to_the_month() -> None:
    # February 2026: 28 days of 30,000 / 28 cents each, exactly 30,000 together (no rounding
    # before the JSON encoder); January and February day by day: 60,000 + 30,000.
    february = [date(2026, 2, d) for d in range(1, 29)]
    assert sum(period_spend(SPEND, d, d) for d in february) == 30_000  # type: ignore[misc]
    both = [date(2026, 1, 1) + timedelta(days=k) for k in range(59)]
    assert sum(period_spend(SPEND, d, d) for d in both) == 90_000  # type: ignore[misc]


def test_a_month_without_an_entry_makes_the_spend_unknown() -> None:
    assert period_spend(SPEND, date(2026, 2, 1), date(2026, 3, 1)) is None  # no March entry
    assert period_spend({}, date(2026, 1, 1), date(2026, 1, 1)) is None
    assert period_spend({"2026-03": 0}, date(2026, 3, 1), date(2026, 3, 31)) == 0  # entered: 0


def test_cac_is_spend_per_new_customer() -> None:
    assert cac(Fraction(90_000), 3) == 30_000  # $900 ÷ 3 = $300
    assert cac(Fraction(90_000), 0) is None  # no new customer: no CAC
    assert cac(None, 3) is None  # no spend entered: null, never 0
    assert cac(Fraction(0), 3) == 0  # spend entered as 0: acquired for nothing


def test_ltv_to_cac() -> None:
    # LTV $495 ÷ CAC $350 = 49,500 / 35,000 = 99/70
    assert ltv_to_cac(Fraction(49_500), Fraction(35_000)) == Fraction(99, 70)
    assert ltv_to_cac(None, Fraction(35_000)) is None
    assert ltv_to_cac(Fraction(49_500), None) is None
    assert ltv_to_cac(Fraction(49_500), Fraction(0)) is None  # ÷ 0


def test_payback_is_cac_over_the_new_customers_arpu() -> None:
    # CAC $350; 3 new customers starting at $190 MRR together → ARPU 190/3;
    # 35,000 ÷ (19,000 / 3) = 105,000 / 19,000 = 105/19 ≈ 5.53 months
    assert cac_payback_months(Fraction(35_000), 3, 19_000) == Fraction(105, 19)
    assert cac_payback_months(None, 3, 19_000) is None
    assert cac_payback_months(Fraction(0), 3, 19_000) == 0


def test_acquisition_of_a_period() -> None:
    # January: $600 spent, Ada ($50) and Bob ($100) new → CAC $300, ARPU $75, payback 4 months;
    # LTV $900 → LTV:CAC 3.
    figures = acquisition(SPEND, date(2026, 1, 1), date(2026, 1, 31), 2, 15_000, Fraction(90_000))
    assert (figures.spend, figures.cac, figures.ltv_cac, figures.cac_payback_months) == (
        60_000,
        30_000,
        3,
        4,
    )


def _document(by: str, first: str, last: str, dates: list[str], ltv: float | None) -> dict:
    return {
        "currency": "usd",
        "from": first,
        "to": last,
        "by": by,
        "series": [{"date": d} for d in dates],
        "totals": {"ltv": ltv},
    }


#: Ada $50 on 3 Jan, Bob $100 on 20 Jan, Cy $40 on 5 Feb: (new customers, their MRR in cents).
NEW = {date(2026, 1, 3): (1, 5_000), date(2026, 1, 20): (1, 10_000), date(2026, 2, 5): (1, 4_000)}


def test_the_document_by_month() -> None:
    doc = with_acquisition(
        _document("month", "2026-01-01", "2026-02-28", ["2026-01-31", "2026-02-28"], 495.0),
        SPEND,
        NEW,
    )
    jan, feb = doc["series"]
    # January: $600 ÷ 2 = $300; payback 300 ÷ (150 / 2) = 4.
    assert jan == {
        "date": "2026-01-31", "new_customers": 2, "spend": 600.0, "cac": 300.0,
        "cac_payback_months": 4.0,
    }  # fmt: skip
    # February: $300 ÷ 1 (Cy) = $300; payback 300 ÷ 40 = 7.5.
    assert feb == {
        "date": "2026-02-28", "new_customers": 1, "spend": 300.0, "cac": 300.0,
        "cac_payback_months": 7.5,
    }  # fmt: skip
    # Both months: $900 ÷ 3 = $300; LTV:CAC 495 ÷ 300 = 1.65; payback 300 ÷ (190 / 3) = 900/190
    # = 4.736842…
    assert doc["totals"] == {
        "ltv": 495.0, "new_customers": 3, "spend": 900.0, "cac": 300.0, "ltv_cac": 1.65,
        "cac_payback_months": 4.736842,
    }  # fmt: skip


def test_the_document_by_day_prorates_the_month() -> None:
    doc = with_acquisition(
        _document("day", "2026-01-03", "2026-01-04", ["2026-01-03", "2026-01-04"], None),
        SPEND,
        NEW,
    )
    third, fourth = doc["series"]
    # 3 January: one day of January's $600 = 60,000 / 31 = 1,935.48… cents → $19.35, one new
    # customer (Ada, $50): CAC $19.35, payback 1,935.48 / 5,000 = 0.387097 months.
    assert third == {
        "date": "2026-01-03", "new_customers": 1, "spend": 19.35, "cac": 19.35,
        "cac_payback_months": 0.387097,
    }  # fmt: skip
    # 4 January: spend but nobody new → no CAC, no payback.
    assert fourth == {
        "date": "2026-01-04", "new_customers": 0, "spend": 19.35, "cac": None,
        "cac_payback_months": None,
    }  # fmt: skip
    # Two days: 120,000 / 31 = 3,870.97 cents → $38.71 for Ada; LTV unknown → LTV:CAC null.
    assert doc["totals"]["cac"] == 38.71
    assert doc["totals"]["ltv_cac"] is None


@pytest.mark.parametrize("spend", [{}, {"2026-01": 60_000}])
def test_without_spend_for_every_month_everything_is_null(spend: dict) -> None:
    doc = with_acquisition(
        _document("month", "2026-01-01", "2026-02-28", ["2026-01-31", "2026-02-28"], 495.0),
        spend,
        NEW,
    )
    assert doc["totals"] == {
        "ltv": 495.0, "new_customers": 3, "spend": None, "cac": None, "ltv_cac": None,
        "cac_payback_months": None,
    }  # fmt: skip
    assert doc["series"][1]["cac"] is None  # February has no entry either way


def test_new_customers_are_the_new_movements_not_the_reactivations() -> None:
    jan3, may1 = date(2026, 1, 3).toordinal(), date(2026, 5, 1).toordinal()
    movements = [
        Movement(jan3, "cus_ada", "new", 5_000, 0, 5_000),
        Movement(jan3, "cus_bob", "new", 10_000, 0, 10_000),
        Movement(jan3, "cus_cy", "expansion", 2_000, 4_000, 6_000),
        Movement(may1, "cus_dee", "reactivation", 4_000, 0, 4_000),  # won back, not acquired
    ]
    # 3 January: Ada and Bob, $50 + $100 = 15,000 cents; 1 May has no new customer.
    assert new_customers_per_day(movements) == {date(2026, 1, 3): (2, 15_000)}
