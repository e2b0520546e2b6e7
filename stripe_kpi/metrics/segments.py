"""MRR and movements split by segment (METRICS.md §8): per customer, the day-end MRR of each
segment and the movements of §2 applied to it, as per-day changes that add up like the ledger's.

Kinds: ``plan`` (the price's nickname, else its id), ``product`` (its id), ``interval`` (the
price's ``recurring.interval``: day, week, month, year; a price billed every 3 months is
``month``, as Stripe names it), ``currency`` (the subscription's billing currency), ``country``
(the customer's ``address.country``, else ``unknown``) and ``metadata:KEY`` (the customer's
metadata value, else ``unknown``).

An item's MRR belongs to its item's segment. The walk of :mod:`.movements` rounds each component
of a subscription once (§1) and adds them; a subscription's fixed amounts off (one component of
their own, ``history.AMOUNT_OFF_KEY``) are spread over its items in proportion to their rounded
MRR, the remainder cent by cent to the largest fractions (what Stripe does with an invoice-level
amount over its lines), so a subscription's items add up exactly to its MRR and the segments of a
day exactly to the day's MRR. Rounding each item's share before adding it could differ from the
rounded total by a cent; this split never does.

Customer-level kinds (country, metadata) put the whole customer in one segment, so their
movements are the customer's own (``CustomerResult``); they are read from it, not walked again.
The customer's country and metadata as they are now apply to their whole history (Stripe keeps no
history of either; ChartMogul filters by the current value too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from stripe_kpi.metrics.calendar import LocalCalendar
from stripe_kpi.metrics.fx import Converter
from stripe_kpi.metrics.history import AMOUNT_OFF_KEY, Component, SubscriptionHistory
from stripe_kpi.metrics.movements import CustomerResult
from stripe_kpi.metrics.records import Customer, Price
from stripe_kpi.metrics.vocabulary import MOVEMENT_TYPES

__all__ = [
    "CUSTOMER_KINDS",
    "ITEM_KINDS",
    "KINDS",
    "STORED_KINDS",
    "UNKNOWN",
    "VALUES",
    "SegmentChange",
    "allocate",
    "customer_level_changes",
    "metadata_segment",
    "parse_kind",
    "segment_changes",
    "with_segments",
]

#: The segment of a customer without the attribute (no address, no such metadata key).
UNKNOWN = "unknown"
#: Kinds whose segment is the item's (its price and its subscription's currency).
ITEM_KINDS = ("plan", "product", "interval", "currency")
#: Kinds whose segment is the customer's.
CUSTOMER_KINDS = ("country",)
#: The kinds kept per day in ``segment_mrr``; ``metadata:KEY`` is read from the customers that
#: have the key (there is no list of keys to precompute).
STORED_KINDS = (*ITEM_KINDS, *CUSTOMER_KINDS)
#: Every kind a reader accepts (``metadata:KEY`` with any key).
KINDS = (*STORED_KINDS, "metadata:KEY")
#: A change's values, after its kind, segment and day: levels first, then the day's flows.
VALUES = ("mrr", "customers", *MOVEMENT_TYPES)
#: ``(kind, segment, day, mrr, customers, new, expansion, contraction, churn, reactivation,
#: fx)``: the change one customer makes to one segment on one day (levels as differences from
#: the day before, flows as the day's sums), in reporting minor units.
SegmentChange = tuple[str, str, int, int, int, int, int, int, int, int, int]

_FLOW = {name: 5 + i for i, name in enumerate(MOVEMENT_TYPES)}  # index in a SegmentChange


def parse_kind(text: str) -> str:
    """A ``--segment`` value checked: one of :data:`STORED_KINDS` or ``metadata:KEY``.
    Raises ValueError with a one-line message otherwise."""
    kind = text.strip()
    if kind in STORED_KINDS:
        return kind
    if kind.startswith("metadata:") and kind[len("metadata:") :].strip():
        return "metadata:" + kind[len("metadata:") :].strip()
    raise ValueError(
        f"unknown segment {text!r}: use plan, product, interval, currency, country or metadata:KEY"
    )


def metadata_segment(customer: Customer | None, key: str) -> str:
    """The ``metadata:KEY`` segment of a customer: the value, else ``unknown``."""
    if customer is None:
        return UNKNOWN
    for name, value in customer.metadata:
        if name == key:
            return str(value) if value not in (None, "") else UNKNOWN
    return UNKNOWN


def _price_segments(price_id: str | None, prices: Mapping[str, Price]) -> tuple[str, str, str]:
    """(plan, product, interval) of an item's price; a price never synced keeps its id as its
    plan and ``unknown`` for the rest."""
    if price_id is None:
        return UNKNOWN, UNKNOWN, UNKNOWN
    price = prices.get(price_id)
    if price is None:
        return price_id, UNKNOWN, UNKNOWN
    return (
        price.nickname or price.id,
        price.product_id or UNKNOWN,
        price.recurring_interval or UNKNOWN,
    )


def allocate(components: Sequence[Component], conv: Converter) -> list[tuple[str | None, int]]:
    """A subscription's MRR per item, ``(price id, reporting minor units)``, adding up exactly to
    ``movements.subscription_value``: each component rounded once, the fixed amounts off spread
    over the items in proportion to their values (largest remainder). Nothing when the
    subscription counts zero."""
    items: list[tuple[str | None, int]] = []
    off = 0
    for c in components:
        value = conv.minor(c.monthly, c.currency, c.rate_day)
        if c.key == AMOUNT_OFF_KEY:
            off += value
        else:
            items.append((c.price_id, value))
    gross = sum(v for _, v in items)
    if gross + off <= 0:
        return []  # subscription_value: never below zero
    if not off:
        return items
    # off < 0 and -off < gross: each share is at most its item's value (floor of a fraction ≤ 1
    # of it, plus at most one cent where the fraction was cut), so no item goes below zero.
    taken = -off
    shares = [taken * v // gross for _, v in items]
    left = taken - sum(shares)
    order = sorted(range(len(items)), key=lambda i: (-(taken * items[i][1] % gross), i))
    for i in order[:left]:
        shares[i] += 1
    return [(price, v - share) for (price, v), share in zip(items, shares, strict=True)]


def _by_kind(
    allocated: Iterable[tuple[str | None, int]],
    currency: str,
    prices: Mapping[str, Price],
    known: dict[str | None, tuple[str, str, str]],
) -> list[dict[str, int]]:
    """Allocated item values summed per segment, one dict per :data:`ITEM_KINDS` kind
    (``known``: the prices' segments found so far)."""
    out: list[dict[str, int]] = [{}, {}, {}, {}]
    plans, products, intervals, currencies = out
    for price_id, value in allocated:
        segments = known.get(price_id)
        if segments is None:
            segments = known[price_id] = _price_segments(price_id, prices)
        plan, product, interval = segments
        plans[plan] = plans.get(plan, 0) + value
        products[product] = products.get(product, 0) + value
        intervals[interval] = intervals.get(interval, 0) + value
        currencies[currency] = currencies.get(currency, 0) + value
    return out


def _rebased(old: Sequence[Component], new: Sequence[Component]) -> list[Component]:
    """The old components at the rate days of the new ones (what exchange rates alone make,
    as ``movements._Walker._fx_part``)."""
    days = {c.key: c.rate_day for c in new}
    return [c._replace(rate_day=days.get(c.key, c.rate_day)) for c in old]


def segment_changes(
    histories: Sequence[SubscriptionHistory],
    calendar: LocalCalendar,
    conv: Converter,
    prices: Mapping[str, Price],
) -> list[SegmentChange]:
    """One customer's changes to the item-level segments, by day: §2 applied to the
    customer's MRR inside each segment (a plan change is churn or contraction in the old plan
    and new, reactivation or expansion in the new one), the part exchange rates alone make as
    ``fx``, exactly as the customer's own walk (:mod:`.movements`) classifies their total."""
    steps = sorted((t, index, comps) for index, h in enumerate(histories) for t, comps in h.steps)
    n = len(histories)
    comps: list[Sequence[Component]] = [()] * n
    prev: list[Sequence[Component]] = [()] * n
    per_sub: list[list[dict[str, int]]] = [[{}, {}, {}, {}] for _ in range(n)]
    totals: list[dict[str, int]] = [{}, {}, {}, {}]
    paid: list[set[str]] = [set(), set(), set(), set()]
    out: list[SegmentChange] = []
    known: dict[str | None, tuple[str, str, str]] = {}
    position, count = 0, len(steps)
    while position < count:
        day = calendar.day_of(steps[position][0])
        end = calendar.next_midnight(day)
        touched: set[int] = set()
        while position < count and steps[position][0] < end:
            _, index, state = steps[position]
            comps[index] = state
            touched.add(index)
            position += 1
        fx: list[dict[str, int]] = [{}, {}, {}, {}]
        new_per_sub: dict[int, list[dict[str, int]]] = {}
        for index in touched:
            currency = histories[index].subscription.currency
            new_per_sub[index] = _by_kind(allocate(comps[index], conv), currency, prices, known)
            old = prev[index]
            if any(c.rate_day is not None for c in old):
                rebased = _by_kind(
                    allocate(_rebased(old, comps[index]), conv), currency, prices, known
                )
                for k in range(4):
                    before = per_sub[index][k]
                    for segment in rebased[k].keys() | before.keys():
                        part = rebased[k].get(segment, 0) - before.get(segment, 0)
                        if part:
                            fx[k][segment] = fx[k].get(segment, 0) + part
        for k, kind in enumerate(ITEM_KINDS):
            affected: set[str] = set()
            for index in touched:
                affected.update(per_sub[index][k], new_per_sub[index][k])
            for segment in affected:  # in any order: with_segments sorts them
                before = totals[k].get(segment, 0)
                after = before
                for index in touched:
                    after += new_per_sub[index][k].get(segment, 0)
                    after -= per_sub[index][k].get(segment, 0)
                change = _classify(kind, segment, day, before, after, fx[k].get(segment, 0),
                                   segment in paid[k])  # fmt: skip
                if change is not None:
                    out.append(change)
                if after:
                    totals[k][segment] = after
                    paid[k].add(segment)
                else:
                    totals[k].pop(segment, None)
        for index in touched:
            per_sub[index] = new_per_sub[index]
            prev[index] = comps[index]
    return out


def _classify(
    kind: str, segment: str, day: int, before: int, after: int, fx: int, paid_before: bool
) -> SegmentChange | None:
    """One segment's day for one customer, as ``movements._Walker._classify`` does a customer's
    (METRICS.md §2): None when nothing changed."""
    row = [kind, segment, day, after - before, (after > 0) - (before > 0), 0, 0, 0, 0, 0, 0]
    if before == 0 and after > 0:
        row[_FLOW["reactivation" if paid_before else "new"]] = after
    elif before > 0 and after == 0:
        row[_FLOW["churn"]] = -before
    elif before > 0:
        row[_FLOW["fx"]] = fx
        own = after - before - fx
        if own:
            row[_FLOW["expansion" if own > 0 else "contraction"]] = own
    if not any(row[3:]):
        return None
    return tuple(row)  # type: ignore[return-value]


def customer_level_changes(result: CustomerResult, kind: str, segment: str) -> list[SegmentChange]:
    """A customer's whole figures as changes to one segment (country, metadata:KEY): their MRR
    and paying status day by day, and their own movements."""
    rows: dict[int, list] = {}

    def row(day: int) -> list:
        found = rows.get(day)
        if found is None:
            found = rows[day] = [kind, segment, day, 0, 0, 0, 0, 0, 0, 0, 0]
        return found

    previous = 0
    for day, value in result.mrr:
        r = row(day)
        r[3] += value - previous
        r[4] += (value > 0) - (previous > 0)
        previous = value
    for movement in result.movements:
        row(movement.day)[_FLOW[movement.type]] += movement.amount
    return [tuple(r) for _, r in sorted(rows.items()) if any(r[3:])]  # type: ignore[misc]


def with_segments(
    result: CustomerResult,
    histories: Sequence[SubscriptionHistory],
    calendar: LocalCalendar,
    conv: Converter,
    prices: Mapping[str, Price],
    customer: Customer | None,
) -> CustomerResult:
    """The customer's result carrying their changes to every stored kind's segments
    (``CustomerResult.segments``): the item-level kinds walked from their subscriptions'
    components, the country from their own figures.

    Most customers only ever have MRR in one plan (so one product, interval and currency):
    then each kind's one segment holds all their MRR every day, and its movements are the
    customer's own, classified by the same rules (§2) on the same day-end values; they are
    read from ``result`` instead of walked again."""
    country = (customer.country if customer is not None else None) or UNKNOWN
    whole = customer_level_changes(result, "", "")
    single = _single_segment(histories, prices)
    if single is None:
        changes = segment_changes(histories, calendar, conv, prices)
    else:
        changes = [
            (kind, segment, *row[2:])
            for kind, segment in zip(ITEM_KINDS, single, strict=True)
            for row in whole
        ]
    changes.extend(("country", country, *row[2:]) for row in whole)
    changes.sort()  # one order whichever way they were found: (kind, segment, day)
    return replace(result, segments=tuple(changes))  # type: ignore[arg-type]


def _single_segment(
    histories: Sequence[SubscriptionHistory], prices: Mapping[str, Price]
) -> tuple[str, str, str, str] | None:
    """The one (plan, product, interval, currency) of every item the customer ever had MRR
    from, or None when there were several (or none)."""
    found: tuple[str, str, str, str] | None = None
    seen: set[tuple[str | None, str]] = set()
    for history in histories:
        currency = history.subscription.currency
        for _, comps in history.steps:
            for c in comps:
                if c.key == AMOUNT_OFF_KEY or (c.price_id, currency) in seen:
                    continue
                seen.add((c.price_id, currency))
                key = (*_price_segments(c.price_id, prices), currency)
                if found is None:
                    found = key
                elif key != found:
                    return None
    return found
