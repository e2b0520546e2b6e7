"""Money that moves outside the subscription cycle: one-off invoices, credit notes, and deleted
customers.

- ``create_invoice``: ``POST /v1/invoices`` with ``pending_invoice_items_behavior=include``
  (then finalized and charged): an invoice with no subscription (``parent`` null) whose lines
  are the customer's pending one-off invoice items, a setup fee or a consulting day.
- ``issue_credit_note``: ``POST /v1/credit_notes`` on a finalized invoice. "A credit note will
  first reduce the invoice's ``amount_remaining`` (and ``amount_due``), but not below zero. This
  amount is indicated by the credit note's ``pre_payment_amount``. The excess amount is
  indicated by ``post_payment_amount``" and is refunded or credited outside Stripe; "Each credit
  note may increment the invoice's ``pre_payment_credit_notes_amount``,
  ``post_payment_credit_notes_amount``, or both" (docs.stripe.com/api/credit_notes/create).
- ``delete_customer``: ``DELETE /v1/customers/{id}``. "Permanently deletes a customer. It
  cannot be undone. Also immediately cancels any active subscriptions on the customer. …
  Unlike other objects, deleted customers can still be retrieved through the API in order to be
  able to track their history" (docs.stripe.com/api/customers/delete). The retrieve then shows
  ``{"id", "object": "customer", "deleted": true}``; the list no longer shows them; the
  ``customer.deleted`` event carries the whole customer as it was ("The event would have the
  full object from before it was deleted", Stripe's staff in stripe-dotnet#1870).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stripe_kpi.simulator import objects
from stripe_kpi.simulator.billing.ledger import StripeDict
from stripe_kpi.simulator.billing.pauses import Pauses, Ref

#: What Stripe records as ``cancellation_details.reason`` on the subscriptions a customer's
#: deletion cancels. Not documented: the enum's documented values are ``cancellation_requested``
#: (a cancel request, by the customer or the merchant), ``payment_disputed`` and
#: ``payment_failed``; a deletion is the merchant's request, so we record the first.
DELETION_CANCELLATION_REASON = "cancellation_requested"

CreditNoteReason = str  # duplicate | fraudulent | order_change | product_unsatisfactory


class Adjustments(Pauses):
    """Pauses plus one-off invoices, credit notes and customer deletion."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.credit_notes: dict[str, StripeDict] = {}
        self.deleted_customers: set[str] = set()
        #: How much of each invoice line credit notes took back so far.
        self._credited: dict[str, int] = {}

    # -- one-off invoices --------------------------------------------------------------------

    def create_invoice(
        self, customer: Ref, at: datetime | None = None, *, description: str | None = None
    ) -> StripeDict:
        """Invoice the customer's pending one-off items now, on an invoice of their own
        (``billing_reason="manual"``, no subscription), finalized and charged at once.

        Prorations waiting for a subscription's next invoice stay where they are: only items
        with no subscription are taken (Stripe's ``pending_invoice_items_behavior=include``
        takes the customer's pending items; a subscription's prorations are for its invoice).
        """
        cus = self._get(self.customers, customer)
        currency = cus["currency"] or self.currency
        waiting = [
            ii
            for ii in self.pending.get(cus["id"], [])
            if ii["parent"] is None and ii["currency"] == currency
        ]
        if not waiting:
            raise ValueError(f"customer {cus['id']} has no pending one-off invoice items")
        with self._api_call(at) as t:
            invoice = self.invoice_one_offs(cus["id"], t, currency)
            if description is not None:
                invoice["description"] = description
            return invoice

    # -- credit notes ------------------------------------------------------------------------

    def issue_credit_note(
        self,
        invoice: Ref,
        amount: int,
        at: datetime | None = None,
        *,
        reason: CreditNoteReason | None = None,
        refund: bool = True,
        memo: str | None = None,
    ) -> StripeDict:
        """Credit ``amount`` of a finalized invoice, over its lines in order (each at most what
        it billed, net of discounts, less what earlier credit notes took from it).

        On an open invoice the credit first lowers what is owed (``pre_payment_amount``; an
        invoice left owing nothing is paid); the rest, money already paid, is refunded
        (``refund``) or recorded as credited outside Stripe (``out_of_band_amount``). Taxed
        invoices are refused: the tax a credit note returns is not modelled.
        """
        inv = self._get(self.invoices, invoice)
        if inv["status"] not in ("open", "paid"):
            raise ValueError(f"only open or paid invoices take credit notes; {inv['id']} is "
                             f"{inv['status']}")  # fmt: skip
        if inv["total_taxes"]:
            raise ValueError("credit notes on taxed invoices are not modelled")
        if amount <= 0:
            raise ValueError("a credit note credits a positive amount")
        with self._api_call(at) as t:
            lines = self._credit_lines(inv, amount)
            pre = min(amount, inv["amount_remaining"]) if inv["status"] == "open" else 0
            post = amount - pre
            count = sum(1 for cn in self.credit_notes.values() if cn["invoice"] == inv["id"])
            note = objects.credit_note(
                id=self.ids.new("cn"),
                account=self.account["id"],
                customer=inv["customer"],
                invoice=inv["id"],
                number=f"{inv['number']}-CN-{count + 1:02d}",
                created=t,
                livemode=self.livemode,
                currency=inv["currency"],
                lines=lines,
                pre_payment_amount=pre,
                post_payment_amount=post,
                refund=self.ids.new("re") if post and refund else None,
                out_of_band_amount=None if refund or not post else post,
                reason=reason,
                memo=memo,
            )
            self.credit_notes[note["id"]] = note
            self.emit("credit_note.created", note, t)
            before = self.log.before(inv, t)
            inv["pre_payment_credit_notes_amount"] += pre
            inv["post_payment_credit_notes_amount"] += post
            if pre:
                inv["amount_due"] -= pre
                inv["amount_remaining"] -= pre
            if inv["status"] == "open" and inv["amount_remaining"] == 0:
                self.mark_paid(inv, t, before)
            else:
                self.emit("invoice.updated", inv, t, before)
            return note

    def _credit_lines(self, inv: StripeDict, amount: int) -> list[StripeDict]:
        """The credit note's lines; nothing is recorded unless the whole amount fits."""
        takes, left = [], amount
        for line in inv["lines"]["data"]:
            net = line["amount"] - sum(d["amount"] for d in line["discount_amounts"])
            take = min(left, net - self._credited.get(line["id"], 0))
            if take > 0:
                takes.append((line, take))
                left -= take
        if left:
            raise ValueError(f"{inv['id']} has only {amount - left} left to credit, not {amount}")
        for line, take in takes:
            self._credited[line["id"]] = self._credited.get(line["id"], 0) + take
        return [
            objects.credit_note_line_item(
                id=self.ids.new("cnli"),
                livemode=self.livemode,
                amount=take,
                description=line["description"],
                invoice_line_item=line["id"],
                quantity=line["quantity"],
            )
            for line, take in takes
        ]

    # -- deleted customers -------------------------------------------------------------------

    def delete_customer(self, customer: Ref, at: datetime | None = None) -> StripeDict:
        """Delete the customer: their subscriptions end now (``customer.subscription.deleted``,
        reason :data:`DELETION_CANCELLATION_REASON`), then ``customer.deleted``. Their pending
        invoice items are deleted with them (no invoice could take them any more: Stripe
        "prevents any further operations"; what it does with them is not documented). Returns
        what the API returns, the deleted stub."""
        cus = self._get(self.customers, customer)
        with self._api_call(at) as t:
            for st in list(self.subs.values()):
                if st.obj["customer"] == cus["id"] and st.live():
                    self.end_subscription(st, t, reason=DELETION_CANCELLATION_REASON)
            for ii in self.pending.pop(cus["id"], []):
                del self.invoiceitems[ii["id"]]
                self.emit("invoiceitem.deleted", ii, t)
            self.emit("customer.deleted", cus, t)
            self.deleted_customers.add(cus["id"])
            return deleted_stub(cus)

    def finalize(self, invoice: StripeDict, at: int) -> None:
        """A draft of a deleted customer is never finalized (nothing more is charged)."""
        if invoice["customer"] in self.deleted_customers:
            invoice["auto_advance"] = False
            return
        super().finalize(invoice, at)

    def _get(self, store: dict[str, StripeDict], ref: Ref) -> StripeDict:  # type: ignore[override]
        found = store[ref if isinstance(ref, str) else ref["id"]]
        if store is self.customers and found["id"] in self.deleted_customers:
            raise ValueError(f"customer {found['id']} is deleted")
        return found

    def shown_customers(self) -> dict[str, StripeDict]:
        """The customers as the API shows them: the deleted ones as their stub."""
        deleted = self.deleted_customers
        return {cid: deleted_stub(c) if cid in deleted else c for cid, c in self.customers.items()}


def deleted_stub(customer: StripeDict) -> StripeDict:
    """What Stripe returns for a deleted customer: ``{"id": …, "object": "customer",
    "deleted": true}`` (docs.stripe.com/api/customers/delete)."""
    return {"deleted": True, "id": customer["id"], "object": "customer"}
