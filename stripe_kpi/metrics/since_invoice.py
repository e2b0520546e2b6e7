"""What changed since a subscription's latest invoice, and what dates the change.

``stripe-kpi check`` (:mod:`.reconcile`) compares a subscription's MRR with its latest invoice
only when the invoice still describes it: the same licensed items, prices and quantities, no
discount applied since. When they differ, a change is *dated* by what the database holds after
the invoice's period started: a kept ``customer.subscription.*`` event that shows other items, a
proration line dated later (or a pending proration, which no invoice has taken yet), an item
created later, a schedule's phase that started later.

A subscription schedule says when the changes it makes happen (METRICS.md §1, "Where the
history comes from"): each phase that has started changed the subscription at its
``start_date``. :func:`started_phases` gives those phases per subscription; the item history
(:mod:`.item_states`) dates a change no invoice shows yet at the last of them (and takes the
quantities of the ones between from their items), and a phase that has not started yet dates
nothing (today's MRR is the subscription as it is).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from stripe_kpi.metrics.calendar import utc_date
from stripe_kpi.metrics.invoiced import Invoiced
from stripe_kpi.metrics.records import (
    PENDING,
    AccountHistory,
    Discount,
    Price,
    SchedulePhase,
    SubscriptionItem,
    SubscriptionSnapshot,
)

__all__ = [
    "dated_change",
    "discount_added",
    "item_differences",
    "phase_starts",
    "started_phases",
]


def started_phases(
    history: AccountHistory, subscription_ids: Collection[str]
) -> dict[str, tuple[SchedulePhase, ...]]:
    """For each subscription, by start, every schedule phase that has begun (the first phase of
    a schedule made from a running subscription starts with its current period: it changed
    nothing, and counts as any other would, dating nothing past the invoices)."""
    found: dict[str, list[SchedulePhase]] = {}
    for schedule in history.schedules.values():
        sub_id = schedule.subscription_id
        if sub_id is None or sub_id not in subscription_ids:
            continue
        found.setdefault(sub_id, []).extend(schedule.started_phases())
    return {
        sub_id: tuple(sorted(phases, key=lambda p: (p.start_date, p.end_date, p.items)))
        for sub_id, phases in found.items()
        if phases
    }


def phase_starts(
    history: AccountHistory, subscription_ids: Collection[str]
) -> dict[str, tuple[int, ...]]:
    """For each subscription, ascending, when each of its :func:`started_phases` began."""
    return {
        sub_id: tuple(sorted({p.start_date for p in phases}))
        for sub_id, phases in started_phases(history, subscription_ids).items()
    }


def _licensed_lines(bill: Invoiced) -> dict[str, tuple[str | None, int | None]]:
    return {
        line.item_id: (line.price_id, line.quantity)
        for line in bill.lines
        if line.item_id and not line.metered
    }


def _licensed_items(
    entries: Iterable[tuple[str, str, int | None]], prices: Mapping[str, Price]
) -> dict[str, tuple[str, int | None]]:
    found = {}
    for item_id, price_id, quantity in entries:
        price = prices.get(price_id)
        if price is None or not price.metered:
            found[item_id] = (price_id, quantity)
    return found


def item_differences(
    bill: Invoiced, items: Sequence[SubscriptionItem], prices: Mapping[str, Price]
) -> tuple[str, bool]:
    """How the stored items differ from the invoice's licensed lines ("" when they do not), and
    whether the invoice bills an item the database does not hold at all."""
    billed = _licensed_lines(bill)
    live = _licensed_items(((i.id, i.price_id, i.quantity) for i in items if not i.deleted), prices)
    known = {i.id for i in items}
    notes, missing = [], False
    for item_id, (price_id, quantity) in sorted(billed.items()):
        if item_id not in live:
            missing = missing or item_id not in known
            notes.append(f"{item_id} ({price_id} × {quantity}) is invoiced, not stored")
        elif live[item_id] != (price_id, quantity):
            stored_price, stored_quantity = live[item_id]
            notes.append(
                f"{item_id}: {price_id} × {quantity} invoiced, {stored_price} × {stored_quantity} "
                "stored"
            )
    for item_id, (price_id, quantity) in sorted(live.items()):
        if item_id not in billed:
            notes.append(f"{item_id} ({price_id} × {quantity}) is stored, not invoiced")
    return "; ".join(notes), missing


def dated_change(
    bill: Invoiced,
    items: Sequence[SubscriptionItem],
    snapshots: Sequence[SubscriptionSnapshot],
    prices: Mapping[str, Price],
    starts: Sequence[int] = (),
) -> str | None:
    """What dates a change after the invoice's period started, if anything does (``starts``:
    the subscription's :func:`phase_starts`)."""
    start = bill.period_start
    if bill.later_prorations:
        line = min(bill.later_prorations, key=lambda ln: (ln.period_start, ln.id))
        if line.invoice_id == PENDING:
            return f"prorated from {utc_date(line.period_start)} (pending invoice item {line.id})"
        return f"prorated from {utc_date(line.period_start)} (line {line.id})"
    for item in sorted(items, key=lambda i: (i.created, i.id)):
        if item.created > start and not item.deleted:
            return f"item {item.id} created {utc_date(item.created)}"
    billed = _licensed_lines(bill)
    for snap in sorted(snapshots, key=lambda s: (s.created, s.event_id)):
        if snap.created <= start or not snap.items:
            continue
        shown = _licensed_items(((i.id, i.price_id, i.quantity) for i in snap.items), prices)
        if snap.items_complete:
            differs = shown != billed
        else:
            differs = any(billed.get(k) != v for k, v in shown.items())
        if differs:
            return f"event {snap.event_id} of {utc_date(snap.created)} shows other items"
    later = [t for t in starts if t > start]
    if later:
        return f"schedule phase from {utc_date(later[-1])}"
    return None


def discount_added(bill: Invoiced, discounts: Sequence[Discount], until: int) -> str | None:
    """A discount of the subscription (or of its customer) applied after the invoice's period
    started and still in force: the metrics count it, no invoice shows it yet."""
    on_lines = {d for line in bill.lines for d in (*line.counted_discounts, *line.added_back)}
    for discount in discounts:
        if (
            not discount.deleted
            and discount.id not in on_lines
            and bill.period_start < discount.start <= until
            and (discount.end is None or discount.end > until)
        ):
            return f"discount {discount.id} from {utc_date(discount.start)}"
    return None
