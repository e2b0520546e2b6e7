"""``stripe-kpi check``: the MRR the metrics give each subscription against what Stripe bills.

For every subscription Stripe bills at ``as_of`` (status ``active`` or ``past_due``, started,
not ended, out of trial), two figures in its billing currency, so no exchange rate enters:

- **the metrics'**: its MRR components at ``as_of``
  (:func:`~stripe_kpi.metrics.computation.subscription_components`, the figure the account's MRR
  counts), each rounded half up once, summed, never below zero;
- **the invoice's**: its latest invoice's lines read on their own (:mod:`.invoiced`).

They **reconcile** when they are at most one minor unit apart per line of the invoice: Stripe
rounds each line's discount and tax to the minor unit, the metrics round each item, so one unit
per line separates two correct figures; a line billed by the week or the day carries its
rounding ×52/12 or ×365/12 into a month. Otherwise they **disagree**, with the likely
:data:`Cause` the data shows. A subscription is **not comparable** (:data:`Reason`) when no
invoice can state what Stripe bills now:

- no invoice bills it yet, or the database holds only part of its latest invoice's lines;
- its items differ from the invoice's lines (price, quantity, an item added or gone) and something
  dates a change after the invoice: a kept ``customer.subscription.*`` event showing other items,
  a proration dated later, an item created later. Without such a trace, the difference is a
  disagreement (``item_differs``: a change Stripe would have told us of, or a row out of step),
  unless the invoice is older than the events the database holds (``events_since``): then nothing
  could date the change. An invoice that bills items the database does not hold at all, for a
  subscription with 10 stored items (what Stripe embeds), is a disagreement (``items_missing``);
- a discount was applied to it after its latest invoice.

A change made after the latest invoice with ``create_prorations`` leaves prorations pending for
the next invoice (on a yearly plan up to a year). When they restate the invoice exactly
(:mod:`.pending_prorations`), the restated invoice is what Stripe bills now, and it is compared
with the subscription's current items and the metrics as any invoice is; otherwise they date
the change (``changed_since_invoice``).

Trials, ``paused``, ``unpaid`` and ended subscriptions are not checked (they count zero, Stripe
bills nothing). The rows describe the account as it is now, so ``as_of`` is now (the caller's).

The share of MRR that reconciles weighs each subscription by the larger of its two figures (so a
subscription the metrics price at zero weighs what Stripe bills), in the reporting currency with
the metrics' own rates (the invoiced figure at the rate of the day its period started).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from math import ceil
from typing import Literal, NamedTuple

from stripe_kpi.metrics.calendar import utc_date
from stripe_kpi.metrics.computation import subscription_components
from stripe_kpi.metrics.fx import Converter, RateFn
from stripe_kpi.metrics.history import Component
from stripe_kpi.metrics.invoiced import Invoiced, invoiced, subscription_lines
from stripe_kpi.metrics.money import monthly, price_amount, round_minor
from stripe_kpi.metrics.movements import subscription_value
from stripe_kpi.metrics.pending_prorations import restated
from stripe_kpi.metrics.records import (
    AccountHistory,
    Discount,
    Price,
    Subscription,
    SubscriptionItem,
    SubscriptionSnapshot,
)
from stripe_kpi.metrics.since_invoice import (
    dated_change,
    discount_added,
    item_differences,
    phase_starts,
)
from stripe_kpi.metrics.status import COUNTING

__all__ = [
    "CAUSES",
    "REASONS",
    "Cause",
    "Outcome",
    "Reason",
    "SubscriptionCheck",
    "check_subscriptions",
]

Outcome = Literal["reconciles", "disagrees", "not_comparable"]
#: Why the two figures of a subscription disagree, as far as the data shows.
Cause = Literal[
    "tiers_not_synced",
    "currency_options_not_synced",
    "items_missing",
    "discount_not_synced",
    "price_differs",
    "item_differs",
    "discount_differs",
    "not_counting",
    "unknown",
]
#: Why a subscription cannot be compared.
Reason = Literal[
    "no_invoice", "lines_incomplete", "changed_since_invoice", "change_undated", "discount_added"
]

CAUSES: dict[Cause, str] = {
    "tiers_not_synced": "the price's tiers were not synced: the sync must expand `tiers`",
    "currency_options_not_synced": "the price bills this currency through `currency_options`, "
    "which were not synced: the sync must expand them",
    "items_missing": "the invoice bills items the database does not hold: a subscription "
    "embeds 10 items, page the rest",
    "discount_not_synced": "a discount on the invoice is not in the database, or its coupon is not",
    "price_differs": "the stored price does not charge what Stripe billed for this quantity: "
    "the price row is out of step (run `stripe-kpi sync --full`)",
    "item_differs": "a stored item's price or quantity differs from the invoice line and "
    "nothing dates a change: the subscription changed since this invoice without proration "
    "(its next invoice will show it), or the row is out of step (run `stripe-kpi sync --full`)",
    "discount_differs": "a line discount the metrics do not apply, or the other way round: a "
    "coupon limited to some products (`applies_to`) or stacked discounts",
    "not_counting": "the metrics count it zero now (its status, trial or end as stored) while "
    "Stripe bills it",
    "unknown": "nothing in the data explains it: please report it with these ids",
}
REASONS: dict[Reason, str] = {
    "no_invoice": "no invoice bills it yet (or only void ones)",
    "lines_incomplete": "the database holds only part of its latest invoice's lines",
    "changed_since_invoice": "it changed since its latest invoice: only the next invoice will "
    "state what Stripe bills now",
    "change_undated": "its items differ from its latest invoice, which is older than the "
    "events the database holds: nothing dates the change",
    "discount_added": "a discount was applied since its latest invoice: only the next invoice "
    "will state it",
}


@dataclass(frozen=True, slots=True)
class SubscriptionCheck:
    """One subscription's two figures (minor units of ``currency``, its billing currency).

    ``why`` is the :data:`Cause` of a disagreement or the :data:`Reason` it is not comparable;
    ``detail`` the facts behind it. ``weight`` is the larger figure in the reporting currency's
    minor units, ``mrr`` the metrics' figure there (what the account's MRR counts for it).
    """

    subscription_id: str
    customer_id: str
    currency: str
    outcome: Outcome
    metrics_mrr: int
    invoiced_mrr: int | None
    invoice_id: str | None
    why: Cause | Reason | None = None
    detail: str | None = None
    mrr: int = 0
    weight: int = 0

    @property
    def explanation(self) -> str | None:
        if self.why is None:
            return None
        return CAUSES.get(self.why) or REASONS[self.why]  # type: ignore[index]


class _Subject(NamedTuple):
    """One subscription and what is known of it, for :func:`_verdict`."""

    sub: Subscription
    comps: tuple[Component, ...]
    metrics_mrr: int
    bill: Invoiced | None
    items: Sequence[SubscriptionItem]
    snapshots: Sequence[SubscriptionSnapshot]
    #: The discounts recorded on it, and its customer's own.
    discounts: Sequence[Discount]
    #: When its schedules' phases started (``since_invoice.phase_starts``).
    starts: Sequence[int] = ()


class _Verdict(NamedTuple):
    outcome: Outcome
    why: Cause | Reason | None = None
    detail: str | None = None


def check_subscriptions(
    history: AccountHistory,
    *,
    currency: str,
    as_of: datetime,
    rate: RateFn,
    events_since: int | None = None,
) -> list[SubscriptionCheck]:
    """Check every subscription Stripe bills at ``as_of`` (see the module docstring), sorted by id.

    ``currency`` is the reporting currency, ``rate`` the exchange rates (both only weigh the
    share of MRR). ``events_since``: the first instant from which the database holds every
    ``customer.subscription.*`` event (default: its earliest kept one in ``history``).
    """
    until = int(as_of.timestamp())
    billed = sorted(s.id for s in history.subscriptions.values() if _billed_now(s, until))
    components = subscription_components(
        history, currency=currency, as_of=as_of, subscription_ids=billed
    )
    wanted = set(billed)
    lines = subscription_lines(history, wanted)
    items: dict[str, list[SubscriptionItem]] = {}
    for item in history.subscription_items.values():
        if item.subscription_id in wanted:
            items.setdefault(item.subscription_id, []).append(item)
    snapshots: dict[str, list[SubscriptionSnapshot]] = {}
    for snap in history.snapshots.values():
        if snap.subscription_id in wanted:
            snapshots.setdefault(snap.subscription_id, []).append(snap)
    customers = {history.subscriptions[s].customer_id for s in billed}
    discounts: dict[str, list[Discount]] = {}
    for discount in history.discounts.values():
        if discount.subscription_id in wanted:
            owner = discount.subscription_id
        elif discount.subscription_id is None and discount.invoice_id is None:
            owner = discount.customer_id  # a customer's own discount
        else:
            continue
        if owner in wanted or owner in customers:
            discounts.setdefault(owner, []).append(discount)  # type: ignore[arg-type]
    starts = phase_starts(history, wanted)
    if events_since is None:
        events_since = min((s.created for s in history.snapshots.values()), default=None)
    conv = Converter(currency, rate)
    checks = []
    for sub_id in billed:
        sub = history.subscriptions[sub_id]
        stored = items.get(sub_id, [])
        bill = invoiced(
            sub, lines.by_subscription.get(sub_id, ()), stored, history, until,
            lines.discounted_one_offs,
        )  # fmt: skip
        if bill is not None and bill.pending:
            # What Stripe bills now, when the pending prorations say it exactly (see
            # ``pending_prorations``); compared with the stored items like any invoice.
            bill = restated(bill, history.prices, sub.currency) or bill
        comps = components[sub_id]
        metrics_mrr = max(0, sum(round_minor(c.monthly) for c in comps))
        subject = _Subject(
            sub, comps, metrics_mrr, bill, stored, snapshots.get(sub_id, ()),
            [*discounts.get(sub_id, ()), *discounts.get(sub.customer_id, ())],
            starts.get(sub_id, ()),
        )  # fmt: skip
        verdict = _verdict(subject, history, until, events_since)
        mrr = subscription_value(comps, conv)
        invoiced_value = 0
        if bill is not None:
            day = None if sub.currency == conv.currency else utc_date(bill.period_start)
            invoiced_value = conv.minor(Decimal(bill.mrr), sub.currency, day)
        checks.append(
            SubscriptionCheck(
                subscription_id=sub_id,
                customer_id=sub.customer_id,
                currency=sub.currency,
                outcome=verdict.outcome,
                metrics_mrr=metrics_mrr,
                invoiced_mrr=None if bill is None else bill.mrr,
                invoice_id=None if bill is None else bill.invoice.id,
                why=verdict.why,
                detail=verdict.detail,
                mrr=mrr,
                weight=max(mrr, invoiced_value),
            )
        )
    return checks


def _billed_now(sub: Subscription, until: int) -> bool:
    """Stripe bills it at ``until``: a counting status, started, not ended, out of trial."""
    return (
        sub.status in COUNTING
        and sub.start_date <= until
        and (sub.ended_at is None or sub.ended_at > until)
        and not (sub.trial_end is not None and sub.trial_end > until)
    )


def tolerance(bill: Invoiced, prices: Mapping[str, Price]) -> int:
    """Minor units two correct figures may be apart: one per line and per discount on it beyond
    the first (Stripe rounds each stacked discount's share on its own), times what normalising
    a line billed by the week or the day does to a unit of its rounding."""
    total = 0
    for line in bill.lines:
        price = prices.get(line.price_id or "")
        factor = 1
        if price is not None and price.recurring_interval in ("week", "day"):
            unit = monthly(
                Decimal(1), price.recurring_interval, price.recurring_interval_count or 1
            )
            factor = max(1, ceil(unit))
        stacked = len(line.counted_discounts) + len(line.added_back) + len(line.unknown_discounts)
        total += factor * max(1, stacked)
    return max(1, total)


def _verdict(
    subject: _Subject, history: AccountHistory, until: int, events_since: int | None
) -> _Verdict:
    bill, items = subject.bill, subject.items
    if bill is None:
        return _Verdict("not_comparable", "no_invoice")
    if not bill.invoice.lines_complete:
        return _Verdict("not_comparable", "lines_incomplete", f"invoice {bill.invoice.id}")
    agree = abs(subject.metrics_mrr - bill.mrr) <= tolerance(bill, history.prices)
    differences, missing = item_differences(bill, items, history.prices)
    if differences:
        paging = missing and sum(1 for i in items if not i.deleted) >= 10
        dated = (
            None
            if paging
            else dated_change(bill, items, subject.snapshots, history.prices, subject.starts)
        )
        if dated is not None:
            return _Verdict("not_comparable", "changed_since_invoice", f"{differences}; {dated}")
        if not paging and (events_since is None or bill.period_start < events_since):
            return _Verdict("not_comparable", "change_undated", differences)
        if agree:
            return _Verdict("reconciles")
        return _Verdict("disagrees", "items_missing" if missing else "item_differs", differences)
    added = discount_added(bill, subject.discounts, until)
    if added is not None:
        return _Verdict("not_comparable", "discount_added", added)
    unsynced = _price_without_tiers(subject, bill, history)
    if unsynced is not None:
        # Even when the figures agree: the metrics then priced the item from its invoice line,
        # which is right only until its quantity changes.
        return _Verdict("disagrees", "tiers_not_synced", f"{unsynced} has no tiers")
    if agree:
        return _Verdict("reconciles")
    return _diagnose(subject, bill, history)


def _price_without_tiers(subject: _Subject, bill: Invoiced, history: AccountHistory) -> str | None:
    """A billed price that is tiered but stored without its tiers (the sync did not expand
    ``tiers``), in the subscription's currency."""
    for line in bill.lines:
        price = history.prices.get(line.price_id or "")
        if price is None or price.billing_scheme != "tiered":
            continue
        option = None
        if price.currency != subject.sub.currency:
            option = price.currency_option(subject.sub.currency)
            if option is None:
                continue  # the currency_options cause, diagnosed below
        if not (price.tiers if option is None else option[1]):
            return price.id
    return None


def _diagnose(subject: _Subject, bill: Invoiced, history: AccountHistory) -> _Verdict:
    """The likeliest cause of a disagreement, from what the rows show."""
    sub, prices = subject.sub, history.prices
    for line in bill.lines:
        price = prices.get(line.price_id or "")
        if price is None:
            continue
        option = None if price.currency == sub.currency else price.currency_option(sub.currency)
        if price.currency != sub.currency and option is None:
            return _Verdict(
                "disagrees", "currency_options_not_synced", f"{price.id} in {sub.currency}"
            )
        tiers = price.tiers if option is None else option[1]
        if price.billing_scheme == "tiered" and not tiers:
            return _Verdict("disagrees", "tiers_not_synced", f"{price.id} has no tiers")
    for line in bill.lines:
        if line.unknown_discounts:
            unknown = ", ".join(line.unknown_discounts)
            return _Verdict("disagrees", "discount_not_synced", f"{unknown} on {line.line_id}")
    for line in bill.lines:
        price = prices.get(line.price_id or "")
        if price is None or line.metered:
            continue
        try:
            charged = price_amount(price, line.quantity, sub.currency)
        except ValueError:
            charged = None
        if charged != line.amount:
            return _Verdict(
                "disagrees",
                "price_differs",
                f"{line.line_id}: {line.amount} billed for {line.quantity}, "
                f"{price.id} charges {charged}",
            )
    if not subject.comps:
        return _Verdict("disagrees", "not_counting", f"status {sub.status}")
    discounted = (
        sub.discount_ids
        or any(i.discount_ids for i in subject.items)
        or any(line.counted_discounts for line in bill.lines)
    )
    if discounted:
        return _Verdict("disagrees", "discount_differs")
    return _Verdict("disagrees", "unknown")
