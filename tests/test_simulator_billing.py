"""The simulated billing engine bills what Stripe would: numbers worked out by hand.

Every amount below is computed in the comment next to it, from Stripe's documented rules
(proration to the second, rounded once; discounts before tax; inclusive tax inside the price).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from stripe_kpi.simulator.billing import BillingAccount, DunningPolicy
from stripe_kpi.simulator.billing.invoices import format_money, price_amount
from stripe_kpi.simulator.clock import to_unix
from stripe_kpi.simulator.saas import generate_account


def on(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def ts(year: int, month: int, day: int, hour: int = 0) -> int:
    return to_unix(on(year, month, day, hour))


def one_customer(amount: int = 1000, quantity: int = 1, interval: str = "month", **kw):
    """An account with one customer subscribed at 1 Jan 2026 00:00 UTC."""
    start = kw.pop("start", on(2026, 1, 1))
    acct = BillingAccount(on(2026, 1, 1), currency=kw.pop("currency", "usd"), seed=1)
    customer = acct.create_customer("Ada", "ada@example.com", start)
    price = acct.create_price(amount, interval, kw.pop("interval_count", 1), product="Seats")
    sub = acct.subscribe(customer, [(price, quantity)], start, **kw)
    return acct, customer, price, sub


def invoices_of(acct: BillingAccount, sub: dict) -> list[dict]:
    return [
        i
        for i in acct.invoices.values()
        if i["parent"] and i["parent"]["subscription_details"]["subscription"] == sub["id"]
    ]


def lines(invoice: dict) -> list[tuple[str, int]]:
    return [(line["description"], line["amount"]) for line in invoice["lines"]["data"]]


# -- creation and renewal ---------------------------------------------------------------------


def test_subscription_create_then_renewals_bill_in_advance() -> None:
    acct, customer, price, sub = one_customer(5000)
    acct.advance(on(2026, 3, 15))
    created, feb, mar = invoices_of(acct, sub)
    assert created["billing_reason"] == "subscription_create"
    assert (created["created"], created["status_transitions"]["paid_at"]) == (ts(2026, 1, 1),) * 2
    assert lines(created) == [("1 × Seats (at $50.00 / month)", 5000)]
    # Renewal: a draft at the period start, finalized and charged an hour later.
    assert feb["billing_reason"] == "subscription_cycle"
    assert feb["created"] == ts(2026, 2, 1)
    assert feb["status_transitions"]["finalized_at"] == ts(2026, 2, 1, 1)
    assert (feb["status"], feb["amount_paid"], feb["attempt_count"]) == ("paid", 5000, 1)
    # The invoice's period is the finished one; the line's is the one billed in advance.
    assert (feb["period_start"], feb["period_end"]) == (ts(2026, 1, 1), ts(2026, 2, 1))
    assert feb["lines"]["data"][0]["period"] == {"start": ts(2026, 2, 1), "end": ts(2026, 3, 1)}
    item = sub["items"]["data"][0]
    assert (item["current_period_start"], item["current_period_end"]) == (
        ts(2026, 3, 1),
        ts(2026, 4, 1),
    )
    assert sub["latest_invoice"] == mar["id"]
    assert [i["number"] for i in (created, feb, mar)] == [
        f"{customer['invoice_prefix']}-{n:04d}" for n in (1, 2, 3)
    ]
    assert price["id"] == item["price"]["id"] == item["plan"]["id"]


def test_month_end_anchor_keeps_its_day() -> None:
    acct, _, _, sub = one_customer(1000, start=on(2026, 1, 31, 12))
    ends = []
    for month in (2, 3, 4, 5):
        acct.advance(on(2026, month, 28))
        ends.append(sub["items"]["data"][0]["current_period_end"])
    # 31 Jan → 28 Feb → 31 Mar → 30 Apr → 31 May: the anchor's day, clamped to short months.
    assert ends == [
        ts(2026, 2, 28, 12),
        ts(2026, 3, 31, 12),
        ts(2026, 4, 30, 12),
        ts(2026, 5, 31, 12),
    ]


def test_weekly_and_quarterly_periods() -> None:
    acct, _, _, weekly = one_customer(900, interval="week")
    acct.advance(on(2026, 1, 20))
    assert weekly["items"]["data"][0]["current_period_end"] == ts(2026, 1, 22)  # 1 + 3×7 days
    acct2, _, _, quarterly = one_customer(27000, interval_count=3)
    acct2.advance(on(2026, 5, 1))
    assert quarterly["items"]["data"][0]["current_period_end"] == ts(2026, 7, 1)
    assert lines(invoices_of(acct2, quarterly)[1]) == [
        ("1 × Seats (at $270.00 / every 3 months)", 27000)
    ]


# -- prorations -------------------------------------------------------------------------------


def test_seat_change_prorated_on_next_invoice() -> None:
    # 5 seats × $10, period 1 Jan – 1 Feb (31 days = 2,678,400 s); 8 seats from 11 Jan 00:00,
    # 21 days (1,814,400 s) left.
    #   credit −5,000 × 21/31 = −3,387.10 → −3,387    debit 8,000 × 21/31 = 5,419.35 → 5,419
    acct, _, _, sub = one_customer(1000, quantity=5)
    first_line = invoices_of(acct, sub)[0]["lines"]["data"][0]
    acct.change(sub, on(2026, 1, 11), quantity=8)
    assert len(invoices_of(acct, sub)) == 1  # nothing invoiced until the renewal
    acct.advance(on(2026, 2, 2))
    feb = invoices_of(acct, sub)[1]
    assert lines(feb) == [  # pending invoice items first, as Stripe lists them
        ("Unused time on 5 × Seats after 11 Jan 2026", -3387),
        ("Remaining time on 8 × Seats after 11 Jan 2026", 5419),
        ("8 × Seats (at $10.00 / month)", 8000),
    ]
    assert feb["total"] == 8000 - 3387 + 5419 == 10032
    credit, debit = feb["lines"]["data"][:2]
    for line in (credit, debit):
        details = line["parent"]["subscription_item_details"]
        assert details["proration"] is True
        assert details["subscription_item"] == sub["items"]["data"][0]["id"]
        assert details["invoice_item"].startswith("ii_")
        assert line["period"] == {"start": ts(2026, 1, 11), "end": ts(2026, 2, 1)}
    credited = credit["parent"]["subscription_item_details"]["proration_details"]
    assert credited["credited_items"] == {
        "invoice": first_line["invoice"],
        "invoice_line_items": [first_line["id"]],
    }


def test_always_invoice_bills_the_prorations_at_once() -> None:
    acct, _, _, sub = one_customer(1000, quantity=5)
    acct.change(sub, on(2026, 1, 11), quantity=8, proration_behavior="always_invoice")
    update = invoices_of(acct, sub)[1]
    assert update["billing_reason"] == "subscription_update"
    assert (update["total"], update["status"]) == (-3387 + 5419, "paid")  # 2,032
    assert update["status_transitions"]["paid_at"] == ts(2026, 1, 11)
    acct.advance(on(2026, 2, 2))
    assert invoices_of(acct, sub)[2]["total"] == 8000  # the prorations are not billed twice


def test_downgrade_prorated() -> None:
    # $100 → $60 on 20 May; period 1 May – 1 Jun (31 days), 12 days left.
    #   credit −10,000 × 12/31 = −3,870.97 → −3,871    debit 6,000 × 12/31 = 2,322.58 → 2,323
    acct, _, _, sub = one_customer(10000, start=on(2026, 5, 1))
    cheaper = acct.create_price(6000, "month", product="Seats")
    acct.change(sub, on(2026, 5, 20), price=cheaper)
    acct.advance(on(2026, 6, 2))
    assert invoices_of(acct, sub)[1]["total"] == 6000 - 3871 + 2323 == 4452


def test_proration_behavior_none_bills_nothing_until_renewal() -> None:
    acct, _, _, sub = one_customer(1000, quantity=5)
    acct.change(sub, on(2026, 1, 11), quantity=8, proration_behavior="none")
    acct.advance(on(2026, 2, 2))
    assert lines(invoices_of(acct, sub)[1]) == [("8 × Seats (at $10.00 / month)", 8000)]


def test_monthly_to_yearly_restarts_the_cycle_now() -> None:
    # $100/month from 1 Mar; $1,000/year from 16 Mar: 16 of March's 31 days unused.
    #   credit −10,000 × 16/31 = −5,161.29 → −5,161; the new year billed in full: 100,000.
    acct, _, _, sub = one_customer(10000, start=on(2026, 3, 1))
    yearly = acct.create_price(100000, "year", product="Seats")
    acct.change(sub, on(2026, 3, 16), price=yearly)
    update = invoices_of(acct, sub)[1]
    assert update["billing_reason"] == "subscription_update"
    assert lines(update) == [
        ("Unused time on Seats after 16 Mar 2026", -5161),
        ("1 × Seats (at $1,000.00 / year)", 100000),
    ]
    assert update["total"] == 94839
    assert sub["billing_cycle_anchor"] == ts(2026, 3, 16)
    item = sub["items"]["data"][0]
    assert (item["current_period_start"], item["current_period_end"]) == (
        ts(2026, 3, 16),
        ts(2027, 3, 16),
    )
    acct.advance(on(2026, 12, 31))
    assert len(invoices_of(acct, sub)) == 2  # nothing more until March 2027


def test_yearly_to_monthly_credit_carries_to_next_invoices() -> None:
    # $1,000/year from 1 Jan 2026; $100/month from 1 Jul: 184 of 365 days unused.
    #   credit −100,000 × 184/365 = −50,410.96 → −50,411; plus July in full: total −40,411.
    acct, customer, _, sub = one_customer(100000, interval="year")
    monthly = acct.create_price(10000, "month", product="Seats")
    acct.change(sub, on(2026, 7, 1), price=monthly)
    update = invoices_of(acct, sub)[1]
    assert (update["total"], update["amount_due"], update["status"]) == (-40411, 0, "paid")
    assert (update["starting_balance"], update["ending_balance"]) == (0, -40411)
    assert customer["balance"] == -40411
    acct.advance(on(2026, 8, 2))
    august = invoices_of(acct, sub)[2]
    assert (august["total"], august["amount_due"], august["ending_balance"]) == (10000, 0, -30411)
    assert customer["balance"] == -30411


def test_add_and_remove_items_are_prorated() -> None:
    # Add-on $31/month on 17 Jan (15 of 31 days left): +3,100 × 15/31 = 1,500.
    # Removed on 24 Jan (8 of 31 days left): −3,100 × 8/31 = −800.
    acct, _, _, sub = one_customer(1000)
    addon = acct.create_price(3100, "month", product="Add-on")
    item = acct.add_item(sub, addon, 1, on(2026, 1, 17))
    assert len(sub["items"]["data"]) == 2
    acct.remove_item(sub, item, on(2026, 1, 24))
    assert [i["id"] for i in sub["items"]["data"]] != [item["id"]]
    acct.advance(on(2026, 2, 2))
    assert lines(invoices_of(acct, sub)[1]) == [
        ("Remaining time on Add-on after 17 Jan 2026", 1500),
        ("Unused time on Add-on after 24 Jan 2026", -800),
        ("1 × Seats (at $10.00 / month)", 1000),
    ]


# -- trials -----------------------------------------------------------------------------------


def test_trial_converts_and_first_paid_invoice_at_trial_end() -> None:
    acct, _, _, sub = one_customer(3000, start=on(2026, 3, 1), trial_days=14)
    first = invoices_of(acct, sub)[0]
    assert (first["total"], first["status"], sub["status"]) == (0, "paid", "trialing")
    assert lines(first) == [("Trial period for Seats", 0)]
    assert (sub["trial_start"], sub["trial_end"]) == (ts(2026, 3, 1), ts(2026, 3, 15))
    acct.advance(on(2026, 3, 16))
    assert sub["status"] == "active"
    paid = invoices_of(acct, sub)[1]
    assert (paid["billing_reason"], paid["created"], paid["total"]) == (
        "subscription_cycle",
        ts(2026, 3, 15),
        3000,
    )
    assert paid["status_transitions"]["paid_at"] == ts(2026, 3, 15, 1)
    assert paid["lines"]["data"][0]["period"] == {"start": ts(2026, 3, 15), "end": ts(2026, 4, 15)}
    notices = [e for e in acct.log.events if e["type"] == "customer.subscription.trial_will_end"]
    assert [e["created"] for e in notices] == [ts(2026, 3, 12)]  # three days before


def test_trial_lapses_without_payment_method() -> None:
    acct, _, _, sub = one_customer(3000, start=on(2026, 3, 1), trial_days=14)
    acct.trial_lapses(sub)
    acct.advance(on(2026, 4, 30))
    assert (sub["status"], sub["ended_at"], sub["canceled_at"]) == (
        "canceled",
        ts(2026, 3, 15),
        ts(2026, 3, 15),
    )
    assert len(invoices_of(acct, sub)) == 1  # only the $0 trial invoice


# -- cancellation -----------------------------------------------------------------------------


def test_cancel_at_period_end_ends_at_period_end() -> None:
    acct, _, _, sub = one_customer(4000, start=on(2026, 5, 12))
    acct.cancel(
        sub, on(2026, 6, 5), at_period_end=True, feedback="too_expensive", comment="Budget cut"
    )
    assert (sub["status"], sub["cancel_at_period_end"], sub["cancel_at"]) == (
        "active",
        True,
        ts(2026, 6, 12),
    )
    acct.advance(on(2026, 7, 1))
    assert (sub["status"], sub["ended_at"], sub["canceled_at"]) == (
        "canceled",
        ts(2026, 6, 12),
        ts(2026, 6, 5),
    )
    assert sub["cancellation_details"] == {
        "comment": "Budget cut",
        "feedback": "too_expensive",
        "feedback_option": None,
        "reason": "cancellation_requested",
    }
    assert len(invoices_of(acct, sub)) == 1  # no renewal on 12 Jun
    updated = [e for e in acct.log.events if e["type"] == "customer.subscription.updated"]
    asked = next(e for e in updated if e["created"] == ts(2026, 6, 5))
    previous = asked["data"]["previous_attributes"]
    assert previous["cancel_at_period_end"] is False
    assert previous["cancel_at"] is None
    assert previous["cancellation_details"] == {
        "comment": None,
        "feedback": None,
        "reason": None,
    }
    deleted = [e for e in acct.log.events if e["type"] == "customer.subscription.deleted"]
    assert [e["created"] for e in deleted] == [ts(2026, 6, 12)]


def test_immediate_cancel() -> None:
    acct, _, _, sub = one_customer(4000)
    acct.cancel(sub, on(2026, 1, 20, 8))
    assert (sub["status"], sub["ended_at"], sub["cancel_at"]) == (
        "canceled",
        ts(2026, 1, 20, 8),
        None,
    )
    acct.advance(on(2026, 3, 1))
    assert len(invoices_of(acct, sub)) == 1
    with pytest.raises(ValueError):
        acct.change(sub, on(2026, 3, 2), quantity=2)


# -- failed payments --------------------------------------------------------------------------


def test_dunning_ends_in_payment_failed() -> None:
    # Renewal 1 Jul 00:00 (draft), charged 01:00: declined. Retries 3, 5, 7 days after the
    # previous attempt: 4 Jul, 9 Jul, 16 Jul 01:00. The last fails: canceled, uncollectible.
    acct, customer, _, sub = one_customer(4000, start=on(2026, 6, 1))
    acct.fail_payments(sub, on(2026, 6, 30))
    acct.advance(on(2026, 7, 2))
    renewal = invoices_of(acct, sub)[1]
    assert (sub["status"], renewal["status"], renewal["attempt_count"]) == ("past_due", "open", 1)
    assert renewal["next_payment_attempt"] == ts(2026, 7, 4, 1)
    assert customer["delinquent"] is True
    acct.advance(on(2026, 7, 31))
    assert (renewal["status"], renewal["attempt_count"], renewal["amount_paid"]) == (
        "uncollectible",
        4,
        0,
    )
    assert renewal["status_transitions"]["marked_uncollectible_at"] == ts(2026, 7, 16, 1)
    assert (sub["status"], sub["ended_at"]) == ("canceled", ts(2026, 7, 16, 1))
    assert sub["cancellation_details"]["reason"] == "payment_failed"
    failed = [e["created"] for e in acct.log.events if e["type"] == "invoice.payment_failed"]
    assert failed == [ts(2026, 7, 1, 1), ts(2026, 7, 4, 1), ts(2026, 7, 9, 1), ts(2026, 7, 16, 1)]


def test_dunning_recovers_when_the_card_works_again() -> None:
    acct, customer, _, sub = one_customer(4000, start=on(2026, 6, 1))
    acct.fail_payments(sub, on(2026, 6, 30), until=on(2026, 7, 5))
    acct.advance(on(2026, 7, 31))
    renewal = invoices_of(acct, sub)[1]
    # Fails 1 Jul and 4 Jul; the 9 Jul retry pays.
    assert (renewal["status"], renewal["attempt_count"]) == ("paid", 3)
    assert renewal["status_transitions"]["paid_at"] == ts(2026, 7, 9, 1)
    assert (sub["status"], customer["delinquent"]) == ("active", False)


def test_voiding_a_failed_renewal_forgives_it() -> None:
    acct, customer, _, sub = one_customer(4000, start=on(2026, 6, 1))
    acct.fail_payments(sub, on(2026, 6, 30))
    acct.advance(on(2026, 7, 2))
    renewal = invoices_of(acct, sub)[1]
    failed = next(
        e
        for e in acct.log.events
        if e["type"] == "invoice.updated" and e["data"]["object"]["id"] == renewal["id"]
    )
    assert failed["data"]["previous_attributes"] == {
        "attempt_count": 0,
        "attempted": False,
        "next_payment_attempt": None,
    }
    assert failed["data"]["object"]["next_payment_attempt"] == ts(2026, 7, 4, 1)
    acct.void_invoice(renewal, on(2026, 7, 3))
    assert (renewal["status"], renewal["status_transitions"]["voided_at"]) == (
        "void",
        ts(2026, 7, 3),
    )
    assert (sub["status"], customer["delinquent"]) == ("active", False)
    acct.advance(on(2026, 8, 2))
    failures = [e["created"] for e in acct.log.events if e["type"] == "invoice.payment_failed"]
    assert failures == [ts(2026, 7, 1, 1), ts(2026, 8, 1, 1)]  # no retry of the void invoice
    assert sub["status"] == "past_due"  # the card still declines in August
    with pytest.raises(ValueError):
        acct.void_invoice(invoices_of(acct, sub)[0], on(2026, 8, 3))  # paid: cannot be voided


def test_dunning_can_leave_the_subscription_unpaid() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=2, dunning=DunningPolicy(subscription_end="unpaid"))
    customer = acct.create_customer("Ada", "ada@example.com")
    price = acct.create_price(4000, "month", product="Pro")
    sub = acct.subscribe(customer, [(price, 1)])
    acct.fail_payments(sub, on(2026, 1, 31))
    acct.advance(on(2026, 3, 5))
    feb, mar = invoices_of(acct, sub)[1:]
    assert (sub["status"], sub["ended_at"]) == ("unpaid", None)
    assert (feb["status"], mar["status"], mar["auto_advance"]) == ("uncollectible", "draft", False)


def test_dispute_cancels_with_payment_disputed() -> None:
    acct, _, _, sub = one_customer(4000)
    invoice = invoices_of(acct, sub)[0]
    dispute = acct.dispute(invoice, on(2026, 1, 20))
    assert (dispute["amount"], dispute["object"]) == (4000, "dispute")
    assert (sub["status"], sub["ended_at"]) == ("canceled", ts(2026, 1, 20))
    assert sub["cancellation_details"]["reason"] == "payment_disputed"
    created = [e for e in acct.log.events if e["type"] == "charge.dispute.created"]
    assert created[0]["data"]["object"]["id"] == dispute["id"]


# -- discounts and taxes ----------------------------------------------------------------------


def coupon_totals(months: int, **coupon) -> tuple[list[int], dict, dict]:
    acct = BillingAccount(on(2026, 1, 1), seed=3)
    customer = acct.create_customer("Ada", "ada@example.com")
    price = acct.create_price(10000, "month", product="Pro")
    made = acct.create_coupon(**coupon)
    sub = acct.subscribe(customer, [(price, 1)], coupon=made)
    acct.advance(on(2026, 1 + months, 2))
    return [i["total"] for i in invoices_of(acct, sub)], sub, acct


def test_repeating_coupon_for_three_months() -> None:
    # 25% off $100 for 3 months from 1 Jan: Jan, Feb, Mar at $75; the discount ends 1 Apr.
    totals, sub, acct = coupon_totals(4, percent_off=25, duration="repeating", duration_in_months=3)
    assert totals == [7500, 7500, 7500, 10000, 10000]
    (discount,) = acct.discounts.values()
    (coupon,) = acct.coupons.values()
    assert discount["source"] == {"coupon": coupon["id"], "type": "coupon"}
    assert (discount["start"], discount["end"]) == (ts(2026, 1, 1), ts(2026, 4, 1))
    assert sub["discounts"] == []
    first = invoices_of(acct, sub)[0]
    assert first["total_discount_amounts"] == [{"amount": 2500, "discount": discount["id"]}]
    assert first["lines"]["data"][0]["discount_amounts"] == [
        {"amount": 2500, "discount": discount["id"]}
    ]
    assert first["discounts"] == [discount["id"]]


def test_once_coupon_only_on_first_invoice() -> None:
    totals, _, _ = coupon_totals(2, percent_off=20, duration="once")
    assert totals == [8000, 10000, 10000]


def test_amount_off_forever() -> None:
    totals, _, _ = coupon_totals(2, amount_off=1500, duration="forever")
    assert totals == [8500, 8500, 8500]


def test_full_discount_gives_paid_zero_invoices() -> None:
    totals, sub, acct = coupon_totals(1, percent_off=100, duration="forever")
    assert totals == [0, 0]
    assert {i["status"] for i in invoices_of(acct, sub)} == {"paid"}


def taxed(inclusive: bool, **coupon) -> dict:
    acct = BillingAccount(on(2026, 1, 1), seed=4)
    customer = acct.create_customer("Ada", "ada@example.com")
    behavior = "inclusive" if inclusive else "exclusive"
    price = acct.create_price(10000, "month", product="Pro", tax_behavior=behavior)
    rate = acct.create_tax_rate(20, inclusive=inclusive)
    made = acct.create_coupon(**coupon) if coupon else None
    sub = acct.subscribe(customer, [(price, 1)], coupon=made, tax_rates=[rate])
    return invoices_of(acct, sub)[0]


def test_exclusive_tax_is_added() -> None:
    invoice = taxed(inclusive=False)
    (tax,) = invoice["lines"]["data"][0]["taxes"]
    assert (tax["amount"], tax["taxable_amount"], tax["tax_behavior"]) == (2000, 10000, "exclusive")
    assert (invoice["subtotal"], invoice["total"]) == (10000, 12000)
    assert (invoice["subtotal_excluding_tax"], invoice["total_excluding_tax"]) == (10000, 10000)
    assert [(t["amount"], t["taxable_amount"]) for t in invoice["total_taxes"]] == [(2000, 10000)]


def test_inclusive_tax_is_inside_the_price() -> None:
    # 10,000 × 20/120 = 1,666.67 → 1,667 of tax inside; 8,333 net of tax.
    invoice = taxed(inclusive=True)
    (tax,) = invoice["lines"]["data"][0]["taxes"]
    assert (tax["amount"], tax["taxable_amount"], tax["tax_behavior"]) == (1667, 8333, "inclusive")
    assert (invoice["subtotal"], invoice["total"]) == (10000, 10000)
    assert (invoice["subtotal_excluding_tax"], invoice["total_excluding_tax"]) == (8333, 8333)


def test_discount_comes_before_exclusive_tax() -> None:
    # 20% off $100 = $80; 20% tax on $80 = $16; total $96.
    invoice = taxed(inclusive=False, percent_off=20, duration="forever")
    assert (invoice["subtotal"], invoice["total"], invoice["total_excluding_tax"]) == (
        10000,
        9600,
        8000,
    )


# -- prices, usage, currencies, one-offs -------------------------------------------------------


def test_tiered_amounts() -> None:
    acct = BillingAccount(on(2026, 1, 1))
    graduated = acct.create_price(
        product="API", billing_scheme="tiered", tiers=[(100, 0, None), (None, 50, None)]
    )
    volume = acct.create_price(
        product="Business",
        billing_scheme="tiered",
        tiers_mode="volume",
        tiers=[(10, 2000, None), (50, 1500, None), (None, 1000, 5000)],
    )
    assert price_amount(graduated, 150) == 50 * 50  # the first 100 are free
    assert price_amount(graduated, 80) == 0
    assert price_amount(volume, 10) == 20000
    assert price_amount(volume, 12) == 12 * 1500
    assert price_amount(volume, 60) == 60 * 1000 + 5000


def test_metered_usage_billed_in_arrears() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=5)
    customer = acct.create_customer("Ada", "ada@example.com")
    calls = acct.create_price(50, "month", product="API calls", usage_type="metered")
    sub = acct.subscribe(customer, [(calls, None)])
    item = sub["items"]["data"][0]
    assert invoices_of(acct, sub)[0]["total"] == 0
    acct.report_usage(sub, item, 120, on(2026, 1, 10))
    acct.report_usage(sub, item, 30, on(2026, 1, 20))
    acct.advance(on(2026, 2, 2))
    (line,) = invoices_of(acct, sub)[1]["lines"]["data"]
    assert (line["quantity"], line["amount"]) == (150, 7500)  # 150 × $0.50
    assert line["period"] == {"start": ts(2026, 1, 1), "end": ts(2026, 2, 1)}
    assert item["price"]["recurring"]["meter"].startswith("mtr_")
    assert item["quantity"] is None


def test_zero_decimal_currency() -> None:
    acct, customer, _, sub = one_customer(12000, interval="year", currency="jpy")
    invoice = invoices_of(acct, sub)[0]
    assert (invoice["currency"], invoice["total"], customer["currency"]) == ("jpy", 12000, "jpy")
    assert lines(invoice) == [("1 × Seats (at ¥12,000 / year)", 12000)]
    assert format_money(123456, "usd") == "$1,234.56"


def test_customer_pays_in_their_currency() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=6)
    customer = acct.create_customer("Émile", "emile@example.com", country="FR")
    eur = acct.create_price(8900, "month", currency="eur", product="Pro")
    usd = acct.create_price(9900, "month", product="Pro")
    sub = acct.subscribe(customer, [(eur, 1)])
    assert (customer["currency"], sub["currency"]) == ("eur", "eur")
    assert invoices_of(acct, sub)[0]["currency"] == "eur"
    with pytest.raises(ValueError):
        acct.subscribe(customer, [(usd, 1)])


def test_one_off_items_land_on_the_next_invoice_or_their_own() -> None:
    acct = BillingAccount(on(2026, 1, 1), seed=7)
    customer = acct.create_customer("Ada", "ada@example.com")
    price = acct.create_price(3000, "month", product="Pro")
    fee = acct.add_invoice_item(customer, 50000, description="Setup fee", currency="usd")
    sub = acct.subscribe(customer, [(price, 1)])
    first = invoices_of(acct, sub)[0]
    assert lines(first) == [("Setup fee", 50000), ("1 × Pro (at $30.00 / month)", 3000)]
    assert first["lines"]["data"][0]["parent"]["invoice_item_details"]["invoice_item"] == fee["id"]
    assert fee["invoice"] == first["id"]
    acct.add_invoice_item(customer, 9900, on(2026, 1, 5), description="Training", invoice_now=True)
    (manual,) = [i for i in acct.invoices.values() if i["billing_reason"] == "manual"]
    assert (manual["total"], manual["status"], manual["parent"]) == (9900, "paid", None)


# -- clock, events, determinism ---------------------------------------------------------------


def test_clock_only_moves_forward_and_wants_aware_times() -> None:
    acct = BillingAccount(on(2026, 1, 1))
    acct.advance(on(2026, 2, 1))
    with pytest.raises(ValueError):
        acct.create_customer("Ada", "ada@example.com", on(2026, 1, 15))
    with pytest.raises(ValueError):
        acct.advance(datetime(2026, 3, 1))  # naive: whose midnight?


def test_events_snapshot_the_object_and_are_kept_30_days() -> None:
    acct, customer, _, sub = one_customer(1000, quantity=5)
    acct.change(sub, on(2026, 1, 11), quantity=8)
    acct.advance(on(2026, 3, 15))
    events = list(acct.snapshot().objects["events"].values())
    cutoff = ts(2026, 3, 15) - 30 * 86400
    assert events
    assert all(e["created"] > cutoff for e in events)
    assert min(e["created"] for e in events) == ts(2026, 3, 1)  # the March renewal
    kept = {e["type"] for e in events}
    assert "customer.created" not in kept
    assert "invoice.paid" in kept
    # Everything was recorded; only the last 30 days are shown.
    change = next(
        e
        for e in acct.log.events
        if e["type"] == "customer.subscription.updated" and e["created"] == ts(2026, 1, 11)
    )
    previous = change["data"]["previous_attributes"]["items"]["data"][0]
    assert (previous["quantity"], change["data"]["object"]["items"]["data"][0]["quantity"]) == (
        5,
        8,
    )
    assert change["request"]["id"].startswith("req_")
    renewal = next(
        e
        for e in acct.log.events
        if e["type"] == "invoice.created" and e["created"] == ts(2026, 2, 1)
    )
    assert renewal["request"]["id"] is None  # Stripe acted on its own
    assert renewal["data"]["object"]["status"] == "draft"  # as it was then, not as it is now
    assert customer["id"] == renewal["data"]["object"]["customer"]


def test_same_seed_same_bytes() -> None:
    def dump(seed: int) -> str:
        acct = generate_account(seed, 60, on(2025, 1, 1), on(2026, 1, 1))
        data = acct.snapshot()
        return json.dumps({"account": data.account, "objects": data.objects}, sort_keys=False)

    first = dump(11)
    assert first == dump(11)
    assert first != dump(12)


def test_generated_saas_lives_real_lives() -> None:
    acct = generate_account(5, 400, on(2024, 1, 1), on(2026, 1, 1))
    subs = list(acct.subscriptions.values())
    invoices = list(acct.invoices.values())
    statuses = Counter(s["status"] for s in subs)
    reasons = Counter(s["cancellation_details"]["reason"] for s in subs)
    assert {"active", "canceled", "trialing"} <= statuses.keys()
    assert {"cancellation_requested", "payment_failed", "payment_disputed"} <= reasons.keys()
    assert any(s["cancellation_details"]["feedback"] for s in subs)
    assert any(s["cancel_at_period_end"] for s in subs)
    assert {c["currency"] for c in acct.customers.values()} >= {"usd", "eur", "gbp"}
    assert {i["billing_reason"] for i in invoices} >= {
        "subscription_create",
        "subscription_cycle",
        "subscription_update",
    }
    assert {i["status"] for i in invoices} >= {"paid", "uncollectible"}
    descriptions = [line["description"] for i in invoices for line in i["lines"]["data"]]
    assert any(d.startswith("Unused time on") for d in descriptions)
    assert any(d.startswith("Trial period for") for d in descriptions)
    assert any(d == "Setup fee" for d in descriptions)
    intervals = {s["items"]["data"][0]["price"]["recurring"]["interval"] for s in subs}
    assert intervals == {"week", "month", "year"}
    per_customer = Counter(s["customer"] for s in subs)
    assert max(per_customer.values()) >= 2  # second subscriptions and reactivations
    assert any(t["inclusive"] for s in subs for t in s["default_tax_rates"])
    assert any(not t["inclusive"] for s in subs for t in s["default_tax_rates"])
    lapsed = [s for s in subs if s["trial_end"] and s["ended_at"] == s["trial_end"]]
    converted = [s for s in subs if s["trial_end"] and s["status"] == "active"]
    assert lapsed
    assert converted
    assert acct.now == on(2026, 1, 1)
    assert all(e["created"] > to_unix(on(2026, 1, 1) - timedelta(days=30)) for e in acct.log.events)


def test_every_generated_invoice_adds_up() -> None:
    """Stripe's invoice identities hold on every invoice of a generated account."""
    acct = generate_account(8, 250, on(2024, 6, 1), on(2026, 1, 1))
    rates = acct.tax_rates
    assert acct.invoices
    for invoice in acct.invoices.values():
        lines_ = invoice["lines"]["data"]
        discounts = sum(d["amount"] for line in lines_ for d in line["discount_amounts"])
        taxes = [t for line in lines_ for t in line["taxes"]]
        exclusive = sum(t["amount"] for t in taxes if t["tax_behavior"] == "exclusive")
        assert invoice["subtotal"] == sum(line["amount"] for line in lines_)
        assert invoice["total"] == invoice["subtotal"] - discounts + exclusive
        assert invoice["total_excluding_tax"] == invoice["total"] - sum(t["amount"] for t in taxes)
        assert sum(d["amount"] for d in invoice["total_discount_amounts"]) == discounts
        for tax in taxes:
            assert rates[tax["tax_rate_details"]["tax_rate"]]["inclusive"] == (
                tax["tax_behavior"] == "inclusive"
            )
        if invoice["status"] == "draft":
            continue
        net = invoice["total"] + invoice["starting_balance"]
        assert invoice["amount_due"] == max(net, 0)
        assert invoice["ending_balance"] == min(net, 0)
        if invoice["status"] == "paid":
            assert invoice["amount_paid"] == invoice["amount_due"]
            assert invoice["amount_remaining"] == 0
            assert invoice["status_transitions"]["paid_at"] >= invoice["created"]
        else:
            assert invoice["amount_paid"] == 0
            paused = (
                invoice["billing_reason"] == "subscription_cycle"
                and invoice["auto_advance"] is False
                and invoice["attempt_count"] == 0
            )  # collection paused: never attempted
            assert paused or invoice["attempt_count"] >= 1
    for sub in acct.subscriptions.values():
        if sub["status"] == "canceled":
            assert sub["ended_at"] is not None
            assert sub["cancellation_details"]["reason"] is not None
        else:
            assert sub["ended_at"] is None
        periods = {
            (i["current_period_start"], i["current_period_end"]) for i in sub["items"]["data"]
        }
        assert len(periods) == 1  # one billing period for all items


@pytest.mark.parametrize(
    ("behavior", "status"),
    [("void", "void"), ("keep_as_draft", "draft"), ("mark_uncollectible", "uncollectible")],
)
def test_paused_collection_handles_renewals_as_its_behavior_says(
    behavior: str, status: str
) -> None:
    """docs.stripe.com/billing/subscriptions/pause-payment: the subscription stays active and
    its invoices keep being generated, but nothing is collected."""
    acct = BillingAccount(on(2026, 1, 1))
    customer = acct.create_customer("Ada", "ada@example.com", on(2026, 1, 1))
    price = acct.create_price(3500, "month", at=on(2026, 1, 1))
    sub = acct.subscribe(customer, [(price, 1)], on(2026, 1, 1, 9))
    acct.pause_collection(sub, behavior, resumes_at=on(2026, 3, 15), at=on(2026, 1, 20))  # type: ignore[arg-type]
    assert sub["pause_collection"] == {"behavior": behavior, "resumes_at": to_unix(on(2026, 3, 15))}
    acct.advance(on(2026, 4, 2))
    renewals = [i for i in acct.invoices.values() if i["billing_reason"] == "subscription_cycle"]
    assert [i["status"] for i in renewals] == [status, status, "paid"]  # 1 Feb, 1 Mar, 1 Apr
    assert all(i["amount_paid"] == 0 and i["attempt_count"] == 0 for i in renewals[:2])
    assert sub["status"] == "active"
    assert sub["pause_collection"] is None  # resumed on 15 Mar by itself
    types = [e["type"] for e in acct.log.events if e["data"]["object"]["id"] == sub["id"]]
    assert types.count("customer.subscription.updated") >= 2  # paused, resumed (and renewals)
