"""Trials that end without a payment method, as Stripe handles them.

A customer can start a free trial without a payment method (Checkout's
``payment_method_collection="if_required"``, or a subscription created with a trial for a
customer with none). What the trial's end does then is the subscription's
``trial_settings.end_behavior.missing_payment_method`` (docs.stripe.com/api/subscriptions/object
#subscription_object-trial_settings-end_behavior-missing_payment_method; "Configure free trials",
docs.stripe.com/billing/subscriptions/trials/free-trials#create-free-trials-without-payment):

- ``create_invoice`` (the default): the trial ends as any other, the first cycle invoice is created
  and finalized an hour later, and its payment fails for want of a payment method: the
  subscription is ``past_due`` and dunning runs (``DunningPolicy``) until the customer adds one
  (the next retry pays) or the retries run out (canceled, ``payment_failed``).
- ``pause``: the subscription becomes ``paused`` (not ``pause_collection``, which stays null): no
  invoice, no new period; ``status_details.paused`` says why (``trial_end_without_payment_method``,
  the pinned version's ``Subscription.StatusDetails``); Stripe sends
  ``customer.subscription.paused``. "A paused subscription doesn't advance to a new billing period
  or generate invoices until it resumes" (``Subscription.status``, stripe-python 2026-10-28).
- ``cancel``: the subscription is canceled at the trial's end, without an invoice
  (``customer.subscription.deleted``). Stripe's ``cancellation_details.reason`` enum has no value
  for this; we record ``cancellation_requested`` (not confirmed in Stripe's documentation).

A paused subscription resumes through ``POST /v1/subscriptions/{id}/resume``
(docs.stripe.com/api/subscriptions/resume): with ``billing_cycle_anchor=now`` (the default, the
only one modelled) the cycle restarts at the resume and no prorations are made; the resumption
invoice bills the new period in full and is charged at once. With the default
``payment_behavior=resume_on_payment_attempt`` the subscription is ``active`` at once and
``past_due`` if that payment fails; Stripe sends ``customer.subscription.resumed``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from stripe_kpi.simulator.billing.changes import Ref
from stripe_kpi.simulator.billing.ledger import StripeDict, SubState
from stripe_kpi.simulator.billing.schedules import Schedules

TrialEndBehavior = Literal["create_invoice", "pause", "cancel"]

#: ``status_details.paused.subscription.type`` of a trial that ended without a payment method.
PAUSED_AT_TRIAL_END = "trial_end_without_payment_method"
#: A status change to or from ``paused`` is also an update (``previous_attributes.status``).
_PAUSED_EVENTS = ("customer.subscription.paused", "customer.subscription.updated")
_RESUMED_EVENTS = ("customer.subscription.resumed", "customer.subscription.updated")


class Trials(Schedules):
    """Schedules plus trials that end without a payment method, payment methods added later, and
    resuming a paused subscription."""

    def trial_ends_unconverted(self, st: SubState, at: int) -> bool:
        if super().trial_ends_unconverted(st, at):
            return True
        if st.obj["collection_method"] == "send_invoice":
            return False  # the customer pays the emailed invoice: no payment method is needed
        if self.has_payment_method(st.obj["customer"], st):
            return False
        behavior = st.obj["trial_settings"]["end_behavior"]["missing_payment_method"]
        if behavior == "cancel":
            self.end_subscription(st, at, reason="cancellation_requested")
            return True
        if behavior == "pause":
            self._pause_at_trial_end(st, at)
            return True
        return False  # create_invoice: renewed, and its payment fails (payments.attempt_payment)

    def _pause_at_trial_end(self, st: SubState, at: int) -> None:
        sub = st.obj
        before = self.log.before(sub, at)
        sub["status"] = "paused"
        sub["status_details"] = {
            "paused": {
                "subscription": {"type": PAUSED_AT_TRIAL_END},
                "transitioned_at": at,
                "type": "subscription",
            }
        }
        st.version += 1  # no period runs while paused
        self.emit(_PAUSED_EVENTS, sub, at, before)

    def add_payment_method(self, customer: Ref, at: datetime | None = None) -> StripeDict:
        """The customer saves a card as their invoice default (``customer.updated``). Open
        invoices are paid at their next retry; a paused subscription waits for ``resume``."""
        cus = self._get(self.customers, customer)
        with self._api_call(at) as t:
            settings = cus["invoice_settings"]
            if settings["default_payment_method"] is None:
                before = self.log.before(cus, t)
                settings["default_payment_method"] = self.ids.new("pm")
                self.emit("customer.updated", cus, t, before)
            return cus

    def resume(self, sub: Ref, at: datetime | None = None) -> StripeDict:
        """``POST /v1/subscriptions/{id}/resume`` with ``billing_cycle_anchor=now``: a new period
        from now, billed in full on an invoice charged at once (``subscription_update``: the
        reason Stripe gives an invoice that resets the billing cycle; not confirmed for resume)."""
        st = self._state_at(sub, at)
        with self._api_call(at) as t:
            obj = st.obj
            if obj["status"] != "paused":  # as it is at ``at``, once the clock caught up
                raise ValueError(f"{st.id} is {obj['status']}, not paused")
            before = self.log.before(obj, t)
            obj["status"], obj["status_details"] = "active", None
            obj["billing_cycle_anchor"] = t
            st.anchor, st.period_n = t, 0
            end = st.boundary(1)
            self.set_period(st, t, end)
            self.emit(_RESUMED_EVENTS, obj, t, before)
            invoice_id = self.ids.new("in")
            self.issue_invoice(
                invoice_id,
                obj["customer"],
                st,
                t,
                billing_reason="subscription_update",
                lines=self.item_lines(invoice_id, st, t, end, trial=False),
                period=(t, t),
                finalize="now",
                currency=obj["currency"],
            )
            return obj
