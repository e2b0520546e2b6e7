"""What Stripe bills for a subscription, read from its invoices alone: one side of ``check``.

This side knows nothing of how the metrics rebuild a history (:mod:`.item_states`,
:mod:`.history`); it reads the invoice lines as stored and applies METRICS.md §1 to them
directly, so that the two can be compared (:mod:`.reconcile`).

- **Which invoice.** The subscription's latest invoice, created by ``as_of``, that has
  non-proration subscription-item lines (``parent_type`` ``subscription_item_details``,
  ``proration`` false), void ones excepted (a void invoice bills nothing: the renewals Stripe
  voids while collection is paused, one the merchant forgave). Drafts, open and uncollectible
  invoices count: their lines state what Stripe bills (a ``past_due`` subscription's latest
  invoice is open). Latest: the one whose licensed lines start last (a metered line bills the
  period before), then one with licensed lines over usage alone, then the last created. One-off
  invoice items are not MRR and never read.
- **Each line** (licensed or metered): its ``amount`` less its ``discount_amounts``, except
  the discounts MRR does not count at ``as_of`` — a ``once`` coupon (a one-time reduction), a
  ``repeating`` one that has run out — which are added back; then less inclusive tax, which
  Stripe computes on the discounted amount: the line keeps the share
  ``(taxable − tax_inclusive_amount) ÷ taxable`` of what is left (exclusive tax is not in
  ``amount``). A line discounted to nothing shows no tax to read; then its item's inclusive
  tax rates give the share. Normalised to a month with the line's price interval (month →
  A/n, year → A/(12n), week → A×52/(12n), day → A×365/(12n)), or the interval its period
  spans when the price was never synced, and rounded half up to the minor unit, per line.
- **Pending prorations** (invoice items no invoice has taken yet) dated after the invoice's
  period are a change it does not state, like later proration lines; ``pending`` keeps them
  apart so that ``check`` can restate the invoice by them (:mod:`.pending_prorations`).
- **Metered items** bill usage in arrears: the metered line of the latest invoice is the last
  finished usage period, which is what MRR counts (METRICS.md §1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

from stripe_kpi.metrics.calendar import add_months
from stripe_kpi.metrics.catalog import discount_terms
from stripe_kpi.metrics.money import ONE, ZERO, inclusive_tax_factor, monthly, round_minor
from stripe_kpi.metrics.records import (
    PENDING,
    AccountHistory,
    Invoice,
    InvoiceLine,
    Price,
    Subscription,
    SubscriptionItem,
)

__all__ = ["BilledLine", "Invoiced", "SubscriptionLines", "invoiced", "subscription_lines"]

SUBSCRIPTION_LINE = "subscription_item_details"


class BilledLine(NamedTuple):
    """One non-proration line of the latest invoice, as MRR reads it."""

    line_id: str
    item_id: str | None
    price_id: str | None
    quantity: int | None
    metered: bool
    #: What the line charged for its period, before discounts (its ``amount``).
    amount: int
    #: Monthly, net of the discounts that count and of inclusive tax, minor units, rounded.
    monthly: int
    #: Discounts on the line that MRR does not count at ``as_of`` (added back).
    added_back: tuple[str, ...]
    #: Discounts on the line that the database does not hold (or whose coupon it does not).
    unknown_discounts: tuple[str, ...]
    #: Discounts on the line that count.
    counted_discounts: tuple[str, ...]
    #: What is left of ``amount`` once its discounts and inclusive tax are taken, as a share
    #: (None: not a share, as a fixed amount off is): the same share at another quantity.
    share: Decimal | None = None


class Invoiced(NamedTuple):
    """What the latest invoice bills, per month, and what the rest of the invoices show since."""

    invoice: Invoice
    #: Where the invoice's lines start (its licensed lines', else any): the period it bills.
    period_start: int
    lines: tuple[BilledLine, ...]
    #: The invoice's non-proration lines summed, minor units of the subscription's currency.
    mrr: int
    #: Proration lines dated after ``period_start``: a change the invoice does not state.
    #: Pending prorations (no invoice has taken them yet) included.
    later_prorations: tuple[InvoiceLine, ...]
    #: The pending prorations among them (:mod:`.pending_prorations` restates the invoice).
    pending: tuple[InvoiceLine, ...] = ()


class SubscriptionLines(NamedTuple):
    """The lines the invoice side reads, gathered in one pass over the account's lines."""

    #: subscription id → its subscription-item lines.
    by_subscription: dict[str, list[InvoiceLine]]
    #: invoice id → its other lines (one-off invoice items) that carry a discount.
    discounted_one_offs: dict[str, list[InvoiceLine]]


def subscription_lines(history: AccountHistory, subscription_ids: set[str]) -> SubscriptionLines:
    """The subscription-item lines of each subscription, and the discounted one-off lines.

    A line names its subscription; one that does not is its item's, else its invoice's.
    """
    owner = {i.id: i.subscription_id for i in history.subscription_items.values()}
    invoices = history.invoices
    found: dict[str, list[InvoiceLine]] = {}
    one_offs: dict[str, list[InvoiceLine]] = {}
    for line in history.invoice_lines.values():
        if line.parent_type not in (None, SUBSCRIPTION_LINE) or not line.subscription_item_id:
            if line.discount_amounts:
                one_offs.setdefault(line.invoice_id, []).append(line)
            continue
        sub_id = line.subscription_id or owner.get(line.subscription_item_id)
        if sub_id is None:
            invoice = invoices.get(line.invoice_id)
            sub_id = None if invoice is None else invoice.subscription_id
        if sub_id in subscription_ids:
            found.setdefault(sub_id, []).append(line)  # type: ignore[arg-type]
    return SubscriptionLines(found, one_offs)


def invoiced(
    sub: Subscription,
    lines: Sequence[InvoiceLine],
    items: Sequence[SubscriptionItem],
    history: AccountHistory,
    until: int,
    one_offs: Mapping[str, Sequence[InvoiceLine]],
) -> Invoiced | None:
    """What the subscription's latest invoice bills per month (None: no invoice bills it).

    ``one_offs`` are :attr:`SubscriptionLines.discounted_one_offs`: Stripe takes a fixed amount
    off (``amount_off``) once per invoice, spread over every line, one-off items included; the
    part a one-off item took is the subscription's discount all the same, so it goes back onto
    the subscription's lines (in their order, as far as they have room).
    """
    invoices, prices = history.invoices, history.prices
    by_invoice: dict[str, list[InvoiceLine]] = {}
    #: invoice id → where its lines start: (licensed lines' latest start, any line's).
    starts: dict[str, tuple[int, int]] = {}
    prorations: list[InvoiceLine] = []
    pending: list[InvoiceLine] = []
    for line in lines:
        if line.invoice_id == PENDING:
            if line.proration and line.period_start <= until:
                pending.append(line)
            continue
        invoice = invoices.get(line.invoice_id)
        if invoice is None or invoice.status == "void" or invoice.created > until:
            continue
        if line.proration:
            prorations.append(line)
            continue
        start = line.period_start
        if start > until:
            continue
        price = prices.get(line.price_id or "")
        licensed = -1 if price is not None and price.metered else start
        found = starts.get(line.invoice_id)
        if found is None:
            by_invoice[line.invoice_id] = [line]
            starts[line.invoice_id] = (licensed, start)
        else:
            by_invoice[line.invoice_id].append(line)
            starts[line.invoice_id] = (max(found[0], licensed), max(found[1], start))
    if not by_invoice:
        return None

    def latest(invoice_id: str) -> tuple[int, bool, int, str]:
        """Lines that start last; at a tie, licensed lines before usage alone, then created."""
        licensed, any_line = starts[invoice_id]
        begins = licensed if licensed >= 0 else any_line
        return begins, licensed >= 0, invoices[invoice_id].created, invoice_id

    latest_id = max(by_invoice, key=latest)
    start = latest(latest_id)[0]
    rates = {i.id: i.tax_rate_ids or sub.default_tax_rate_ids for i in items}
    readings = [
        _read(line, history, until)
        for line in sorted(by_invoice[latest_id], key=lambda ln: (ln.position, ln.id))
    ]
    left = _taken_by_one_offs(one_offs.get(latest_id, ()), history, until)
    billed = []
    for line, reading in readings:
        extra = min(left, max(0, line.amount - reading.kept))
        left -= extra
        tax_rate_ids = rates.get(line.subscription_item_id or "", ())
        billed.append(_billed(line, reading, extra, history, tax_rate_ids))
    waiting = tuple(p for p in pending if p.period_start > start)
    later = (*(p for p in prorations if p.period_start > start), *waiting)
    total = max(0, sum(b.monthly for b in billed))
    return Invoiced(invoices[latest_id], start, tuple(billed), total, later, waiting)


class _Reading(NamedTuple):
    """A line's discounts, sorted by how MRR treats them at ``until``; ``kept`` is what the
    discounts MRR keeps would have taken without the ones it adds back."""

    kept: Decimal
    added: tuple[str, ...]
    unknown: tuple[str, ...]
    counted: tuple[str, ...]


def _read(line: InvoiceLine, history: AccountHistory, until: int) -> tuple[InvoiceLine, _Reading]:
    """Sort the line's discounts; those MRR keeps are taken again without those it adds back.

    The line lists its discounts in the order Stripe took them, each percentage on what the
    ones before it left (``simulator.billing.invoices.stack_order``): with 25 % off then 10 %
    off, $240 pays $162 (the 10 % took $18). Once the 25 % no longer counts (a ``once`` coupon,
    a repeating one run out), the 10 % takes its share of the whole $240 ($24), as the next
    invoice will; a fixed amount off stays what it was.
    """
    added, unknown, counted = [], [], []
    kept = ZERO
    left = Decimal(line.amount)  # what the discounts so far left, as billed
    left_kept = left  # the same without the discounts added back
    for discount_id, amount in line.discount_amounts:
        counts = _counts(discount_id, history, until)
        take = Decimal(amount)
        if counts is False:
            added.append(discount_id)  # once, or run out: MRR does not count it now
            left -= take
            continue
        if left_kept != left and left > 0 and _is_percentage(discount_id, history):
            take = take * left_kept / left
        (unknown if counts is None else counted).append(discount_id)
        left -= amount
        take = min(take, max(ZERO, left_kept))
        left_kept -= take
        kept += take
    return line, _Reading(kept, tuple(added), tuple(unknown), tuple(counted))


def _is_percentage(discount_id: str, history: AccountHistory) -> bool:
    discount = history.discounts.get(discount_id)
    coupon = None if discount is None else history.coupons.get(discount.coupon_id or "")
    return coupon is not None and coupon.percent_off is not None


def _counts(discount_id: str, history: AccountHistory, until: int) -> bool | None:
    """Whether MRR counts this discount at ``until`` (None: the database does not know it)."""
    discount = history.discounts.get(discount_id)
    coupon = None if discount is None else history.coupons.get(discount.coupon_id or "")
    if discount is None or coupon is None:
        return None
    terms = discount_terms(discount, coupon)
    return terms is not None and (terms.end is None or terms.end > until)


def _taken_by_one_offs(lines: Sequence[InvoiceLine], history: AccountHistory, until: int) -> int:
    """What the fixed amounts off that MRR counts took off the invoice's one-off items."""
    taken = 0
    for line in lines:
        for discount_id, amount in line.discount_amounts:
            discount = history.discounts.get(discount_id)
            coupon = None if discount is None else history.coupons.get(discount.coupon_id or "")
            if coupon is not None and coupon.amount_off and _counts(discount_id, history, until):
                taken += amount
    return taken


def _billed(
    line: InvoiceLine,
    reading: _Reading,
    extra: int,
    history: AccountHistory,
    tax_rate_ids: tuple[str, ...],
) -> BilledLine:
    taxable = line.amount - line.discount_amount
    if taxable <= 0:
        share = _rates_share(history, tax_rate_ids)  # no tax on the line to read
    elif line.tax_inclusive_amount:
        share = Decimal(taxable - line.tax_inclusive_amount) / taxable
    else:
        share = ONE
    amount = (line.amount - reading.kept - extra) * share
    # A share of the amount unless a fixed amount off took part. A discount the database does
    # not know is taken as a share: the check then names it (``discount_not_synced``) either way.
    proportional = (
        line.amount > 0 and not extra and not any(_amount_off(d, history) for d in reading.counted)
    )
    price = history.prices.get(line.price_id or "")
    interval, count = _interval(line, price)
    return BilledLine(
        line_id=line.id,
        item_id=line.subscription_item_id,
        price_id=line.price_id,
        quantity=line.quantity,
        metered=price is not None and price.metered,
        amount=line.amount,
        monthly=round_minor(monthly(max(ZERO, amount), interval, count)),
        added_back=reading.added,
        unknown_discounts=reading.unknown,
        counted_discounts=reading.counted,
        share=max(ZERO, amount) / line.amount if proportional else None,
    )


def _amount_off(discount_id: str, history: AccountHistory) -> bool:
    discount = history.discounts.get(discount_id)
    coupon = None if discount is None else history.coupons.get(discount.coupon_id or "")
    return coupon is not None and coupon.amount_off is not None


def _rates_share(history: AccountHistory, tax_rate_ids: tuple[str, ...]) -> Decimal:
    """The net share of a tax-inclusive amount under these tax rates (1: none inclusive)."""
    rates = (history.tax_rates.get(i) for i in tax_rate_ids)
    return inclusive_tax_factor(tuple(r.percentage for r in rates if r is not None and r.inclusive))


def _interval(line: InvoiceLine, price: Price | None) -> tuple[str, int]:
    """The line's billing interval: its price's, else the one its period spans."""
    if price is not None and price.recurring_interval:
        return price.recurring_interval, price.recurring_interval_count or 1
    start = datetime.fromtimestamp(line.period_start, UTC)
    for months in range(1, 37):
        if abs(add_months(start, months).timestamp() - line.period_end) < 86_400:
            return ("year", months // 12) if months % 12 == 0 else ("month", months)
    days = max(1, round((line.period_end - line.period_start) / 86_400))
    return ("week", days // 7) if days % 7 == 0 else ("day", days)
