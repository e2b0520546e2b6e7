"""The machinery under ``BillingAccount``: state, the clock's queue, invoice lines and invoices.

Layers, each a subclass of the one before: ``Ledger`` (here) → ``payments.Payments`` (finalize,
charge, dunning) → ``renewals.Renewals`` (what time does to a subscription) →
``changes.Changes`` (scripted changes) → ``account.BillingAccount`` (creation, snapshot).

Objects are kept in their Stripe shape and changed in place, so what the account shows is
always what the engine used. What Stripe knows but does not show (a subscription's billing
anchor, reported usage, a card that will decline) lives in ``SubState``.

Time only moves forward. Everything Stripe does on its own (renewals, trial ends, drafts
finalized an hour after creation, payment retries, scheduled cancellations, coupon ends) is a
queued action run in time order when the clock passes it.

Over 400 lines on purpose: the state, the clock's queue and invoice issuing are one layer that
every layer above calls into; split, each half would need the other's internals.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from stripe_kpi.simulator import objects
from stripe_kpi.simulator.billing.dunning import DunningPolicy, FailureWindow
from stripe_kpi.simulator.billing.invoices import (
    apply_discounts,
    apply_taxes,
    coupon_applies,
    fill_totals,
    line_item,
    line_product,
    percent_discount,
    period_description,
    price_amount,
    prorated,
    proration_description,
    stack_order,
)
from stripe_kpi.simulator.clock import HOUR, period_boundary
from stripe_kpi.simulator.events import EventLog
from stripe_kpi.simulator.ids import IdFactory

StripeDict = dict[str, Any]

#: Stripe's limit on the items of one subscription ("A list of up to 20 subscription items").
MAX_ITEMS = 20

#: Order of queued actions that fall on the same second.
#: Same-instant order: collection resumes before the renewal it lets be charged.
_RANK = {
    "discount_end": 0,
    "collection_resumes": 0,
    # A phase that starts (or a schedule that ends) on a renewal acts before it: the renewal
    # bills the new phase's items, or nothing once the schedule has canceled the subscription.
    "phase_start": 0,
    "schedule_end": 0,
    "period_end": 1,
    "finalize": 2,
    "retry": 3,
    "collect": 3,
    "notice": 4,
}


@dataclass
class Applied:
    """A discount attached to a subscription (``item`` None) or to one of its items, with its
    coupon; ``used`` once a ``once`` coupon has taken its invoice."""

    discount: StripeDict
    coupon: StripeDict
    item: str | None = None
    used: bool = False

    def in_force(self, at: int) -> bool:
        end = self.discount["end"]
        return end is None or at < end


@dataclass
class SubState:
    """What the engine knows about a subscription beyond its Stripe object.

    The current period is ``[boundary(period_n), boundary(period_n + 1))`` counted from
    ``anchor`` (a trial is period ``-1``, ending at the anchor). ``debits`` remembers which
    invoice line billed each item's current period, for a later credit's ``credited_items``;
    ``failing`` holds the invoices in dunning; ``version`` retires queued period ends when the
    cycle restarts or the subscription ends.
    """

    obj: StripeDict
    anchor: int
    period_n: int
    interval: str
    interval_count: int
    #: Its discounts, subscription-level and item-level, in the order they were attached.
    applied: list[Applied] = field(default_factory=list)
    tax_rates: list[StripeDict] = field(default_factory=list)
    failure: FailureWindow | None = None
    lapses: bool = False
    usage: dict[str, int] = field(default_factory=dict)
    debits: dict[str, tuple[str, str]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    version: int = 0

    @property
    def id(self) -> str:
        return self.obj["id"]

    @property
    def items(self) -> list[StripeDict]:
        return self.obj["items"]["data"]

    @property
    def period(self) -> tuple[int, int]:
        item = self.items[0]
        return item["current_period_start"], item["current_period_end"]

    def boundary(self, n: int) -> int:
        return period_boundary(self.anchor, self.interval, self.interval_count, n)

    def live(self) -> bool:
        return self.obj["status"] not in ("canceled", "incomplete_expired")

    def percents_in_force(self, at: int, product: str, item_id: str) -> list[Applied]:
        """The ``percent_off`` discounts that prorations of ``item_id`` (selling ``product``) at
        ``at`` are net of, in Stripe's order (``once`` coupons: never; a coupon limited to other
        products: never)."""
        found = [
            a
            for a in self.applied
            if a.coupon["percent_off"] is not None
            and a.coupon["duration"] != "once"
            and a.item in (None, item_id)
            and coupon_applies(a.coupon, product)
            and a.in_force(at)
        ]
        return [a for a in found if a.item is not None] + [a for a in found if a.item is None]


class Ledger:
    """State and internal operations; ``BillingAccount`` adds the public, scripted API."""

    def __init__(
        self,
        *,
        start: int,
        currency: str,
        seed: int,
        livemode: bool,
        name: str,
        country: str,
        dunning: DunningPolicy,
        record_events_from: int | None,
    ) -> None:
        self.ids = IdFactory(seed)
        self.clock = start
        self.currency = currency
        self.livemode = livemode
        self.dunning = dunning
        self.log = EventLog(self.ids, livemode, record_events_from)
        self.account = objects.account(
            id=self.ids.new("acct"),
            name=name,
            country=country,
            currency=currency,
            email="billing@example.com",
            created=start,
        )
        self.customers: dict[str, StripeDict] = {}
        self.products: dict[str, StripeDict] = {}
        self.prices: dict[str, StripeDict] = {}
        self.coupons: dict[str, StripeDict] = {}
        self.tax_rates: dict[str, StripeDict] = {}
        self.subscriptions: dict[str, StripeDict] = {}
        self.invoices: dict[str, StripeDict] = {}
        self.discounts: dict[str, StripeDict] = {}
        self.invoiceitems: dict[str, StripeDict] = {}
        self.disputes: dict[str, StripeDict] = {}
        self.schedules: dict[str, StripeDict] = {}
        #: Per schedule, its phases resolved to prices and coupons (None: the first phase).
        self.schedule_plans: dict[str, list[Any]] = {}
        self.subs: dict[str, SubState] = {}
        self.pending: dict[str, list[StripeDict]] = {}
        self.charges: dict[str, tuple[str, str]] = {}
        self._queue: list[tuple[int, int, int, str, str, int]] = []
        self._seq = 0
        self.request_id: str | None = None

    # -- the clock ---------------------------------------------------------------------------

    def schedule(self, at: int, action: str, key: str, version: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, _RANK[action], self._seq, action, key, version))

    def run_until(self, to: int) -> None:
        """Run every queued action due at or before ``to``, in time order."""
        if to < self.clock:
            raise ValueError("the simulated clock only moves forward")
        while self._queue and self._queue[0][0] <= to:
            at, _, _, action, key, version = heapq.heappop(self._queue)
            self.clock = max(self.clock, at)
            getattr(self, f"_on_{action}")(key, at, version)
        self.clock = to

    def emit(
        self,
        types: str | tuple[str, ...],
        obj: StripeDict,
        at: int,
        before: StripeDict | None = None,
    ) -> None:
        self.log.emit(types, obj, at, before=before, request_id=self.request_id)

    # -- invoice lines -----------------------------------------------------------------------

    def product_name(self, price: StripeDict) -> str:
        return self.products[price["product"]]["name"]

    def period_line(
        self, invoice_id: str, st: SubState, item: StripeDict, start: int, end: int, *, trial: bool
    ) -> StripeDict:
        """A subscription item's line for a whole period (advance billing, or a $0 trial)."""
        price, quantity = item["price"], item["quantity"]
        name, currency = self.product_name(price), st.obj["currency"]
        line = objects.invoice_line_item(
            id=self.ids.new("il"),
            invoice=invoice_id,
            livemode=self.livemode,
            currency=currency,
            amount=0 if trial else price_amount(price, quantity, currency),
            description=f"Trial period for {name}"
            if trial
            else period_description(price, name, quantity, currency),
            period_start=start,
            period_end=end,
            quantity=quantity,
            price=price,
            subscription=st.id,
            subscription_item=item["id"],
            invoice_item=None,
            proration=False,
        )
        if not trial:
            st.debits[item["id"]] = (invoice_id, line["id"])
        return line

    def usage_line(
        self, invoice_id: str, st: SubState, item: StripeDict, start: int, end: int
    ) -> StripeDict:
        """A metered item's usage over a finished period, billed in arrears."""
        price, used = item["price"], st.usage.pop(item["id"], 0)
        currency = st.obj["currency"]
        return objects.invoice_line_item(
            id=self.ids.new("il"),
            invoice=invoice_id,
            livemode=self.livemode,
            currency=currency,
            amount=price_amount(price, used, currency),
            description=period_description(price, self.product_name(price), used, currency),
            period_start=start,
            period_end=end,
            quantity=used,
            price=price,
            subscription=st.id,
            subscription_item=item["id"],
            invoice_item=None,
            proration=False,
        )

    def pending_line(self, invoice_id: str, ii: StripeDict) -> StripeDict:
        """A pending invoice item (proration or one-off) as a line of the invoice that takes it."""
        ii["invoice"] = invoice_id
        parent = ii["parent"]["subscription_details"] if ii["parent"] else None
        credited = (ii["proration_details"] or {}).get("credited_items")
        details = credited["invoice_line_item_details"] if credited else None
        price = self.prices[ii["pricing"]["price_details"]["price"]] if ii["pricing"] else None
        return objects.invoice_line_item(
            id=self.ids.new("il"),
            invoice=invoice_id,
            livemode=self.livemode,
            currency=ii["currency"],
            amount=ii["amount"],
            description=ii["description"],
            period_start=ii["period"]["start"],
            period_end=ii["period"]["end"],
            quantity=ii["quantity"],
            price=price,
            subscription=parent["subscription"] if parent else None,
            subscription_item=parent["subscription_item"] if parent else None,
            invoice_item=ii["id"],
            proration=ii["proration"],
            credited_invoice=details["invoice"] if details else None,
            credited_lines=details["invoice_line_items"] if details else None,
        )

    def proration_item(
        self,
        st: SubState,
        item: StripeDict,
        price: StripeDict,
        quantity: int,
        at: int,
        *,
        credit: bool,
    ) -> StripeDict:
        """A pending proration: unused time (credit) or remaining time (debit) from ``at``.

        Amount: the period amount × seconds left / seconds in the period, rounded once, net of a
        ``percent_off`` coupon in force (flexible billing mode, ``proration_discounts=included``).
        """
        start, end = st.period
        currency = st.obj["currency"]
        gross = prorated(price_amount(price, quantity, currency), end - at, end - start)
        amount = gross
        in_force = st.percents_in_force(at, price["product"], item["id"])
        for applied in in_force:  # each on what the ones before it left
            amount -= percent_discount(amount, applied.coupon["percent_off"])
        discount_ids = [a.discount["id"] for a in in_force]
        ii = objects.invoice_item(
            id=self.ids.new("ii"),
            customer=st.obj["customer"],
            livemode=self.livemode,
            currency=currency,
            amount=-amount if credit else amount,
            date=at,
            description=proration_description(credit, self.product_name(price), quantity, at),
            period_start=at,
            period_end=end,
            quantity=quantity,
            price=price,
            subscription=st.id,
            subscription_item=item["id"],
            proration=True,
            discounts=discount_ids,
        )
        ii["proration_details"]["discount_amounts"] = [
            {"amount": 0, "discount": d} for d in discount_ids
        ]
        debit = st.debits.get(item["id"]) if credit else None
        if debit is not None:
            ii["proration_details"]["credited_items"] = {
                "invoice_item": None,
                "invoice_line_item_details": {
                    "invoice": debit[0],
                    "invoice_line_items": [debit[1]],
                },
                "type": "invoice_line_items",
            }
        self.add_pending(ii, at)
        return ii

    def add_pending(self, ii: StripeDict, at: int) -> None:
        self.invoiceitems[ii["id"]] = ii
        self.pending.setdefault(ii["customer"], []).append(ii)
        self.emit("invoiceitem.created", ii, at)

    def take_pending(self, customer_id: str, sub_id: str | None, currency: str) -> list[StripeDict]:
        """Pending items this invoice takes: its subscription's and the customer's one-offs."""
        waiting = self.pending.get(customer_id, [])
        taken, kept = [], []
        for ii in waiting:
            owner = ii["parent"]["subscription_details"]["subscription"] if ii["parent"] else None
            fits = ii["currency"] == currency and (owner is None or owner == sub_id)
            (taken if fits else kept).append(ii)
        self.pending[customer_id] = kept
        return taken

    # -- invoices ----------------------------------------------------------------------------

    def issue_invoice(
        self,
        invoice_id: str,
        customer_id: str,
        st: SubState | None,
        at: int,
        *,
        billing_reason: str,
        lines: list[StripeDict],
        period: tuple[int, int],
        finalize: str,
        currency: str,
        proration_date: int | None = None,
    ) -> StripeDict:
        """Create an invoice with ``lines`` plus the pending items it takes, totals filled.

        ``finalize``: ``"now"`` (created by an API call: finalized and charged at once),
        ``"later"`` (a renewal draft, finalized an hour later), ``"never"`` (left a draft).
        """
        customer = self.customers[customer_id]
        sub_id = st.id if st else None
        # Pending invoice items (prorations, one-offs) come first, as on Stripe's invoices.
        pending = self.take_pending(customer_id, sub_id, currency)
        lines = [self.pending_line(invoice_id, ii) for ii in pending] + lines
        sub = st.obj if st else None
        invoice = objects.invoice(
            id=invoice_id,
            customer=customer,
            account=self.account,
            created=at,
            livemode=self.livemode,
            currency=currency,
            billing_reason=billing_reason,
            collection_method=sub["collection_method"] if sub else "charge_automatically",
            subscription=sub_id,
            period_start=period[0],
            period_end=period[1],
            lines=lines,
            days_until_due=sub["days_until_due"] if sub else None,
            proration_date=proration_date,
        )
        if st is not None:
            self._apply_subscription_discount(st, invoice, at)
            for line in lines:
                apply_taxes(line, st.tax_rates)
        fill_totals(invoice, self.tax_rates)
        self.invoices[invoice_id] = invoice
        if sub is not None:
            sub["latest_invoice"] = invoice_id
        self.emit("invoice.created", invoice, at)
        if finalize == "now":
            self.finalize(invoice, at)
        elif finalize == "later":
            invoice["automatically_finalizes_at"] = at + HOUR
            invoice["next_payment_attempt"] = at + HOUR
            self.schedule(at + HOUR, "finalize", invoice_id)
        else:
            invoice["auto_advance"] = False
        return invoice

    def _apply_subscription_discount(self, st: SubState, invoice: StripeDict, at: int) -> None:
        """Every discount of the subscription and its items, in Stripe's order: a ``once``
        coupon takes the first invoice with something to discount; a ``repeating`` one every
        invoice created before its end; ``forever`` every invoice. The invoice's own
        ``discounts`` are the subscription-level ones; item-level ones show on their lines."""
        lines = invoice["lines"]["data"]
        stack = []
        for applied in st.applied:
            coupon = applied.coupon
            if coupon["duration"] == "repeating" and not applied.in_force(at):
                continue
            if coupon["duration"] == "once":
                eligible = [
                    line
                    for line in lines
                    if coupon_applies(coupon, line_product(line))
                    and applied.item in (None, line_item(line))
                ]
                if applied.used or not any(line["amount"] > 0 for line in eligible):
                    continue
                applied.used = True
            stack.append((coupon, applied.discount["id"], applied.item))
        if not stack:
            return
        apply_discounts(lines, stack)
        invoice["discounts"] = [d for _, d, item in stack_order(stack) if item is None]

    def finalize(self, invoice: StripeDict, at: int) -> None:
        """Draft → open and charged: see ``payments.Payments``."""
        raise NotImplementedError

    def subscription_state(self, invoice: StripeDict) -> SubState | None:
        parent = invoice["parent"]
        return self.subs[parent["subscription_details"]["subscription"]] if parent else None
