"""The one entry point: an account's history in, every customer's daily MRR and movements out.

:func:`compute` runs the whole pipeline once (subscription histories → customer day ends →
movements → account ledger); the CLI, the report and the rebuild of the derived tables all read
the one :class:`Computed` it returns. Customers are independent of each other, so a sync that
touched a few customers recomputes just those (:func:`compute_customers`) and swaps them in
(:meth:`Computed.with_customers`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from stripe_kpi.metrics.bulk import cycle_collector_paused
from stripe_kpi.metrics.calendar import LocalCalendar
from stripe_kpi.metrics.catalog import Catalog, discount_terms
from stripe_kpi.metrics.fx import Converter, RateFn
from stripe_kpi.metrics.history import (
    Component,
    SubscriptionRecords,
    components_as_of,
    subscription_history,
)
from stripe_kpi.metrics.ledger import Ledger
from stripe_kpi.metrics.movements import CustomerResult, Movement, customer_result
from stripe_kpi.metrics.records import AccountHistory, InvoiceLine
from stripe_kpi.metrics.segments import with_segments
from stripe_kpi.metrics.since_invoice import started_phases

_SUBSCRIPTION_LINE = "subscription_item_details"


@dataclass(frozen=True, slots=True)
class Computed:
    """The account's figures, computed once.

    ``customers`` holds each customer's day-end MRR changes, movements and trials; ``ledger`` their
    per-day sums. Days are local to ``tz``; ``last_day`` is the day of ``as_of`` (its "end" is
    ``as_of`` itself).
    """

    currency: str
    tz: str
    as_of: datetime
    last_day: date
    customers: Mapping[str, CustomerResult]
    ledger: Ledger

    @property
    def first_day(self) -> date | None:
        """The first day anything happened (None for an account without MRR)."""
        day = self.ledger.first_day()
        return None if day is None else date.fromordinal(day)

    @classmethod
    def of(
        cls, results: Mapping[str, CustomerResult], *, currency: str, tz: str, as_of: datetime
    ) -> Computed:
        """The account made of these customers' results (computed by :func:`compute_customers`
        with the same ``currency``, ``tz`` and ``as_of``, perhaps in several parts)."""
        last_day = date.fromordinal(LocalCalendar(tz).day_of(int(as_of.timestamp())))
        return cls(currency.lower(), tz, as_of, last_day, results, Ledger(results.values()))

    @classmethod
    def of_ledger(cls, ledger: Ledger, *, currency: str, tz: str, as_of: datetime) -> Computed:
        """The account's daily figures alone (read back from ``daily_metrics``), without any
        customer's: what the KPIs, the series and ``--json`` read (``customers`` is empty)."""
        last_day = date.fromordinal(LocalCalendar(tz).day_of(int(as_of.timestamp())))
        return cls(currency.lower(), tz, as_of, last_day, {}, ledger)

    def with_customers(
        self, results: Mapping[str, CustomerResult], removed: Iterable[str] = ()
    ) -> Computed:
        """This result with some customers recomputed (``results``) or gone (``removed``)."""
        ledger = self.ledger.copy()
        customers = dict(self.customers)
        for customer_id in [*results, *removed]:
            old = customers.pop(customer_id, None)
            if old is not None:
                ledger.add(old, sign=-1)
        for customer_id, result in results.items():
            customers[customer_id] = result
            ledger.add(result)
        return Computed(self.currency, self.tz, self.as_of, self.last_day, customers, ledger)

    def movements(self, first: date | None = None, last: date | None = None) -> list[Movement]:
        """Every movement in ``first``…``last`` (inclusive; open ends: all), by day and customer."""
        low = first.toordinal() if first else -1
        high = last.toordinal() if last else 10**9
        found = [m for r in self.customers.values() for m in r.movements if low <= m.day <= high]
        found.sort(key=lambda m: (m.day, m.customer_id, m.type != "fx"))
        return found


def compute(
    history: AccountHistory,
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn,
) -> Computed:
    """Compute every customer of ``history`` up to ``as_of`` (an aware datetime: "now").

    ``currency`` is the reporting currency (``STRIPE_KPI_CURRENCY``), ``tz`` the reporting time
    zone (``STRIPE_KPI_TIMEZONE``), ``rate`` the exchange-rate source (see :mod:`.fx`).
    """
    results = compute_customers(history, currency=currency, tz=tz, as_of=as_of, rate=rate)
    return Computed.of(results, currency=currency, tz=tz, as_of=as_of)


def compute_customers(
    history: AccountHistory,
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn,
    customer_ids: Collection[str] | None = None,
    segments: bool = False,
) -> dict[str, CustomerResult]:
    """Each customer's result (all of ``history``'s customers, or only ``customer_ids``).

    ``history`` need only hold the records of those customers (their subscriptions, items,
    invoices, lines, events) plus the account-wide prices, coupons, discounts and tax rates.
    ``segments``: each result also carries its split by segment (:mod:`.segments`), from the
    same subscription histories (what the ``segment_mrr`` table is built from).
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    reporting = currency.lower()
    until = int(as_of.timestamp())
    catalog = Catalog(history)
    calendar = LocalCalendar(tz)
    conv = Converter(reporting, rate)
    wanted = None if customer_ids is None else set(customer_ids)
    by_customer: dict[str, list[str]] = defaultdict(list)
    for sub in history.subscriptions.values():
        if wanted is None or sub.customer_id in wanted:
            by_customer[sub.customer_id].append(sub.id)
    results: dict[str, CustomerResult] = {}
    with cycle_collector_paused():
        index = _Index(history, {s for subs in by_customer.values() for s in subs})
        for customer_id in sorted(by_customer):
            histories = [
                subscription_history(index.records(sub_id), catalog, reporting, until)
                for sub_id in sorted(by_customer[customer_id])
            ]
            result = customer_result(customer_id, histories, calendar, conv, until)
            if segments:
                customer = history.customers.get(customer_id)
                prices = catalog.prices
                result = with_segments(result, histories, calendar, conv, prices, customer)
            results[customer_id] = result
    return results


def subscription_components(
    history: AccountHistory,
    *,
    currency: str,
    as_of: datetime,
    subscription_ids: Collection[str],
) -> dict[str, tuple[Component, ...]]:
    """Each subscription's MRR components at ``as_of``: the figure :func:`compute_customers`
    counts for it then, per item, in its billing currency and not yet rounded
    (:func:`~stripe_kpi.metrics.history.components_as_of`). ``history`` needs the records of these
    subscriptions and the account-wide ones, as for :func:`compute_customers`."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    until = int(as_of.timestamp())
    catalog = Catalog(history)
    wanted = {s for s in subscription_ids if s in history.subscriptions}
    with cycle_collector_paused():
        index = _Index(history, wanted)
        return {
            sub_id: components_as_of(index.records(sub_id), catalog, currency.lower(), until)
            for sub_id in sorted(wanted)
        }


def horizons(
    history: AccountHistory, until: int, customer_ids: Collection[str] | None = None
) -> dict[str, int | None]:
    """For each customer :func:`compute_customers` returns: the first instant after ``until``
    found in their records (None: nothing lies ahead).

    A customer's result depends on ``until`` only through which instants of their own records
    (their subscriptions, items, invoices, lines, kept events, discounts and a repeating
    discount's end) lie at or before it: a trial that ends, a scheduled cancellation, a coupon
    that runs out, a metered period that closes. So a result computed at ``until`` still holds at
    any later instant short of the horizon, and a store that kept it recomputes only the customers
    whose horizon has passed (and those a sync changed). Every instant counts, whether or not it
    changes anything: a horizon may come early, never late.
    """
    wanted = None if customer_ids is None else set(customer_ids)
    owner = {
        sub.id: sub.customer_id
        for sub in history.subscriptions.values()
        if wanted is None or sub.customer_id in wanted
    }
    found: dict[str, int | None] = dict.fromkeys(owner.values())

    def note(customer: str | None, *instants: int | None) -> None:
        if customer not in found:
            return
        ahead = [t for t in instants if t is not None and t > until]
        if ahead:
            current = found[customer]
            found[customer] = min(ahead) if current is None else min(current, *ahead)

    for sub in history.subscriptions.values():
        if sub.id in owner:
            note(
                sub.customer_id,
                sub.created,
                sub.start_date,
                sub.billing_cycle_anchor,
                sub.trial_start,
                sub.trial_end,
                sub.cancel_at,
                sub.canceled_at,
                sub.ended_at,
            )
    for item in history.subscription_items.values():
        if item.subscription_id in owner:
            note(
                owner[item.subscription_id],
                item.created,
                item.current_period_start,
                item.current_period_end,
            )
    for snap in history.snapshots.values():
        if snap.subscription_id in owner:
            note(
                owner[snap.subscription_id],
                snap.created,
                snap.cancel_at,
                snap.canceled_at,
                *(i.created for i in snap.items),
                *(i.current_period_start for i in snap.items),
            )
    for schedule in history.schedules.values():
        note(schedule.customer_id, *(p.start_date for p in schedule.started_phases()))
    for discount in history.discounts.values():
        customer = discount.customer_id or owner.get(discount.subscription_id or "")
        coupon = history.coupons.get(discount.coupon_id or "")
        terms = None if coupon is None else discount_terms(discount, coupon)
        note(customer, discount.start, discount.end, terms and terms.end)
    invoices = history.invoices
    for invoice in invoices.values():  # a million of them: test the common case cheaply
        if (
            invoice.created > until
            or (invoice.finalized_at or 0) > until
            or (invoice.paid_at or 0) > until
            or (invoice.voided_at or 0) > until
            or (invoice.marked_uncollectible_at or 0) > until
        ):
            note(
                invoice.customer_id or owner.get(invoice.subscription_id or ""),
                invoice.created,
                invoice.finalized_at,
                invoice.paid_at,
                invoice.voided_at,
                invoice.marked_uncollectible_at,
            )
    for line in history.invoice_lines.values():
        if line.period_end > until or line.period_start > until:
            invoice = invoices.get(line.invoice_id)
            customer = invoice.customer_id if invoice is not None else None
            note(
                customer or owner.get(line.subscription_id or ""),
                line.period_start,
                line.period_end,
            )
    return found


class _Index:
    """The records of each subscription, gathered in one pass over the account's rows."""

    def __init__(self, history: AccountHistory, subscription_ids: set[str]) -> None:
        self.history = history
        self.items: dict[str, list] = defaultdict(list)
        self.invoices: dict[str, dict] = defaultdict(dict)
        self.snapshots: dict[str, list] = defaultdict(list)
        self.lines: dict[str, list[InvoiceLine]] = {}
        item_owner: dict[str, str] = {}
        for item in history.subscription_items.values():
            item_owner[item.id] = item.subscription_id
            if item.subscription_id in subscription_ids:
                self.items[item.subscription_id].append(item)
        invoices = history.invoices
        void = set()
        for invoice in invoices.values():
            if invoice.status == "void":
                void.add(invoice.id)
            if invoice.subscription_id in subscription_ids:
                self.invoices[invoice.subscription_id][invoice.id] = invoice
        for snap in history.snapshots.values():
            if snap.subscription_id in subscription_ids:
                self.snapshots[snap.subscription_id].append(snap)
        self.phases = started_phases(history, subscription_ids)
        lines = self.lines
        for line in history.invoice_lines.values():
            item_id = line.subscription_item_id
            if not item_id or line.parent_type not in (None, _SUBSCRIPTION_LINE):
                continue  # one-off invoice items, setup fees: not recurring (METRICS.md §1)
            if line.invoice_id in void:
                continue  # a void invoice states nothing (METRICS.md §1)
            sub_id = line.subscription_id or item_owner.get(item_id)
            if sub_id is None:
                invoice = invoices.get(line.invoice_id)
                sub_id = None if invoice is None else invoice.subscription_id
            bucket = lines.get(sub_id)  # type: ignore[arg-type]
            if bucket is None:
                if sub_id not in subscription_ids:
                    continue
                bucket = lines[sub_id] = []  # type: ignore[index]
            bucket.append(line)
            invoice = invoices.get(line.invoice_id)
            if invoice is not None and invoice.subscription_id != sub_id:
                self.invoices[sub_id][invoice.id] = invoice  # type: ignore[index]

    def records(self, sub_id: str) -> SubscriptionRecords:
        return SubscriptionRecords(
            subscription=self.history.subscriptions[sub_id],
            lines=self.lines.get(sub_id, ()),
            invoices=self.invoices.get(sub_id, {}),
            items=sorted(self.items.get(sub_id, ()), key=lambda i: i.id),
            snapshots=self.snapshots.get(sub_id, ()),
            phases=self.phases.get(sub_id, ()),
        )
