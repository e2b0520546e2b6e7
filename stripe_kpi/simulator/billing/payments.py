"""Collecting invoices: finalization, payment attempts, retries and the end of dunning.

Stripe finalizes a renewal draft about an hour after creating it, applies the customer's credit
balance (a negative total becomes credit for the next invoice), then charges the default payment
method (the subscription's ``default_payment_method``, else the customer's
``invoice_settings.default_payment_method``; with neither the attempt fails, as a declined card
does). A ``$0`` invoice is paid at once. A ``send_invoice`` invoice gets a ``due_date`` and is
paid by the customer (here: a few days later). Failed charges follow ``DunningPolicy``.
"""

from __future__ import annotations

from stripe_kpi.simulator.billing.ledger import Ledger, StripeDict, SubState
from stripe_kpi.simulator.clock import DAY

#: Days after finalization a ``send_invoice`` customer pays (bank transfer, no dunning).
SEND_INVOICE_PAYS_AFTER_DAYS = 5
#: Stripe's default ``days_until_due`` for ``send_invoice`` when none is given.
DEFAULT_DAYS_UNTIL_DUE = 30


class Payments(Ledger):
    """Ledger plus the money side: finalize, charge, retry, give up."""

    def number_invoice(self, invoice: StripeDict, at: int) -> None:
        """What every finalization does: the customer's next number, finalized (and effective)
        now, no automatic finalization or payment attempt pending."""
        customer = self.customers[invoice["customer"]]
        sequence = customer["next_invoice_sequence"]
        customer["next_invoice_sequence"] = sequence + 1
        invoice["number"] = f"{customer['invoice_prefix']}-{sequence:04d}"
        invoice["status_transitions"]["finalized_at"] = invoice["effective_at"] = at
        invoice["automatically_finalizes_at"] = invoice["next_payment_attempt"] = None

    def finalize(self, invoice: StripeDict, at: int) -> None:
        """Draft → open: number, customer balance applied, then the payment attempt."""
        customer = self.customers[invoice["customer"]]
        self.number_invoice(invoice, at)
        invoice["status"] = "open"
        slug = invoice["id"][3:]
        invoice["hosted_invoice_url"] = f"https://invoice.stripe.com/i/{self.account['id']}/{slug}"
        invoice["invoice_pdf"] = f"https://pay.stripe.com/invoice/{self.account['id']}/{slug}/pdf"
        invoice["webhooks_delivered_at"] = at
        starting = customer["balance"]
        net = invoice["total"] + starting
        invoice["starting_balance"] = starting
        invoice["amount_due"] = invoice["amount_remaining"] = max(net, 0)
        invoice["ending_balance"] = min(net, 0)
        if customer["balance"] != invoice["ending_balance"]:
            before = self.log.before(customer, at)
            customer["balance"] = invoice["ending_balance"]
            self.emit("customer.updated", customer, at, before)
        if invoice["collection_method"] == "send_invoice":
            st = self.subscription_state(invoice)
            days = st.obj["days_until_due"] if st else None
            invoice["due_date"] = at + (days or DEFAULT_DAYS_UNTIL_DUE) * DAY
        self.emit("invoice.finalized", invoice, at)
        if invoice["amount_due"] == 0:
            self.mark_paid(invoice, at)
        elif invoice["collection_method"] == "send_invoice":
            self.schedule(at + SEND_INVOICE_PAYS_AFTER_DAYS * DAY, "collect", invoice["id"])
        else:
            self.attempt_payment(invoice, at)

    def mark_paid(self, invoice: StripeDict, at: int, before: StripeDict | None = None) -> None:
        if before is None:
            before = self.log.before(invoice, at)
        invoice["status"] = "paid"
        invoice["attempted"] = True
        invoice["amount_paid"] = invoice["amount_due"]
        invoice["amount_remaining"] = 0
        invoice["next_payment_attempt"] = None
        invoice["status_transitions"]["paid_at"] = at
        if invoice["amount_paid"] > 0:
            self.charges[invoice["id"]] = (self.ids.new("ch"), self.ids.new("pi"))
        self.emit(
            ("invoice.paid", "invoice.payment_succeeded", "invoice.updated"), invoice, at, before
        )
        self.settle(invoice, at)

    def settle(self, invoice: StripeDict, at: int) -> None:
        """A failed invoice is no longer owed (paid or voided): the customer is no longer
        delinquent, and a ``past_due`` subscription with nothing else failing is ``active``."""
        st = self.subscription_state(invoice)
        if st is None or invoice["id"] not in st.failing:
            return
        st.failing.discard(invoice["id"])
        self.set_delinquent(invoice["customer"], False, at)
        if not st.failing and st.obj["status"] == "past_due":
            before = self.log.before(st.obj, at)
            st.obj["status"] = "active"
            self.emit("customer.subscription.updated", st.obj, at, before)

    def has_payment_method(self, customer_id: str, st: SubState | None = None) -> bool:
        """Is there a payment method to charge: the subscription's default, else the
        customer's invoice default?"""
        if st is not None and st.obj["default_payment_method"]:
            return True
        return bool(self.customers[customer_id]["invoice_settings"]["default_payment_method"])

    def attempt_payment(self, invoice: StripeDict, at: int) -> None:
        """Charge the customer's card; a decline (or no payment method) starts or continues
        dunning."""
        st = self.subscription_state(invoice)
        before = self.log.before(invoice, at)
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        declined = st is not None and (
            (st.failure is not None and st.failure.declines(at))
            or not self.has_payment_method(invoice["customer"], st)
        )
        if st is None or not declined:
            self.mark_paid(invoice, at, before)
            return
        retry_at = self.dunning.next_attempt(invoice["attempt_count"], at)
        invoice["next_payment_attempt"] = retry_at
        st.failing.add(invoice["id"])
        self.emit(("invoice.payment_failed", "invoice.updated"), invoice, at, before)
        self.set_delinquent(invoice["customer"], True, at)
        sub = st.obj
        if sub["status"] == "active":
            before = self.log.before(sub, at)
            sub["status"] = "past_due"
            self.emit("customer.subscription.updated", sub, at, before)
        if retry_at is not None:
            self.schedule(retry_at, "retry", invoice["id"])
        else:
            self._dunning_exhausted(invoice, st, at)

    def _dunning_exhausted(self, invoice: StripeDict, st: SubState, at: int) -> None:
        st.failing.discard(invoice["id"])
        if self.dunning.mark_uncollectible:
            before = self.log.before(invoice, at)
            invoice["status"] = "uncollectible"
            invoice["status_transitions"]["marked_uncollectible_at"] = at
            invoice["status_details"] = {"uncollectible": {"reason": "max_payment_attempts"}}
            invoice["auto_advance"] = False
            self.emit(("invoice.marked_uncollectible", "invoice.updated"), invoice, at, before)
        if not st.live():
            return
        if self.dunning.subscription_end == "cancel":
            self.end_subscription(st, at, reason="payment_failed")
        elif self.dunning.subscription_end == "unpaid":
            before = self.log.before(st.obj, at)
            st.obj["status"] = "unpaid"
            self.emit("customer.subscription.updated", st.obj, at, before)

    def set_delinquent(self, customer_id: str, delinquent: bool, at: int) -> None:
        customer = self.customers[customer_id]
        if customer["delinquent"] != delinquent:
            before = self.log.before(customer, at)
            customer["delinquent"] = delinquent
            self.emit("customer.updated", customer, at, before)

    def end_subscription(self, st: SubState, at: int, *, reason: str) -> None:
        """The subscription is over: ``canceled`` with ``ended_at``; nothing more is billed.

        ``canceled_at`` keeps the time a scheduled cancellation was asked for, as Stripe does.
        """
        sub = st.obj
        sub["status"] = "canceled"
        sub["ended_at"] = at
        if sub["canceled_at"] is None:
            sub["canceled_at"] = at
        sub["cancellation_details"]["reason"] = reason
        st.version += 1
        self.emit("customer.subscription.deleted", sub, at)

    # -- queued actions ----------------------------------------------------------------------

    def _on_finalize(self, invoice_id: str, at: int, _: int) -> None:
        invoice = self.invoices[invoice_id]
        if invoice["status"] == "draft":
            self.finalize(invoice, at)

    def _on_retry(self, invoice_id: str, at: int, _: int) -> None:
        invoice = self.invoices[invoice_id]
        if invoice["status"] != "open":
            return
        st = self.subscription_state(invoice)
        if st is not None and not st.live():  # no retries once the subscription is gone
            before = self.log.before(invoice, at)
            invoice["next_payment_attempt"] = None
            self.emit("invoice.updated", invoice, at, before)
            return
        self.attempt_payment(invoice, at)

    def _on_collect(self, invoice_id: str, at: int, _: int) -> None:
        invoice = self.invoices[invoice_id]
        if invoice["status"] == "open":
            self.mark_paid(invoice, at)
