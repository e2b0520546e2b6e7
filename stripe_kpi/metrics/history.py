"""Each subscription's MRR as a step function of time, rebuilt from its invoices.

METRICS.md §1, "Where the history comes from": Stripe keeps a subscription's present only, so its
past is read off its invoice lines, each a statement of what one subscription item owed for a
period. The history of one subscription is built in two passes:

1. *Item states.* Every source of knowledge becomes an assertion at an instant, applied in time
   order (:func:`item_versions`):

   - a subscription line (not a proration) sets its item to the line's price and quantity from the
     start of its period; a renewal invoice whose lines we hold completely also ends the licensed
     items it no longer bills (removed without proration);
   - a proration line marks a change at the start of its period: a negative one ends the old
     state, a positive one starts the new state, at the *full-period* rate (price × quantity);
   - a metered line sets its item to the usage it billed from the *end* of its period (the start of
     the period after it) — "the last finished usage period";
   - a kept ``customer.subscription.*`` event states the items as they were at its instant;
   - the subscription as it is now completes the current period: a change made without proration
     (no invoice shows it yet, no kept event dates it) is dated at the last instant anything was
     known about the subscription, or when its item was created if later. This never depends on
     ``as_of``, so the same Stripe data always yields the same history.

2. *MRR.* At every instant where an item state, the status (:mod:`.status`) or a discount's window
   changes, the items are priced, discounted, stripped of inclusive tax and normalised to a month
   (:func:`subscription_history`). The result is a list of *components*, one per item plus one for
   fixed amounts off, each in the subscription's currency with the day of its exchange rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from stripe_kpi.metrics.calendar import utc_date
from stripe_kpi.metrics.catalog import Catalog
from stripe_kpi.metrics.inputs import (
    Invoice,
    InvoiceLine,
    Price,
    Subscription,
    SubscriptionItem,
    SubscriptionSnapshot,
)
from stripe_kpi.metrics.money import ONE, ZERO, monthly, price_amount
from stripe_kpi.metrics.status import Lifecycle, lifecycle

#: Invoices whose subscription lines restate every licensed item for the new period.
_RENEWALS = frozenset({"subscription_create", "subscription_cycle", "subscription_update", None})
#: The key of the component that carries a subscription's fixed amounts off.
AMOUNT_OFF_KEY = "~amount_off"

# Assertion kinds, in the order they apply at one instant.
_END, _SET, _KEEP, _EVENT, _NOW, _END_METERED = range(6)


@dataclass(frozen=True, slots=True)
class Component:
    """One part of a subscription's MRR: ``monthly`` minor units of ``currency`` (exact, not yet
    rounded), converted with the rate of ``rate_day`` (None: already the reporting currency)."""

    key: str
    currency: str
    monthly: Decimal
    rate_day: date | None


@dataclass(frozen=True, slots=True)
class ItemState:
    """What one subscription item charges from some instant on."""

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
class SubscriptionHistory:
    """A subscription's MRR components over time and its lifecycle.

    ``steps`` are ``(from instant, components)``, ascending, each different from the one before;
    before the first step the subscription counts nothing.
    """

    subscription: Subscription
    steps: tuple[tuple[int, tuple[Component, ...]], ...]
    life: Lifecycle
    #: Its latest invoice was still unpaid when it ended (the churn reason when Stripe gives none).
    ended_unpaid: bool = False


@dataclass(frozen=True, slots=True)
class SubscriptionRecords:
    """Everything one subscription's history is built from."""

    subscription: Subscription
    lines: Sequence[InvoiceLine]
    invoices: Mapping[str, Invoice]
    items: Sequence[SubscriptionItem]
    snapshots: Sequence[SubscriptionSnapshot]


# ---------------------------------------------------------------------------------------------
# Pass 1: item states
# ---------------------------------------------------------------------------------------------


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


def _line_state(line: InvoiceLine, records: SubscriptionRecords, catalog: Catalog) -> ItemState:
    sub = records.subscription
    price = catalog.prices.get(line.price_id or "")
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
    discounts = tuple(d for d, amount in line.discount_amounts if amount and d in catalog.discounts)
    return ItemState(
        item_id=line.subscription_item_id or line.id,
        price_id=line.price_id,
        quantity=line.quantity,
        metered=metered,
        monthly_gross=monthly(gross, interval, count),
        interval=interval,
        interval_count=count,
        product_id=None if price is None else price.product_id,
        discount_ids=discounts,
        tax_factor=catalog.tax_factor_of_line(line),
        period_start=-1 if line.proration else line.period_start,
    )


Assertion = tuple[int, int, int, int, object]


def _line_assertions(records: SubscriptionRecords, catalog: Catalog) -> list[Assertion]:
    out: list[Assertion] = []
    renewal_items: dict[tuple[str, int], set[str]] = {}
    for seq, line in enumerate(records.lines):
        state = _line_state(line, records, catalog)
        if state.metered:
            out.append((line.period_end, _SET, seq, _SET, state))
        elif not line.proration:
            out.append((line.period_start, _SET, seq, _SET, state))
            invoice = records.invoices.get(line.invoice_id)
            if (
                invoice is not None
                and invoice.lines_complete
                and invoice.billing_reason in _RENEWALS
            ):
                renewal_items.setdefault((invoice.id, line.period_start), set()).add(state.item_id)
        elif line.amount < 0:
            out.append((line.period_start, _END, seq, _END, state.item_id))
        else:
            scaled = state if line.price_id in catalog.prices else (line, state)
            out.append((line.period_start, _SET, seq, _SET, scaled))
    for (_invoice_id, start), kept in sorted(renewal_items.items()):
        out.append((start, _KEEP, 0, _KEEP, frozenset(kept)))
    return out


def _snapshot_assertions(
    records: SubscriptionRecords, catalog: Catalog, latest: int
) -> list[Assertion]:
    """Kept events, then the subscription as it is now (dated as the module docstring says)."""
    sub = records.subscription
    out: list[Assertion] = []
    for seq, snap in enumerate(sorted(records.snapshots, key=lambda s: (s.created, s.event_id))):
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
        out.append((snap.created, _EVENT, seq, _EVENT, (items, keep)))
    now = max(latest, sub.start_date)
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
    out.append((now, _NOW, 0, _NOW, (known, frozenset(i.id for i in live))))
    for seq, (entry, item) in enumerate(zip(entries, live, strict=True)):
        if item.created > now:  # added later, without proration: from its creation
            out.append((item.created, _NOW, seq + 1, _NOW, ((entry,), None)))
    # A metered item that is gone stops at the end of its last billed usage period.
    present = {i.id for i in live}
    last_metered: dict[str, int] = {}
    for line in records.lines:
        price = catalog.prices.get(line.price_id or "")
        item = line.subscription_item_id
        if price is not None and price.metered and item and item not in present:
            last_metered[item] = max(last_metered.get(item, line.period_end), line.period_end)
    for item, end in sorted(last_metered.items()):
        out.append((end, _END_METERED, 0, _END, item))
    return out


def _snapshot_item(
    state: dict[str, ItemState], entry: tuple, sub: Subscription, catalog: Catalog, period: int
) -> None:
    """Apply one item as a snapshot shows it; unchanged items keep what their lines said."""
    item_id, price_id, quantity, discount_ids, period_start, tax_ids = entry
    price = catalog.prices.get(price_id)
    if price is None or price.metered:
        return  # usage is known from metered lines only
    discounts = tuple(d for d in dict.fromkeys(discount_ids) if d in catalog.discounts)
    existing = state.get(item_id)
    if (
        existing is not None
        and existing.price_id == price_id
        and existing.quantity == quantity
        and set(existing.discount_ids) == set(discounts)
    ):
        return
    priced = _priced(price, quantity, sub.currency)
    if priced is None:
        return
    gross, interval, count = priced
    if tax_ids:
        tax = catalog.tax_factor_of_rates(tax_ids)
    else:
        tax = existing.tax_factor if existing is not None else ONE
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
        period_start=period_start if period_start is not None else period,
    )


def item_versions(
    records: SubscriptionRecords, catalog: Catalog
) -> list[tuple[int, dict[str, ItemState]]]:
    """The item states as ``(from instant, {item id: state})`` versions, ascending."""
    sub = records.subscription
    assertions = _line_assertions(records, catalog)
    latest = max((a[0] for a in assertions), default=sub.start_date)
    latest = max([latest, *(s.created for s in records.snapshots)])
    assertions.extend(_snapshot_assertions(records, catalog, latest))
    assertions.sort(key=lambda a: a[:3])
    state: dict[str, ItemState] = {}
    versions: list[tuple[int, dict[str, ItemState]]] = []
    period = sub.start_date
    index, total = 0, len(assertions)
    while index < total:
        t = assertions[index][0]
        while index < total and assertions[index][0] == t:
            _, _, _, kind, payload = assertions[index]
            index += 1
            if kind == _END:
                state.pop(payload, None)  # type: ignore[arg-type]
            elif kind == _SET:
                item = _settle(payload, period, t)
                if not item.metered and item.period_start == t and item.period_start != -1:
                    period = t
                state[item.item_id] = item
            elif kind == _KEEP:
                for item_id in [i for i, s in state.items() if not s.metered and i not in payload]:  # type: ignore[operator]
                    del state[item_id]
            else:
                entries, keep = payload  # type: ignore[misc]
                if keep is not None:
                    for item_id in [i for i in state if i not in keep]:
                        del state[item_id]
                for entry in entries:
                    _snapshot_item(state, entry, sub, catalog, period)
        if not versions or versions[-1][1] != state:
            versions.append((t, dict(state)))
    return versions


def _settle(payload: object, period: int, t: int) -> ItemState:
    """Give a proration's new state its billing period; scale an unpriced proration to it."""
    if isinstance(payload, tuple):
        line, state = payload
        covered = line.period_end - line.period_start
        full = line.period_end - min(period, line.period_start)
        if covered > 0 and full > covered:
            state = replace(state, monthly_gross=state.monthly_gross * full / covered)
    else:
        state = payload  # type: ignore[assignment]
    if state.period_start == -1:
        state = replace(state, period_start=min(period, t))
    return state


# ---------------------------------------------------------------------------------------------
# Pass 2: MRR components
# ---------------------------------------------------------------------------------------------


def components_at(
    t: int, items: Mapping[str, ItemState], sub: Subscription, catalog: Catalog, reporting: str
) -> tuple[Component, ...]:
    """The MRR components of a counting subscription at instant ``t``.

    Per item: the monthly gross, less every ``percent_off`` in force that applies to its product
    (several in Stripe's order, each on what the previous left), times the net share of inclusive
    tax. Then fixed amounts off in force, each counted once per subscription (``amount_off`` is
    once per invoice) and normalised with the subscription's interval (that of its first licensed
    item), capped so that MRR never goes below zero; the cap and the tax are taken in proportion
    across the items, as Stripe spreads an invoice-level amount over its lines.
    """
    discounts = catalog.discounts
    ordered = sorted(items.values(), key=lambda s: s.item_id)
    gross_total = net_total = ZERO
    parts: list[tuple[ItemState, Decimal]] = []
    fixed: dict[str, Decimal] = {}
    basis: ItemState | None = None
    for item in ordered:
        amount = item.monthly_gross
        for discount_id in item.discount_ids:
            terms = discounts[discount_id]
            if not terms.in_force(t):
                continue
            if terms.percent is not None and terms.applies_to(item.product_id):
                amount *= terms.percent
            if terms.amount_off and discount_id not in fixed:
                off = terms.amount_in(sub.currency)
                if off is not None:
                    fixed[discount_id] = Decimal(off)
        gross_total += amount
        net = amount * item.tax_factor
        net_total += net
        parts.append((item, net))
        if basis is None or (basis.metered and not item.metered):
            basis = item
    components = [
        Component(item.item_id, sub.currency, net, _rate_day(sub, item.period_start, reporting))
        for item, net in parts
        if net
    ]
    if fixed and basis is not None and gross_total > 0:
        off = monthly(sum(fixed.values(), ZERO), basis.interval, basis.interval_count)
        off_net = min(off, gross_total) * net_total / gross_total
        if off_net:
            day = _rate_day(sub, basis.period_start, reporting)
            components.append(Component(AMOUNT_OFF_KEY, sub.currency, -off_net, day))
    return tuple(components)


def _rate_day(sub: Subscription, period_start: int, reporting: str) -> date | None:
    """The day whose exchange rate converts this amount: the UTC date its billing period started.

    UTC, not the reporting time zone: an amount's value must not change with the zone a report is
    read in. Same-currency amounts have no rate day (they are never converted).
    """
    return None if sub.currency == reporting else utc_date(period_start)


def subscription_history(
    records: SubscriptionRecords, catalog: Catalog, reporting: str, until: int
) -> SubscriptionHistory:
    """The subscription's MRR components at every instant they change, up to ``until``."""
    sub = records.subscription
    invoices = [i for i in records.invoices.values() if i.subscription_id in (None, sub.id)]
    life = lifecycle(sub, records.snapshots, invoices)
    versions = item_versions(records, catalog)
    bounds = {t for t, _ in versions}
    bounds.update(t for t, _ in life.counts)
    for _, items in versions:
        for item in items.values():
            for discount_id in item.discount_ids:
                terms = catalog.discounts[discount_id]
                bounds.add(terms.start)
                if terms.end is not None:
                    bounds.add(terms.end)
    steps: list[tuple[int, tuple[Component, ...]]] = []
    previous: tuple[Component, ...] = ()
    v_index = c_index = 0
    items: dict[str, ItemState] = {}
    counting = False
    for t in sorted(b for b in bounds if b <= until):
        while v_index < len(versions) and versions[v_index][0] <= t:
            items = versions[v_index][1]
            v_index += 1
        while c_index < len(life.counts) and life.counts[c_index][0] <= t:
            counting = life.counts[c_index][1]
            c_index += 1
        current = components_at(t, items, sub, catalog, reporting) if counting and items else ()
        if current != previous:
            steps.append((t, current))
            previous = current
    return SubscriptionHistory(sub, tuple(steps), life, _ended_unpaid(sub, invoices))


def _ended_unpaid(sub: Subscription, invoices: Sequence[Invoice]) -> bool:
    """Was the subscription's latest invoice unpaid when it ended? (METRICS.md §3: the inferred
    churn reason.) Unpaid: finalized with something due, and neither paid nor voided before the
    end. The latest invoice is ``latest_invoice_id``, else the last one created by the end."""
    ended = sub.ended_at
    if ended is None:
        return False
    by_id = {i.id: i for i in invoices}
    latest = by_id.get(sub.latest_invoice_id or "")
    if latest is None:
        earlier = [i for i in invoices if i.created <= ended]
        latest = max(earlier, key=lambda i: (i.created, i.id), default=None)
    if latest is None or latest.status in (None, "draft") or not latest.amount_due:
        return False
    if latest.paid_at is not None and latest.paid_at <= ended:
        return False
    if latest.status == "paid" and latest.paid_at is None:
        return False
    return not (latest.status == "void" and (latest.voided_at or ended + 1) < ended)
