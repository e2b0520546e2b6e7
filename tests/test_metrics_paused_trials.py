"""A trial paused at its end (``missing_payment_method=pause``), from database rows.

A 14-day trial of $30/month from 1 Mar 2026 ends 15 Mar; ``paused`` counts zero (METRICS.md §1),
so MRR starts when the subscription resumes and its resumption invoice bills a new month. Stripe
keeps no record of the pause but 30 days of events: without them the pause is read off the
invoices (no invoice at the trial's end).
"""

from __future__ import annotations

from datetime import date

from stripe_kpi.metrics import compute, inputs_from_rows, period_kpis
from stripe_kpi.metrics.computation import Computed
from tests.metrics_factories import Account, at, no_rates, period_after, ts

START, TRIAL_END, RESUME = ts(2026, 3, 1), ts(2026, 3, 15), ts(2026, 3, 20, 10)


def run(account: Account) -> Computed:
    history = inputs_from_rows(account.tables())
    return compute(history, currency="usd", tz="UTC", as_of=at(2026, 6, 30), rate=no_rates)


def moves(computed: Computed) -> list[tuple[date, str, int]]:
    return [(date.fromordinal(m.day), m.type, m.amount) for m in computed.movements()]


def trial(account: Account, *, resumed_at: int | None, **fields) -> tuple[str, str, str]:
    """The trial, its $0 trial invoice and (when resumed) the resumption invoice of a month."""
    customer = account.customer(START)
    price = account.price(3000)
    sub = account.subscription(customer, START, trial_end=TRIAL_END, **fields)
    period = (START, TRIAL_END)
    if resumed_at is not None:
        period = (resumed_at, period_after(resumed_at, "month"))
        account.update_subscription(sub, billing_cycle_anchor=resumed_at)
    item = account.item(sub, price, created=START, period=period)
    invoice = account.invoice(sub, START, billing_reason="subscription_create")
    account.line(invoice, amount=0, period=(START, TRIAL_END), item=item, price=price)
    if resumed_at is not None:
        resumed = account.invoice(sub, resumed_at, billing_reason="subscription_update")
        account.line(resumed, amount=3000, period=period, item=item, price=price)
    return sub, item, price


def test_resumed_without_events_is_new_on_the_resume_day() -> None:
    account = Account()
    trial(account, resumed_at=RESUME)
    computed = run(account)
    assert moves(computed) == [(date(2026, 3, 20), "new", 3000)]  # not 15 Mar: paused 15–20 Mar
    assert computed.ledger.level("mrr", date(2026, 3, 19).toordinal()) == 0
    kpis = period_kpis(computed, date(2026, 3, 1), date(2026, 3, 31))
    assert (kpis.trials_ended, kpis.trials_converted) == (1, 0)  # no MRR at the end of 15 Mar


def test_resumed_with_only_the_later_events_kept() -> None:
    """The first kept event is a later update (active): before it, the invoices say paused."""
    account = Account()
    sub, item, price = trial(account, resumed_at=RESUME)
    account.subscription_event(
        ts(2026, 6, 10), sub, status="active", items=[(item, price, 1, ts(2026, 5, 20, 10))]
    )
    assert moves(run(account)) == [(date(2026, 3, 20), "new", 3000)]


def test_resumed_with_the_resume_event_kept() -> None:
    account = Account()
    sub, item, price = trial(account, resumed_at=RESUME)
    account.subscription_event(
        RESUME,
        sub,
        status="active",
        previous={"status": "paused"},
        items=[(item, price, 1, RESUME)],
        type_="customer.subscription.resumed",
    )
    assert moves(run(account)) == [(date(2026, 3, 20), "new", 3000)]


def test_canceled_while_paused_never_counted() -> None:
    account = Account()
    trial(
        account,
        resumed_at=None,
        status="canceled",
        canceled_at=ts(2026, 3, 25),
        ended_at=ts(2026, 3, 25),
        cancellation_reason="cancellation_requested",
    )
    assert moves(run(account)) == []  # not new on 15 Mar and churn on 25 Mar


def test_still_paused_counts_zero() -> None:
    account = Account()
    trial(account, resumed_at=None, status="paused")
    assert moves(run(account)) == []


def test_a_first_invoice_within_the_hour_of_the_trial_end_is_no_pause() -> None:
    """Stripe creates the converting trial's invoice at its end; 59 minutes later is still that."""
    account = Account()
    trial(account, resumed_at=TRIAL_END + 59 * 60)
    assert moves(run(account)) == [(date(2026, 3, 15), "new", 3000)]


def test_a_trial_stored_before_its_end_is_expected_to_convert() -> None:
    """Stored while trialing (synced before 15 Mar), read later: nothing says it paused, so it
    converts at its end as a trial does (new +30.00 on 15 Mar) until a sync says otherwise."""
    account = Account()
    trial(account, resumed_at=None, status="trialing")
    assert moves(run(account)) == [(date(2026, 3, 15), "new", 3000)]
