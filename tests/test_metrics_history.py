"""How a subscription's MRR history is read off its invoices, events and current state.

Each test states a small history as database rows and the movements METRICS.md implies, worked
out by hand in the comments.
"""

from __future__ import annotations

from datetime import date, datetime

from stripe_kpi.metrics import compute, inputs_from_rows, period_kpis
from stripe_kpi.metrics.computation import Computed
from tests.metrics_factories import Account, at, no_rates, period_after, ts


def run(account: Account, as_of: datetime, tz: str = "UTC") -> Computed:
    history = inputs_from_rows(account.tables())
    return compute(history, currency="usd", tz=tz, as_of=as_of, rate=no_rates)


def moves(computed: Computed) -> list[tuple[date, str, int]]:
    return [(date.fromordinal(m.day), m.type, m.amount) for m in computed.movements()]


def mrr(computed: Computed, day: date) -> int:
    return computed.ledger.level("mrr", day.toordinal())


def at_risk(computed: Computed, day: date) -> int:
    return period_kpis(computed, day, day).mrr_at_risk


def _dunned(account: Account, *, status: str) -> tuple[str, str, str, str]:
    """$40/month from 1 Jan; the 1 Mar renewal is not paid. Returns ids and the open invoice."""
    customer, sub, item = account.simple(4000, ts(2026, 1, 1), ts(2026, 2, 2))
    price = account.find("subscription_item", item)["price_id"]
    failed = account.invoice(sub, ts(2026, 3, 1), status="open")
    account.line(
        failed, amount=4000, period=(ts(2026, 3, 1), ts(2026, 4, 1)), item=item, price=price
    )
    account.set_item(item, current_period_start=ts(2026, 3, 1), current_period_end=ts(2026, 4, 1))
    account.update_subscription(sub, status=status)
    return customer, sub, item, failed


def test_past_due_counts_and_is_at_risk() -> None:
    account = Account()
    _dunned(account, status="past_due")
    computed = run(account, at(2026, 3, 20))
    assert moves(computed) == [(date(2026, 1, 1), "new", 4000)]  # no churn while past due
    assert mrr(computed, date(2026, 3, 20)) == 4000
    assert at_risk(computed, date(2026, 3, 20)) == 4000  # past due since the 1 Mar invoice
    assert at_risk(computed, date(2026, 2, 20)) == 0


def test_trialing_counts_zero() -> None:
    account = Account()
    start, trial_end = ts(2026, 4, 1), ts(2026, 4, 15)
    customer = account.customer(start)
    price = account.price(3000)
    sub = account.subscription(customer, start, status="trialing", trial_end=trial_end)
    item = account.item(sub, price, created=start, period=(start, trial_end))
    invoice = account.invoice(sub, start, billing_reason="subscription_create")
    account.line(invoice, amount=0, period=(start, trial_end), item=item, price=price)
    computed = run(account, at(2026, 4, 10))
    assert moves(computed) == []
    assert computed.ledger.level("customers", date(2026, 4, 10).toordinal()) == 0


def test_unpaid_is_involuntary_churn_when_it_becomes_unpaid() -> None:
    account = Account()
    _, sub, item, _ = _dunned(account, status="unpaid")
    price = account.find("subscription_item", item)["price_id"]
    account.subscription_event(
        ts(2026, 3, 22, 10),
        sub,
        status="unpaid",
        previous={"status": "past_due"},
        items=[(item, price, 1, ts(2026, 3, 1))],
    )
    computed = run(account, at(2026, 4, 1))
    assert moves(computed)[1:] == [(date(2026, 3, 22), "churn", -4000)]
    assert computed.movements()[-1].churn_reason == "involuntary"


def test_unpaid_without_event_dated_when_dunning_gave_up() -> None:
    account = Account()
    _, _, _, failed = _dunned(account, status="unpaid")
    account.find("invoice", failed).update(
        status="uncollectible", marked_uncollectible_at=ts(2026, 3, 22, 10)
    )
    computed = run(account, at(2026, 4, 1))
    assert moves(computed)[1:] == [(date(2026, 3, 22), "churn", -4000)]
    assert computed.movements()[-1].churn_reason == "involuntary"


def _seats(account: Account) -> tuple[str, str, str]:
    """5 seats × $10/month from 1 Jan, renewed 1 Feb; 8 seats now, changed without proration."""
    customer, sub, item = account.simple(1000, ts(2026, 1, 1), ts(2026, 2, 20), quantity=5)
    account.set_item(item, quantity=8)
    return customer, sub, item


def test_change_without_proration_dated_by_its_event() -> None:
    account = Account()
    _, sub, item = _seats(account)
    price = account.find("subscription_item", item)["price_id"]
    account.subscription_event(
        ts(2026, 2, 10, 12), sub, status="active", items=[(item, price, 8, ts(2026, 2, 1))]
    )
    computed = run(account, at(2026, 2, 20))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 5000),
        (date(2026, 2, 10), "expansion", 3000),  # 8 × 10 − 5 × 10
    ]


def test_change_without_proration_or_event_dated_at_last_known_instant() -> None:
    # Nothing says when it happened: the last instant the subscription was known (the 1 Feb
    # renewal) is the date, and it stays that date whatever as_of is.
    account = Account()
    _seats(account)
    expected = [(date(2026, 1, 1), "new", 5000), (date(2026, 2, 1), "expansion", 3000)]
    assert moves(run(account, at(2026, 2, 20))) == expected
    assert moves(run(account, at(2026, 2, 25))) == expected


def test_metered_item_counts_its_last_finished_period() -> None:
    account = Account()
    start = ts(2026, 1, 1)
    customer = account.customer(start)
    base, usage = account.price(2000), account.price(10, usage_type="metered")
    sub = account.subscription(customer, start)
    period = (ts(2026, 3, 1), ts(2026, 4, 1))
    licensed = account.item(sub, base, created=start, period=period)
    metered = account.item(sub, usage, None, created=start, period=period)
    months = [ts(2026, m, 1) for m in (1, 2, 3, 4)]
    usage_amounts = {1: 5000, 2: 7000}  # 500 and 700 units at $0.10, billed in arrears
    for index, first in enumerate(months[:3]):
        invoice = account.invoice(sub, first, billing_reason="subscription_cycle")
        account.line(
            invoice, amount=2000, period=(first, months[index + 1]), item=licensed, price=base
        )
        if index in usage_amounts:
            account.line(
                invoice,
                amount=usage_amounts[index],
                period=(months[index - 1], first),
                item=metered,
                price=usage,
                quantity=usage_amounts[index] // 10,
            )
    computed = run(account, at(2026, 3, 10))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 2000),  # no finished usage period yet
        (date(2026, 2, 1), "expansion", 5000),  # January's usage, from February
        (date(2026, 3, 1), "expansion", 2000),  # February's: 70.00 instead of 50.00
    ]


def _inclusive(account: Account, *, with_rate_row: bool) -> None:
    start = ts(2026, 1, 1)
    customer = account.customer(start)
    price = account.price(12000, tax_behavior="inclusive")
    rates = [account.tax_rate("20", inclusive=True)] if with_rate_row else []
    if not with_rate_row:  # Stripe Tax: a rate we never synced
        account.tax_rate("8.5", inclusive=True)
    sub = account.subscription(customer, start)
    item = account.item(sub, price, created=start, period=(start, ts(2026, 2, 1)), tax_rates=rates)
    invoice = account.invoice(sub, start, billing_reason="subscription_create")
    account.line(
        invoice,
        amount=12000,
        period=(start, ts(2026, 2, 1)),
        item=item,
        price=price,
        tax_inclusive=2000,
    )


def test_inclusive_tax_is_removed() -> None:
    for with_rate_row in (True, False):
        account = Account()
        _inclusive(account, with_rate_row=with_rate_row)
        # $120 including 20 % VAT: 120 / 1.2 = 100.00
        assert mrr(run(account, at(2026, 1, 20)), date(2026, 1, 20)) == 10000


def test_amount_off_normalised_with_the_yearly_interval() -> None:
    account = Account()
    start = ts(2026, 1, 1)
    customer = account.customer(start)
    price = account.price(120000, "year")
    sub = account.subscription(customer, start)
    coupon = account.coupon(amount_off=12000, currency="usd", duration="forever")
    discount = account.discount(coupon, start, subscription=sub)
    item = account.item(sub, price, created=start, period=(start, ts(2027, 1, 1)))
    account.renewals(
        sub,
        item,
        price,
        unit_amount=120000,
        first=start,
        until=ts(2026, 2, 1),
        interval="year",
        discounts=[(discount, 12000)],
    )
    # (1,200 − 120) / 12 = 90.00
    assert mrr(run(account, at(2026, 3, 1)), date(2026, 3, 1)) == 9000


def test_amount_off_never_takes_mrr_below_zero() -> None:
    account = Account()
    start = ts(2026, 1, 1)
    customer = account.customer(start)
    price = account.price(10000)
    sub = account.subscription(customer, start)
    coupon = account.coupon(amount_off=15000, currency="usd", duration="forever")
    discount = account.discount(coupon, start, subscription=sub)
    item = account.item(sub, price, created=start, period=(start, ts(2026, 2, 1)))
    account.renewals(
        sub,
        item,
        price,
        unit_amount=10000,
        first=start,
        until=ts(2026, 1, 2),
        discounts=[(discount, 10000)],
    )
    computed = run(account, at(2026, 1, 20))
    assert mrr(computed, date(2026, 1, 20)) == 0
    assert moves(computed) == []


def test_coupon_applied_mid_period_counts_from_its_start_to_its_end() -> None:
    account = Account()
    start = ts(2026, 1, 1)
    customer = account.customer(start)
    price = account.price(10000)
    sub = account.subscription(customer, start)
    coupon = account.coupon(percent_off="50", duration="repeating", months=1)
    discount = account.discount(
        coupon, ts(2026, 1, 15, 9), end=ts(2026, 2, 15, 9), subscription=sub
    )
    account.update_subscription(sub, discount_ids="[]")  # it ran its course and left
    item = account.item(sub, price, created=start, period=(ts(2026, 3, 1), ts(2026, 4, 1)))
    account.renewals(sub, item, price, unit_amount=10000, first=start, until=ts(2026, 1, 2))
    account.renewals(
        sub,
        item,
        price,
        unit_amount=10000,
        first=ts(2026, 2, 1),
        until=ts(2026, 2, 2),
        discounts=[(discount, 5000)],
    )
    account.renewals(
        sub, item, price, unit_amount=10000, first=ts(2026, 3, 1), until=ts(2026, 3, 2)
    )
    computed = run(account, at(2026, 3, 10))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 10000),
        (date(2026, 1, 15), "contraction", -5000),  # the coupon starts: 50 % off
        (date(2026, 2, 15), "expansion", 5000),  # and ends, mid-period
    ]


def _two_items(account: Account) -> tuple[str, str, str, str, str]:
    start = ts(2026, 1, 1)
    customer = account.customer(start)
    base, addon = account.price(3000), account.price(2000, product="prod_addon")
    sub = account.subscription(customer, start)
    period = (ts(2026, 3, 1), ts(2026, 4, 1))
    kept = account.item(sub, base, created=start, period=period)
    removed = account.item(sub, addon, created=start, period=period, deleted=True)
    for month in (1, 2, 3):
        first = ts(2026, month, 1)
        invoice = account.invoice(sub, first)
        account.line(
            invoice,
            amount=3000,
            period=(first, period_after(first, "month")),
            item=kept,
            price=base,
        )
        if month < 3:  # removed on 10 Feb without proration: no longer billed from 1 Mar
            account.line(
                invoice,
                amount=2000,
                period=(first, period_after(first, "month")),
                item=removed,
                price=addon,
            )
    return customer, sub, kept, removed, addon


def test_item_removed_without_proration_ends_at_the_next_renewal() -> None:
    account = Account()
    _two_items(account)
    computed = run(account, at(2026, 3, 10))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 5000),
        (date(2026, 3, 1), "contraction", -2000),
    ]


def test_item_removed_without_proration_dated_by_its_event() -> None:
    account = Account()
    _, sub, kept, _, _ = _two_items(account)
    base = account.find("subscription_item", kept)["price_id"]
    account.subscription_event(
        ts(2026, 2, 10, 12), sub, status="active", items=[(kept, base, 1, ts(2026, 2, 1))]
    )
    assert moves(run(account, at(2026, 3, 10)))[1:] == [(date(2026, 2, 10), "contraction", -2000)]


def test_void_invoice_states_nothing() -> None:
    account = Account()
    _customer, sub, item = account.simple(5000, ts(2026, 1, 1), ts(2026, 1, 2))
    price = account.find("subscription_item", item)["price_id"]
    feb = (ts(2026, 2, 1), ts(2026, 3, 1))
    wrong = account.invoice(sub, ts(2026, 2, 1), status="void")
    account.line(wrong, amount=15000, period=feb, item=item, price=price, quantity=3)
    right = account.invoice(sub, ts(2026, 2, 1, 2))
    account.line(right, amount=5000, period=feb, item=item, price=price)
    assert moves(run(account, at(2026, 2, 20))) == [(date(2026, 1, 1), "new", 5000)]


def test_cancel_now_mid_period_churns_that_day() -> None:
    account = Account()
    _, sub, item = account.simple(4000, ts(2026, 1, 1), ts(2026, 2, 2))
    price = account.find("subscription_item", item)["price_id"]
    end = ts(2026, 2, 10, 13)
    final = account.invoice(sub, end, billing_reason="subscription_update")
    account.line(
        final, amount=-2600, period=(end, ts(2026, 3, 1)), item=item, price=price, proration=True
    )
    account.update_subscription(
        sub,
        status="canceled",
        canceled_at=end,
        ended_at=end,
        cancellation_reason="cancellation_requested",
    )
    computed = run(account, at(2026, 3, 1))
    assert moves(computed)[1:] == [(date(2026, 2, 10), "churn", -4000)]
    assert computed.movements()[-1].churn_reason == "voluntary"


def test_incomplete_expired_never_counts() -> None:
    account = Account()
    _, sub, _ = account.simple(4000, ts(2026, 1, 1), ts(2026, 1, 2))
    account.update_subscription(sub, status="incomplete_expired", ended_at=ts(2026, 1, 2))
    assert moves(run(account, at(2026, 1, 20))) == []


def test_churn_reason_inferred_from_the_latest_invoice() -> None:
    for latest_status, expected in (("open", "involuntary"), ("paid", "voluntary")):
        account = Account()
        _, sub, item = account.simple(4000, ts(2026, 1, 1), ts(2026, 2, 2))
        price = account.find("subscription_item", item)["price_id"]
        last = account.invoice(sub, ts(2026, 3, 1), status=latest_status)
        account.line(
            last, amount=4000, period=(ts(2026, 3, 1), ts(2026, 4, 1)), item=item, price=price
        )
        account.update_subscription(
            sub,
            status="canceled",
            canceled_at=ts(2026, 3, 15),
            ended_at=ts(2026, 3, 15),
            cancellation_reason=None,
        )
        churn = run(account, at(2026, 4, 1)).movements()[-1]
        assert (churn.type, churn.churn_reason) == ("churn", expected)


def test_several_ending_the_same_day_take_the_reason_of_the_larger() -> None:
    account = Account()
    customer, small, _ = account.simple(3000, ts(2026, 1, 1), ts(2026, 2, 2))
    _, large, _ = account.simple(7000, ts(2026, 1, 1), ts(2026, 2, 2), customer=customer)
    for sub, reason, hour in ((small, "payment_failed", 9), (large, "cancellation_requested", 15)):
        account.update_subscription(
            sub,
            status="canceled",
            canceled_at=ts(2026, 2, 20, hour),
            ended_at=ts(2026, 2, 20, hour),
            cancellation_reason=reason,
        )
    computed = run(account, at(2026, 3, 1))
    churn = computed.movements()[-1]
    assert (churn.type, churn.amount, churn.churn_reason) == ("churn", -10000, "voluntary")
    assert churn.subscription_ids == (large, small)  # the deciding one first


def test_changes_inside_one_day_net_out() -> None:
    account = Account()
    customer, first, _ = account.simple(4000, ts(2026, 1, 1), ts(2026, 3, 1))
    account.update_subscription(
        first, status="canceled", canceled_at=ts(2026, 3, 1, 10), ended_at=ts(2026, 3, 1, 10)
    )
    account.simple(4000, ts(2026, 3, 1, 15), ts(2026, 3, 20), customer=customer)
    assert moves(run(account, at(2026, 3, 20))) == [(date(2026, 1, 1), "new", 4000)]


def test_days_are_local_to_the_reporting_time_zone() -> None:
    account = Account()
    account.simple(5000, ts(2026, 1, 3, 2), ts(2026, 1, 20))  # 21:00 on 2 Jan in New York
    assert moves(run(account, at(2026, 1, 20), tz="America/New_York")) == [
        (date(2026, 1, 2), "new", 5000)
    ]
    assert moves(run(account, at(2026, 1, 20), tz="Europe/Paris")) == [
        (date(2026, 1, 3), "new", 5000)
    ]


def test_as_of_never_changes_the_past() -> None:
    account = Account()
    customer, _sub, _item = _seats(account)  # a change only the current state shows
    _, _other, _ = account.simple(2000, ts(2026, 1, 15), ts(2026, 2, 20), customer=customer)
    early, late = run(account, at(2026, 2, 5)), run(account, at(2026, 2, 20))
    assert moves(early) == [m for m in moves(late) if m[0] <= date(2026, 2, 5)]


def test_each_item_is_rounded_half_up_once() -> None:
    # Two items of $0.18 a year: 1.5 cents a month each, rounded half up to 2 each: 4 cents,
    # not the 3 that rounding their 3.0-cent sum would give.
    account = Account()
    start = ts(2026, 1, 1)
    customer = account.customer(start)
    first, second = account.price(18, "year"), account.price(18, "year", product="prod_other")
    sub = account.subscription(customer, start)
    period = (start, ts(2027, 1, 1))
    invoice = account.invoice(sub, start, billing_reason="subscription_create")
    for price in (first, second):
        item = account.item(sub, price, created=start, period=period)
        account.line(invoice, amount=18, period=period, item=item, price=price)
    assert mrr(run(account, at(2026, 1, 20)), date(2026, 1, 20)) == 4


def test_local_days_across_a_daylight_saving_change() -> None:
    # New York moves to summer time at 02:00 on 8 Mar 2026 (UTC−5 → UTC−4).
    account = Account()
    before = account.simple(1000, ts(2026, 3, 8, 4, 30), ts(2026, 3, 20))[0]  # 23:30 on 7 Mar
    after = account.simple(2000, ts(2026, 3, 9, 3, 30), ts(2026, 3, 20))[0]  # 23:30 on 8 Mar
    computed = run(account, at(2026, 3, 20), tz="America/New_York")
    days = {m.customer_id: date.fromordinal(m.day) for m in computed.movements()}
    assert days == {before: date(2026, 3, 7), after: date(2026, 3, 8)}
