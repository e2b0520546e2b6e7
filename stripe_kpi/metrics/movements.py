"""Per customer: MRR at the end of each local day, and the movements between day ends.

METRICS.md §2: a customer's MRR is the sum of their subscriptions'; a day's MRR is the MRR at the
end of that day in ``STRIPE_KPI_TIMEZONE``; comparing day ends classifies the change (new,
reactivation, expansion, contraction, churn), so changes inside one day net out. Only days where
something changes are visited: a customer's subscriptions are merged as event lists, never
evaluated day by day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from stripe_kpi.metrics.calendar import LocalCalendar
from stripe_kpi.metrics.fx import Converter
from stripe_kpi.metrics.history import Component, SubscriptionHistory
from stripe_kpi.metrics.vocabulary import ChurnReason, MovementType

#: ``cancellation_details.reason`` → churn kind (METRICS.md §3). A customer the merchant deletes
#: churns on the deletion day (Stripe "immediately cancels any active subscriptions",
#: docs.stripe.com/api/customers/delete), voluntarily: the merchant's request is a cancellation
#: requested (which reason Stripe records then is not documented; the simulator assumes
#: ``cancellation_requested``; a missing reason falls back to the §3 inference).
_REASONS: dict[str, ChurnReason] = {
    "cancellation_requested": "voluntary",
    "canceled_by_retention_policy": "voluntary",
    "payment_failed": "involuntary",
    "payment_disputed": "involuntary",
}


class Movement(NamedTuple):
    """One customer's MRR change on one day, reporting minor units (a row of ``mrr_movement``).

    When exchange rates move too, the day has an ``fx`` row first (``mrr_before`` → old amounts at
    the new rates) and then the movement proper (→ ``mrr_after``), so each row's ``amount`` is its
    ``mrr_after − mrr_before``. ``subscription_ids`` are the subscriptions whose MRR moved, sorted,
    except that a churn lists first the one whose reason it takes (METRICS.md §3).
    """

    day: int
    customer_id: str
    type: MovementType
    amount: int
    mrr_before: int
    mrr_after: int
    churn_reason: ChurnReason | None = None
    subscription_ids: tuple[str, ...] = ()


class TrialOutcome(NamedTuple):
    """A trial that ended on ``day``; ``converted``: its subscription had MRR at that day's end.

    "Became paying" is read with the MRR rules: the subscription counts MRR at the end of the day
    its trial ended. A first payment that fails leaves it ``past_due``, which counts, so that trial
    converted (and a later dunning end is an involuntary churn); a trial canceled early ended when
    it was canceled, not converted. Trials that end without a payment method follow the same
    rule: ``create_invoice`` ones are ``past_due`` at once, so converted even if they never pay;
    ``pause`` ones are ``paused`` (counts zero), so not converted, and a later resume is a ``new``
    movement on its day, not a late conversion (METRICS.md §4 names no window).
    """

    subscription_id: str
    day: int
    converted: bool


@dataclass(frozen=True, slots=True)
class CustomerResult:
    """Everything the account figures need from one customer.

    ``mrr`` and ``at_risk`` are ``(day, value at the end of that day)`` on each day the value
    changed, ascending; before the first entry the value is 0.
    """

    customer_id: str
    mrr: tuple[tuple[int, int], ...]
    at_risk: tuple[tuple[int, int], ...]
    movements: tuple[Movement, ...]
    trials: tuple[TrialOutcome, ...]
    #: Asked for (``compute_customers(segments=True)``): the customer's changes to every stored
    #: segment (``segments.SegmentChange``). Not part of equality: the figures above are the
    #: customer's result whether or not their split was computed too.
    segments: tuple[tuple, ...] | None = field(default=None, compare=False)

    @property
    def first_paid_day(self) -> int | None:
        """The first day the customer ended with MRR > 0 (their cohort's day)."""
        return next((day for day, value in self.mrr if value > 0), None)


def subscription_value(components: Sequence[Component], conv: Converter) -> int:
    """A subscription's MRR in reporting minor units: each component rounded once, never < 0."""
    total = 0
    for c in components:
        total += conv.minor(c.monthly, c.currency, c.rate_day)
    return max(0, total)


def churn_reason(history: SubscriptionHistory, at: int) -> ChurnReason:
    """Why a subscription stopped counting by instant ``at`` (METRICS.md §3).

    Ended: ``cancellation_details.reason`` decides; without one, its latest invoice unpaid when it
    ended means involuntary, otherwise voluntary. Not ended but ``unpaid``: dunning ran out,
    involuntary. Anything else that brings it to zero (paused, a 100 % coupon added, quantity 0) is
    the customer's or merchant's choice: voluntary.
    """
    sub = history.subscription
    if sub.ended_at is not None and sub.ended_at <= at:
        known = _REASONS.get(sub.cancellation_reason or "")
        if known is not None:
            return known
        return "involuntary" if history.ended_unpaid else "voluntary"
    if history.life.status_at(at) == "unpaid":
        return "involuntary"
    return "voluntary"


def customer_result(
    customer_id: str,
    histories: Sequence[SubscriptionHistory],
    calendar: LocalCalendar,
    conv: Converter,
    until: int,
) -> CustomerResult:
    """Walk one customer's subscription changes day by day (only days with a change)."""
    events: list[tuple[int, int, int, object]] = []
    for index, history in enumerate(histories):
        events.extend((t, 0, index, comps) for t, comps in history.steps)
        events.extend((t, 1, index, flag) for t, flag in history.life.risk[1:] if t <= until)
        ended = history.life.trial_ended_at
        if ended is not None and ended <= until:
            events.append((ended, 2, index, None))
    events.sort(key=lambda e: e[:3])
    walker = _Walker(customer_id, histories, calendar, conv)
    position, total = 0, len(events)
    while position < total:
        day = calendar.day_of(events[position][0])
        end = calendar.next_midnight(day)
        touched: set[int] = set()
        trials: list[int] = []
        while position < total and events[position][0] < end:
            _, kind, index, payload = events[position]
            position += 1
            if kind == 0:
                walker.comps[index] = payload  # type: ignore[assignment]
                touched.add(index)
            elif kind == 1:
                walker.risky[index] = bool(payload)
            else:
                trials.append(index)
        walker.close_day(day, end - 1, touched, trials)
    return walker.result()


class _Walker:
    """The running state of one customer's walk: day-end components and values per subscription."""

    def __init__(
        self,
        customer_id: str,
        histories: Sequence[SubscriptionHistory],
        calendar: LocalCalendar,
        conv: Converter,
    ) -> None:
        n = len(histories)
        self.customer_id = customer_id
        self.histories = histories
        self.conv = conv
        self.comps: list[tuple[Component, ...]] = [()] * n
        self.risky = [False] * n
        self.prev_comps: list[tuple[Component, ...]] = [()] * n
        self.values = [0] * n
        self.mrr = 0
        self.risk = 0
        self.paid_before = False
        self.mrr_steps: list[tuple[int, int]] = []
        self.risk_steps: list[tuple[int, int]] = []
        self.movements: list[Movement] = []
        self.trials: list[TrialOutcome] = []

    def close_day(self, day: int, day_end: int, touched: set[int], trials: list[int]) -> None:
        before = self.mrr
        old_values = list(self.values)
        for index in touched:
            self.values[index] = subscription_value(self.comps[index], self.conv)
        after = sum(self.values)
        changed = sorted(touched)
        if before != after or any(self.values[i] != old_values[i] for i in changed):
            self._classify(day, day_end, before, after, changed, old_values)
        if after != before:
            self.mrr_steps.append((day, after))
        self.mrr = after
        risk = sum(v for v, r in zip(self.values, self.risky, strict=True) if r)
        if risk != self.risk:
            self.risk_steps.append((day, risk))
            self.risk = risk
        for index in trials:
            sub_id = self.histories[index].subscription.id
            self.trials.append(TrialOutcome(sub_id, day, self.values[index] > 0))
        for index in changed:
            self.prev_comps[index] = self.comps[index]

    def _ids(self, indexes: list[int], first: int | None = None) -> tuple[str, ...]:
        ids = sorted(self.histories[i].subscription.id for i in indexes if i != first)
        if first is not None:
            ids.insert(0, self.histories[first].subscription.id)
        return tuple(ids)

    def _classify(
        self,
        day: int,
        day_end: int,
        before: int,
        after: int,
        changed: list[int],
        old_values: list[int],
    ) -> None:
        """Classify one day's change (METRICS.md §2).

        "Paid before" is read as: ended some earlier day with MRR > 0. A customer whose only past
        was a trial that never converted, or a one-off invoice, is ``new`` when they first pay; a
        customer who comes back after any gap is a ``reactivation`` (no window, as §6 says). The
        sign of the movement in the customer's own currency decides expansion or contraction;
        what exchange rates alone did is ``fx``, never either of them.
        """
        moved = [i for i in changed if self.values[i] != old_values[i]]
        new = self.values
        if before == 0 and after > 0:
            kind: MovementType = "reactivation" if self.paid_before else "new"
            self._add(day, kind, before, after, moved)
        elif before > 0 and after == 0:
            ending = max(moved, key=lambda i: (old_values[i], self.histories[i].subscription.id))
            reason = churn_reason(self.histories[ending], day_end)
            self._add(day, "churn", before, after, moved, reason, ending)
        elif before > 0:
            fx_total, fx_subs, own_subs = 0, [], []
            for i in changed:
                fx = self._fx_part(i, old_values[i])
                if fx:
                    fx_total += fx
                    fx_subs.append(i)
                if new[i] - old_values[i] - fx:
                    own_subs.append(i)
            if fx_total:
                self._add(day, "fx", before, before + fx_total, fx_subs)
            own = after - before - fx_total
            if own:
                kind = "expansion" if own > 0 else "contraction"
                self._add(day, kind, before + fx_total, after, own_subs)
        if after > 0:
            self.paid_before = True

    def _fx_part(self, index: int, old_value: int) -> int:
        """The part of one subscription's change that exchange rates alone make: its old
        components at the rates of the new ones (METRICS.md §1, "Currency"), minus its old value."""
        old, new = self.prev_comps[index], self.comps[index]
        if not any(c.rate_day is not None for c in old):
            return 0
        days = {c.key: c.rate_day for c in new}
        rebased = [
            Component(c.key, c.currency, c.monthly, days.get(c.key, c.rate_day)) for c in old
        ]
        return subscription_value(rebased, self.conv) - old_value

    def _add(
        self,
        day: int,
        kind: MovementType,
        before: int,
        after: int,
        subs: list[int],
        reason: ChurnReason | None = None,
        deciding: int | None = None,
    ) -> None:
        ids = self._ids(subs, deciding)
        self.movements.append(
            Movement(day, self.customer_id, kind, after - before, before, after, reason, ids)
        )

    def result(self) -> CustomerResult:
        return CustomerResult(
            self.customer_id,
            tuple(self.mrr_steps),
            tuple(self.risk_steps),
            tuple(self.movements),
            tuple(self.trials),
        )
