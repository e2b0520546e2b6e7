"""Pass 2 of a subscription's history: its MRR as a step function of time.

Pass 1 (:mod:`.item_states`) says what each item charged from when. At every instant where an item
state, the status (:mod:`.status`) or a discount's window changes, the items are priced,
discounted, stripped of inclusive tax and normalised to a month (:func:`subscription_history`).
The result is a list of *components*, one per item plus one for fixed amounts off, each in the
subscription's currency with the day of its exchange rate, converted and rounded later
(:mod:`.movements`) so that exchange-rate effects can be told apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from stripe_kpi.metrics.calendar import utc_date
from stripe_kpi.metrics.catalog import Catalog, DiscountTerms
from stripe_kpi.metrics.item_states import ItemState, SubscriptionRecords, item_versions
from stripe_kpi.metrics.money import ZERO, monthly
from stripe_kpi.metrics.phase_discounts import phase_drops
from stripe_kpi.metrics.records import Invoice, Subscription
from stripe_kpi.metrics.status import Lifecycle, lifecycle

__all__ = [
    "AMOUNT_OFF_KEY",
    "Component",
    "SubscriptionHistory",
    "SubscriptionRecords",
    "components_as_of",
    "components_at",
    "items_in_force",
    "linked_discounts",
    "subscription_history",
]

#: The key of the component that carries a subscription's fixed amounts off.
AMOUNT_OFF_KEY = "~amount_off"


class Component(NamedTuple):
    """One part of a subscription's MRR: ``monthly`` minor units of ``currency`` (exact, not yet
    rounded), converted with the rate of ``rate_day`` (None: already the reporting currency)."""

    key: str
    currency: str
    monthly: Decimal
    rate_day: date | None
    #: The item's price (None for the fixed amounts off): its plan, product and interval are
    #: the item's segments (METRICS.md §8). Part of the step: a price swap at the same amount
    #: moves MRR between plans.
    price_id: str | None = None


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


def components_at(
    t: int,
    items: Mapping[str, ItemState],
    sub: Subscription,
    catalog: Catalog,
    reporting: str,
    linked: Sequence[tuple[str | None, str, int | None]] = (),
) -> tuple[Component, ...]:
    """The MRR components of a counting subscription at instant ``t``.

    Per item: the monthly gross, less the discounts in force in Stripe's order ("Subscription
    item discounts are applied before subscription discounts", the API reference of
    ``subscription.discounts``), each on what the ones before it left: the item's own
    ``percent_off`` (compounding), then its own ``amount_off`` (once per invoice, normalised with
    the item's interval, at most what is left of the item), then the subscription's
    ``percent_off`` that apply to its product; times the net share of inclusive tax. Within a
    level ``percent_off`` comes before ``amount_off``, as the simulator bills (see
    ``simulator.billing.invoices.stack_order``). Then the subscription's fixed amounts off in
    force, each counted once per subscription (``amount_off`` is once per invoice) and normalised
    with the subscription's interval (that of its first licensed item), capped so that MRR never
    goes below zero; the cap and the tax are taken in proportion across the items, as Stripe
    spreads an invoice-level amount over its lines.

    ``linked`` are discounts recorded on the subscription (or one item) that apply within their
    window, or until the instant given with them, whatever the lines say (see
    :func:`linked_discounts`).
    """
    discounts = catalog.discounts
    ordered = sorted(items.values(), key=lambda s: s.item_id)
    gross_total = net_total = ZERO
    parts: list[tuple[ItemState, Decimal]] = []
    fixed: dict[str, Decimal] = {}
    basis: ItemState | None = None
    for item in ordered:
        ids = item.discount_ids
        if linked:
            extra = [
                d
                for on, d, cut in linked
                if on in (None, item.item_id) and d not in ids and (cut is None or t < cut)
            ]
            ids = (*ids, *extra) if extra else ids
        in_force = [discounts[d] for d in ids if discounts[d].in_force(t)]
        amount = _item_discounted(item, in_force, sub.currency)
        for terms in in_force:
            if terms.item_id is None and terms.amount_off and terms.id not in fixed:
                off = terms.amount_in(sub.currency)
                if off is not None:
                    fixed[terms.id] = Decimal(off)
        gross_total += amount
        net = amount * item.tax_factor
        net_total += net
        parts.append((item, net))
        if basis is None or (basis.metered and not item.metered):
            basis = item
    components = [
        Component(
            item.item_id,
            sub.currency,
            net,
            _rate_day(sub, item.period_start, reporting),
            item.price_id,
        )
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


def _item_discounted(item: ItemState, in_force: Sequence[DiscountTerms], currency: str) -> Decimal:
    """An item's monthly amount after its own discounts and the subscription's percentages, in
    Stripe's order (see :func:`components_at`); the subscription's fixed amounts come later."""
    amount = item.monthly_gross
    own = [d for d in in_force if d.item_id is not None]
    for terms in own:
        if terms.percent is not None and terms.applies_to(item.product_id):
            amount *= terms.percent
    for terms in own:
        off = terms.amount_in(currency) if terms.amount_off else None
        if off is not None and terms.applies_to(item.product_id):
            amount -= min(amount, monthly(Decimal(off), item.interval, item.interval_count))
    for terms in in_force:
        on_sub = terms.item_id is None and terms.percent is not None
        if on_sub and terms.applies_to(item.product_id):
            amount *= terms.percent
    return amount


def _rate_day(sub: Subscription, period_start: int, reporting: str) -> date | None:
    """The day whose exchange rate converts this amount: the UTC date its billing period started.

    UTC, not the reporting time zone: an amount's value must not change with the zone a report is
    read in. Same-currency amounts have no rate day (they are never converted).
    """
    return None if sub.currency == reporting else utc_date(period_start)


def linked_discounts(
    records: SubscriptionRecords, catalog: Catalog, latest: int
) -> list[tuple[str | None, str, int | None]]:
    """Discounts recorded on the subscription that count for their whole window.

    Invoice lines show a discount only from the first invoice after it was applied; a coupon
    applied mid-period starts at its ``start``, and a repeating one ends at its ``end`` mid-period
    (METRICS.md §1: "discounts in force at that instant"). A discount recorded on the subscription
    counts from its start to its end when it is still attached now, or when its window closed by
    the time the subscription was last known (it ran its course). One that was removed (not
    attached, window still open) is known only from the lines that show it, and from the
    schedule phase that took it off, if one did (:mod:`.item_states` ends it at its start).

    A window that closed may also have been cut short: a discount removed before its end (a
    schedule's phase without it, the merchant deleting it) is not attached either. A renewal line
    billed inside its window that does not list it shows it was gone by then, and so does a kept
    event showing the subscription without it, and a schedule phase begun inside it that does not
    carry it (:mod:`.phase_discounts`: it took it off at its start); it stops counting at the
    first of these (the third element; None: at its end). Renewal lines only: a proration lists
    the discounts attached when its invoice was made, which may be later than the change.
    """
    candidates = catalog.linked.get(records.subscription.id)
    if not candidates:
        return []
    attached = set(records.subscription.discount_ids)
    for item in records.items:
        if not item.deleted:
            attached.update(item.discount_ids)
    found: list[tuple[str | None, str, int | None]] = []
    for item_id, discount_id in candidates:
        terms = catalog.discounts[discount_id]
        if discount_id in attached:
            found.append((item_id, discount_id, None))
        elif terms.end is not None and terms.end <= latest:
            found.append((item_id, discount_id, _gone_by(records, catalog, terms)))
    return found


def _gone_by(records: SubscriptionRecords, catalog: Catalog, terms: DiscountTerms) -> int | None:
    """The start of the first renewal line inside the discount's window that it could discount
    but does not list, of the first schedule phase inside it that took it off, or the first kept
    event inside it that shows the subscription without it (see :func:`linked_discounts`); None
    when none exists."""
    first = None
    for line in records.lines:
        inside = terms.start < line.period_start < (terms.end or 0)
        if line.proration or not inside or line.subscription_item_id is None:
            continue
        if terms.item_id is not None and line.subscription_item_id != terms.item_id:
            continue
        price = catalog.prices.get(line.price_id or "")
        if price is None or price.metered or not terms.applies_to(price.product_id):
            continue
        if any(d == terms.id for d, _ in line.discount_amounts):
            continue
        if first is None or line.period_start < first:
            first = line.period_start
    sub_id = records.subscription.id
    for phase in records.phases:  # a schedule phase that took it off as it began
        at = phase.start_date
        inside = terms.start < at < (terms.end or 0)
        if inside and (first is None or at < first) and phase_drops(phase, terms, sub_id, catalog):
            first = at
    for snap in records.snapshots:  # a kept event that shows the subscription without it
        if not terms.start < snap.created < (terms.end or 0) or not snap.items_complete:
            continue
        shown = set(snap.discount_ids)
        for item in snap.items:
            shown.update(item.discount_ids)
        if terms.id not in shown and (first is None or snap.created < first):
            first = snap.created
    return first


class _Passes(NamedTuple):
    """What both readers of a subscription's history start from."""

    invoices: list[Invoice]
    life: Lifecycle
    versions: list[tuple[int, dict[str, ItemState]]]
    linked: list[tuple[str | None, str, int | None]]


def _passes(records: SubscriptionRecords, catalog: Catalog, reporting: str) -> _Passes:
    sub = records.subscription
    invoices = [i for i in records.invoices.values() if i.subscription_id in (None, sub.id)]
    life = lifecycle(sub, records.snapshots, invoices)
    versions, latest = item_versions(records, catalog, reporting)
    # An ended subscription is known as it was at its end: a discount whose window closed by
    # then and that it no longer lists ran its course, even when no line starts after it closed
    # (dunning ended it between the last renewal and the next).
    known_until = max(latest, sub.ended_at or 0)
    return _Passes(invoices, life, versions, linked_discounts(records, catalog, known_until))


def components_as_of(
    records: SubscriptionRecords, catalog: Catalog, reporting: str, until: int
) -> tuple[Component, ...]:
    """The components :func:`subscription_history` holds at ``until`` (its last step), computed
    at that one instant: what a reader of one instant needs, without the steps before it.

    The same value: every instant where the items, the status or a discount's window change is a
    step's bound, so nothing that ``components_at`` reads changes between the last bound and
    ``until``.
    """
    passes = _passes(records, catalog, reporting)
    counting = False
    for t, flag in passes.life.counts:
        if t > until:
            break
        counting = flag
    items: dict[str, ItemState] = {}
    for t, version in passes.versions:
        if t > until:
            break
        items = version
    if not (counting and items):
        return ()
    return components_at(until, items, records.subscription, catalog, reporting, passes.linked)


def items_in_force(
    records: SubscriptionRecords, catalog: Catalog, reporting: str, until: int
) -> tuple[dict[str, ItemState], list[tuple[str | None, str, int | None]]]:
    """The item states in force at ``until`` (the first ones when none has begun yet: a trial
    created after its items were stated) and the subscription's linked discounts, whether or
    not it counts then: what committed MRR prices a trial or a schedule's next phase with."""
    passes = _passes(records, catalog, reporting)
    items: dict[str, ItemState] = {}
    for t, version in passes.versions:
        if t > until and items:
            break
        items = version
    return items, passes.linked


def subscription_history(
    records: SubscriptionRecords, catalog: Catalog, reporting: str, until: int
) -> SubscriptionHistory:
    """The subscription's MRR components at every instant they change, up to ``until``."""
    sub = records.subscription
    invoices, life, versions, linked = _passes(records, catalog, reporting)
    bounds = {t for t, _ in versions}
    bounds.update(t for t, _ in life.counts)
    seen: set[str] = set()
    for _, items in versions:
        for item in items.values():
            seen.update(item.discount_ids)
    for _, discount_id, cut in linked:
        seen.add(discount_id)
        if cut is not None:
            bounds.add(cut)
    for discount_id in seen:
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
        current = ()
        if counting and items:
            current = components_at(t, items, sub, catalog, reporting, linked)
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
        return False  # paid, we do not know when: give it the benefit of the doubt
    voided_before = latest.voided_at is not None and latest.voided_at < ended
    return not (latest.status == "void" and voided_before)
