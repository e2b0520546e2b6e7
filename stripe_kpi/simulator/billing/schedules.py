"""Subscription schedules: a subscription's future changes, phase by phase, as Stripe runs them.

A schedule is created from a running subscription (``from_subscription``): its first phase is
the subscription as it is, from its current period's start; the script adds the phases to come,
each from its ``start`` to the next one's (the last to ``end``). "When a phase starts, Stripe
updates the subscription based on the next phase's attributes. You can optionally enable
proration to credit the user for unused items or time on the plan" (docs.stripe.com/billing/
subscriptions/subscription-schedules, "Transitioning to the next phase"). Here, at a phase start:

- the items are replaced by the phase's: an item whose price stays keeps its id (and takes the
  new quantity), other prices get new items, items of prices the phase drops are removed;
- ``proration_behavior`` (default ``create_prorations``) prorates what changed over the rest of
  the billing period, exactly as ``changes.Changes.change`` does; ``always_invoice`` invoices
  the prorations at once; ``none`` bills nothing until the next renewal. A phase that starts on
  a renewal leaves nothing to prorate: the renewal invoice bills the new items;
- a phase on another billing interval, or with ``billing_cycle_anchor="phase_start"``, resets
  the billing cycle: the unused time is credited and the new period invoiced at the boundary;
- the phase's coupon replaces the subscription's discount.

When the last phase ends, ``end_behavior`` decides: ``release`` (the default) leaves the
subscription running on its own (status ``released``, ``subscription`` null and its id under
``released_subscription``, docs.stripe.com/api/subscription_schedules/release); ``cancel``
cancels the subscription then (status ``completed``). A schedule with ``end_behavior=cancel``
sets the subscription's ``cancel_at`` once its last phase runs (the release endpoint's
``preserve_cancel_date``: "Keep any cancellation on the subscription that the schedule has
set"). Cancelling a schedule cancels its subscription at once ("Cancels a subscription schedule
and its associated subscription immediately", docs.stripe.com/api/subscription_schedules/
cancel); a subscription that ends otherwise (dunning, a dispute) takes its schedule with it
(``subscription_schedule.canceled``: "canceled due to the underlying subscription being
canceled because of delinquency").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from stripe_kpi.simulator import objects
from stripe_kpi.simulator.billing.adjustments import Adjustments
from stripe_kpi.simulator.billing.changes import ProrationBehavior, Ref, _licensed
from stripe_kpi.simulator.billing.ledger import MAX_ITEMS, StripeDict, SubState
from stripe_kpi.simulator.clock import to_unix

EndBehavior = Literal["release", "cancel"]


@dataclass(frozen=True)
class Phase:
    """A phase to come: from ``start`` on, the subscription bills ``items`` (price, quantity)."""

    start: datetime
    items: Sequence[tuple[Ref, int | None]]
    coupon: Ref | None = None
    proration_behavior: ProrationBehavior = "create_prorations"
    billing_cycle_anchor: Literal["automatic", "phase_start"] | None = None


@dataclass(frozen=True)
class _Plan:
    """A phase resolved to the account's objects."""

    items: tuple[tuple[StripeDict, int | None], ...]
    coupon: StripeDict | None
    proration_behavior: str
    billing_cycle_anchor: str | None


class Schedules(Adjustments):
    """Adjustments plus subscription schedules."""

    def create_schedule(
        self,
        sub: Ref,
        phases: Sequence[Phase],
        *,
        end: datetime,
        end_behavior: EndBehavior = "release",
        at: datetime | None = None,
    ) -> StripeDict:
        """Put a subscription on a schedule: its present as the first phase, then ``phases``."""
        st = self._state_at(sub, at)
        if st.obj["schedule"] is not None:
            raise ValueError(f"{st.id} is already managed by {st.obj['schedule']}")
        if not phases:
            raise ValueError("a schedule needs at least one phase after the current one")
        plans = [self._plan(st, phase) for phase in phases]
        starts = [to_unix(p.start) for p in phases]
        ends = [*starts[1:], to_unix(end)]
        with self._api_call(at) as t:
            if not t < starts[0] or any(a >= b for a, b in zip(starts, ends, strict=True)):
                raise ValueError("phases start after now, in order, each before the schedule ends")
            current_start = st.period[0]
            current = objects.schedule_phase(
                start_date=current_start,
                end_date=starts[0],
                currency=st.obj["currency"],
                items=[_phase_item(i["price"], i["quantity"]) for i in st.items],
                coupons=[a.coupon["id"] for a in st.applied if a.item is None],
            )
            later = [
                objects.schedule_phase(
                    start_date=s,
                    end_date=e,
                    currency=st.obj["currency"],
                    items=[_phase_item(price, q) for price, q in plan.items],
                    coupons=[plan.coupon["id"]] if plan.coupon is not None else [],
                    proration_behavior=plan.proration_behavior,
                    billing_cycle_anchor=plan.billing_cycle_anchor,
                )
                for plan, s, e in zip(plans, starts, ends, strict=True)
            ]
            sched = objects.subscription_schedule(
                id=self.ids.new("sub_sched"),
                customer=st.obj["customer"],
                subscription=st.id,
                created=t,
                livemode=self.livemode,
                phases=[current, *later],
                end_behavior=end_behavior,
                status="active",
                current_phase=(current_start, starts[0]),
            )
            self.schedules[sched["id"]] = sched
            self.schedule_plans[sched["id"]] = [None, *plans]
            before = self.log.before(st.obj, t)
            st.obj["schedule"] = sched["id"]
            self.emit("subscription_schedule.created", sched, t)
            self.emit("customer.subscription.updated", st.obj, t, before)
            for index, start in enumerate(starts, start=1):
                self.schedule(start, "phase_start", sched["id"], index)
            self.schedule(ends[-1], "schedule_end", sched["id"])
            return sched

    def release_schedule(self, schedule: Ref, at: datetime | None = None) -> StripeDict:
        """Stop the schedule now; the subscription stays as it is."""
        sched = self._active_schedule(schedule)
        with self._api_call(at) as t:
            self._release(sched, t)
            return sched

    def cancel_schedule(self, schedule: Ref, at: datetime | None = None) -> StripeDict:
        """Cancel the schedule and, at once, its subscription."""
        sched = self._active_schedule(schedule)
        with self._api_call(at) as t:
            st = self.subs[sched["subscription"]]
            if st.live():
                self.end_subscription(st, t, reason="cancellation_requested")
            else:
                self._schedule_canceled(sched, t)
            return sched

    # -- what time does to a schedule ---------------------------------------------------------

    def _on_phase_start(self, sched_id: str, at: int, index: int) -> None:
        sched = self.schedules[sched_id]
        st = self.subs[sched["subscription"] or sched["released_subscription"]]
        if sched["status"] != "active" or not st.live():
            return
        plan = self.schedule_plans[sched_id][index]
        assert plan is not None
        phase = sched["phases"][index]
        before_sched = self.log.before(sched, at)
        self._enter_phase(st, plan, at, last=index == len(sched["phases"]) - 1, sched=sched)
        sched["current_phase"] = {"end_date": phase["end_date"], "start_date": phase["start_date"]}
        self.emit("subscription_schedule.updated", sched, at, before_sched)

    def _on_schedule_end(self, sched_id: str, at: int, _: int) -> None:
        sched = self.schedules[sched_id]
        if sched["status"] != "active":
            return
        if sched["end_behavior"] != "cancel":
            self._release(sched, at)
            return
        st = self.subs[sched["subscription"]]
        before = self.log.before(sched, at)
        sched["status"], sched["completed_at"], sched["current_phase"] = "completed", at, None
        if st.live():
            self._final_usage_invoice(st, at)
            self.end_subscription(st, at, reason="cancellation_requested")
        self.emit("subscription_schedule.completed", sched, at, before)

    def end_subscription(self, st: SubState, at: int, *, reason: str) -> None:
        """Ending a subscription cancels the schedule that still manages it."""
        super().end_subscription(st, at, reason=reason)
        sched_id = st.obj["schedule"]
        if sched_id is not None and self.schedules[sched_id]["status"] == "active":
            self._schedule_canceled(self.schedules[sched_id], at)

    def _schedule_canceled(self, sched: StripeDict, at: int) -> None:
        before = self.log.before(sched, at)
        sched["status"], sched["canceled_at"], sched["current_phase"] = "canceled", at, None
        self.emit("subscription_schedule.canceled", sched, at, before)

    def _release(self, sched: StripeDict, at: int) -> None:
        st = self.subs[sched["subscription"]]
        before_sub = self.log.before(st.obj, at)
        before = self.log.before(sched, at)
        sched["status"], sched["released_at"], sched["current_phase"] = "released", at, None
        sched["released_subscription"], sched["subscription"] = st.id, None
        st.obj["schedule"] = None
        self.emit("subscription_schedule.released", sched, at, before)
        self.emit("customer.subscription.updated", st.obj, at, before_sub)

    # -- entering a phase ----------------------------------------------------------------------

    def _enter_phase(
        self, st: SubState, plan: _Plan, at: int, *, last: bool, sched: StripeDict
    ) -> None:
        sub = st.obj
        before = self.log.before(sub, at)
        start, end = st.period
        trialing = sub["status"] == "trialing"
        recurring = plan.items[0][0]["recurring"]
        switch = (recurring["interval"], recurring["interval_count"]) != (
            st.interval,
            st.interval_count,
        )
        reset = not trialing and (
            switch or (plan.billing_cycle_anchor == "phase_start" and start < at < end)
        )
        # Nothing to prorate on a renewal (no time left of the period) or during a trial.
        prorate = plan.proration_behavior != "none" and not trialing and at < end
        kept = {item["price"]["id"]: item for item in st.items}
        items: list[StripeDict] = []
        debits: list[tuple[StripeDict, StripeDict, int | None]] = []
        for price, quantity in plan.items:
            item = kept.pop(price["id"], None)
            if item is None:
                item = objects.subscription_item(
                    id=self.ids.new("si"),
                    subscription=st.id,
                    price=price,
                    quantity=quantity,
                    created=at,
                    current_period_start=start,
                    current_period_end=end,
                )
                debits.append((item, price, quantity))
            elif item["quantity"] != quantity:
                if prorate and _licensed(price) and item["quantity"]:
                    self.proration_item(st, item, price, item["quantity"], at, credit=True)
                debits.append((item, price, quantity))
                item["quantity"] = quantity
                st.debits.pop(item["id"], None)
            items.append(item)
        for gone in kept.values():
            if prorate and _licensed(gone["price"]) and gone["quantity"]:
                self.proration_item(st, gone, gone["price"], gone["quantity"], at, credit=True)
            st.debits.pop(gone["id"], None)
            if not reset:
                st.usage.pop(gone["id"], None)
        self._phase_coupon(st, plan.coupon, at)
        if reset:
            self._reset_cycle(st, items, at)
        else:
            sub["items"]["data"][:] = items
            for item, price, quantity in debits:
                if prorate and _licensed(price) and quantity:
                    self.proration_item(st, item, price, quantity, at, credit=False)
            if prorate and plan.proration_behavior == "always_invoice":
                self._invoice_pending(st, at)
        if last and sched["end_behavior"] == "cancel":
            sub["cancel_at"] = sched["phases"][-1]["end_date"]
        self.emit("customer.subscription.updated", sub, at, before)

    def _phase_coupon(self, st: SubState, coupon: StripeDict | None, at: int) -> None:
        """The phase's coupon replaces the subscription's discounts (none: no discount);
        discounts on items stay."""
        on_sub = [a for a in st.applied if a.item is None]
        if [a.coupon["id"] for a in on_sub] == ([coupon["id"]] if coupon is not None else []):
            return
        for applied in on_sub:  # announced with the phase's own update (_enter_phase)
            self.remove_discount(st, applied, at, announce=False)
        if coupon is not None:
            self._attach_coupon(st, coupon, at)
            self.emit("customer.discount.created", st.applied[-1].discount, at)

    def _reset_cycle(self, st: SubState, items: list[StripeDict], at: int) -> None:
        """A new billing cycle from ``at``: billed at once in full, with the old cycle's
        prorations and the metered usage of the finished part of the period."""
        finished_start, _ = st.period
        invoice_id = self.ids.new("in")
        usage = [
            self.usage_line(invoice_id, st, item, finished_start, at)
            for item in st.items  # still the old items, the removed ones included
            if not _licensed(item["price"]) and st.usage.get(item["id"])
        ]
        st.obj["items"]["data"][:] = items
        recurring = items[0]["price"]["recurring"]
        st.interval, st.interval_count = recurring["interval"], recurring["interval_count"]
        st.anchor, st.period_n = at, 0
        st.obj["billing_cycle_anchor"] = at
        end = st.boundary(1)
        self.set_period(st, at, end)
        self.issue_invoice(
            invoice_id,
            st.obj["customer"],
            st,
            at,
            billing_reason="subscription_update",
            lines=usage + self.item_lines(invoice_id, st, at, end, trial=False),
            period=(finished_start, at),
            finalize="now",
            currency=st.obj["currency"],
            proration_date=at,
        )

    # -- lookups -------------------------------------------------------------------------------

    def _plan(self, st: SubState, phase: Phase) -> _Plan:
        items = tuple((self._get(self.prices, p), q) for p, q in phase.items)
        if not 1 <= len(items) <= MAX_ITEMS:
            raise ValueError(f"a phase has 1 to {MAX_ITEMS} items")
        if len({price["id"] for price, _ in items}) != len(items):
            raise ValueError("a phase names each price once")
        first = items[0][0]["recurring"]
        for price, quantity in items:
            self._check_price(price, quantity, first, st.obj["currency"])
        coupon = None if phase.coupon is None else self._get(self.coupons, phase.coupon)
        return _Plan(items, coupon, phase.proration_behavior, phase.billing_cycle_anchor)

    def _active_schedule(self, schedule: Ref) -> StripeDict:
        sched = self._get(self.schedules, schedule)
        if sched["status"] not in ("active", "not_started"):
            raise ValueError(f"{sched['id']} is {sched['status']}: nothing left to stop")
        return sched


def _phase_item(price: StripeDict, quantity: int | None) -> StripeDict:
    return objects.schedule_phase_item(price=price["id"], quantity=quantity)
