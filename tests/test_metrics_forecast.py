"""The MRR forecast of METRICS.md §9 (``metrics.forecast``), on figures worked out by hand.
Money in minor units; "today" is 15 Jun 2026, so the base months are March, April and May and
the projected months July, August and September."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from stripe_kpi.metrics import CustomerResult, Movement
from stripe_kpi.metrics.committed import Commitment
from stripe_kpi.metrics.forecast import BaseMonth, base_months, forecast_json, project
from stripe_kpi.metrics.ledger import Ledger

TODAY = date(2026, 6, 15)
QUIET = [BaseMonth(date(2026, m, 1), 100000, 0, 0) for m in (3, 4, 5)]


def ending(day: date, amount: int, kind: str = "ending") -> Commitment:
    return Commitment("cus_1", "sub_1", kind, day.toordinal(), amount)  # type: ignore[arg-type]


def ends(found) -> list[Fraction]:
    return [m.mrr_end for m in found.months]


def test_zero_churn_and_zero_growth_is_flat() -> None:
    found = project(100000, TODAY, QUIET, [], months=3)
    assert [m.month for m in found.months] == [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]
    assert ends(found) == [100000, 100000, 100000]
    assert (found.growth, found.shrink_rate) == (0, 0)


def test_three_months_by_hand() -> None:
    based_on = [
        BaseMonth(date(2026, 3, 1), 10000, 1200, 500),  # lost 500 / 10,000 = 5 %
        BaseMonth(date(2026, 4, 1), 20000, 900, 400),  # 400 / 20,000 = 2 %
        BaseMonth(date(2026, 5, 1), 5000, 1500, 100),  # 100 / 5,000 = 2 %
    ]
    found = project(20000, TODAY, based_on, [], months=3)
    # growth (1,200 + 900 + 1,500) / 3 = 1,200; shrink (5 % + 2 % + 2 %) / 3 = 3 %.
    assert (found.growth, found.shrink_rate) == (1200, Fraction(3, 100))
    # July: 20,000 + 1,200 − 600 (3 % of 20,000) = 20,600
    # August: 20,600 + 1,200 − 618 = 21,182
    # September: 21,182 + 1,200 − 635.46 = 21,746.54 → 217.47 once rounded
    assert ends(found) == [20600, 21182, Fraction(2174654, 100)]
    doc = forecast_json(found, "usd")
    assert [m["mrr_end"] for m in doc["months"]] == [206.0, 211.82, 217.47]
    assert [m["shrink"] for m in doc["months"]] == [-6.0, -6.18, -6.35]  # 635.46 → 635
    assert doc["kind"] == "projection"
    assert [m["month"] for m in doc["based_on"]] == ["2026-03", "2026-04", "2026-05"]
    assert doc["shrink_rate"] == 0.03


def test_a_scheduled_cancellation_lands_in_its_month() -> None:
    rows = [
        ending(date(2026, 8, 1), -3000),  # set to cancel: its period ends 1 Aug
        ending(date(2026, 6, 20), 500, "scheduled"),  # a phase later this month: July's start
        ending(date(2026, 7, 1), 4000, "trial"),  # trials are in the base months' new
    ]
    found = project(10000, TODAY, QUIET, rows, months=3)
    assert found.scheduled_now == 500
    assert [m.scheduled for m in found.months] == [0, -3000, 0]
    # 10,000 + 500 = 10,500 in July; −3,000 in August: 7,500 then.
    assert ends(found) == [10500, 7500, 7500]


def test_base_months_read_from_the_ledger() -> None:
    def day(m: int, d: int) -> int:
        return date(2026, m, d).toordinal()

    # A: $100 from 1 Feb, −$40 on 10 Apr. B: new $50 on 20 Mar, churns 5 May.
    a = CustomerResult(
        "A",
        ((day(2, 1), 10000), (day(4, 10), 6000)),
        (),
        (
            Movement(day(2, 1), "A", "new", 10000, 0, 10000),
            Movement(day(4, 10), "A", "contraction", -4000, 10000, 6000),
        ),
        (),
    )
    b = CustomerResult(
        "B",
        ((day(3, 20), 5000), (day(5, 5), 0)),
        (),
        (
            Movement(day(3, 20), "B", "new", 5000, 0, 5000),
            Movement(day(5, 5), "B", "churn", -5000, 5000, 0, "voluntary"),
        ),
        (),
    )
    found = base_months(Ledger([a, b]), TODAY)
    # March: starts at 100, gains 50. April: starts at 150, loses 40. May: starts at 110, loses 50.
    assert found == [
        BaseMonth(date(2026, 3, 1), 10000, 5000, 0),
        BaseMonth(date(2026, 4, 1), 15000, 0, 4000),
        BaseMonth(date(2026, 5, 1), 11000, 0, 5000),
    ]
    # A month before the account's first day is left out: on 15 Mar, only February is full.
    assert base_months(Ledger([a, b]), date(2026, 3, 15)) == [
        BaseMonth(date(2026, 2, 1), 0, 10000, 0)
    ]
