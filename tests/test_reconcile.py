"""`stripe-kpi check`, the pure comparison, where the two figures agree: hand-built rows in
(``tests/metrics_factories.py``), one result per subscription out. Every figure is worked out by
hand in the comment beside it. The disagreements are in ``test_reconcile_causes.py``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from stripe_kpi.metrics.reconcile import SubscriptionCheck
from stripe_kpi.metrics.reconciliation import Reconciliation
from tests.metrics_factories import Account, at, period_after, ts
from tests.reconcile_support import check, figures, monthly_renewals

# -- what reconciles -----------------------------------------------------------------------------


def test_a_plain_50_a_month_reconciles() -> None:
    account = Account()
    _, sub, _ = account.simple(5000, ts(2026, 1, 3), ts(2026, 3, 20))
    result = check(account, at(2026, 3, 20))[sub]
    assert figures(result) == ("reconciles", 5000, 5000, None)  # 50.00 both ways
    assert result.invoice_id == account.find("subscription", sub)["latest_invoice_id"]  # 3 Mar


def test_a_yearly_1200_plan_reconciles_at_100() -> None:
    account = Account()
    _, sub, _ = account.simple(120000, ts(2026, 2, 10), ts(2026, 6, 1), interval="year")
    assert figures(check(account, at(2026, 6, 1))[sub]) == ("reconciles", 10000, 10000, None)


def test_a_weekly_plan_is_normalised_the_same_on_both_sides() -> None:
    account = Account()
    _, sub, _ = account.simple(1000, ts(2026, 1, 5), ts(2026, 3, 1), interval="week")
    # 10 × 52 / 12 = 43.333… → 43.33 on both sides
    assert figures(check(account, at(2026, 3, 1))[sub]) == ("reconciles", 4333, 4333, None)


def test_a_once_coupon_does_not_make_a_disagreement() -> None:
    """$50/month, 20 % off the first invoice only: the invoice says 40.00, MRR never counts a
    ``once`` coupon (METRICS.md §1), so the line is read without it."""
    account = Account()
    start = ts(2026, 1, 1)
    coupon = account.coupon(percent_off="20", duration="once")
    price = account.price(5000)
    sub = account.subscription(account.customer(start), start)
    discount = account.discount(coupon, start, subscription=sub)
    item = account.item(sub, price, created=start, period=(start, ts(2026, 2, 1)))
    invoice = account.invoice(sub, start, billing_reason="subscription_create")
    account.line(
        invoice,
        amount=5000,
        period=(start, ts(2026, 2, 1)),
        item=item,
        price=price,
        discounts=[(discount, 1000)],  # 20 % of 50.00
    )
    assert figures(check(account, at(2026, 1, 20))[sub]) == ("reconciles", 5000, 5000, None)


def test_a_repeating_coupon_that_ran_out_since_the_invoice_is_added_back() -> None:
    """$1,200/year with 25 % off for 3 months from 1 Jan: the only invoice (1 Jan) took 300.00
    off; by 15 May the coupon has ended, and MRR is 1,200 / 12 = 100.00 again."""
    account = Account()
    start, end = ts(2026, 1, 1), ts(2026, 4, 1)
    coupon = account.coupon(percent_off="25", duration="repeating", months=3)
    price = account.price(120000, "year")
    sub = account.subscription(account.customer(start), start)
    discount = account.discount(coupon, start, end=end, subscription=sub)
    item = account.item(sub, price, created=start, period=(start, ts(2027, 1, 1)))
    invoice = account.invoice(sub, start, billing_reason="subscription_create")
    account.line(
        invoice,
        amount=120000,
        period=(start, ts(2027, 1, 1)),
        item=item,
        price=price,
        discounts=[(discount, 30000)],
    )
    assert figures(check(account, at(2026, 2, 15))[sub]) == ("reconciles", 7500, 7500, None)
    assert figures(check(account, at(2026, 5, 15))[sub]) == ("reconciles", 10000, 10000, None)


def test_inclusive_tax_is_taken_out_and_exclusive_tax_is_not_in_the_amount() -> None:
    account = Account()
    start, until = ts(2026, 1, 1), ts(2026, 3, 5)
    inclusive = account.tax_rate("20", inclusive=True)
    price = account.price(12000, tax_behavior="inclusive")
    sub = account.subscription(
        account.customer(start), start, default_tax_rate_ids=f'["{inclusive}"]'
    )
    item = account.item(sub, price, created=start, period=(start, start))
    period = start
    while period < until:
        invoice = account.invoice(sub, period)
        end = period_after(period, "month")
        # 120.00 with 20 % inside: 20.00 of tax, 100.00 net
        account.line(invoice, amount=12000, period=(period, end), item=item, price=price,
                     tax_inclusive=2000)  # fmt: skip
        period = end
    _, taxed, _ = account.simple(10000, start, until)
    last = account.find("subscription", taxed)["latest_invoice_id"]
    line = next(r for r in account.rows["invoice_line"] if r["invoice_id"] == last)
    line["tax_exclusive_amount"] = 2000  # 20 % on top: not in ``amount``
    results = check(account, at(2026, 3, 5))
    assert figures(results[sub]) == ("reconciles", 10000, 10000, None)
    assert figures(results[taxed]) == ("reconciles", 10000, 10000, None)


def test_one_minor_unit_of_rounding_apart_reconciles() -> None:
    """€890/year, 19 % VAT inside. Stripe rounds the tax of the period: 890 × 19/119 =
    142.1008… → 142.10, so the invoice nets 747.90 / 12 = 62.325 → 62.33; the metrics take the
    exact rate: 890 / 1.19 / 12 = 62.3249… → 62.32. One cent apart, both right."""
    account = Account()
    start = ts(2026, 1, 1)
    vat = account.tax_rate("19", inclusive=True)
    price = account.price(89000, "year", currency="eur", tax_behavior="inclusive")
    customer = account.customer(start, "eur")
    sub = account.subscription(customer, start, currency="eur", default_tax_rate_ids=f'["{vat}"]')
    item = account.item(sub, price, created=start, period=(start, ts(2027, 1, 1)))
    invoice = account.invoice(sub, start, billing_reason="subscription_create", currency="eur")
    account.line(invoice, amount=89000, period=(start, ts(2027, 1, 1)), item=item, price=price,
                 tax_inclusive=14210)  # fmt: skip
    result = check(account, at(2026, 3, 1), rate=lambda a, b, d: Decimal("1.10"))[sub]
    assert figures(result) == ("reconciles", 6232, 6233, None)
    assert result.currency == "eur"  # compared in euros: no exchange rate between the two
    assert (
        result.mrr == 6856
    )  # reported in dollars: the metrics' 62.3249… € × 1.10 = 68.557… → 68.56


def test_a_fixed_amount_off_that_a_one_off_item_shared_still_reconciles() -> None:
    """$990/year with $15 off every invoice (forever); the first invoice also bills a $500 setup
    fee, and Stripe spreads the $15 over both lines: 15 × 500/1,490 = 5.03 on the fee, 9.97 on
    the plan. The $15 is the subscription's all the same: (990 − 15) / 12 = 81.25, as the metrics
    say (990 / 12 − 15 / 12 = 82.50 − 1.25)."""
    account = Account()
    start = ts(2026, 3, 15)
    coupon = account.coupon(amount_off=1500, currency="usd", duration="forever")
    price = account.price(99000, "year")
    sub = account.subscription(account.customer(start), start)
    discount = account.discount(coupon, start, subscription=sub)
    item = account.item(sub, price, created=start, period=(start, ts(2027, 3, 15)))
    invoice = account.invoice(sub, start, billing_reason="subscription_create")
    account.line(invoice, amount=50000, period=(start, start), one_off=True,
                 discounts=[(discount, 503)])  # fmt: skip
    account.line(invoice, amount=99000, period=(start, ts(2027, 3, 15)), item=item, price=price,
                 discounts=[(discount, 997)])  # fmt: skip
    assert figures(check(account, at(2026, 3, 17))[sub]) == ("reconciles", 8125, 8125, None)


def test_a_metered_item_compares_its_last_finished_usage_period() -> None:
    """$99/month plus usage billed in arrears: the 1 Mar invoice bills March's plan and
    February's usage (12.34), which is what MRR counts from 1 Mar: 99.00 + 12.34 = 111.34."""
    account = Account()
    start = ts(2026, 1, 1)
    plan = account.price(9900)
    usage = account.price(5, usage_type="metered")
    sub = account.subscription(account.customer(start), start)
    licensed = account.item(sub, plan, created=start, period=(ts(2026, 3, 1), ts(2026, 4, 1)))
    metered = account.item(sub, usage, None, created=start, period=(ts(2026, 3, 1), ts(2026, 4, 1)))
    for month, used in ((1, None), (2, 800), (3, 1234)):
        begin = ts(2026, month, 1)
        invoice = account.invoice(sub, begin)
        account.line(invoice, amount=9900, period=(begin, ts(2026, month + 1, 1)), item=licensed,
                     price=plan)  # fmt: skip
        if used is not None:
            account.line(invoice, amount=used, period=(ts(2026, month - 1, 1), begin),
                         item=metered, price=usage, quantity=used // 5)  # fmt: skip
    assert figures(check(account, at(2026, 3, 10))[sub]) == ("reconciles", 11134, 11134, None)


def test_usage_billed_on_its_own_after_the_renewal_does_not_hide_the_renewal() -> None:
    """A metered add-on removed on 10 Mar has its usage since 1 Mar (3.00) billed at once: that
    invoice's line starts on 1 Mar like the renewal's, but states no licensed item; the renewal
    (99.00) is the latest invoice that says what Stripe bills."""
    account = Account()
    start = ts(2026, 3, 1)
    plan = account.price(9900)
    usage = account.price(5, usage_type="metered")
    sub = account.subscription(account.customer(start), start)
    licensed = account.item(sub, plan, created=start, period=(start, ts(2026, 4, 1)))
    renewal = account.invoice(sub, start, billing_reason="subscription_create")
    account.line(renewal, amount=9900, period=(start, ts(2026, 4, 1)), item=licensed, price=plan)
    final = account.invoice(sub, ts(2026, 3, 10), billing_reason="subscription_update")
    account.line(final, amount=300, period=(start, ts(2026, 3, 10)), item="si_removed",
                 price=usage, quantity=60)  # fmt: skip
    account.update_subscription(sub, latest_invoice_id=final)
    result = check(account, at(2026, 3, 12))[sub]
    assert result.invoice_id == renewal
    assert figures(result)[2] == 9900


def test_past_due_with_its_latest_invoice_open_reconciles() -> None:
    account = Account()
    start = ts(2026, 1, 1)
    price = account.price(4000)
    sub = account.subscription(account.customer(start), start)
    item = account.item(sub, price, created=start, period=(ts(2026, 3, 1), ts(2026, 4, 1)))
    monthly_renewals(account, sub, item, price, 4000, start, ts(2026, 2, 2))
    late = account.invoice(sub, ts(2026, 3, 1), status="open")
    account.line(late, amount=4000, period=(ts(2026, 3, 1), ts(2026, 4, 1)), item=item, price=price)
    account.update_subscription(sub, status="past_due")
    result = check(account, at(2026, 3, 10))[sub]
    assert figures(result) == ("reconciles", 4000, 4000, None)
    assert result.invoice_id == late


def test_paused_collection_compares_the_last_renewal_not_voided() -> None:
    """METRICS.md example 24: collection paused, the February and March renewals voided; MRR
    stays 35.00, as the January invoice bills."""
    account = Account()
    start = ts(2026, 1, 1)
    price = account.price(3500)
    sub = account.subscription(account.customer(start), start)
    item = account.item(sub, price, created=start, period=(ts(2026, 3, 1), ts(2026, 4, 1)))
    first = monthly_renewals(account, sub, item, price, 3500, start, ts(2026, 1, 2))
    for period in ((ts(2026, 2, 1), ts(2026, 3, 1)), (ts(2026, 3, 1), ts(2026, 4, 1))):
        invoice = account.invoice(sub, period[0], status="void", voided_at=period[0] + 3600)
        account.line(invoice, amount=3500, period=period, item=item, price=price)
    account.update_subscription(sub, pause_collection_behavior="void")
    result = check(account, at(2026, 3, 15))[sub]
    assert figures(result) == ("reconciles", 3500, 3500, None)
    assert result.invoice_id == first


def test_only_subscriptions_stripe_bills_now_are_checked() -> None:
    account = Account()
    start = ts(2026, 1, 1)
    _, billed, _ = account.simple(3000, start, ts(2026, 3, 5))
    price = account.price(3000)
    trialing = account.subscription(
        account.customer(start), ts(2026, 3, 1), status="trialing", trial_end=ts(2026, 3, 15)
    )
    account.item(trialing, price, created=ts(2026, 3, 1), period=(ts(2026, 3, 1), ts(2026, 3, 15)))
    _, ended, _ = account.simple(3000, start, ts(2026, 2, 5))
    account.update_subscription(ended, status="canceled", ended_at=ts(2026, 2, 20))
    assert list(check(account, at(2026, 3, 5))) == [billed]


# -- the summary ---------------------------------------------------------------------------------


def test_the_summary_weighs_each_subscription_by_its_larger_figure() -> None:
    def one(sub: str, outcome: str, metrics: int, invoiced: int | None) -> SubscriptionCheck:
        return SubscriptionCheck(sub, "cus", "usd", outcome, metrics, invoiced, None,  # type: ignore[arg-type]
                                 mrr=metrics, weight=max(metrics, invoiced or 0))  # fmt: skip

    result = Reconciliation.of(
        [
            one("sub_c", "not_comparable", 2500, None),
            one("sub_b", "disagrees", 0, 7500),
            one("sub_a", "reconciles", 5000, 5000),
        ],
        currency="usd",
        as_of=at(2026, 3, 5),
    )
    # compared: 5,000 + 7,500; reconciling 5,000 → 40 %; not comparable 2,500 of 15,000 → 16.66 %
    assert result.share_reconciled == Decimal("0.4")
    assert result.summary() == (
        "1 of 3 subscriptions reconcile (40.0 % of the MRR compared); 1 not comparable "
        "(16.6 % of MRR); 1 disagrees with its invoice"
    )
    document = result.document()
    assert [s["subscription_id"] for s in document["subscriptions"]] == ["sub_b", "sub_c", "sub_a"]
    assert document["summary"]["mrr"] == 75.0  # the metrics' own: 0 + 25.00 + 50.00
    assert document["subscriptions"][0]["difference"] == -75.0
    assert not result.reconciles
    assert date.fromisoformat(document["as_of"][:10]) == date(2026, 3, 5)


def test_an_account_with_nothing_billed_has_nothing_to_check() -> None:
    result = Reconciliation.of([], currency="usd", as_of=at(2026, 3, 5))
    assert result.summary() == "no subscription is billed now: nothing to check"
    assert result.reconciles
    assert result.document()["summary"]["share_reconciled"] is None
