"""Money, rates and days as the report prints them."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from stripe_kpi.report.formatting import (
    format_compact_money,
    format_day,
    format_money,
    format_rate,
    format_short_day,
    format_signed_money,
)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (123456, "usd", "$1,234.56"),
        (5, "usd", "$0.05"),
        (0, "usd", "$0.00"),
        (-4000, "usd", "\u2212$40.00"),
        (123456789, "eur", "€1,234,567.89"),
        (99, "gbp", "£0.99"),
        (1000, "jpy", "¥1,000"),  # zero-decimal: 1000 is ¥1,000, not ¥10.00
        (1200, "krw", "₩1,200"),
        (1234, "kwd", "KWD 1.234"),  # three decimals
        (123456, "chf", "CHF 1,234.56"),  # no symbol: the code
        (123456, "CAD", "CA$1,234.56"),
    ],
)
def test_format_money(amount: int, currency: str, expected: str) -> None:
    assert format_money(amount, currency) == expected


def test_signed_money_shows_the_direction() -> None:
    assert format_signed_money(12000, "usd") == "+$120.00"
    assert format_signed_money(-2900, "usd") == "\u2212$29.00"
    assert format_signed_money(0, "usd") == "$0.00"


def test_compact_money_for_axis_labels_rounds_to_whole_units() -> None:
    assert format_compact_money(1234550, "usd") == "$12,346"
    assert format_compact_money(1000, "jpy") == "¥1,000"
    assert format_compact_money(-150, "usd") == "\u2212$2"


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (Fraction(1, 40), "2.5%"),
        (Fraction(9, 10), "90.0%"),
        (Fraction(1_204_567, 1_200_000), "100.4%"),
        (Fraction(1, 2000), "0.1%"),  # 0.05 % rounds half up
        (Fraction(-1, 1000), "\u22120.1%"),
        (Fraction(-1, 100_000), "0.0%"),  # never "−0.0%"
        (None, "n/a"),  # zero denominator: undefined, not 0
    ],
)
def test_format_rate(rate: Fraction | None, expected: str) -> None:
    assert format_rate(rate) == expected


def test_days_are_english_whatever_the_locale() -> None:
    assert format_day(date(2026, 11, 23)) == "Mon 23 Nov 2026"
    assert format_day(date(2026, 10, 25)) == "Sun 25 Oct 2026"
    assert format_short_day(date(2026, 3, 1)) == "1 Mar"
