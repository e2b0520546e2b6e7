"""What a subscription does on its own as time passes: renew, end a trial, end, drop a coupon.

- At a period end Stripe moves every item's ``current_period_start/end`` one interval on (counted
  from ``billing_cycle_anchor``) and creates a ``subscription_cycle`` draft invoice billing the
  new period in advance, metered usage of the finished period in arrears, and the pending
  invoice items (prorations, one-offs). The invoice's own ``period_start/end`` is the finished
  period: the window in which its pending items accrued.
- A trial's end is a period end: the subscription becomes ``active`` and the first paid invoice
  is that cycle invoice. A trial scripted to lapse (``Changes.trial_lapses``) is canceled then
  instead; what a trial without a payment method does (cancel, pause, or invoice and fail) is
  ``trials``.
- Three days before a trial ends Stripe sends ``customer.subscription.trial_will_end``.
- A subscription set to cancel at period end ends then, with no renewal invoice (only a final
  one if metered usage is owed).
- A ``repeating`` coupon's discount is removed from the subscription (or its item) at its ``end``.
"""

from __future__ import annotations

from stripe_kpi.simulator.billing.ledger import Applied, StripeDict, SubState
from stripe_kpi.simulator.billing.payments import Payments
from stripe_kpi.simulator.clock import DAY

TRIAL_NOTICE = 3 * DAY


class Renewals(Payments):
    """Payments plus the subscription lifecycle driven by the clock."""

    def set_period(self, st: SubState, start: int, end: int) -> None:
        for item in st.items:
            item["current_period_start"] = start
            item["current_period_end"] = end
        st.version += 1
        self.schedule(end, "period_end", st.id, st.version)

    def _on_period_end(self, sub_id: str, at: int, version: int) -> None:
        st = self.subs[sub_id]
        if version != st.version or not st.live():
            return
        sub = st.obj
        if sub["cancel_at_period_end"] or sub["cancel_at"] == at:
            self._final_usage_invoice(st, at)
            self.end_subscription(
                st, at, reason=sub["cancellation_details"]["reason"] or "cancellation_requested"
            )
            return
        if sub["status"] == "trialing" and self.trial_ends_unconverted(st, at):
            return
        self.renew(st, at)

    def trial_ends_unconverted(self, st: SubState, at: int) -> bool:
        """Does the trial ending at ``at`` end without a renewal? A scripted lapse cancels it
        here; ``trials.Trials`` adds the trials that end without a payment method."""
        if not st.lapses:
            return False
        self.end_subscription(st, at, reason="cancellation_requested")
        return True

    def renew(self, st: SubState, at: int) -> None:
        """Start the next period and bill it (a trial's end starts the first paid period)."""
        sub = st.obj
        before = self.log.before(sub, at)
        finished = st.period
        st.period_n += 1
        start, end = st.boundary(st.period_n), st.boundary(st.period_n + 1)
        if sub["status"] == "trialing":
            sub["status"] = "active"
        self.set_period(st, start, end)
        invoice_id = self.ids.new("in")
        lines = []
        for item in st.items:
            if item["price"]["recurring"]["usage_type"] == "metered":
                lines.append(self.usage_line(invoice_id, st, item, *finished))
            else:
                lines.append(self.period_line(invoice_id, st, item, start, end, trial=False))
        paused = sub["pause_collection"]
        invoice = self.issue_invoice(
            invoice_id,
            sub["customer"],
            st,
            at,
            billing_reason="subscription_cycle",
            lines=lines,
            period=finished,
            finalize="never" if sub["status"] == "unpaid" or paused else "later",
            currency=sub["currency"],
        )
        if paused is not None:
            self.paused_renewal(invoice, paused["behavior"], at)
        self.emit("customer.subscription.updated", sub, at, before)

    def paused_renewal(self, invoice: StripeDict, behavior: str, at: int) -> None:
        """A renewal while collection is paused: left a draft, voided at once, or finalized and
        marked uncollectible; never charged (see ``pauses``)."""
        if behavior == "keep_as_draft":
            return
        before = self.log.before(invoice, at)
        self.number_invoice(invoice, at)
        invoice["auto_advance"] = False
        # The customer's balance is not applied to an invoice that will not be collected.
        invoice["starting_balance"] = 0
        invoice["amount_due"] = max(invoice["total"], 0)
        invoice["ending_balance"] = min(invoice["total"], 0)
        invoice["amount_remaining"] = 0 if behavior == "void" else invoice["amount_due"]
        if behavior == "void":
            invoice["status"] = "void"
            invoice["status_transitions"]["voided_at"] = at
            self.emit(("invoice.voided", "invoice.updated"), invoice, at, before)
        else:
            invoice["status"] = "uncollectible"
            invoice["status_transitions"]["marked_uncollectible_at"] = at
            self.emit(("invoice.marked_uncollectible", "invoice.updated"), invoice, at, before)

    def _final_usage_invoice(self, st: SubState, at: int) -> None:
        metered = [i for i in st.items if st.usage.get(i["id"])]
        if not metered:
            return
        invoice_id = self.ids.new("in")
        start, end = st.period
        lines = [self.usage_line(invoice_id, st, item, start, end) for item in metered]
        self.issue_invoice(
            invoice_id,
            st.obj["customer"],
            st,
            at,
            billing_reason="subscription_cycle",
            lines=lines,
            period=(start, end),
            finalize="later",
            currency=st.obj["currency"],
        )

    def _on_notice(self, sub_id: str, at: int, _: int) -> None:
        st = self.subs[sub_id]
        if st.obj["status"] == "trialing":
            self.emit("customer.subscription.trial_will_end", st.obj, at)

    def _on_discount_end(self, discount_id: str, at: int, _: int) -> None:
        discount = self.discounts[discount_id]
        st = self.subs[discount["subscription"]]
        applied = next((a for a in st.applied if a.discount["id"] == discount_id), None)
        if applied is None or not st.live():
            return
        self.remove_discount(st, applied, at)

    def remove_discount(
        self, st: SubState, applied: Applied, at: int, *, announce: bool = True
    ) -> None:
        """Take a discount off the subscription, or off the item it is attached to.

        ``announce=False`` leaves ``customer.subscription.updated`` to the caller: a change
        that also does other things (a schedule's phase) is one update, with one event showing
        the subscription as the change left it, never a half-changed one in between."""
        sub, discount = st.obj, applied.discount
        before = self.log.before(sub, at) if announce else None
        holders = (
            [sub] if applied.item is None else [i for i in st.items if i["id"] == applied.item]
        )
        for holder in holders:
            holder["discounts"] = [d for d in holder["discounts"] if d != discount["id"]]
        st.applied.remove(applied)
        self.emit("customer.discount.deleted", discount, at)
        if announce:
            self.emit("customer.subscription.updated", sub, at, before)

    def item_lines(
        self, invoice_id: str, st: SubState, start: int, end: int, *, trial: bool
    ) -> list[StripeDict]:
        """Advance-billed lines of every licensed item for ``[start, end)``."""
        return [
            self.period_line(invoice_id, st, item, start, end, trial=trial)
            for item in st.items
            if item["price"]["recurring"]["usage_type"] == "licensed"
        ]
