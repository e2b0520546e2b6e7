"""Monthly cohorts (``metrics.cohorts``): a customer's contribution, its removal, the stored
levels read back, and months carried forward; figures worked out by hand."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from stripe_kpi.metrics import CustomerResult
from stripe_kpi.metrics.cohorts import CohortLedger, cohorts, latest_row, retention


def day(month: int, d: int, year: int = 2026) -> int:
    return date(year, month, d).toordinal()


def customer(name: str, *steps: tuple[int, int]) -> CustomerResult:
    return CustomerResult(name, tuple(steps), (), (), ())


# A: $50 from 10 Jan, churns 5 Feb, reactivates at $70 on 20 Mar.
A = customer("A", (day(1, 10), 5000), (day(2, 5), 0), (day(3, 20), 7000))
# B: $30 from 31 Jan, $45 from 1 Mar.
B = customer("B", (day(1, 31), 3000), (day(3, 1), 4500))
# C: a trial's zero first, then $20 from 2 Feb.
C = customer("C", (day(1, 15), 0), (day(2, 2), 2000))
# N: never paid.
N = customer("N", (day(1, 15), 0))


def test_cells_by_month_since() -> None:
    cells = CohortLedger([A, B, C, N]).cells(date(2026, 4, 10))
    assert cells == [
        # January (A, B): end of Jan 50 + 30; Feb 0 + 30; Mar 70 + 45; Apr (to 10 Apr) the same.
        (date(2026, 1, 1), 0, 2, 2, 8000),
        (date(2026, 1, 1), 1, 2, 1, 3000),
        (date(2026, 1, 1), 2, 2, 2, 11500),
        (date(2026, 1, 1), 3, 2, 2, 11500),
        # February (C, its trial's zero before): 20 every month.
        (date(2026, 2, 1), 0, 1, 1, 2000),
        (date(2026, 2, 1), 1, 1, 1, 2000),
        (date(2026, 2, 1), 2, 1, 1, 2000),
    ]


def test_retention_rows() -> None:
    january, february = cohorts([A, B, C, N], date(2026, 4, 10))
    # customers: month 0 is 1; then 1/2, 2/2, 2/2.  mrr: ÷ 80: 30/80, 115/80, 115/80.
    assert retention(january, "customers") == [1, Fraction(1, 2), 1, 1]
    assert retention(january, "mrr") == [1, Fraction(3, 8), Fraction(23, 16), Fraction(23, 16)]
    assert january.starting_mrr == 8000
    assert latest_row([january, february], "customers") == (february, [1, 1, 1])


def test_month_zero_of_customers_is_whole_even_when_one_left_within_it() -> None:
    # D: $40 from 3 Jan, gone on 20 Jan: no MRR at the end of January.
    d = customer("D", (day(1, 3), 4000), (day(1, 20), 0))
    (january,) = cohorts([A, d], date(2026, 2, 28))
    assert [(m.customers, m.mrr) for m in january.months] == [(1, 5000), (0, 0)]
    assert retention(january, "customers") == [1, 0]  # month 0 by definition; then 0 of 2
    assert retention(january, "mrr") == [1, 0]


def test_taking_a_customer_out_is_the_inverse_of_adding_them() -> None:
    ledger = CohortLedger([A, B, C])
    ledger.add(B, sign=-1)
    assert ledger.changes() == CohortLedger([A, C]).changes()
    ledger.add(C, sign=-1)
    ledger.add(A, sign=-1)
    assert ledger.changes() == {}
    assert ledger.cells(date(2026, 4, 10)) == []


def test_stored_levels_read_back_and_carried_to_a_later_month() -> None:
    stored = CohortLedger([A, B, C]).cells(date(2026, 3, 31))
    again = CohortLedger.from_levels(stored)
    assert again.cells(date(2026, 3, 31)) == stored
    # Nothing of theirs changes after March: April and May carry March's levels.
    later = again.cells(date(2026, 5, 2))
    assert later == CohortLedger([A, B, C]).cells(date(2026, 5, 2))
    assert [c[1:] for c in later if c[0] == date(2026, 2, 1)][-1] == (3, 1, 1, 2000)


def test_parts_computed_apart_add_up() -> None:
    whole = CohortLedger([A, B, C]).changes()
    parts = CohortLedger.from_changes([CohortLedger([A]).changes(), CohortLedger([B, C]).changes()])
    assert parts.changes() == whole
