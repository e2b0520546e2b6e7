"""Pass 1 of a subscription's history: what each of its items charged, and from when.

METRICS.md §1, "Where the history comes from": Stripe keeps a subscription's present only, so its
past is read off its invoice lines, each a statement of what one subscription item owed for a
period. Every source of knowledge becomes an assertion at an instant, applied in time order
(:func:`item_versions`):

- a subscription line (not a proration) sets its item to the line's price and quantity from the
  start of its period; a renewal invoice whose lines we hold completely also ends the licensed
  items it no longer bills (removed without proration);
- a proration line marks a change at the start of its period: a negative one ends the old state,
  a positive one starts the new state, at the *full-period* rate (price × quantity). A pending
  proration (an invoice item no invoice has taken yet, ``records.PENDING``) is read as the line
  it will become: on a yearly plan it alone dates a change once the events of it are gone;
- a metered line sets its item to the usage it billed from the *end* of its period (the start of
  the period after it) — "the last finished usage period";
- a kept ``customer.subscription.*`` event states the items as they were at its instant;
- a schedule phase that began takes off, at its start, the subscription's discounts it does not
  carry (:mod:`.phase_discounts`): no line dates that, only the next renewal shows it;
- the subscription as it is now completes the current period: a change made without proration
  (no invoice shows it yet, no kept event dates it) is dated at the last instant anything was
  known about the subscription, or when its item was created if later, or at the start of the
  schedule phase that made it when that is later still. This never depends on ``as_of``, so the
  same Stripe data always yields the same history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import NamedTuple

from stripe_kpi.metrics.catalog import Catalog
from stripe_kpi.metrics.money import monthly, price_amount
from stripe_kpi.metrics.phase_discounts import phase_drops
from stripe_kpi.metrics.records import (
    PENDING,
    Invoice,
    InvoiceLine,
    Price,
    SchedulePhase,
    Subscription,
    SubscriptionItem,
    SubscriptionSnapshot,
)

#: Invoices whose subscription lines restate every licensed item for the new period.
_RENEWALS = frozenset({"subscription_create", "subscription_cycle", "subscription_update", None})

# Assertion kinds, in the order they apply at one instant. _LATE_END and _LATE_SET are only
# ranks: the _END and _SET of prorations made just after a renewal at the same instant.
# _PHASE: a schedule phase began, taking off the discounts it does not carry (after the lines
# of that instant, whose discounts may be the ones it replaced; before a kept event, exact).
_END, _SET, _KEEP, _LATE_END, _LATE_SET, _PHASE, _EVENT, _NOW, _END_METERED, _NOOP = range(10)
_ORDER = itemgetter(0, 1, 2)
_BY_START = attrgetter("period_start", "id")


class ItemState(NamedTuple):
    """What one subscription item charges from some instant on.

    A ``NamedTuple``: immutable like a frozen dataclass, but built several times faster, and there
    is one per distinct statement of the invoice lines."""

    item_id: str
    price_id: str | None
    quantity: int | None
    metered: bool
    #: Gross amount per month, minor units: before discounts, including inclusive tax.
    monthly_gross: Decimal
    interval: str
    interval_count: int
    product_id: str | None
    discount_ids: tuple[str, ...]
    tax_factor: Decimal
    #: Start of the billing period in force: its day picks the exchange rate. ``-1``: the period
    #: of the subscription at the instant the state applies (a proration's new rate).
    period_start: int


@dataclass(frozen=True, slots=True)
class SubscriptionRecords:
    """Everything one subscription's history is built from."""

    subscription: Subscription
    lines: Sequence[InvoiceLine]
    invoices: Mapping[str, Invoice]
    items: Sequence[SubscriptionItem]
    snapshots: Sequence[SubscriptionSnapshot]
    #: The phases of its schedules that have begun (``since_invoice.started_phases``).
    phases: Sequence[SchedulePhase] = ()


def _interval_of(seconds: int) -> tuple[str, int]:
    """A billing interval guessed from a period's length (a line whose price we never synced)."""
    days = seconds / 86_400
    if days < 6:
        return "day", max(1, round(days))
    if days < 27:
        return "week", max(1, round(days / 7))
    months = max(1, round(days / 30.436875))
    return ("year", months // 12) if months % 12 == 0 else ("month", months)


def _priced(
    price: Price | None, quantity: int | None, currency: str
) -> tuple[Decimal, str, int] | None:
    """Gross amount per period, interval and count of a recurring price, or None if unknown."""
    if price is None or not price.recurring_interval:
        return None
    try:
        gross = price_amount(price, quantity, currency)
    except ValueError:
        return None
    return gross, price.recurring_interval, price.recurring_interval_count or 1


def _line_state(
    line: InvoiceLine,
    price: Price | None,
    sub: Subscription,
    catalog: Catalog,
    foreign: bool,
    tax_ids: tuple[str, ...] = (),
) -> ItemState:
    metered = price is not None and price.metered
    priced = None if metered else _priced(price, line.quantity, sub.currency)
    if priced is None:
        # What Stripe billed: the metered usage, or a line whose price we cannot price. A partial
        # period (a proration) is scaled up when applied, once the period it belongs to is known.
        if price is not None and price.recurring_interval:
            interval, count = price.recurring_interval, price.recurring_interval_count or 1
        else:
            interval, count = _interval_of(line.period_end - line.period_start)
        priced = Decimal(line.amount), interval, count
    gross, interval, count = priced
    if not foreign:
        period_start = 0  # never converted: the period's day does not matter
    elif line.proration:
        period_start = -1  # the subscription's period at the change, settled when applied
    else:
        period_start = line.period_start
    return ItemState(
        item_id=line.subscription_item_id or line.id,
        price_id=line.price_id,
        quantity=line.quantity,
        metered=metered,
        monthly_gross=monthly(gross, interval, count),
        interval=interval,
        interval_count=count,
        product_id=None if price is None else price.product_id,
        discount_ids=_line_discounts(line, catalog),
        tax_factor=_tax_factor(line, sub, catalog, tax_ids),
        period_start=period_start,
    )


def _tax_factor(
    line: InvoiceLine, sub: Subscription, catalog: Catalog, tax_ids: tuple[str, ...]
) -> Decimal:
    """A pending proration carries no tax yet: Stripe taxes it when its invoice is made, with
    the item's tax rates or else the subscription's defaults, as a line of that invoice will be
    (an inclusive rate then takes its share of the amount). An invoice line says its own."""
    if line.invoice_id == PENDING and not line.tax_inclusive_amount:
        return catalog.tax_factor_of_rates(tax_ids or sub.default_tax_rate_ids)
    return catalog.tax_factor_of_line(line)


def _line_discounts(line: InvoiceLine, catalog: Catalog) -> tuple[str, ...]:
    """The discounts that reduced this line and may lower MRR (``once`` ones never do).

    A proration lists its discounts with an amount of 0 when its amount already carries them
    (flexible billing mode, ``billing_mode.flexible.proration_discounts``, which "controls how
    invoices and invoice items display proration amounts and discount amounts": ``included``
    or ``itemized``); they are in force on the rate it starts all the same, so a proration's
    listed discounts count whatever their amount."""
    if not line.discount_amounts:
        return ()
    return tuple(
        d
        for d, amount in line.discount_amounts
        if (amount or line.proration) and d in catalog.discounts
    )


#: ``(instant, order at that instant, tie-break, kind, payload)``; sorted on the first three.
Assertion = tuple[int, int, str, int, object]


def _line_assertions(
    records: SubscriptionRecords, catalog: Catalog, reporting: str
) -> list[Assertion]:
    """One assertion per subscription line (ties at one instant broken by line id, so that the
    order rows arrive in never matters), plus one per renewal invoice we hold whole."""
    sub = records.subscription
    foreign = sub.currency != reporting
    prices, invoices = catalog.prices, records.invoices
    if not foreign and not records.snapshots:
        quick = _renewals_only(records, catalog)
        if quick is not None:
            return quick
    out: list[Assertion] = []
    renewal_items: dict[str, tuple[int, set[str]]] = {}
    # Renewals restate the same item period after period: one state per distinct statement.
    memo: dict[tuple, ItemState] = {}
    # A change made at the very instant of a renewal (the same second) prorates the whole period
    # the renewal just billed: its prorations cover exactly a renewal line's period, and apply
    # after that renewal. (A change that restarts the cycle credits the old period instead,
    # which ends later than the new one: it applies before, as any other proration.)
    renewed = {(ln.period_start, ln.period_end) for ln in records.lines if not ln.proration}
    item_taxes = {i.id: i.tax_rate_ids for i in records.items}
    for line in records.lines:
        late = line.proration and (line.period_start, line.period_end) in renewed
        tax_ids = item_taxes.get(line.subscription_item_id or "", ())
        if line.proration and line.amount < 0:
            rank = _LATE_END if late else _END
            out.append((line.period_start, rank, line.id, _END, line.subscription_item_id))
            continue
        price = prices.get(line.price_id or "")
        key = None
        if price is not None and not price.metered:
            key = (
                line.subscription_item_id,
                line.price_id,
                line.quantity,
                line.proration,
                line.discount_amounts,
                line.tax_inclusive_amount and (line.amount - line.discount_amount),
                line.tax_inclusive_amount,
                line.period_start if foreign else None,
            )
            state = memo.get(key)
            if state is None:
                state = memo[key] = _line_state(line, price, sub, catalog, foreign, tax_ids)
        else:
            state = _line_state(line, price, sub, catalog, foreign, tax_ids)
        if state.metered:
            out.append((line.period_end, _SET, line.id, _SET, (state, None, None)))
        elif not line.proration:
            out.append((line.period_start, _SET, line.id, _SET, (state, line.period_start, None)))
            renewal = renewal_items.get(line.invoice_id)
            if renewal is None:
                invoice = invoices.get(line.invoice_id)
                if (
                    invoice is None
                    or not invoice.lines_complete
                    or invoice.billing_reason not in _RENEWALS
                ):
                    continue
                renewal = renewal_items[line.invoice_id] = (line.period_start, set())
            renewal[1].add(state.item_id)
        else:
            unpriced = None if key is not None else line
            rank = _LATE_SET if late else _SET
            out.append((line.period_start, rank, line.id, _SET, (state, None, unpriced)))
    for invoice_id, (start, kept) in renewal_items.items():
        out.append((start, _KEEP, invoice_id, _KEEP, frozenset(kept)))
    return out


def _renewals_only(records: SubscriptionRecords, catalog: Catalog) -> list[Assertion] | None:
    """The common case in few steps: one licensed item, renewals only, reporting currency.

    Such a subscription's lines restate one item period after period; only the first line of
    each run of identical statements changes anything, and no renewal can end another item. The
    last line still counts for when the subscription was last known (see ``item_versions``).
    None when the subscription needs the general path.
    """
    lines = records.lines
    if not lines:
        return None
    first = lines[0]
    item_id = first.subscription_item_id
    for line in lines:
        if line.proration or line.subscription_item_id != item_id:
            return None
    prices = catalog.prices
    ordered = sorted(lines, key=_BY_START)
    out: list[Assertion] = []
    previous = None
    for line in ordered:
        signature = (
            line.price_id,
            line.quantity,
            line.discount_amounts,
            line.tax_inclusive_amount,
            line.amount - line.discount_amount if line.tax_inclusive_amount else 0,
        )
        if signature == previous:
            continue
        price = prices.get(line.price_id or "")
        if price is None or price.metered:
            return None
        previous = signature
        state = _line_state(line, price, records.subscription, catalog, False)
        out.append((line.period_start, _SET, line.id, _SET, (state, line.period_start, None)))
    last = ordered[-1]
    if last.period_start != out[-1][0]:
        out.append((last.period_start, _SET, last.id, _NOOP, None))
    return out


def _snapshot_assertions(
    records: SubscriptionRecords, catalog: Catalog, latest: int
) -> list[Assertion]:
    """Kept events, then the subscription as it is now (dated as the module docstring says)."""
    sub = records.subscription
    out: list[Assertion] = []
    for snap in records.snapshots:
        items = tuple(
            (
                i.id,
                i.price_id,
                i.quantity,
                (*snap.discount_ids, *i.discount_ids),
                i.current_period_start,
                (),
            )
            for i in snap.items
        )
        keep = frozenset(i.id for i in snap.items) if snap.items_complete else None
        out.append((snap.created, _EVENT, snap.event_id, _EVENT, (items, keep)))
    now = max(latest, sub.start_date)
    # A schedule's phase that started after everything else we know changed the subscription
    # to what it is now at its start_date (METRICS.md §1): date the present there, not at the
    # last instant known. A phase not started yet is in no ``phases``: MRR stays the
    # subscription as it is until Stripe applies the phase.
    dated = now
    now = max([now, *(p.start_date for p in records.phases)])
    # A customer's own coupon applies to a subscription that has none of its own (Stripe's rule);
    # for the past, the lines show where it applied.
    own = sub.discount_ids or catalog.customer_discounts.get(sub.customer_id, ())
    live = [i for i in records.items if not i.deleted]
    entries = [
        (
            i.id,
            i.price_id,
            i.quantity,
            (*own, *i.discount_ids),
            i.current_period_start,
            i.tax_rate_ids or sub.default_tax_rate_ids,
        )
        for i in live
    ]
    known = tuple(e for e, i in zip(entries, live, strict=True) if i.created <= now)
    out.append((now, _NOW, "", _NOW, (known, frozenset(i.id for i in live))))
    for entry, item in zip(entries, live, strict=True):
        if item.created > dated and item.created != now:  # added later: from its creation
            out.append((item.created, _NOW, item.id, _NOW, ((entry,), None)))
    # A phase that began between the two set the quantities it lists on the items whose price
    # it kept (an item keeps its id while its price stays; a price gone since names no item we
    # know). Ordered after the items created at its start ("~" sorts after ids).
    by_price = {entry[1]: entry for entry in entries}
    for n, phase in enumerate(records.phases):
        if dated < phase.start_date < now:
            stated = tuple(
                (*by_price[price][:2], quantity, *by_price[price][3:])
                for price, quantity in phase.items
                if price in by_price
            )
            if stated:
                out.append((phase.start_date, _NOW, f"~phase{n:04}", _NOW, (stated, None)))
    # A metered item that is gone stops at the end of its last billed usage period, or later
    # when a kept event or a schedule phase shows it still there then (_metered_gone).
    present = {i.id for i in live}
    last_metered: dict[str, tuple[int, str | None]] = {}
    for line in records.lines:
        price = catalog.prices.get(line.price_id or "")
        item = line.subscription_item_id
        if price is not None and price.metered and item and item not in present:
            known = last_metered.get(item)
            if known is None or known[0] < line.period_end:
                last_metered[item] = (line.period_end, line.price_id)
    for item, (end, price_id) in sorted(last_metered.items()):
        out.append((_metered_gone(records, item, price_id, end), _END_METERED, item, _END, item))
    for n, phase in enumerate(records.phases):
        if phase.discounts is not None:
            out.append((phase.start_date, _PHASE, f"~phase{n:04}", _PHASE, phase))
    return out


def _metered_gone(
    records: SubscriptionRecords, item_id: str, price_id: str | None, last_end: int
) -> int:
    """When a metered item no longer on the subscription went.

    Not before ``last_end``, the end of its last billed usage period, and not after the next
    renewal boundary (a renewal then would have billed its usage): inside that window, after the
    last kept event that still lists it, at the first kept event whose complete item list omits
    it or the first schedule phase begun whose items omit its price (a phase replaces the
    subscription's items with its own: "When a phase starts, Stripe updates the subscription
    based on the next phase's attributes", docs.stripe.com/billing/subscriptions/
    subscription-schedules). With nothing to show it there after ``last_end``, at ``last_end``.
    """
    boundary = min(
        (
            ln.period_start
            for ln in records.lines
            if not ln.proration and ln.period_start > last_end
        ),
        default=None,
    )

    def inside(t: int) -> bool:
        return last_end <= t and (boundary is None or t <= boundary)

    shown = [s for s in records.snapshots if s.items_complete and inside(s.created)]
    present = max(
        (s.created for s in shown if any(i.id == item_id for i in s.items)), default=last_end
    )
    absent = [
        s.created for s in shown if s.created > present and all(i.id != item_id for i in s.items)
    ]
    absent += [
        p.start_date
        for p in records.phases
        if inside(p.start_date)
        and p.start_date >= present
        and all(q != price_id for q, _ in p.items)
    ]
    return min(absent, default=present)


def _snapshot_item(
    state: dict[str, ItemState],
    entry: tuple,
    sub: Subscription,
    catalog: Catalog,
    period: int,
    reporting: str,
    now: bool,
) -> bool:
    """Apply one item as a snapshot shows it; unchanged items keep what their lines said.
    True when the item's state changed.

    An event shows the discounts attached at its instant. The subscription *now* (``now``) is
    dated at the last instant it was known, but its discounts are today's: a repeating coupon
    that ran out since is gone from it. So against the present state only price and quantity
    count as a change, and a changed item keeps the repeating discounts it had (their own
    window ends them); a discount added since counts through the subscription's discount records
    (``linked_discounts``).
    """
    item_id, price_id, quantity, discount_ids, period_start, tax_ids = entry
    price = catalog.prices.get(price_id)
    if price is None or price.metered:
        return False  # usage is known from metered lines only
    discounts = tuple(d for d in dict.fromkeys(discount_ids) if d in catalog.discounts)
    existing = state.get(item_id)
    same = existing is not None and (existing.price_id, existing.quantity) == (price_id, quantity)
    if same and (now or set(existing.discount_ids) == set(discounts)):  # type: ignore[union-attr]
        return False
    if now and existing is not None:
        running = [d for d in existing.discount_ids if catalog.discounts[d].end is not None]
        discounts = tuple(dict.fromkeys((*discounts, *running)))
    priced = _priced(price, quantity, sub.currency)
    if priced is None:
        return False
    gross, interval, count = priced
    if tax_ids:
        tax = catalog.tax_factor_of_rates(tax_ids)
    elif existing is not None:
        tax = existing.tax_factor
    else:  # an item first seen in an event: taxed by the subscription's default rates, as
        # Stripe taxes an item without rates of its own (its line, if any, will say)
        tax = catalog.tax_factor_of_rates(sub.default_tax_rate_ids)
    state[item_id] = ItemState(
        item_id=item_id,
        price_id=price_id,
        quantity=quantity,
        metered=False,
        monthly_gross=monthly(gross, interval, count),
        interval=interval,
        interval_count=count,
        product_id=price.product_id,
        discount_ids=discounts,
        tax_factor=tax,
        period_start=0 if sub.currency == reporting else _period_in_force(period_start, period),
    )
    return True


def _period_in_force(shown: int | None, period: int) -> int:
    """The start of the billing period an item a snapshot shows is in: the one it states, but
    never before ``period``, the start of the last renewal line applied by then. An event of the
    very second of a renewal may have been made just before it (a repeating discount that ends
    at the renewal sends its own updates, still showing the old period), and Stripe gives no
    order within a second; the renewal line says the new period has begun, and its day's rate
    converts the amount (METRICS.md §1, "Currency")."""
    return period if shown is None else max(shown, period)


def item_versions(
    records: SubscriptionRecords, catalog: Catalog, reporting: str
) -> tuple[list[tuple[int, dict[str, ItemState]]], int]:
    """The item states as ``(from instant, {item id: state})`` versions, ascending, and the last
    instant anything was known about the subscription (where its present state is dated)."""
    sub = records.subscription
    assertions = _line_assertions(records, catalog, reporting)
    latest = max((a[0] for a in assertions), default=sub.start_date)
    latest = max([latest, *(s.created for s in records.snapshots)])
    assertions.extend(_snapshot_assertions(records, catalog, latest))
    assertions.sort(key=_ORDER)
    state: dict[str, ItemState] = {}
    versions: list[tuple[int, dict[str, ItemState]]] = []
    period = sub.start_date  # start of the billing period in force (the last renewal line's)
    index, total = 0, len(assertions)
    while index < total:
        t = assertions[index][0]
        changed = False
        while index < total and assertions[index][0] == t:
            _, _, _, kind, payload = assertions[index]
            index += 1
            if kind == _NOOP:
                continue  # marks only that the subscription was known at this instant
            if kind == _END:
                changed = state.pop(payload, None) is not None or changed  # type: ignore[arg-type]
            elif kind == _SET:
                item, renewal, unpriced = payload  # type: ignore[misc]
                if renewal is not None:
                    period = renewal
                item = _settle(item, unpriced, period, t)
                if state.get(item.item_id) is not item:
                    state[item.item_id] = item
                    changed = True
            elif kind == _PHASE:
                changed = _drop_phase_discounts(state, payload, sub, catalog) or changed  # type: ignore[arg-type]
            elif kind == _KEEP:
                gone = [i for i, s in state.items() if not s.metered and i not in payload]  # type: ignore[operator]
                for item_id in gone:
                    del state[item_id]
                changed = changed or bool(gone)
            else:
                entries, keep = payload  # type: ignore[misc]
                if keep is not None:
                    gone = [i for i in state if i not in keep]
                    for item_id in gone:
                        del state[item_id]
                    changed = changed or bool(gone)
                for entry in entries:
                    changed = (
                        _snapshot_item(state, entry, sub, catalog, period, reporting, kind == _NOW)
                        or changed
                    )
        if changed and (not versions or versions[-1][1] != state):
            versions.append((t, dict(state)))
    return versions, latest


def _drop_phase_discounts(
    state: dict[str, ItemState], phase: SchedulePhase, sub: Subscription, catalog: Catalog
) -> bool:
    """Take off the item states the discounts ``phase`` dropped when it began; True if any."""
    changed = False
    for item_id, item in list(state.items()):
        kept = tuple(
            d
            for d in item.discount_ids
            if not phase_drops(phase, catalog.discounts[d], sub.id, catalog)
        )
        if kept != item.discount_ids:
            state[item_id] = item._replace(discount_ids=kept)
            changed = True
    return changed


def _settle(state: ItemState, unpriced: InvoiceLine | None, period: int, t: int) -> ItemState:
    """Give a proration's new state its billing period; scale an unpriced proration to it."""
    if unpriced is not None:
        covered = unpriced.period_end - unpriced.period_start
        full = unpriced.period_end - min(period, unpriced.period_start)
        if covered > 0 and full > covered:
            state = state._replace(monthly_gross=state.monthly_gross * full / covered)
    if state.period_start == -1:
        state = state._replace(period_start=min(period, t))
    return state
