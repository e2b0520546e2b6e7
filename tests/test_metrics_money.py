"""Money arithmetic: normalisation, half-up rounding, what tiered and package prices charge."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from stripe_kpi.metrics.inputs import inputs_from_rows
from stripe_kpi.metrics.money import (
    inclusive_tax_factor,
    minor_exponent,
    monthly,
    price_amount,
    round_minor,
)
from tests.metrics_factories import Account


def _price(**kw) -> object:
    account = Account()
    price_id = account.price(**kw)
    return inputs_from_rows(account.tables()).prices[price_id]


@pytest.mark.parametrize(
    ("amount", "interval", "count", "expected"),
    [
        (5000, "month", 1, Decimal(5000)),
        (9000, "month", 3, Decimal(3000)),  # $90 every 3 months → 30.00
        (120000, "year", 1, Decimal(10000)),  # $1,200 a year → 100.00
        (120000, "year", 2, Decimal(5000)),
        (1200, "week", 1, Decimal(5200)),  # 12 × 52 / 12
        (1000, "day", 1, Decimal(30416) + Decimal(2) / 3),  # 10 × 365 / 12 = 304.1666…
    ],
)
def test_monthly_normalisation(amount: int, interval: str, count: int, expected: Decimal) -> None:
    assert monthly(Decimal(amount), interval, count) == expected


def test_weekly_ten_dollars_rounds_to_43_33() -> None:
    assert round_minor(monthly(Decimal(1000), "week", 1)) == 4333  # 4333.33… cents


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.5", 13), ("13.5", 14), ("-2.5", -3), ("2.49", 2), ("0.5", 1), ("7", 7)],
)
def test_round_half_up_not_bankers(value: str, expected: int) -> None:
    assert round_minor(Decimal(value)) == expected


def test_round_survives_division_artifacts() -> None:
    # 100 / 1.2 × 1.2 is 99.999…9 in 28 digits; the amount is 100 cents.
    assert round_minor(Decimal(100) / Decimal("1.2") * Decimal("1.2")) == 100
    # 0.5 cents reached through a thirds division is still a half.
    assert round_minor(Decimal(3) / Decimal(6)) == 1


def test_minor_units_per_currency() -> None:
    assert minor_exponent("usd") == 2
    assert minor_exponent("JPY") == 0
    assert minor_exponent("krw") == 0
    assert minor_exponent("kwd") == 3


def test_per_unit_times_quantity() -> None:
    assert price_amount(_price(unit_amount=1000), 8) == 8000


def test_sub_cent_unit_amount_kept_exact() -> None:
    account = Account()
    price_id = account.price(unit_amount=None)
    account.find("price", price_id)["unit_amount_decimal"] = "0.125"  # an eighth of a cent
    price = inputs_from_rows(account.tables()).prices[price_id]
    assert price_amount(price, 1000) == Decimal(125)


TIERS = [
    {"up_to": 5, "unit_amount_decimal": "1000", "flat_amount_decimal": None},
    {"up_to": None, "unit_amount_decimal": "800", "flat_amount_decimal": "500"},
]


def test_graduated_tiers_bill_each_band() -> None:
    price = _price(unit_amount=None, billing_scheme="tiered", tiers=TIERS, tiers_mode="graduated")
    assert price_amount(price, 3) == 3000  # 3 × 10.00, first band only
    assert price_amount(price, 8) == 5 * 1000 + 3 * 800 + 500  # 79.00


def test_volume_tiers_bill_all_units_at_one_band() -> None:
    price = _price(unit_amount=None, billing_scheme="tiered", tiers=TIERS, tiers_mode="volume")
    assert price_amount(price, 5) == 5000
    assert price_amount(price, 8) == 8 * 800 + 500  # 69.00


@pytest.mark.parametrize(("rounding", "expected"), [("up", 3 * 2000), ("down", 2 * 2000)])
def test_package_pricing(rounding: str, expected: int) -> None:
    price = _price(unit_amount=2000, transform_quantity={"divide_by": 10, "round": rounding})
    assert price_amount(price, 25) == expected  # 25 units in packs of 10


def test_price_in_another_currency_uses_its_option() -> None:
    options = {"eur": {"unit_amount": 900, "unit_amount_decimal": "900"}}
    price = _price(unit_amount=1000, currency_options=options)
    assert price_amount(price, 2, "eur") == 1800
    with pytest.raises(ValueError):
        price_amount(price, 2, "gbp")


def test_inclusive_tax_share() -> None:
    assert Decimal(12000) * inclusive_tax_factor((Decimal(20),)) == Decimal(10000)
    assert inclusive_tax_factor(()) == 1


def test_tiers_parse_stripe_integer_fields() -> None:
    tiers = [
        {"up_to": 10, "unit_amount": 100, "flat_amount": 50},
        {"up_to": "inf", "unit_amount": 80},
    ]
    account = Account()
    price_id = account.price(None, billing_scheme="tiered", tiers_mode="volume", tiers=tiers)
    account.find("price", price_id)["tiers"] = json.dumps(tiers)
    price = inputs_from_rows(account.tables()).prices[price_id]
    assert price_amount(price, 12) == 12 * 80
    assert price_amount(price, 10) == 10 * 100 + 50


def test_rows_as_value_sequences_equal_rows_as_mappings() -> None:
    """A loader may hand ``select(*COLUMNS[table])`` rows straight over, in column order."""
    from stripe_kpi.metrics.inputs import COLUMNS

    account = Account()
    account.simple(5000, 1767225600, 1772323200, quantity=2)
    tables = account.tables()
    as_values = {
        table: [tuple(row.get(c) for c in COLUMNS[table]) for row in rows]
        for table, rows in tables.items()
        if table in COLUMNS
    }
    assert inputs_from_rows(as_values) == inputs_from_rows(tables)
