"""Stacked discounts and prices billed through ``currency_options`` in the billing engine.

Stripe's order: "Subscription item discounts are applied before subscription discounts" (the API
reference of ``subscription.discounts``); each discount takes its share of what the ones before
it left (percentages compound), ``percent_off`` before ``amount_off`` within a level (see
``billing.invoices.stack_order``). Every amount is worked out by hand beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stripe_kpi.simulator.billing import BillingAccount


def on(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def discounted(invoice: dict) -> list[tuple[int, list[int]]]:
    """Each line's amount and the discount amounts written on it, in order."""
    return [
        (line["amount"], [d["amount"] for d in line["discount_amounts"]])
        for line in invoice["lines"]["data"]
    ]


def core_and_addon(acct: BillingAccount) -> tuple[dict, dict, dict]:
    customer = acct.create_customer("Ada", "ada@example.com")
    core = acct.create_price(10000, "month", product="Core")
    addon = acct.create_price(5000, "month", product="Add-on")
    return customer, core, addon


def test_item_discount_comes_before_the_subscription_discount() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=5)
    customer, core, addon = core_and_addon(acct)
    ten = acct.create_coupon(percent_off=10, duration="forever")
    twenty = acct.create_coupon(percent_off=20, duration="forever")
    sub = acct.subscribe(
        customer, [(core, 1), (addon, 1)], coupon=ten, item_coupons={addon["id"]: [twenty]}
    )
    acct.advance(on(2026, 2, 15))
    first, renewal = (acct.invoices[i] for i in list(acct.invoices)[:2])
    # Core 10000: 10 % → 1000. Add-on 5000: its own 20 % first → 1000, then 10 % of the 4000
    # left → 400. Total 15000 − 1000 − 1000 − 400 = 12600.
    for invoice in (first, renewal):
        assert discounted(invoice) == [(10000, [1000]), (5000, [1000, 400])]
        assert invoice["total"] == 12600
    addon_item = sub["items"]["data"][1]
    item_discount, sub_discount = addon_item["discounts"][0], sub["discounts"][0]
    assert first["discounts"] == [sub_discount]  # the invoice lists the subscription's only
    assert first["lines"]["data"][1]["discounts"] == [item_discount, sub_discount]
    assert acct.discounts[item_discount]["subscription_item"] == addon_item["id"]
    assert acct.discounts[item_discount]["subscription"] == sub["id"]
    assert acct.discounts[sub_discount]["subscription_item"] is None
    totals = {d["discount"]: d["amount"] for d in first["total_discount_amounts"]}
    assert totals == {sub_discount: 1400, item_discount: 1000}


def test_percent_off_comes_before_amount_off_on_the_subscription() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=5)
    customer, core, addon = core_and_addon(acct)
    fifteen = acct.create_coupon(amount_off=1500, currency="usd", duration="forever")
    ten = acct.create_coupon(percent_off=10, duration="forever")
    # Listed amount first; Stripe's order still takes the percentage first.
    acct.subscribe(customer, [(core, 1), (addon, 1)], coupons=[fifteen, ten])
    invoice = next(iter(acct.invoices.values()))
    # 10 %: 1000 and 500, leaving 9000 + 4500 = 13500. $15 spread in proportion to what is
    # left: core 1500 × 9000 / 13500 = 1000, the add-on the rest, 500. Total 15000 − 3000 = 12000.
    assert discounted(invoice) == [(10000, [1000, 1000]), (5000, [500, 500])]
    assert invoice["total"] == 12000


def test_two_percentages_compound() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=5)
    customer = acct.create_customer("Bo", "bo@example.com")
    price = acct.create_price(3500, "month", product="Team")
    five = acct.create_coupon(percent_off=5, duration="forever")
    twenty = acct.create_coupon(percent_off=20, duration="forever")
    acct.subscribe(customer, [(price, 1)], coupons=[five, twenty])
    invoice = next(iter(acct.invoices.values()))
    # 3500 × 5 % = 175, leaving 3325; × 20 % = 665; total 3500 − 840 = 2660 ($35 × 0.95 × 0.8).
    assert discounted(invoice) == [(3500, [175, 665])]
    assert invoice["total"] == 2660


def test_a_repeating_item_discount_leaves_its_item_at_its_end() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=5)
    customer, core, addon = core_and_addon(acct)
    half = acct.create_coupon(percent_off=50, duration="repeating", duration_in_months=1)
    sub = acct.subscribe(customer, [(core, 1), (addon, 1)], item_coupons={addon["id"]: [half]})
    acct.advance(on(2026, 2, 15))
    first, renewal = (acct.invoices[i] for i in list(acct.invoices)[:2])
    # Jan: add-on 5000 − 50 % = 2500 off; total 12500. The discount ends 1 Feb, before the
    # renewal: Feb pays 15000.
    assert discounted(first) == [(10000, []), (5000, [2500])]
    assert first["total"] == 12500
    assert discounted(renewal) == [(10000, []), (5000, [])]
    assert renewal["total"] == 15000
    assert sub["items"]["data"][1]["discounts"] == []


def test_a_proration_is_net_of_every_percentage_in_force() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=5)
    customer, core, _ = core_and_addon(acct)
    ten = acct.create_coupon(percent_off=10, duration="forever")
    twenty = acct.create_coupon(percent_off=20, duration="forever")
    sub = acct.subscribe(customer, [(core, 1)], coupon=ten, item_coupons={core["id"]: [twenty]})
    acct.change(sub, datetime(2026, 1, 16, 12, tzinfo=UTC), quantity=2)
    credit, debit = acct.pending[customer["id"]]
    # 15.5 of January's 31 days left. Credit: 1 × 10000 × 15.5 / 31 = 5000; the item's 20 %
    # first: −1000 → 4000; then 10 %: −400 → 3600. Debit: 2 seats, 10000 → 8000 → 7200.
    assert (credit["amount"], debit["amount"]) == (-3600, 7200)
    item_discount = sub["items"]["data"][0]["discounts"][0]
    assert debit["discounts"] == [item_discount, sub["discounts"][0]]


def test_a_usd_price_bills_a_eur_subscription_at_its_option() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=5)
    customer = acct.create_customer("Émile", "emile@example.com")
    price = acct.create_price(5000, "month", product="Pro", currency_options={"eur": 4500})
    assert price["currency"] == "usd"
    assert price["currency_options"]["eur"]["unit_amount"] == 4500
    sub = acct.subscribe(customer, [(price, 2)], currency="eur")
    acct.advance(on(2026, 2, 15))
    first, renewal = (acct.invoices[i] for i in list(acct.invoices)[:2])
    # 2 × €45.00 = €90.00, every period, in EUR.
    for invoice in (first, renewal):
        assert invoice["currency"] == "eur"
        assert invoice["total"] == 9000
        line = invoice["lines"]["data"][0]
        assert line["currency"] == "eur"
        assert line["description"] == "2 × Pro (at €45.00 / month)"
    assert sub["currency"] == "eur"
    assert customer["currency"] == "eur"


def test_a_tiered_currency_option_bills_its_own_tiers() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=5)
    customer = acct.create_customer("Émile", "emile@example.com")
    price = acct.create_price(
        product="Seats",
        billing_scheme="tiered",
        tiers=[(4, 1200, None), (None, 900, None)],
        currency_options={"eur": [(4, 1100, None), (None, 800, None)]},
    )
    acct.subscribe(customer, [(price, 7)], currency="eur")
    invoice = next(iter(acct.invoices.values()))
    # Graduated in EUR: 4 × €11 + 3 × €8 = 4400 + 2400 = 6800.
    assert invoice["total"] == 6800


def test_a_currency_the_price_does_not_offer_is_refused() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=5)
    customer = acct.create_customer("Émile", "emile@example.com")
    price = acct.create_price(5000, "month", product="Pro", currency_options={"eur": 4500})
    with pytest.raises(ValueError, match="bills no gbp"):
        acct.subscribe(customer, [(price, 1)], currency="gbp")


def test_the_demo_account_has_a_few_stacks_and_currency_options() -> None:
    from stripe_kpi.simulator.saas import generate_account

    acct = generate_account(seed=7, customers=250, start=on(2024, 6, 1), end=on(2026, 6, 1))
    subs = list(acct.subscriptions.values())
    on_items = [s for s in subs if any(i["discounts"] for i in s["items"]["data"])]
    stacked = [s for s in subs if len(s["discounts"]) > 1]
    options = [s for s in subs if s["currency"] != s["items"]["data"][0]["price"]["currency"]]
    # Seed 7 draws 4 stacks among its US-dollar customers (2 with an item discount under a
    # subscription one, 2 with two subscription discounts) and 2 EUR customers on the USD price.
    assert all(s["discounts"] for s in on_items)  # item-level under subscription-level
    assert (len(on_items), len(stacked), len(options)) == (4, 2, 2)
    assert {s["currency"] for s in options} == {"eur"}
    for sub in options:
        invoice = acct.invoices[sub["latest_invoice"]]
        assert invoice["currency"] == "eur"
