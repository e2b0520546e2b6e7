"""The split of a subscription's MRR over its items (METRICS.md §8: discounts and rounding per
item, segments that sum exactly to the day's MRR), and the ``--segment`` kinds accepted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from stripe_kpi.metrics.fx import Converter
from stripe_kpi.metrics.history import AMOUNT_OFF_KEY, Component
from stripe_kpi.metrics.movements import subscription_value
from stripe_kpi.metrics.records import Customer
from stripe_kpi.metrics.segments import allocate, metadata_segment, parse_kind


def _rates(from_ccy: str, to_ccy: str, day: date) -> Decimal:
    assert (from_ccy, to_ccy) == ("eur", "usd")
    return Decimal("1.10")


CONV = Converter("usd", _rates)


def _item(key: str, cents: str, price: str, currency: str = "usd") -> Component:
    day = None if currency == "usd" else date(2026, 3, 1)
    return Component(key, currency, Decimal(cents), day, price)


def _off(cents: str) -> Component:
    return Component(AMOUNT_OFF_KEY, "usd", -Decimal(cents), None)


def test_a_fixed_amount_off_is_spread_over_the_items_in_proportion() -> None:
    """$30 + $10 with $15 off: 15 × 30/40 = 11.25 off the first, 15 × 10/40 = 3.75 off the
    second → 18.75 and 6.25, which add up to the subscription's 25.00."""
    comps = (_item("si_a", "3000", "price_a"), _item("si_b", "1000", "price_b"), _off("1500"))
    assert allocate(comps, CONV) == [("price_a", 1875), ("price_b", 625)]
    assert subscription_value(comps, CONV) == 2500


def test_the_cents_left_by_the_shares_go_to_the_largest_fractions() -> None:
    """Three $10 items, $1 off: 33⅓ cents each, floored to 33 (99 cents); the last cent goes to
    the first of the equal fractions → 9.66, 9.67, 9.67 = 29.00."""
    comps = (
        _item("si_a", "1000", "p1"),
        _item("si_b", "1000", "p2"),
        _item("si_c", "1000", "p3"),
        _off("100"),
    )
    assert allocate(comps, CONV) == [("p1", 966), ("p2", 967), ("p3", 967)]
    assert sum(v for _, v in allocate(comps, CONV)) == subscription_value(comps, CONV) == 2900


def test_each_item_is_rounded_and_converted_once() -> None:
    """€10.005 at 1.10 = $11.0055 → 11.01; $20.004 → 20.00: 31.01 in all, as the walk counts."""
    comps = (_item("si_e", "1000.5", "p_eur", "eur"), _item("si_u", "2000.4", "p_usd"))
    assert allocate(comps, CONV) == [("p_eur", 1101), ("p_usd", 2000)]
    assert subscription_value(comps, CONV) == 3101


def test_more_off_than_the_items_leaves_nothing() -> None:
    """$5 with $8 off: MRR never below zero, and no item keeps anything."""
    assert allocate((_item("si_a", "500", "p"), _off("800")), CONV) == []
    assert subscription_value((_item("si_a", "500", "p"), _off("800")), CONV) == 0


def test_segment_kinds() -> None:
    assert [parse_kind(k) for k in ("plan", "country", " metadata:segment ")] == [
        "plan",
        "country",
        "metadata:segment",
    ]
    for bad in ("plans", "metadata:", "metadata"):
        with pytest.raises(ValueError, match="use plan, product, interval, currency, country"):
            parse_kind(bad)


def test_a_metadata_segment_is_the_value_else_unknown() -> None:
    tagged = Customer("cus_1", 0, metadata=(("company", "X"), ("segment", "smb")))
    assert metadata_segment(tagged, "segment") == "smb"
    assert metadata_segment(tagged, "tier") == "unknown"
    assert metadata_segment(None, "segment") == "unknown"


def test_example_26_one_customer_in_two_currencies() -> None:
    """$20 in USD and €10 at 1.10 in EUR, one customer: currency segments usd 20.00 and
    eur 11.00 (10 × 1.10), one paying customer in each, one in all (31.00).

    Stripe lets a customer hold only one active subscription currency at a time
    (docs.stripe.com/invoicing/multi-currency-customers: "you can't have two active
    subscriptions with different currencies"), and the simulator follows it, so this history
    is written as rows rather than simulated: the metrics still split it as §8 says."""
    from stripe_kpi.metrics import compute_customers, inputs_from_rows
    from stripe_kpi.metrics.ledger import Ledger
    from stripe_kpi.metrics.segment_report import days_from_changes, segment_document
    from tests.metrics_factories import Account, at, ts

    account = Account()
    start, until = ts(2026, 1, 1), ts(2026, 3, 1)
    customer = account.customer(start)
    account.simple(2000, start, until, customer=customer)
    account.simple(1000, start, until, customer=customer, currency="eur")
    results = compute_customers(
        inputs_from_rows(account.tables()),
        currency="usd",
        tz="UTC",
        as_of=at(2026, 3, 1),
        rate=_rates,
        segments=True,
    )
    ledger = Ledger(results.values())
    day = date(2026, 3, 1)
    assert (ledger.level("mrr", day.toordinal()), ledger.level("customers", day.toordinal())) == (
        3100,
        1,
    )
    changes: dict[str, dict[int, list[int]]] = {}
    for kind, segment, on, *values in results[customer].segments or ():
        if kind == "currency":
            changes.setdefault(segment, {})[on] = values
    segments = {s: days_from_changes(c, day, day) for s, c in changes.items()}
    doc = segment_document("currency", segments, day, day, "day", currency="usd", tz="UTC")
    got = {e["segment"]: (e["totals"]["mrr_end"], e["totals"]["customers_end"])
           for e in doc["segments"]}  # fmt: skip
    assert got == {"usd": (20.0, 1), "eur": (11.0, 1)}


def test_the_documents_money_is_the_json_encoders() -> None:
    """The segment document converts its many figures without a Decimal each: the same JSON
    numbers as ``report_json.money`` (and ARPU rounded half up like it), in cents and in yen."""
    import random

    from stripe_kpi.metrics.kpis import arpu
    from stripe_kpi.metrics.report_json import money
    from stripe_kpi.metrics.segment_report import _Money

    draw = random.Random(12)
    for currency in ("usd", "jpy", "bhd"):
        cash = _Money(currency)
        for minor in [
            0,
            1,
            -1,
            5,
            105,
            -12345,
            *(draw.randint(-(10**9), 10**9) for _ in range(3000)),
        ]:
            assert cash(minor) == money(minor, currency)
            assert type(cash(minor)) is type(money(minor, currency))
        for _ in range(3000):
            mrr, customers = draw.randint(0, 10**7), draw.randint(1, 500)
            assert cash.arpu(mrr, customers) == money(arpu(mrr, customers), currency)
    assert _Money("usd").arpu(250, 2) == 1.25  # 2.50 / 2
    assert _Money("usd").arpu(5, 2) == 0.03  # 2.5 cents, half up
