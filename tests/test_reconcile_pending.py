"""``check`` and pending prorations: the latest invoice predates a change whose prorations wait
for the next invoice. Hand-built rows: 5 seats × $10/month, invoiced 1 Jan and 1 Feb 2026; on
10 Feb 8 seats with ``create_prorations``; checked on 20 Feb, no event kept.

Proration amounts (they only need the right sign here): 18 of February's 28 days are left on
10 Feb; credit 5 × $10 × 18/28 = $32.14, debit 8 × $10 × 18/28 = $51.43.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.metrics_factories import Account, ts
from tests.reconcile_support import check, figures, seats

AS_OF = datetime(2026, 2, 20, tzinfo=UTC)
CHANGE = ts(2026, 2, 10)


def _pending(account: Account, sub: str, item: str, price: str, quantity: int, amount: int):
    account.rows["pending_invoice_item"].append(
        {
            "id": f"ii_{len(account.rows['pending_invoice_item']) + 1}",
            "amount": amount,
            "currency": "usd",
            "period_start": CHANGE,
            "period_end": ts(2026, 3, 1),
            "subscription_id": sub,
            "subscription_item_id": item,
            "proration": True,
            "price_id": price,
            "quantity": quantity,
            "invoice_id": None,
            "deleted": False,
        }
    )


def _seat_change() -> tuple[Account, str, str, str]:
    account = Account()
    price = account.price(1000)
    sub, item, _ = seats(account, price, 5, 5000, ts(2026, 1, 1), ts(2026, 2, 15))
    account.set_item(item, quantity=8)
    return account, sub, item, price


def test_without_its_pending_prorations_the_change_is_undated() -> None:
    """What the database said before it kept pending items: 8 seats stored, 5 invoiced."""
    account, sub, _, _ = _seat_change()
    assert figures(check(account, AS_OF)[sub]) == ("not_comparable", 8000, 5000, "change_undated")


def test_the_invoice_restated_by_its_pending_prorations_is_compared() -> None:
    """The 1 Feb invoice bills 5 × $10; the debit of 10 Feb states 8 × $10 = $80.00 a month,
    what the next invoice bills and what the metrics count: they reconcile."""
    account, sub, item, price = _seat_change()
    _pending(account, sub, item, price, 5, -3214)
    _pending(account, sub, item, price, 8, 5143)
    assert figures(check(account, AS_OF)[sub]) == ("reconciles", 8000, 8000, None)


def test_a_stored_quantity_other_than_the_restated_one_disagrees() -> None:
    """9 seats stored where the pending debit says 8, nothing dating a later change."""
    account, sub, item, price = _seat_change()
    _pending(account, sub, item, price, 5, -3214)
    _pending(account, sub, item, price, 8, 5143)
    account.set_item(item, quantity=9)
    result = check(account, AS_OF, events_since=ts(2026, 1, 1))[sub]
    assert figures(result) == ("disagrees", 9000, 8000, "item_differs")


def test_an_item_the_change_added_is_dated_not_restated() -> None:
    """A second item added on 10 Feb (its debit pending): the 1 Feb invoice says nothing of
    it, so the pending proration dates the change and nothing is compared."""
    account, sub, item, price = _seat_change()
    account.set_item(item, quantity=5)
    extra = account.item(sub, price, 2, created=ts(2026, 1, 1), period=(CHANGE, ts(2026, 3, 1)))
    _pending(account, sub, extra, price, 2, 1286)
    result = check(account, AS_OF)[sub]
    assert figures(result) == ("not_comparable", 7000, 5000, "changed_since_invoice")
    assert result.detail.endswith("prorated from 2026-02-10 (pending invoice item ii_1)")
