"""The worked examples of METRICS.md §7 again, end to end: simulator → mapping → metrics.

Here nobody writes invoice lines by hand: the simulated Stripe account (``BillingAccount``) bills
the scripted history as Stripe would, ``stripe_kpi.sync.mapping`` turns its objects into table
rows as the sync does, and the metrics read those rows. The expected figures are the ones of
METRICS.md, so a number is never the code checking itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from stripe_kpi.metrics import compute, inputs_from_rows, period_kpis
from stripe_kpi.metrics.computation import Computed
from stripe_kpi.simulator.billing import BillingAccount, DunningPolicy
from stripe_kpi.sync.mapping import merge_rows, rows_for
from tests.metrics_factories import no_rates

_STORED = frozenset(
    ("customer", "product", "price", "coupon", "tax_rate", "discount", "subscription", "invoice")
) | {"event"}


def on(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def run(account: BillingAccount, until: datetime, currency: str = "usd") -> Computed:
    """Advance the account to ``until``, store what Stripe shows, compute at ``until``."""
    account.advance(until)
    rows: dict[str, list[dict]] = {}
    for objects in account.snapshot().objects.values():
        for obj in objects.values():
            if obj.get("object") in _STORED:
                merge_rows(rows, rows_for(obj))
    history = inputs_from_rows(rows)
    return compute(history, currency=currency, tz="UTC", as_of=until, rate=no_rates)


def moves(computed: Computed) -> list[tuple[date, str, int]]:
    return [(date.fromordinal(m.day), m.type, m.amount) for m in computed.movements()]


def mrr(computed: Computed, day: date) -> int:
    return computed.ledger.level("mrr", day.toordinal())


def subscribed(amount: int, start: datetime, interval: str = "month", count: int = 1, **kw):
    """An account with one customer subscribed to one price at ``start``."""
    account = BillingAccount(on(2026, 1, 1), currency=kw.pop("currency", "usd"))
    customer = account.create_customer("Ada", "ada@example.com", start)
    price = account.create_price(amount, interval, count, at=start)
    quantity = kw.pop("quantity", 1)
    sub = account.subscribe(customer, [(price, quantity)], start, **kw)
    return account, customer, sub


def test_example_01_monthly_new() -> None:
    account, _, _ = subscribed(5000, on(2026, 1, 3, 9))
    computed = run(account, on(2026, 3, 20))
    assert moves(computed) == [(date(2026, 1, 3), "new", 5000)]
    assert mrr(computed, date(2026, 3, 19)) == 5000


def test_example_02_yearly_normalised() -> None:
    account, _, _ = subscribed(120000, on(2026, 2, 10, 9), "year")
    computed = run(account, on(2027, 2, 9, 23))
    assert moves(computed) == [(date(2026, 2, 10), "new", 10000)]
    year = range(date(2026, 2, 10).toordinal(), date(2027, 2, 10).toordinal())
    assert {mrr(computed, date.fromordinal(d)) for d in year} == {10000}


def test_example_03_weekly_normalised() -> None:
    account, _, _ = subscribed(1000, on(2026, 1, 5, 9), "week")
    assert mrr(run(account, on(2026, 3, 1)), date(2026, 2, 28)) == 4333


def test_example_04_quarterly_normalised() -> None:
    account, _, _ = subscribed(9000, on(2026, 1, 1, 9), "month", 3)
    assert mrr(run(account, on(2026, 8, 1)), date(2026, 7, 31)) == 3000


def test_example_05_trial_converts() -> None:
    account, _, _ = subscribed(3000, on(2026, 3, 1, 9), trial_days=14)
    computed = run(account, on(2026, 4, 1))
    assert mrr(computed, date(2026, 3, 14)) == 0
    assert moves(computed) == [(date(2026, 3, 15), "new", 3000)]
    kpis = period_kpis(computed, date(2026, 3, 1), date(2026, 3, 31))
    assert (kpis.trials_ended, kpis.trial_conversion) == (1, Decimal(1))


def test_example_06_trial_does_not_convert() -> None:
    account, _, sub = subscribed(3000, on(2026, 3, 1, 9), trial_days=14)
    account.trial_lapses(sub)
    computed = run(account, on(2026, 4, 1))
    assert moves(computed) == []
    kpis = period_kpis(computed, date(2026, 3, 1), date(2026, 3, 31))
    assert (kpis.trials_ended, kpis.trials_converted) == (1, 0)


def _with_coupon(**coupon) -> tuple[BillingAccount, datetime]:
    start = on(2026, 1, 1, 9)
    account = BillingAccount(on(2026, 1, 1))
    customer = account.create_customer("Ada", "ada@example.com", start)
    price = account.create_price(10000, "month", at=start)
    made = account.create_coupon(at=start, **coupon)
    account.subscribe(customer, [(price, 1)], start, coupon=made)
    return account, start


def test_example_07_percent_off_forever() -> None:
    account, _ = _with_coupon(percent_off=20, duration="forever")
    computed = run(account, on(2026, 3, 5))
    assert moves(computed) == [(date(2026, 1, 1), "new", 8000)]


def test_example_08_repeating_coupon_ends() -> None:
    account, _ = _with_coupon(percent_off=25, duration="repeating", duration_in_months=3)
    computed = run(account, on(2026, 5, 15))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 7500),
        (date(2026, 4, 1), "expansion", 2500),
    ]


def test_example_09_seat_change_prorated() -> None:
    account, _, sub = subscribed(1000, on(2026, 1, 1, 9), quantity=5)
    account.change(sub, on(2026, 1, 11, 15), quantity=8)
    computed = run(account, on(2026, 2, 15))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 5000),
        (date(2026, 1, 11), "expansion", 3000),
    ]


def test_example_10_downgrade_prorated() -> None:
    account, _, sub = subscribed(10000, on(2026, 5, 1, 9))
    cheaper = account.create_price(6000, "month", at=on(2026, 5, 20, 10))
    account.change(sub, on(2026, 5, 20, 10), price=cheaper)
    computed = run(account, on(2026, 6, 10))
    assert moves(computed)[1:] == [(date(2026, 5, 20), "contraction", -4000)]


def test_example_11_monthly_to_yearly() -> None:
    account, _, sub = subscribed(10000, on(2026, 1, 1, 9))
    yearly = account.create_price(100000, "year", at=on(2026, 3, 10, 10))
    account.change(sub, on(2026, 3, 10, 10), price=yearly)
    computed = run(account, on(2026, 4, 15))
    assert moves(computed)[1:] == [(date(2026, 3, 10), "contraction", -1667)]


def test_example_12_cancel_at_period_end() -> None:
    account, _, sub = subscribed(4000, on(2026, 5, 12, 9))
    account.cancel(sub, on(2026, 6, 5, 9), at_period_end=True)
    computed = run(account, on(2026, 6, 30))
    assert moves(computed)[1:] == [(date(2026, 6, 12), "churn", -4000)]
    assert computed.movements()[-1].churn_reason == "voluntary"
    assert period_kpis(computed, date(2026, 6, 5), date(2026, 6, 5)).mrr_at_risk == 4000


def test_example_13_dunning_cancels() -> None:
    # Renewal on 5 Jul fails; retries 3, 5 and 7 days apart (8, 13, 20 Jul); then cancel.
    start = on(2026, 4, 5, 0)
    account = BillingAccount(on(2026, 1, 1), dunning=DunningPolicy(retry_days=(3, 5, 7)))
    customer = account.create_customer("Ada", "ada@example.com", start)
    price = account.create_price(4000, "month", at=start)
    sub = account.subscribe(customer, [(price, 1)], start)
    account.fail_payments(sub, on(2026, 7, 1))
    computed = run(account, on(2026, 7, 31))
    assert moves(computed)[1:] == [(date(2026, 7, 20), "churn", -4000)]
    assert computed.movements()[-1].churn_reason == "involuntary"
    # Past due from the failed renewal until the end: at risk.
    assert period_kpis(computed, date(2026, 7, 10), date(2026, 7, 10)).mrr_at_risk == 4000


def test_example_14_reactivation() -> None:
    account, customer, sub = subscribed(4000, on(2026, 1, 1, 9))
    account.cancel(sub, on(2026, 3, 1, 9))
    price = account.create_price(4000, "month", at=on(2026, 5, 1, 9))
    account.subscribe(customer, [(price, 1)], on(2026, 5, 1, 9))
    computed = run(account, on(2026, 5, 20))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 4000),
        (date(2026, 3, 1), "churn", -4000),
        (date(2026, 5, 1), "reactivation", 4000),
    ]


def test_example_15_one_of_two_subscriptions_ends() -> None:
    account, customer, _ = subscribed(3000, on(2026, 1, 1, 9))
    price = account.create_price(2000, "month", at=on(2026, 1, 1, 9))
    small = account.subscribe(customer, [(price, 1)], on(2026, 1, 1, 9))
    account.cancel(small, on(2026, 3, 1, 9))
    computed = run(account, on(2026, 4, 1))
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 5000),
        (date(2026, 3, 1), "contraction", -2000),
    ]


def test_example_16_exclusive_tax_excluded() -> None:
    start = on(2026, 1, 1, 9)
    account = BillingAccount(on(2026, 1, 1))
    customer = account.create_customer("Ada", "ada@example.com", start)
    price = account.create_price(10000, "month", at=start, tax_behavior="exclusive")
    vat = account.create_tax_rate(20, inclusive=False, at=start)
    sub = account.subscribe(customer, [(price, 1)], start, tax_rates=[vat])
    computed = run(account, on(2026, 1, 20))
    assert account.invoices[sub["latest_invoice"]]["total"] == 12000
    assert mrr(computed, date(2026, 1, 19)) == 10000


def test_example_17_full_discount_is_not_paying() -> None:
    account, _ = _with_coupon(percent_off=100, duration="forever")
    computed = run(account, on(2026, 3, 5))
    assert moves(computed) == []
    assert computed.ledger.level("customers", date(2026, 3, 4).toordinal()) == 0


def test_example_18_amount_off_forever() -> None:
    account, _ = _with_coupon(amount_off=1500, currency="usd", duration="forever")
    computed = run(account, on(2026, 3, 5))
    assert mrr(computed, date(2026, 3, 4)) == 8500


def test_example_19_zero_decimal_currency() -> None:
    account, _, _ = subscribed(12000, on(2026, 1, 1, 9), "year", currency="jpy")
    computed = run(account, on(2026, 3, 1), currency="jpy")
    assert mrr(computed, date(2026, 2, 28)) == 1000


def test_example_20_setup_fee_excluded() -> None:
    start = on(2026, 1, 1, 9)
    account = BillingAccount(on(2026, 1, 1))
    customer = account.create_customer("Ada", "ada@example.com", start)
    price = account.create_price(3000, "month", at=start)
    account.add_invoice_item(customer, 50000, start, description="Setup", currency="usd")
    sub = account.subscribe(customer, [(price, 1)], start)
    assert account.invoices[sub["latest_invoice"]]["total"] == 53000  # $30 + the $500 fee
    computed = run(account, on(2026, 2, 15))
    assert moves(computed) == [(date(2026, 1, 1), "new", 3000)]


def test_example_24_paused_collection_keeps_counting() -> None:
    """Collection paused on 20 Jan (void): the 1 Feb and 1 Mar renewals are voided, the status
    stays active. On 15 Mar Stripe no longer keeps the 20 Jan event (30 days), so the pause is
    dated from the first voided renewal."""
    account, _, sub = subscribed(3500, on(2026, 1, 1, 9))
    account.pause_collection(sub, "void", at=on(2026, 1, 20, 12))
    computed = run(account, on(2026, 3, 15))
    assert [i["status"] for i in account.invoices.values()] == ["paid", "void", "void"]
    assert account.subscriptions[sub["id"]]["status"] == "active"
    assert mrr(computed, date(2026, 3, 15)) == 3500  # still 35.00
    assert moves(computed) == [(date(2026, 1, 1), "new", 3500)]  # no movement
    risk = computed.ledger.level
    assert risk("mrr_at_risk", date(2026, 1, 31).toordinal()) == 0
    assert risk("mrr_at_risk", date(2026, 2, 1).toordinal()) == 3500
    assert risk("mrr_at_risk", date(2026, 3, 15).toordinal()) == 3500


def test_paused_collection_dated_by_its_event_while_stripe_keeps_it() -> None:
    """Within the 30 days of events, the pause is at risk from the event that set it; when
    collection resumes (resumes_at), renewals are charged again and nothing is at risk."""
    account, _, sub = subscribed(3500, on(2026, 1, 1, 9))
    account.pause_collection(sub, "void", resumes_at=on(2026, 3, 10, 12), at=on(2026, 1, 20, 12))
    computed = run(account, on(2026, 2, 10))
    risk = computed.ledger.level
    assert risk("mrr_at_risk", date(2026, 1, 19).toordinal()) == 0
    assert risk("mrr_at_risk", date(2026, 1, 20).toordinal()) == 3500
    later = run(account, on(2026, 4, 5))
    assert [i["status"] for i in account.invoices.values()] == ["paid", "void", "void", "paid"]
    assert later.ledger.level("mrr_at_risk", date(2026, 4, 5).toordinal()) == 0
    assert mrr(later, date(2026, 4, 5)) == 3500
    assert moves(later) == [(date(2026, 1, 1), "new", 3500)]
