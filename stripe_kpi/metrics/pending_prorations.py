"""What the pending prorations restate of a subscription's latest invoice, for ``check``.

A change made with ``proration_behavior=create_prorations`` after the latest invoice leaves that
invoice stating the old items, while the prorations Stripe holds for the next invoice (pending
invoice items, read as lines of no invoice: :data:`~.records.PENDING`) state the new ones: a
debit says "this item at this price × quantity from the start of my period", a credit alone
that the item ended. On a yearly plan they wait for the renewal up to a year, long after the
events that told of the change are gone.

We chose to *compare* such a subscription rather than call it not comparable: the invoice,
restated by its pending prorations, is what Stripe bills now (the next renewal bills the new
price × quantity), and ``check`` compares it with the subscription's current items and with the
metrics. It is restated only when that is exact: every item the prorations touch is billed on
the invoice, and the line's discounts are shares of its amount (percentages, inclusive tax),
which stay the same share at another quantity. Else (an item the change added, a fixed amount
off, a price never synced) there is no restatement, and the pending proration dates the change
(``changed_since_invoice``), as an invoiced proration line would.
"""

from __future__ import annotations

from collections.abc import Mapping

from stripe_kpi.metrics.invoiced import BilledLine, Invoiced
from stripe_kpi.metrics.money import monthly, price_amount, round_minor
from stripe_kpi.metrics.records import PENDING, InvoiceLine, Price

__all__ = ["restated"]


def restated(bill: Invoiced, prices: Mapping[str, Price], currency: str) -> Invoiced | None:
    """``bill`` with the lines its pending prorations change (None: not exactly restatable)."""
    if not bill.pending:
        return None
    # In time order; at one instant the credit (old state) before the debit (new state).
    final: dict[str, InvoiceLine | None] = {}
    for line in sorted(bill.pending, key=lambda ln: (ln.period_start, ln.amount >= 0, ln.id)):
        final[line.subscription_item_id or ""] = line if line.amount >= 0 else None
    billed = {b.item_id for b in bill.lines}
    if not final.keys() <= billed:
        return None  # an item the change added: what the invoice shows says nothing of it
    lines: list[BilledLine] = []
    for old in bill.lines:
        if old.item_id not in final:
            lines.append(old)
            continue
        new = final[old.item_id]
        if new is None:
            continue  # credited alone: the item is gone
        line = _restated_line(old, new, prices, currency)
        if line is None:
            return None
        lines.append(line)
    return bill._replace(
        lines=tuple(lines),
        mrr=max(0, sum(b.monthly for b in lines)),
        later_prorations=tuple(p for p in bill.later_prorations if p.invoice_id != PENDING),
        pending=(),
    )


def _restated_line(
    old: BilledLine, new: InvoiceLine, prices: Mapping[str, Price], currency: str
) -> BilledLine | None:
    """The debit's price × quantity, net of the same share as the line it replaces."""
    price = prices.get(new.price_id or "")
    if old.share is None or price is None or price.metered or not price.recurring_interval:
        return None
    try:
        gross = price_amount(price, new.quantity, currency)
    except ValueError:
        return None
    interval, count = price.recurring_interval, price.recurring_interval_count or 1
    return old._replace(
        line_id=new.id,
        price_id=new.price_id,
        quantity=new.quantity,
        amount=round_minor(gross),
        monthly=round_minor(monthly(gross * old.share, interval, count)),
    )
