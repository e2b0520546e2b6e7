"""What happens to a running subscription: changes, cancellations, usage, failures, disputes.

Changes follow Stripe's proration rules:

- ``create_prorations`` (the default): a credit for the unused time of the old price and
  quantity and a debit for the remaining time of the new ones, both over ``[change, period
  end)``, become pending invoice items that land on the next invoice;
- ``always_invoice``: the same prorations, invoiced at once (``billing_reason=
  "subscription_update"``);
- ``none``: the item changes, nothing is billed until the next renewal.

A change of billing interval (monthly → yearly) resets the billing cycle at once: the unused
time is credited and the new period billed in full on an immediate invoice. Nothing is
prorated during a trial, and metered items are never prorated (they bill usage in arrears).

Over 400 lines on purpose: every scripted change to a running subscription, and the proration
rules they share, read in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal

from stripe_kpi.simulator import objects
from stripe_kpi.simulator.billing.dunning import FailureWindow
from stripe_kpi.simulator.billing.ledger import MAX_ITEMS, StripeDict, SubState
from stripe_kpi.simulator.billing.renewals import Renewals
from stripe_kpi.simulator.clock import to_unix

Ref = StripeDict | str
ProrationBehavior = Literal["create_prorations", "always_invoice", "none"]
CancellationReason = Literal[
    "cancellation_requested", "payment_failed", "payment_disputed", "canceled_by_retention_policy"
]
Feedback = Literal[
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
]


class Changes(Renewals):
    """Renewals plus the scripted changes to subscriptions and customers."""

    @contextmanager
    def _api_call(self, at: datetime | None, *, request: bool = True) -> Iterator[int]:
        """Catch up with the clock, then act as an API request (events get a request id)."""
        moment = self.clock if at is None else to_unix(at)
        self.run_until(moment)
        self.request_id = self.ids.new("req") if request else None
        try:
            yield moment
        finally:
            self.request_id = None

    def change(
        self,
        sub: Ref,
        at: datetime | None = None,
        *,
        price: Ref | None = None,
        quantity: int | None = None,
        item: Ref | None = None,
        proration_behavior: ProrationBehavior = "create_prorations",
    ) -> StripeDict:
        """Change one item's price and/or quantity (``item`` may be omitted on one-item subs)."""
        st = self._state_at(sub, at)
        it = self._item(st, item)
        old_price, old_quantity = it["price"], it["quantity"]
        new_price = old_price if price is None else self._get(self.prices, price)
        new_quantity = old_quantity if quantity is None else quantity
        self._check_item(st, new_price, new_quantity, interval_may_change=True)
        recurring = new_price["recurring"]
        switch = (recurring["interval"], recurring["interval_count"]) != (
            st.interval,
            st.interval_count,
        )
        if switch and len(st.items) > 1:
            raise ValueError("changing the interval of one item of several is not modelled")
        with self._api_call(at) as t:
            sub_obj = st.obj
            before = self.log.before(sub_obj, t)
            trialing = sub_obj["status"] == "trialing"
            prorate = proration_behavior != "none" and not trialing
            if prorate and _licensed(old_price):
                self.proration_item(st, it, old_price, old_quantity, t, credit=True)
            if switch and not trialing:
                self._restart_cycle(st, it, new_price, new_quantity, t)
            else:
                if prorate and _licensed(new_price):
                    self.proration_item(st, it, new_price, new_quantity, t, credit=False)
                _set_item(it, new_price, new_quantity)
                st.debits.pop(it["id"], None)
                st.interval, st.interval_count = recurring["interval"], recurring["interval_count"]
                if proration_behavior == "always_invoice" and prorate:
                    self._invoice_pending(st, t)
            self.emit("customer.subscription.updated", sub_obj, t, before)
            return sub_obj

    def _restart_cycle(
        self, st: SubState, it: StripeDict, price: StripeDict, quantity: int | None, t: int
    ) -> None:
        """A new interval: the billing cycle restarts now, billed at once in full."""
        finished_start, _ = st.period
        invoice_id = self.ids.new("in")
        usage = (
            [self.usage_line(invoice_id, st, it, finished_start, t)]
            if not _licensed(it["price"])
            else []
        )
        _set_item(it, price, quantity)
        st.interval = price["recurring"]["interval"]
        st.interval_count = price["recurring"]["interval_count"]
        st.anchor, st.period_n = t, 0
        st.obj["billing_cycle_anchor"] = t
        end = st.boundary(1)
        self.set_period(st, t, end)
        lines = usage + self.item_lines(invoice_id, st, t, end, trial=False)
        self.issue_invoice(
            invoice_id,
            st.obj["customer"],
            st,
            t,
            billing_reason="subscription_update",
            lines=lines,
            period=(finished_start, t),
            finalize="now",
            currency=st.obj["currency"],
            proration_date=t,
        )

    def _invoice_pending(self, st: SubState, t: int) -> None:
        """``always_invoice``: the pending prorations go on an invoice now."""
        self.issue_invoice(
            self.ids.new("in"),
            st.obj["customer"],
            st,
            t,
            billing_reason="subscription_update",
            lines=[],
            period=(t, t),
            finalize="now",
            currency=st.obj["currency"],
            proration_date=t,
        )

    def add_item(
        self,
        sub: Ref,
        price: Ref,
        quantity: int | None,
        at: datetime | None = None,
        *,
        proration_behavior: ProrationBehavior = "create_prorations",
    ) -> StripeDict:
        """Add an item (an add-on) to a subscription; its remaining time is prorated."""
        st = self._state_at(sub, at)
        new_price = self._get(self.prices, price)
        self._check_item(st, new_price, quantity, interval_may_change=False)
        if len(st.items) >= MAX_ITEMS:
            raise ValueError(f"{st.id} already has the {MAX_ITEMS} items Stripe allows")
        with self._api_call(at) as t:
            before = self.log.before(st.obj, t)
            start, end = st.period
            si = objects.subscription_item(
                id=self.ids.new("si"),
                subscription=st.id,
                price=new_price,
                quantity=quantity,
                created=t,
                current_period_start=start,
                current_period_end=end,
            )
            st.items.append(si)
            prorate = proration_behavior != "none" and st.obj["status"] != "trialing"
            if prorate and _licensed(new_price) and quantity:
                self.proration_item(st, si, new_price, quantity, t, credit=False)
                if proration_behavior == "always_invoice":
                    self._invoice_pending(st, t)
            self.emit("customer.subscription.updated", st.obj, t, before)
            return si

    def remove_item(
        self,
        sub: Ref,
        item: Ref,
        at: datetime | None = None,
        *,
        proration_behavior: ProrationBehavior = "create_prorations",
    ) -> None:
        """Remove an item; its unused time is credited. The last item cannot go (cancel)."""
        st = self._state_at(sub, at)
        it = self._item(st, item)
        if len(st.items) == 1:
            raise ValueError("a subscription keeps at least one item: cancel it instead")
        with self._api_call(at) as t:
            before = self.log.before(st.obj, t)
            prorate = proration_behavior != "none" and st.obj["status"] != "trialing"
            if prorate and _licensed(it["price"]) and it["quantity"]:
                self.proration_item(st, it, it["price"], it["quantity"], t, credit=True)
            st.items.remove(it)
            st.usage.pop(it["id"], None)
            if prorate and proration_behavior == "always_invoice":
                self._invoice_pending(st, t)
            self.emit("customer.subscription.updated", st.obj, t, before)

    def cancel(
        self,
        sub: Ref,
        at: datetime | None = None,
        *,
        at_period_end: bool = False,
        reason: CancellationReason = "cancellation_requested",
        feedback: Feedback | None = None,
        comment: str | None = None,
    ) -> StripeDict:
        """Cancel now (``ended_at`` = now) or at the period end (``cancel_at_period_end``).

        A scheduled cancellation sets ``cancel_at`` to the period end and ``canceled_at`` to
        the request time; ``customer.subscription.deleted`` comes when it ends. Through the API
        Stripe always records ``reason="cancellation_requested"``; other reasons are accepted to
        script what Stripe's automations record.
        """
        st = self._state_at(sub, at)
        with self._api_call(at) as t:
            sub_obj = st.obj
            if at_period_end and sub_obj["status"] == "paused":
                raise ValueError(f"{st.id} is paused: no period runs, cancel it now")
            before = self.log.before(sub_obj, t)
            details = sub_obj["cancellation_details"]
            details["feedback"], details["comment"] = feedback, comment
            if not at_period_end:
                self.end_subscription(st, t, reason=reason)
                return sub_obj
            details["reason"] = reason
            sub_obj["cancel_at_period_end"] = True
            sub_obj["cancel_at"] = st.period[1]
            sub_obj["canceled_at"] = t
            self.emit("customer.subscription.updated", sub_obj, t, before)
            return sub_obj

    def fail_payments(
        self, sub: Ref, from_: datetime | None = None, until: datetime | None = None
    ) -> None:
        """The customer's card declines from ``from_`` (until ``until``, or for good).

        Renewal payments then fail and dunning runs (``DunningPolicy``); if the card works
        again before retries run out, the next retry pays and the subscription is active again.
        """
        st = self._state(sub)
        start = self.clock if from_ is None else to_unix(from_)
        st.failure = FailureWindow(start, None if until is None else to_unix(until))

    def trial_lapses(self, sub: Ref) -> None:
        """No payment method by the trial's end: Stripe cancels the subscription then
        (``trial_settings.end_behavior.missing_payment_method="cancel"``); no invoice."""
        st = self._state(sub)
        if st.obj["status"] != "trialing":
            raise ValueError(f"{st.id} is not trialing")
        st.lapses = True

    def report_usage(self, sub: Ref, item: Ref, quantity: int, at: datetime | None = None) -> None:
        """Usage of a metered item (meter events), billed on the next renewal invoice."""
        st = self._state_at(sub, at)
        it = self._item(st, item)
        if _licensed(it["price"]):
            raise ValueError(f"{it['id']} is not metered")
        with self._api_call(at, request=False):
            st.usage[it["id"]] = st.usage.get(it["id"], 0) + quantity

    def add_invoice_item(
        self,
        customer: Ref,
        amount: int,
        at: datetime | None = None,
        *,
        description: str = "One-off charge",
        currency: str | None = None,
        invoice_now: bool = False,
    ) -> StripeDict:
        """A one-off charge (a setup fee). It waits for the customer's next invoice, or with
        ``invoice_now`` goes on its own invoice (``billing_reason="manual"``) at once."""
        cus = self._get(self.customers, customer)
        currency = currency or cus["currency"] or self.currency
        with self._api_call(at) as t:
            if cus["currency"] is None:
                before = self.log.before(cus, t)
                cus["currency"] = currency
                self.emit("customer.updated", cus, t, before)
            ii = objects.invoice_item(
                id=self.ids.new("ii"),
                customer=cus["id"],
                livemode=self.livemode,
                currency=currency,
                amount=amount,
                date=t,
                description=description,
                period_start=t,
                period_end=t,
                quantity=1,
                price=None,
                subscription=None,
                subscription_item=None,
                proration=False,
            )
            self.add_pending(ii, t)
            if invoice_now:
                self.invoice_one_offs(cus["id"], t, currency)
            return ii

    def invoice_one_offs(self, customer_id: str, t: int, currency: str) -> StripeDict:
        """An invoice of its own for the customer's pending one-off items, at ``t`` (inside an
        API call): no subscription, ``billing_reason="manual"``, finalized and charged at once.
        ``issue_invoice`` takes the pending items with no subscription in ``currency``."""
        return self.issue_invoice(
            self.ids.new("in"),
            customer_id,
            None,
            t,
            billing_reason="manual",
            lines=[],
            period=(t, t),
            finalize="now",
            currency=currency,
        )

    def void_invoice(self, invoice: Ref, at: datetime | None = None) -> StripeDict:
        """The merchant voids an open invoice (forgives it): nothing is owed, retries stop,
        and a subscription ``past_due`` only because of it is ``active`` again."""
        inv = self._get(self.invoices, invoice)
        if inv["status"] != "open":
            raise ValueError(f"only open invoices can be voided; {inv['id']} is {inv['status']}")
        with self._api_call(at) as t:
            before = self.log.before(inv, t)
            inv["status"] = "void"
            inv["status_transitions"]["voided_at"] = t
            inv["next_payment_attempt"] = None
            inv["auto_advance"] = False
            self.emit(("invoice.voided", "invoice.updated"), inv, t, before)
            self.settle(inv, t)
            return inv

    def dispute(
        self,
        invoice: Ref,
        at: datetime | None = None,
        *,
        cancel_subscription: bool = True,
        reason: str = "fraudulent",
    ) -> StripeDict:
        """The cardholder disputes a paid invoice's charge. The merchant's policy (on by
        default) cancels the subscription at once: ``reason="payment_disputed"``."""
        inv = self._get(self.invoices, invoice)
        if inv["id"] not in self.charges:
            raise ValueError(f"{inv['id']} has no charge to dispute")
        charge, payment_intent = self.charges[inv["id"]]
        with self._api_call(at, request=False) as t:
            dispute = objects.dispute(
                id=self.ids.new("dp"),
                charge=charge,
                payment_intent=payment_intent,
                amount=inv["amount_paid"],
                currency=inv["currency"],
                created=t,
                livemode=self.livemode,
                reason=reason,
            )
            self.disputes[dispute["id"]] = dispute
            self.emit("charge.dispute.created", dispute, t)
            st = self.subscription_state(inv)
            if cancel_subscription and st is not None and st.live():
                self.end_subscription(st, t, reason="payment_disputed")
            return dispute

    # -- lookups -----------------------------------------------------------------------------

    @staticmethod
    def _get(store: dict[str, StripeDict], ref: Ref) -> StripeDict:
        return store[ref if isinstance(ref, str) else ref["id"]]

    def _state_at(self, sub: Ref, at: datetime | None) -> SubState:
        """The subscription as an API request at ``at`` finds it: the clock caught up first (a
        renewal, a schedule's phase or dunning due by then has run), so that the request is
        checked against the subscription as it is then; Stripe refuses, say, an update naming
        an item a phase has just removed ("No such subscription item")."""
        self.run_until(self.clock if at is None else to_unix(at))
        return self._state(sub)

    def _state(self, sub: Ref) -> SubState:
        st = self.subs[sub if isinstance(sub, str) else sub["id"]]
        if not st.live():
            raise ValueError(f"subscription {st.id} has ended")
        return st

    def _item(self, st: SubState, item: Ref | None) -> StripeDict:
        if item is None:
            if len(st.items) != 1:
                raise ValueError("name the item: the subscription has several")
            return st.items[0]
        item_id = item if isinstance(item, str) else item["id"]
        for candidate in st.items:
            if candidate["id"] == item_id:
                return candidate
        raise ValueError(f"{item_id} is not an item of {st.id}")

    def _check_item(
        self, st: SubState, price: StripeDict, quantity: int | None, *, interval_may_change: bool
    ) -> None:
        billed = st.obj["currency"]
        if price["currency"] != billed and billed not in (price["currency_options"] or {}):
            raise ValueError(f"{st.id} is billed in {st.obj['currency']}, not {price['currency']}")
        if _licensed(price) == (quantity is None):
            raise ValueError("metered items take quantity None; licensed items a quantity")
        recurring = price["recurring"]
        same = (recurring["interval"], recurring["interval_count"]) == (
            st.interval,
            st.interval_count,
        )
        if not same and not interval_may_change:
            raise ValueError("all items of a subscription share one billing interval")


def _licensed(price: StripeDict) -> bool:
    return price["recurring"]["usage_type"] == "licensed"


def _set_item(item: StripeDict, price: StripeDict, quantity: int | None) -> None:
    item["price"] = price
    item["plan"] = objects.plan_from_price(price)
    item["quantity"] = quantity
