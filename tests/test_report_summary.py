"""build_summary on hand-written rows: every figure worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest

from stripe_kpi.errors import InputError
from stripe_kpi.metrics.vocabulary import Movements
from stripe_kpi.report.inputs import AtRiskRow, DayRow, MovementRow, ReportInputs
from stripe_kpi.report.summary import build_summary

D = date(2026, 11, 23)


def rows() -> ReportInputs:
    """A small account, USD.

    - 1 Aug: 1 customer, $50.00 (before the 90-day window, which starts 26 Aug).
    - 24 Oct (D−30): 2 customers, $100.00.
    - 30 Oct: a churn in the previous month (must not count in November).
    - 31 Oct (month start − 1): 4 customers, $200.00.
    - 5 Nov: +1 new customer $50.00 → 5 customers, $250.00.
    - 22 Nov: contraction −$10.00 → $240.00.
    - 23 Nov (D): new N +$40.00, expansion E +$15.00, contraction K −$5.00, churn C −$20.00
      → net +$30.00 → $270.00; customers 5 + 1 − 1 = 5.
    """
    # Trials: one converted on 15 Oct (last month), one on 5 Nov, one unconverted on 20 Nov.
    days = [
        DayRow(date(2026, 8, 1), mrr=5_000, customers=1, new=5_000),
        DayRow(date(2026, 10, 15), mrr=5_000, customers=1, trials_ended=1, trials_converted=1),
        DayRow(date(2026, 10, 24), mrr=10_000, customers=2, new=5_000),
        DayRow(date(2026, 10, 30), mrr=15_000, customers=3, new=10_000, churn=-5_000),
        DayRow(date(2026, 10, 31), mrr=20_000, customers=4, new=5_000),
        DayRow(
            date(2026, 11, 5),
            mrr=25_000,
            customers=5,
            new=5_000,
            trials_ended=1,
            trials_converted=1,
        ),
        DayRow(date(2026, 11, 20), mrr=25_000, customers=5, trials_ended=1),
        DayRow(date(2026, 11, 22), mrr=24_000, customers=5, contraction=-1_000),
        DayRow(
            D,
            mrr=27_000,
            customers=5,
            new=4_000,
            expansion=1_500,
            contraction=-500,
            churn=-2_000,
            mrr_at_risk=8_000,
        ),
    ]
    movements = [
        MovementRow(date(2026, 10, 30), "cus_old", "churn", -5_000, 5_000, 0),
        MovementRow(date(2026, 11, 5), "cus_F", "new", 5_000, 0, 5_000, "Five", "f@x.test"),
        MovementRow(date(2026, 11, 22), "cus_K", "contraction", -1_000, 6_000, 5_000),
        MovementRow(D, "cus_N", "new", 4_000, 0, 4_000, "Newco", "n@x.test"),
        MovementRow(D, "cus_E", "expansion", 1_500, 3_000, 4_500),
        MovementRow(D, "cus_K", "contraction", -500, 5_000, 4_500),
        MovementRow(
            D,
            "cus_C",
            "churn",
            -2_000,
            2_000,
            0,
            "Gone Ltd",
            "c@x.test",
            churn_reason="voluntary",
            feedback="too_expensive",
            comment="bye",
        ),
    ]
    at_risk = [
        AtRiskRow("sub_b", "cus_B", "past_due", 3_000, "Bee"),
        AtRiskRow("sub_c", "cus_Cc", "past_due", None, "Cee"),
        AtRiskRow("sub_a", "cus_A", "cancel_scheduled", 5_000, "Ay", cancels_on=date(2026, 12, 1)),
    ]
    return ReportInputs(
        currency="usd",
        days=days,
        movements=movements,
        at_risk=at_risk,
        synced_at=datetime(2026, 11, 24, 5, 58, tzinfo=UTC),
    )


def test_mrr_and_its_changes() -> None:
    s = build_summary(rows(), D, timezone="UTC")
    assert s.mrr == 27_000
    assert s.change_day == 27_000 - 24_000 == 3_000
    assert s.change_mtd == 27_000 - 20_000 == 7_000  # from the end of 31 Oct
    assert s.change_trailing == 27_000 - 10_000 == 17_000  # from the end of 24 Oct
    assert s.arr == 324_000
    assert s.customers == 5
    assert s.customers_month_start == 4


def test_movements_for_the_day_and_month_to_date() -> None:
    s = build_summary(rows(), D)
    assert s.day_movements == Movements(new=4_000, expansion=1_500, contraction=-500, churn=-2_000)
    assert s.day_movements.net == 3_000 == s.change_day
    # November: new 5,000 (5th) + 4,000 (23rd); contraction −1,000 (22nd) − 500 (23rd).
    assert s.mtd_movements == Movements(
        new=9_000, expansion=1_500, contraction=-1_500, churn=-2_000
    )
    assert s.mtd_movements.net == 7_000 == s.change_mtd


def test_kpis() -> None:
    s = build_summary(rows(), D)
    assert s.arpu == 5_400  # 27,000 / 5
    # One churned customer in November (the 30 Oct churn is last month) of 4 at the start.
    assert s.customer_churn_rate == Fraction(1, 4)
    assert (s.churned_mtd_voluntary, s.churned_mtd_involuntary) == (1, 0)
    # NRR = (20,000 + 1,500 expansion − 1,500 contraction − 2,000 churn) / 20,000 = 0.9
    assert s.nrr == Fraction(9, 10)
    # Trials ended in November: 2, of which 1 converted (the October one does not count).
    assert (s.trials_ended, s.trials_converted) == (2, 1)
    assert s.trial_conversion == Fraction(1, 2)


def test_arpu_is_rounded_half_up_to_the_minor_unit() -> None:
    def arpu(mrr: int, customers: int) -> int | None:
        return build_summary(ReportInputs("usd", [DayRow(D, mrr=mrr, customers=customers)]), D).arpu

    assert arpu(1_001, 2) == 501  # 500.5 → 501
    assert arpu(1_000, 3) == 333  # 333.33…
    assert arpu(2_000, 3) == 667  # 666.67
    assert arpu(0, 0) is None  # no paying customer: none, not 0


def test_customers_of_the_day_with_names_and_reasons() -> None:
    s = build_summary(rows(), D)
    assert [(c.name, c.amount, c.movement) for c in s.new_customers] == [("Newco", 4_000, "new")]
    (churned,) = s.churned_customers
    assert (churned.name, churned.email, churned.amount) == ("Gone Ltd", "c@x.test", -2_000)
    assert (churned.churn_reason, churned.feedback, churned.comment) == (
        "voluntary",
        "too_expensive",
        "bye",
    )


def test_mrr_at_risk_largest_first_unknown_amounts_last() -> None:
    s = build_summary(rows(), D)
    assert s.mrr_at_risk == 8_000  # the day row's total
    assert [(r.subscription_id, r.mrr) for r in s.at_risk] == [
        ("sub_a", 5_000),
        ("sub_b", 3_000),
        ("sub_c", None),
    ]
    assert s.at_risk[0].cancels_on == date(2026, 12, 1)


def test_at_risk_total_falls_back_to_the_listed_amounts() -> None:
    base = rows()
    days = [*base.days[:-1], DayRow(D, mrr=27_000, customers=5)]
    s = build_summary(ReportInputs("usd", days, at_risk=base.at_risk), D)
    assert s.mrr_at_risk == 8_000  # 5,000 + 3,000; the unknown one adds nothing


def test_chart_series_is_ninety_days_carrying_the_last_known_day_forward() -> None:
    s = build_summary(rows(), D)
    assert len(s.series) == 90
    assert s.series[0] == (D - timedelta(days=89), 5_000)  # 26 Aug carries 1 Aug forward
    assert dict(s.series)[date(2026, 10, 24)] == 10_000
    assert dict(s.series)[date(2026, 10, 25)] == 10_000
    assert s.series[-1] == (D, 27_000)


def test_a_young_account_counts_zero_before_its_first_day() -> None:
    inputs = ReportInputs("usd", [DayRow(D, mrr=1_000, customers=1, new=1_000)])
    s = build_summary(inputs, D)
    assert s.change_day == 1_000
    assert s.customer_churn_rate is None  # no customers at the start: undefined, not 0
    assert s.nrr is None
    assert s.trial_conversion is None
    assert s.series[0] == (D - timedelta(days=89), 0)


def test_no_metrics_for_the_day_is_one_clear_error() -> None:
    with pytest.raises(InputError, match=r"no metrics for 2026-11-24 .*end on 2026-11-23"):
        build_summary(rows(), D + timedelta(days=1))
    with pytest.raises(InputError, match="no metrics yet"):
        build_summary(ReportInputs("usd", []), D)
