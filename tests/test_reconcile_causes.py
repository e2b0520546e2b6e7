"""`stripe-kpi check`, the pure comparison, where the two figures disagree (and the likely cause)
or cannot be compared: hand-built rows in, one result per subscription out. Every figure is worked
out by hand in the comment beside it."""

from __future__ import annotations

from tests.metrics_factories import Account, at, ts
from tests.reconcile_support import check, figures, monthly_renewals, seats

# -- what disagrees, and why ---------------------------------------------------------------------


def test_a_tiered_price_stored_without_its_tiers_disagrees() -> None:
    """7 seats on a graduated price (seats 1–4 at $12, 5+ at $9): Stripe bills 4 × 12 + 3 × 9
    = 75.00; stored without its tiers, the price charges nothing."""
    account = Account()
    price = account.price(None, billing_scheme="tiered", tiers_mode="graduated")  # no tiers
    sub, _, invoice = seats(account, price, 7, 7500, ts(2026, 1, 1), ts(2026, 3, 5))
    result = check(account, at(2026, 3, 5))[sub]
    assert figures(result) == ("disagrees", 0, 7500, "tiers_not_synced")
    assert result.invoice_id == invoice
    assert result.explanation == "the price's tiers were not synced: the sync must expand `tiers`"


def test_a_volume_price_stored_without_its_tiers_disagrees_even_when_the_figures_agree() -> None:
    """15 seats on a volume price billed 90.00: without its tiers the metrics price the item
    from its invoice line (90.00 too), right only until the seat count changes."""
    account = Account()
    price = account.price(None, billing_scheme="tiered", tiers_mode="volume")  # no tiers
    sub, _, _ = seats(account, price, 15, 9000, ts(2026, 1, 1), ts(2026, 3, 5))
    result = check(account, at(2026, 3, 5))[sub]
    assert figures(result) == ("disagrees", 9000, 9000, "tiers_not_synced")


def test_a_line_discount_the_database_does_not_hold_disagrees() -> None:
    """$100/month; every line shows 25.00 off by a discount the sync never stored."""
    account = Account()
    start = ts(2026, 1, 1)
    price = account.price(10000)
    sub = account.subscription(account.customer(start), start)
    item = account.item(sub, price, created=start, period=(start, start))
    monthly_renewals(account, sub, item, price, 10000, start, ts(2026, 3, 5),
                     discounts=[("di_never_synced", 2500)])  # fmt: skip
    result = check(account, at(2026, 3, 5))[sub]
    assert figures(result) == ("disagrees", 10000, 7500, "discount_not_synced")
    assert "di_never_synced" in result.detail


def test_a_line_discount_the_metrics_do_not_apply_disagrees() -> None:
    """25 % off on the line, from a coupon stored as limited to another product: the metrics
    leave the $100 whole, Stripe billed 75.00."""
    account = Account()
    start = ts(2026, 1, 1)
    coupon = account.coupon(percent_off="25", applies_to=["prod_other"])
    price = account.price(10000)
    sub = account.subscription(account.customer(start), start)
    discount = account.discount(coupon, start, subscription=sub)
    item = account.item(sub, price, created=start, period=(start, start))
    monthly_renewals(account, sub, item, price, 10000, start, ts(2026, 3, 5),
                     discounts=[(discount, 2500)])  # fmt: skip
    assert figures(check(account, at(2026, 3, 5))[sub]) == (
        "disagrees", 10000, 7500, "discount_differs",
    )  # fmt: skip


def test_an_invoice_billing_items_the_database_lacks_disagrees() -> None:
    """11 add-ons at $10 on the invoice, 10 stored (a subscription embeds 10 items)."""
    account = Account()
    start = ts(2026, 1, 1)
    sub = account.subscription(account.customer(start), start)
    invoice = account.invoice(sub, ts(2026, 3, 1))
    for n in range(11):
        price = account.price(1000, product=f"prod_addon_{n}")
        item = account.item(sub, price, created=start, period=(ts(2026, 3, 1), ts(2026, 4, 1)))
        account.line(invoice, amount=1000, period=(ts(2026, 3, 1), ts(2026, 4, 1)), item=item,
                     price=price)  # fmt: skip
    account.rows["subscription_item"].pop()  # the 11th never synced
    result = check(account, at(2026, 3, 5))[sub]
    assert figures(result) == ("disagrees", 10000, 11000, "items_missing")


def _seat_change(account: Account, *, with_event: bool) -> str:
    """5 seats × $10 a month, invoiced 1 Mar; the item now says 8 seats (nothing invoiced yet:
    a change prorated onto the next invoice, or a row that is wrong)."""
    start = ts(2026, 1, 1)
    price = account.price(1000)
    sub, item, _ = seats(account, price, 5, 5000, start, ts(2026, 3, 5))
    account.set_item(item, quantity=8)
    if with_event:
        account.subscription_event(ts(2026, 3, 10), sub, status="active",
                                   items=[(item, price, 8, ts(2026, 3, 1))])  # fmt: skip
    return sub


def test_a_change_since_the_invoice_that_an_event_dates_is_not_comparable() -> None:
    account = Account()
    sub = _seat_change(account, with_event=True)
    result = check(account, at(2026, 3, 15))[sub]
    assert figures(result) == ("not_comparable", 8000, 5000, "changed_since_invoice")
    assert "event" in result.detail


def test_an_item_that_differs_from_its_invoice_with_nothing_to_date_it_disagrees() -> None:
    """The database holds every event since 15 Feb, and none shows the change: Stripe would have
    told us of one, so the stored item (8 seats) and the invoice (5) cannot both be right."""
    account = Account()
    sub = _seat_change(account, with_event=False)
    result = check(account, at(2026, 3, 15), events_since=ts(2026, 2, 15))[sub]
    assert figures(result) == ("disagrees", 8000, 5000, "item_differs")


def test_a_difference_older_than_the_events_held_is_not_comparable() -> None:
    account = Account()
    sub = _seat_change(account, with_event=False)
    result = check(account, at(2026, 3, 15), events_since=ts(2026, 3, 5))[sub]
    assert figures(result) == ("not_comparable", 8000, 5000, "change_undated")


def test_a_subscription_without_an_invoice_is_not_comparable() -> None:
    account = Account()
    start = ts(2026, 3, 1)
    sub = account.subscription(account.customer(start), start)
    account.item(sub, account.price(2000), created=start, period=(start, ts(2026, 4, 1)))
    assert figures(check(account, at(2026, 3, 2))[sub]) == (
        "not_comparable",
        2000,
        None,
        "no_invoice",
    )
