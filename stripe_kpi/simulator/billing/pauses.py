"""Pausing a subscription's payment collection (``pause_collection``), as Stripe does it.

docs.stripe.com/billing/subscriptions/pause-payment: "the subscription remains ``active`` and
invoices continue to generate, but Stripe doesn't collect payment", with one of three
behaviors for the invoices of the paused time: ``keep_as_draft`` (drafts, ``auto_advance``
false), ``mark_uncollectible`` (finalized and marked uncollectible) or ``void`` (created and
immediately voided). Collection resumes at ``resumes_at`` (automatically) or when the merchant
clears ``pause_collection``. What a renewal does while paused is ``renewals.paused_renewal``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from stripe_kpi.simulator.billing.changes import Changes, Ref
from stripe_kpi.simulator.billing.ledger import StripeDict
from stripe_kpi.simulator.clock import to_unix

PauseBehavior = Literal["keep_as_draft", "mark_uncollectible", "void"]


class Pauses(Changes):
    """Changes plus pausing and resuming payment collection."""

    def pause_collection(
        self,
        sub: Ref,
        behavior: PauseBehavior = "void",
        *,
        resumes_at: datetime | None = None,
        at: datetime | None = None,
    ) -> StripeDict:
        st = self._state_at(sub, at)
        with self._api_call(at) as t:
            resume = None if resumes_at is None else to_unix(resumes_at)
            if resume is not None and resume <= t:
                raise ValueError("resumes_at must be in the future")
            before = self.log.before(st.obj, t)
            st.obj["pause_collection"] = {"behavior": behavior, "resumes_at": resume}
            self.emit("customer.subscription.updated", st.obj, t, before)
            if resume is not None:
                self.schedule(resume, "collection_resumes", st.id)
            return st.obj

    def resume_collection(self, sub: Ref, at: datetime | None = None) -> StripeDict:
        st = self._state_at(sub, at)
        with self._api_call(at) as t:
            self._resume(st.obj, t)
            return st.obj

    def _on_collection_resumes(self, sub_id: str, at: int, _: int) -> None:
        sub = self.subs[sub_id].obj
        paused = sub["pause_collection"]
        if paused is not None and paused["resumes_at"] == at:
            self._resume(sub, at)

    def _resume(self, sub: StripeDict, at: int) -> None:
        if sub["pause_collection"] is None:
            return
        before = self.log.before(sub, at)
        sub["pause_collection"] = None
        self.emit("customer.subscription.updated", sub, at, before)
