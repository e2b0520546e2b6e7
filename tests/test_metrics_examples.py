"""The worked examples of shared/METRICS.md §7, one test each, with the figures written there.

Inputs are database rows as the sync stores them (``tests/metrics_factories.py``): invoices with
their lines, periods and prorations. Every expected number is the one in METRICS.md, worked out
by hand in the comment beside it — never read back from the code.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from stripe_kpi.metrics import compute, inputs_from_rows, period_kpis
from stripe_kpi.metrics.computation import Computed
from stripe_kpi.metrics.report_json import metrics_json
from tests.metrics_factories import Account, at, no_rates, period_after, prorate, ts


def run(account: Account, as_of: datetime, currency: str = "usd") -> Computed:
    history = inputs_from_rows(account.tables())
    return compute(history, currency=currency, tz="UTC", as_of=as_of, rate=no_rates)


def mrr(computed: Computed, day: date) -> int:
    return computed.ledger.level("mrr", day.toordinal())


def customers(computed: Computed, day: date) -> int:
    return computed.ledger.level("customers", day.toordinal())


def moves(computed: Computed) -> list[tuple[date, str, int]]:
    return [(date.fromordinal(m.day), m.type, m.amount) for m in computed.movements()]


def test_example_01_monthly_new() -> None:
    account = Account()
    account.simple(5000, ts(2026, 1, 3), ts(2026, 3, 20))
    computed = run(account, at(2026, 3, 20))
    assert moves(computed) == [(date(2026, 1, 3), "new", 5000)]  # new +50.00 on 3 Jan
    assert mrr(computed, date(2026, 1, 2)) == 0
    assert mrr(computed, date(2026, 1, 3)) == 5000
    assert mrr(computed, date(2026, 3, 20)) == 5000  # MRR 50.00


def test_example_02_yearly_normalised() -> None:
    account = Account()
    account.simple(120000, ts(2026, 2, 10), ts(2027, 2, 9), interval="year")
    computed = run(account, at(2027, 2, 9))
    assert moves(computed) == [(date(2026, 2, 10), "new", 10000)]  # 1,200 / 12 = 100.00
    day = date(2026, 2, 10)
    while day <= date(2027, 2, 9):  # MRR 100.00 every day of that year
        assert mrr(computed, day) == 10000, day
        day = date.fromordinal(day.toordinal() + 1)


def test_example_03_weekly_normalised() -> None:
    account = Account()
    account.simple(1000, ts(2026, 1, 5), ts(2026, 3, 1), interval="week")
    computed = run(account, at(2026, 3, 1))
    # 10 × 52 / 12 = 43.333… → 43.33
    assert moves(computed) == [(date(2026, 1, 5), "new", 4333)]
    assert mrr(computed, date(2026, 3, 1)) == 4333


def test_example_04_quarterly_normalised() -> None:
    account = Account()
    account.simple(9000, ts(2026, 1, 1), ts(2026, 8, 1), interval="month", count=3)
    computed = run(account, at(2026, 8, 1))
    assert moves(computed) == [(date(2026, 1, 1), "new", 3000)]  # 90 / 3 = 30.00
    assert mrr(computed, date(2026, 8, 1)) == 3000


def _trial(account: Account, *, converts: bool) -> str:
    """A 14-day trial of $30/month from 1 Mar 2026 (trial invoice $0, then the first real one)."""
    start, trial_end = ts(2026, 3, 1), ts(2026, 3, 15)
    customer = account.customer(start)
    price = account.price(3000)
    sub = account.subscription(customer, start, trial_end=trial_end)
    period = (trial_end, period_after(trial_end, "month"))
    if not converts:
        period = (start, trial_end)
    item = account.item(sub, price, created=start, period=period)
    trial_invoice = account.invoice(sub, start, billing_reason="subscription_create")
    account.line(trial_invoice, amount=0, period=(start, trial_end), item=item, price=price)
    if converts:
        first = account.invoice(sub, trial_end)
        account.line(first, amount=3000, period=period, item=item, price=price)
    else:
        account.update_subscription(
            sub,
            status="canceled",
            canceled_at=trial_end,
            ended_at=trial_end,
            cancellation_reason="cancellation_requested",
        )
    return sub


def test_example_05_trial_converts() -> None:
    account = Account()
    _trial(account, converts=True)
    computed = run(account, at(2026, 4, 1))
    for day in range(1, 15):  # MRR 0 in trial
        assert mrr(computed, date(2026, 3, day)) == 0
    assert moves(computed) == [(date(2026, 3, 15), "new", 3000)]  # new +30.00 on 15 Mar
    kpis = period_kpis(computed, date(2026, 3, 1), date(2026, 3, 31))
    assert (kpis.trials_ended, kpis.trials_converted, kpis.trial_conversion) == (1, 1, Decimal(1))


def test_example_06_trial_does_not_convert() -> None:
    account = Account()
    _trial(account, converts=False)
    computed = run(account, at(2026, 4, 1))
    assert moves(computed) == []  # no movement at all
    kpis = period_kpis(computed, date(2026, 3, 1), date(2026, 3, 31))
    assert (kpis.trials_ended, kpis.trials_converted) == (1, 0)  # 0 of 1
    assert kpis.trial_conversion == 0


def _discounted(account: Account, coupon: str, start: int, until: int, *, end: int | None = None):
    """$100/month from ``start`` with ``coupon`` on the subscription from its start."""
    customer = account.customer(start)
    price = account.price(10000)
    sub = account.subscription(customer, start)
    discount = account.discount(coupon, start, end=end, subscription=sub)
    item = account.item(sub, price, created=start, period=(start, period_after(start, "month")))
    return customer, sub, item, price, discount


def test_example_07_percent_off_forever() -> None:
    account = Account()
    coupon = account.coupon(percent_off="20", duration="forever")
    _, sub, item, price, discount = _discounted(account, coupon, ts(2026, 1, 1), ts(2026, 3, 5))
    account.renewals(
        sub,
        item,
        price,
        unit_amount=10000,
        first=ts(2026, 1, 1),
        until=ts(2026, 3, 5),
        discounts=[(discount, 2000)],
    )
    computed = run(account, at(2026, 3, 5))
    assert mrr(computed, date(2026, 3, 5)) == 8000  # 100 × 0.8 = 80.00
    assert moves(computed) == [(date(2026, 1, 1), "new", 8000)]


def test_example_08_repeating_coupon_ends() -> None:
    account = Account()
    coupon = account.coupon(percent_off="25", duration="repeating", months=3)
    start, end = ts(2026, 1, 1), ts(2026, 4, 1)
    _, sub, item, price, discount = _discounted(account, coupon, start, end, end=end)
    account.renewals(
        sub, item, price, unit_amount=10000, first=start, until=end, discounts=[(discount, 2500)]
    )  # January, February, March at 75.00
    account.renewals(sub, item, price, unit_amount=10000, first=end, until=ts(2026, 5, 15))
    computed = run(account, at(2026, 5, 15))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 7500),  # 100 − 25 % = 75.00
        (date(2026, 4, 1), "expansion", 2500),  # the discount ends: +25.00
    ]


def test_example_09_seat_change_prorated() -> None:
    account = Account()
    start, change, renewal = ts(2026, 1, 1), ts(2026, 1, 11), ts(2026, 2, 1)
    customer = account.customer(start)
    price = account.price(1000)
    sub = account.subscription(customer, start)
    item = account.item(sub, price, 8, created=start, period=(renewal, ts(2026, 3, 1)))
    first = account.invoice(sub, start, billing_reason="subscription_create")
    account.line(first, amount=5000, period=(start, renewal), item=item, price=price, quantity=5)
    second = account.invoice(sub, renewal)  # the prorations are billed with the next renewal
    unused = -prorate(5000, change, renewal, start, renewal)
    remaining = prorate(8000, change, renewal, start, renewal)
    for amount, quantity in ((unused, 5), (remaining, 8)):
        account.line(
            second,
            amount=amount,
            period=(change, renewal),
            item=item,
            price=price,
            quantity=quantity,
            proration=True,
        )
    account.line(
        second, amount=8000, period=(renewal, ts(2026, 3, 1)), item=item, price=price, quantity=8
    )
    computed = run(account, at(2026, 2, 15))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 5000),  # 5 × 10.00
        (date(2026, 1, 11), "expansion", 3000),  # 8 × 10 − 5 × 10 = +30.00
    ]


def test_example_10_downgrade_prorated() -> None:
    account = Account()
    start, change = ts(2026, 5, 1), ts(2026, 5, 20)
    renewal = ts(2026, 6, 1)
    customer = account.customer(start)
    big, small = account.price(10000), account.price(6000)
    sub = account.subscription(customer, start)
    item = account.item(sub, small, created=start, period=(renewal, ts(2026, 7, 1)))
    first = account.invoice(sub, start, billing_reason="subscription_create")
    account.line(first, amount=10000, period=(start, renewal), item=item, price=big)
    second = account.invoice(sub, renewal)
    account.line(
        second,
        amount=-prorate(10000, change, renewal, start, renewal),
        period=(change, renewal),
        item=item,
        price=big,
        proration=True,
    )
    account.line(
        second,
        amount=prorate(6000, change, renewal, start, renewal),
        period=(change, renewal),
        item=item,
        price=small,
        proration=True,
    )
    account.line(second, amount=6000, period=(renewal, ts(2026, 7, 1)), item=item, price=small)
    computed = run(account, at(2026, 6, 10))
    assert moves(computed) == [
        (date(2026, 5, 1), "new", 10000),
        (date(2026, 5, 20), "contraction", -4000),  # 60 − 100 = −40.00
    ]


def test_example_11_monthly_to_yearly() -> None:
    account = Account()
    start, switch = ts(2026, 1, 1), ts(2026, 3, 10)
    customer = account.customer(start)
    monthly_price, yearly_price = account.price(10000), account.price(100000, "year")
    sub = account.subscription(customer, start)
    year_end = period_after(switch, "year")
    item = account.item(sub, yearly_price, created=start, period=(switch, year_end))
    account.renewals(sub, item, monthly_price, unit_amount=10000, first=start, until=switch)
    # The switch resets the billing cycle: unused monthly time credited, the year billed now.
    reset = account.invoice(sub, switch, billing_reason="subscription_update")
    march, april = ts(2026, 3, 1), ts(2026, 4, 1)
    account.line(
        reset,
        amount=-prorate(10000, switch, april, march, april),
        period=(switch, april),
        item=item,
        price=monthly_price,
        proration=True,
    )
    account.line(reset, amount=100000, period=(switch, year_end), item=item, price=yearly_price)
    computed = run(account, at(2026, 4, 15))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 10000),
        (date(2026, 3, 10), "contraction", -1667),  # 1,000 / 12 = 83.33; 83.33 − 100 = −16.67
    ]


def test_example_12_cancel_at_period_end() -> None:
    account = Account()
    _, sub, _ = account.simple(4000, ts(2026, 4, 12), ts(2026, 6, 12))
    account.update_subscription(
        sub,
        status="canceled",
        cancel_at_period_end=True,
        canceled_at=ts(2026, 6, 5, 9),  # asked on 5 Jun
        ended_at=ts(2026, 6, 12),  # the period ends on 12 Jun
        cancellation_reason="cancellation_requested",
    )
    computed = run(account, at(2026, 6, 30))
    assert moves(computed) == [
        (date(2026, 4, 12), "new", 4000),
        (date(2026, 6, 12), "churn", -4000),  # churn −40.00 on 12 Jun, not on 5 Jun
    ]
    churn = computed.movements()[-1]
    assert churn.churn_reason == "voluntary"
    june = period_kpis(computed, date(2026, 6, 1), date(2026, 6, 30))
    assert (june.churned_customers.voluntary, june.churned_customers.involuntary) == (1, 0)
    assert (june.churned_mrr.voluntary, june.churned_mrr.involuntary) == (4000, 0)
    # Between the request and the end the subscription is MRR at risk.
    assert period_kpis(computed, date(2026, 6, 5), date(2026, 6, 5)).mrr_at_risk == 4000
    assert period_kpis(computed, date(2026, 6, 4), date(2026, 6, 4)).mrr_at_risk == 0


def test_example_13_dunning_cancels() -> None:
    account = Account()
    start = ts(2026, 4, 20)
    customer = account.customer(start)
    price = account.price(4000)
    sub = account.subscription(customer, start)
    item = account.item(sub, price, created=start, period=(ts(2026, 6, 20), ts(2026, 7, 20)))
    account.renewals(sub, item, price, unit_amount=4000, first=start, until=ts(2026, 6, 1))
    failed = account.invoice(sub, ts(2026, 6, 20), status="open")  # payments fail
    account.line(
        failed, amount=4000, period=(ts(2026, 6, 20), ts(2026, 7, 20)), item=item, price=price
    )
    account.update_subscription(
        sub,
        status="canceled",
        canceled_at=ts(2026, 7, 20, 8),
        ended_at=ts(2026, 7, 20, 8),
        cancellation_reason="payment_failed",
    )
    computed = run(account, at(2026, 7, 31))
    assert moves(computed)[-1] == (date(2026, 7, 20), "churn", -4000)  # on 20 Jul
    assert computed.movements()[-1].churn_reason == "involuntary"
    july = period_kpis(computed, date(2026, 7, 1), date(2026, 7, 31))
    assert july.churned_customers.involuntary == 1
    assert july.churned_mrr.involuntary == 4000


def test_example_14_reactivation() -> None:
    account = Account()
    customer, first_sub, _ = account.simple(4000, ts(2026, 1, 1), ts(2026, 3, 1))
    account.update_subscription(
        first_sub,
        status="canceled",
        canceled_at=ts(2026, 3, 1),
        ended_at=ts(2026, 3, 1),
        cancellation_reason="cancellation_requested",
    )
    account.simple(4000, ts(2026, 5, 1), ts(2026, 5, 20), customer=customer)
    computed = run(account, at(2026, 5, 20))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 4000),
        (date(2026, 3, 1), "churn", -4000),
        (date(2026, 5, 1), "reactivation", 4000),  # reactivation +40.00 on 1 May
    ]


def test_example_15_one_of_two_subscriptions_ends() -> None:
    account = Account()
    customer, _, _ = account.simple(3000, ts(2026, 1, 1), ts(2026, 4, 1))
    _, small, _ = account.simple(2000, ts(2026, 1, 1), ts(2026, 3, 1), customer=customer)
    account.update_subscription(
        small,
        status="canceled",
        canceled_at=ts(2026, 3, 1),
        ended_at=ts(2026, 3, 1),
        cancellation_reason="cancellation_requested",
    )
    computed = run(account, at(2026, 4, 1))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 5000),
        (date(2026, 3, 1), "contraction", -2000),  # contraction −20.00, not churn
    ]
    assert customers(computed, date(2026, 3, 1)) == 1


def test_example_16_exclusive_tax_excluded() -> None:
    account = Account()
    start = ts(2026, 1, 1)
    customer = account.customer(start)
    price = account.price(10000)
    rate = account.tax_rate("20", inclusive=False)
    sub = account.subscription(customer, start, default_tax_rate_ids=f'["{rate}"]')
    item = account.item(sub, price, created=start, period=(start, ts(2026, 2, 1)))
    invoice = account.invoice(sub, start, billing_reason="subscription_create")
    account.line(
        invoice,
        amount=10000,
        period=(start, ts(2026, 2, 1)),
        item=item,
        price=price,
        tax_exclusive=2000,
    )
    assert account.find("invoice", invoice)["total"] == 12000  # invoice total $120
    computed = run(account, at(2026, 1, 20))
    assert mrr(computed, date(2026, 1, 20)) == 10000  # MRR 100.00


def test_example_17_full_discount_is_not_paying() -> None:
    account = Account()
    coupon = account.coupon(percent_off="100", duration="forever")
    start, until = ts(2026, 1, 1), ts(2026, 3, 5)
    _, sub, item, price, discount = _discounted(account, coupon, start, until)
    account.renewals(
        sub, item, price, unit_amount=10000, first=start, until=until, discounts=[(discount, 10000)]
    )
    computed = run(account, at(2026, 3, 5))
    assert mrr(computed, date(2026, 3, 5)) == 0  # MRR 0
    assert customers(computed, date(2026, 3, 5)) == 0  # not a paying customer
    assert moves(computed) == []


def test_example_18_amount_off_forever() -> None:
    account = Account()
    coupon = account.coupon(amount_off=1500, currency="usd", duration="forever")
    start, until = ts(2026, 1, 1), ts(2026, 3, 5)
    _, sub, item, price, discount = _discounted(account, coupon, start, until)
    account.renewals(
        sub, item, price, unit_amount=10000, first=start, until=until, discounts=[(discount, 1500)]
    )
    computed = run(account, at(2026, 3, 5))
    assert mrr(computed, date(2026, 3, 5)) == 8500  # 100 − 15 = 85.00


def test_example_19_zero_decimal_currency() -> None:
    account = Account()
    account.simple(12000, ts(2026, 1, 1), ts(2026, 3, 1), interval="year", currency="jpy")
    computed = run(account, at(2026, 3, 1), currency="jpy")
    assert mrr(computed, date(2026, 3, 1)) == 1000  # ¥12,000 / 12 = ¥1,000
    document = metrics_json(computed, date(2026, 3, 1), date(2026, 3, 1))
    assert document["totals"]["mrr_end"] == 1000
    assert isinstance(document["totals"]["mrr_end"], int)  # no cents in yen


def test_example_20_setup_fee_excluded() -> None:
    account = Account()
    start = ts(2026, 1, 1)
    customer = account.customer(start)
    price = account.price(3000)
    sub = account.subscription(customer, start)
    item = account.item(sub, price, created=start, period=(ts(2026, 2, 1), ts(2026, 3, 1)))
    invoices = account.renewals(
        sub, item, price, unit_amount=3000, first=start, until=ts(2026, 2, 2)
    )
    account.line(invoices[0], amount=50000, period=(start, start), one_off=True)  # $500 setup fee
    computed = run(account, at(2026, 2, 15))
    assert mrr(computed, date(2026, 2, 15)) == 3000  # MRR 30.00
    assert moves(computed) == [(date(2026, 1, 1), "new", 3000)]


def _seats(account: Account, price: str, seats: int, amount: int, start: int, until: int) -> None:
    """A monthly subscription of ``seats`` on ``price``, one paid invoice of ``amount`` a month."""
    customer = account.customer(start)
    sub = account.subscription(customer, start)
    item = account.item(
        sub, price, seats, created=start, period=(start, period_after(start, "month"))
    )
    period, reason = start, "subscription_create"
    while period < until:
        end = period_after(period, "month")
        invoice = account.invoice(sub, period, billing_reason=reason)
        account.line(
            invoice, amount=amount, period=(period, end), item=item, price=price, quantity=seats
        )
        period, reason = end, "subscription_cycle"


def test_example_21_graduated_tiers() -> None:
    account = Account()
    tiers = [
        {"up_to": 4, "unit_amount": 1200, "flat_amount": None},
        {"up_to": None, "unit_amount": 900, "flat_amount": None},
    ]
    price = account.price(None, billing_scheme="tiered", tiers_mode="graduated", tiers=tiers)
    _seats(account, price, 7, 7500, ts(2026, 1, 1), ts(2026, 3, 5))
    computed = run(account, at(2026, 3, 5))
    assert mrr(computed, date(2026, 3, 5)) == 7500  # 4 × 12 + 3 × 9 = 75.00
    assert moves(computed) == [(date(2026, 1, 1), "new", 7500)]


def test_example_22_volume_tiers() -> None:
    account = Account()
    tiers = [
        {"up_to": 10, "unit_amount": 800, "flat_amount": None},
        {"up_to": None, "unit_amount": 600, "flat_amount": None},
    ]
    price = account.price(None, billing_scheme="tiered", tiers_mode="volume", tiers=tiers)
    _seats(account, price, 15, 9000, ts(2026, 1, 1), ts(2026, 3, 5))
    computed = run(account, at(2026, 3, 5))
    assert mrr(computed, date(2026, 3, 5)) == 9000  # all 15 seats at the 11+ rate: 15 × 6 = 90.00


def test_example_23_coupon_for_one_product_only() -> None:
    account = Account()
    start, until = ts(2026, 1, 1), ts(2026, 3, 5)
    core = account.price(4000, product="prod_core")
    addon = account.price(2000, product="prod_addon")
    coupon = account.coupon(percent_off="25", duration="forever", applies_to=["prod_addon"])
    customer = account.customer(start)
    sub = account.subscription(customer, start)
    discount = account.discount(coupon, start, subscription=sub)
    first_end = period_after(start, "month")
    core_item = account.item(sub, core, created=start, period=(start, first_end))
    addon_item = account.item(sub, addon, created=start, period=(start, first_end))
    period, reason = start, "subscription_create"
    while period < until:
        end = period_after(period, "month")
        invoice = account.invoice(sub, period, billing_reason=reason)
        account.line(invoice, amount=4000, period=(period, end), item=core_item, price=core)
        account.line(
            invoice,
            amount=2000,
            period=(period, end),
            item=addon_item,
            price=addon,
            discounts=[(discount, 500)],
        )
        period, reason = end, "subscription_cycle"
    computed = run(account, at(2026, 3, 5))
    assert mrr(computed, date(2026, 3, 5)) == 5500  # 40 + 20 × 0.75 = 55.00, not 60 × 0.75
    assert moves(computed) == [(date(2026, 1, 1), "new", 5500)]


def test_example_24_paused_collection_keeps_counting() -> None:
    """Collection paused from 1 Feb: Stripe voids the February and March renewals, the status
    stays active, the subscription carries ``pause_collection``."""
    account = Account()
    start = ts(2026, 1, 1)
    customer = account.customer(start)
    price = account.price(3500)
    sub = account.subscription(customer, start)
    item = account.item(sub, price, created=start, period=(ts(2026, 3, 1), ts(2026, 4, 1)))
    account.renewals(sub, item, price, unit_amount=3500, first=start, until=ts(2026, 1, 2))
    for period in ((ts(2026, 2, 1), ts(2026, 3, 1)), (ts(2026, 3, 1), ts(2026, 4, 1))):
        invoice = account.invoice(sub, period[0], status="void", voided_at=period[0] + 3600)
        account.line(invoice, amount=3500, period=period, item=item, price=price)
    account.update_subscription(sub, pause_collection_behavior="void")
    computed = run(account, at(2026, 3, 15))
    assert mrr(computed, date(2026, 3, 15)) == 3500  # still 35.00
    assert moves(computed) == [(date(2026, 1, 1), "new", 3500)]  # no movement since
    risk = computed.ledger.level
    assert risk("mrr_at_risk", date(2026, 1, 31).toordinal()) == 0  # paid, not paused yet
    assert risk("mrr_at_risk", date(2026, 2, 1).toordinal()) == 3500  # first voided renewal
    assert risk("mrr_at_risk", date(2026, 3, 15).toordinal()) == 3500
