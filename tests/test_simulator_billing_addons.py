"""Add-on businesses in the billing engine: coupons limited to products, subscriptions with many
items. Every amount is worked out by hand in the comment beside it.

Stripe's ``applies_to`` "limits the items in an invoice that the coupon can apply to"
(stripe.com/docs/billing/subscriptions/discounts): a limited coupon discounts only the lines of
its products, a percentage from each, a fixed amount from their total at most.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.saas import generate_account


def on(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def core_and_addon(**coupon: object) -> tuple[BillingAccount, dict, dict]:
    """$40 core + $20 add-on from 1 Jan 2026, with a coupon limited to the add-on's product."""
    acct = BillingAccount(on(2026, 1, 1), seed=3)
    customer = acct.create_customer("Ada", "ada@example.com")
    core = acct.create_price(4000, "month", product="Core")
    addon = acct.create_price(2000, "month", product="Add-on")
    limited = acct.create_coupon(duration="forever", applies_to=["Add-on"], **coupon)
    sub = acct.subscribe(customer, [(core, 1), (addon, 1)], coupon=limited)
    return acct, sub, limited


def discounted(invoice: dict) -> list[tuple[int, list[int]]]:
    """Each line's amount and the discount amounts written on it."""
    return [
        (line["amount"], [d["amount"] for d in line["discount_amounts"]])
        for line in invoice["lines"]["data"]
    ]


def test_a_limited_coupon_names_its_products() -> None:
    acct, _, limited = core_and_addon(percent_off=25)
    addon_product = next(p for p in acct.products.values() if p["name"] == "Add-on")
    assert limited["applies_to"] == {"products": [addon_product["id"]]}
    assert acct.create_coupon(percent_off=10)["applies_to"] is None
    with pytest.raises(ValueError, match="at least one product"):
        acct.create_coupon(percent_off=10, applies_to=[])


def test_a_limited_percent_coupon_discounts_only_its_products_lines() -> None:
    acct, sub, _ = core_and_addon(percent_off=25)
    acct.advance(on(2026, 2, 15))
    first, renewal = (acct.invoices[i] for i in list(acct.invoices)[:2])
    # Core 4000 untouched; add-on 2000 − 25 % = 2000 − 500; total 4000 + 1500 = 5500.
    for invoice in (first, renewal):
        assert discounted(invoice) == [(4000, []), (2000, [500])]
        assert invoice["total"] == 5500
        assert [line["discounts"] for line in invoice["lines"]["data"]] == [
            [],
            sub["discounts"],
        ]


def test_a_limited_amount_off_coupon_comes_off_its_products_lines() -> None:
    acct, _, _ = core_and_addon(amount_off=1500)
    (first,) = acct.invoices.values()
    # $15 off the add-on's $20 line only: 4000 + (2000 − 1500) = 4500.
    assert discounted(first) == [(4000, []), (2000, [1500])]
    assert first["total"] == 4500


def test_a_limited_amount_off_is_capped_at_its_products_total() -> None:
    acct, _, _ = core_and_addon(amount_off=3000)
    (first,) = acct.invoices.values()
    # $30 off, but only the add-on's $20 may be discounted: 4000 + 0 = 4000 (not 3000).
    assert discounted(first) == [(4000, []), (2000, [2000])]
    assert first["total"] == 4000


def test_a_limited_amount_off_is_spread_over_its_products_lines() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=3)
    customer = acct.create_customer("Ada", "ada@example.com")
    core = acct.create_price(4000, "month", product="Core")
    sso = acct.create_price(2000, "month", product="SSO")
    audit = acct.create_price(1000, "month", product="Audit log")
    save = acct.create_coupon(amount_off=1500, duration="forever", applies_to=["SSO", "Audit log"])
    acct.subscribe(customer, [(core, 1), (sso, 1), (audit, 1)], coupon=save)
    (first,) = acct.invoices.values()
    # 1500 over 2000 + 1000: SSO 1500 × 2000 // 3000 = 1000, the last line the rest, 500.
    assert discounted(first) == [(4000, []), (2000, [1000]), (1000, [500])]
    assert first["total"] == 7000 - 1500


def test_prorations_are_net_of_a_limited_coupon_only_on_its_products() -> None:
    acct, sub, _ = core_and_addon(percent_off=25)
    core_item, addon_item = sub["items"]["data"]
    acct.change(sub, on(2026, 1, 16), quantity=2, item=addon_item)
    acct.change(sub, on(2026, 1, 16), quantity=2, item=core_item)
    pending = [ii["amount"] for ii in acct.invoiceitems.values()]
    # 16 of January's 31 days are left.
    # Add-on credit: 2000 × 16/31 = 1032.26 → 1032, less 25 % (258) → −774;
    #        debit:  4000 × 16/31 = 2064.52 → 2065, less 25 % (516.25 → 516) → 1549.
    # Core credit:   4000 × 16/31 → −2065; debit 8000 × 16/31 = 4129.03 → 4129 (no coupon).
    assert pending == [-774, 1549, -2065, 4129]


def test_twelve_items_bill_twelve_lines_and_prorations_add_more() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=4)
    customer = acct.create_customer("Pack Co", "ops@pack.example")
    addons = [acct.create_price(500 * (n + 1), "month", product=f"Add-on {n}") for n in range(14)]
    sub = acct.subscribe(customer, [(price, 1) for price in addons[:12]])
    acct.add_item(sub, addons[12], 1, on(2026, 1, 16))
    acct.add_item(sub, addons[13], 1, on(2026, 1, 16))
    acct.change(sub, on(2026, 1, 16), quantity=3, item=sub["items"]["data"][0])
    acct.advance(on(2026, 2, 2))
    first, renewal = acct.invoices.values()
    assert len(first["lines"]["data"]) == 12
    # The February renewal: 2 add-on debits + the seat change's credit and debit (4 pending
    # prorations), then a period line for each of the 14 items: 18 lines.
    assert len(renewal["lines"]["data"]) == 18
    assert len(sub["items"]["data"]) == 14
    # 500 + 1000 + … + 6000 = 500 × 78 = 39000 for the first twelve.
    assert first["total"] == 39000


def test_stripe_allows_twenty_items_at_most() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=5)
    customer = acct.create_customer("Pack Co", "ops@pack.example")
    prices = [acct.create_price(100, "month", product=f"Add-on {n}") for n in range(21)]
    with pytest.raises(ValueError, match="1 to 20 items"):
        acct.subscribe(customer, [(price, 1) for price in prices])
    sub = acct.subscribe(customer, [(price, 1) for price in prices[:20]])
    with pytest.raises(ValueError, match="20 items Stripe allows"):
        acct.add_item(sub, prices[20], 1)


def test_a_generated_account_has_a_few_add_on_packs() -> None:
    """What the demo account must contain for a sync to be tested on it: a few subscriptions of
    12+ items (past the 10 embedded), invoices of 15+ lines, seats on graduated and volume tiers,
    a coupon limited to the add-ons; all of it rare, as on a real account."""
    acct = generate_account(5, 400, on(2024, 1, 1), on(2026, 1, 1))
    subs = list(acct.subscriptions.values())
    packs = [s for s in subs if len(s["items"]["data"]) >= 12]
    assert 0 < len(packs) < 0.05 * len(subs)
    assert max(len(s["items"]["data"]) for s in subs) <= 20
    lines = [len(i["lines"]["data"]) for i in acct.invoices.values()]
    assert 0 < sum(n >= 15 for n in lines) < 0.05 * len(lines)
    seat_modes = {
        item["price"]["tiers_mode"]
        for s in subs
        for item in s["items"]["data"]
        if item["price"]["recurring"]["usage_type"] == "licensed"
    }
    assert {"graduated", "volume"} <= seat_modes
    limited = acct.coupons["ADDONS25"]
    addon_products = set(limited["applies_to"]["products"])
    with_it = {d["id"] for d in acct.discounts.values() if d["source"]["coupon"] == "ADDONS25"}
    assert 0 < len(with_it) < 0.05 * len(subs)
    for invoice in acct.invoices.values():
        for line in invoice["lines"]["data"]:
            taken = sum(d["amount"] for d in line["discount_amounts"] if d["discount"] in with_it)
            if taken:  # 25 % off an add-on line, never off the seats
                assert line["pricing"]["price_details"]["product"] in addon_products
