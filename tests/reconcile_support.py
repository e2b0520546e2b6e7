"""Shared pieces of the tests of `stripe-kpi check`'s comparison: run it on hand-built rows, and
build a few subscriptions the way the sync stores them."""

from __future__ import annotations

from datetime import datetime

from stripe_kpi.metrics import inputs_from_rows
from stripe_kpi.metrics.reconcile import SubscriptionCheck, check_subscriptions
from tests.metrics_factories import Account, no_rates, period_after


def check(
    account: Account,
    as_of: datetime,
    *,
    events_since: int | None = None,
    currency: str = "usd",
    rate=no_rates,
) -> dict[str, SubscriptionCheck]:
    history = inputs_from_rows(account.tables())
    checks = check_subscriptions(
        history, currency=currency, as_of=as_of, rate=rate, events_since=events_since
    )
    return {c.subscription_id: c for c in checks}


def figures(result: SubscriptionCheck) -> tuple:
    return result.outcome, result.metrics_mrr, result.invoiced_mrr, result.why


def monthly_renewals(
    account: Account,
    sub: str,
    item: str,
    price: str,
    amount: int,
    start: int,
    until: int,
    *,
    quantity: int = 1,
    discounts: list[tuple[str, int]] | None = None,
) -> str:
    """One paid invoice a month from ``start`` while periods start before ``until``; the last."""
    period, reason, invoice = start, "subscription_create", ""
    while period < until:
        end = period_after(period, "month")
        invoice = account.invoice(sub, period, billing_reason=reason)
        account.line(
            invoice,
            amount=amount,
            period=(period, end),
            item=item,
            price=price,
            quantity=quantity,
            discounts=discounts,
        )
        period, reason = end, "subscription_cycle"
    return invoice


def seats(account: Account, price: str, quantity: int, amount: int, start: int, until: int):
    """A monthly subscription of ``quantity`` seats, one paid invoice of ``amount`` a month."""
    sub = account.subscription(account.customer(start), start)
    item = account.item(sub, price, quantity, created=start, period=(start, start))
    invoice = monthly_renewals(account, sub, item, price, amount, start, until, quantity=quantity)
    return sub, item, invoice
