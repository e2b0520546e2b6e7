"""Cash that is not MRR, and a customer who leaves for good: the few customers of
``saas.generate_account`` who get a one-off invoice, a credit note, or are deleted.

- About 3 % buy consulting on an invoice of its own (``create_invoice``: no subscription, lines
  from one-off invoice items), a day or two of it, sometimes with a training session.
- About 3 % get a credit note on their latest invoice (a share of what is left to credit, for
  a reason Stripe knows), refunded or credited outside Stripe.
- About 1.5 % are deleted by the merchant (``DELETE /v1/customers/{id}``): their subscriptions end
  that instant and nothing more happens to them.

METRICS.md §1 excludes all of it from MRR except the deletion, which is a churn on its day.
Each customer draws these from a random stream of their own, so every other step of their life
(and every other customer) is drawn as before.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.clock import DAY

StripeDict = dict[str, Any]

ONE_OFF_SHARE = 0.03
CREDIT_NOTE_SHARE = 0.03
DELETION_SHARE = 0.015
_REASONS = ("product_unsatisfactory", "order_change", "duplicate", None)


def plan_cash(rng: random.Random, signup: int, end: int) -> list[tuple[int, str, dict[str, Any]]]:
    """``(at, kind, args)`` steps of one customer (most customers: none)."""
    steps: list[tuple[int, str, dict[str, Any]]] = []
    if rng.random() < ONE_OFF_SHARE:
        at = signup + int(rng.uniform(10, 300) * DAY)
        days = rng.choice([1, 1, 2])
        training = rng.random() < 0.4
        steps.append((at, "cash_invoice", {"days": days, "training": training}))
    if rng.random() < CREDIT_NOTE_SHARE:
        at = signup + int(rng.uniform(5, 200) * DAY)
        share = rng.choice([0.25, 0.5, 1.0])
        reason = rng.choice(_REASONS)
        steps.append((at, "cash_credit", {"share": share, "reason": reason,
                                          "refund": rng.random() < 0.8}))  # fmt: skip
    if rng.random() < DELETION_SHARE:
        steps.append((signup + int(rng.uniform(60, 500) * DAY), "cash_delete", {}))
    return [step for step in steps if step[0] < end]


def run_cash_step(
    acct: BillingAccount,
    customer: StripeDict,
    subs: list[StripeDict],
    at: datetime,
    kind: str,
    args: dict[str, Any],
) -> None:
    """Run one step for ``customer`` (not deleted): an invoice of consulting, a credit note on
    the newest creditable latest invoice of their subscriptions ``subs`` (none: nothing), or
    their deletion."""
    if kind == "cash_invoice":
        currency = customer["currency"] or acct.currency
        for _ in range(args["days"]):
            acct.add_invoice_item(customer, 120000, at, description="Consulting day",
                                  currency=currency)  # fmt: skip
        if args["training"]:
            acct.add_invoice_item(customer, 45000, at, description="Training session")
        acct.create_invoice(customer, at)
    elif kind == "cash_credit":
        invoice = _latest_creditable(acct, subs)
        if invoice is None:
            return
        left = _left_to_credit(invoice)
        amount = max(1, int(left * args["share"]))
        acct.issue_credit_note(invoice, amount, at, reason=args["reason"], refund=args["refund"])
    elif kind == "cash_delete":
        acct.delete_customer(customer, at)


def _left_to_credit(invoice: StripeDict) -> int:
    """An untaxed invoice's total less what credit notes already took from it."""
    pre, post = (
        invoice["pre_payment_credit_notes_amount"],
        invoice["post_payment_credit_notes_amount"],
    )
    return invoice["total"] - pre - post


def _latest_creditable(acct: BillingAccount, subs: list[StripeDict]) -> StripeDict | None:
    """The newest latest invoice of ``subs`` that is open or paid, untaxed, not all credited."""
    found = None
    for sub in subs:
        invoice = acct.invoices.get(sub["latest_invoice"] or "")
        if (
            invoice is not None
            and invoice["status"] in ("open", "paid")
            and not invoice["total_taxes"]
            and _left_to_credit(invoice) > 0
            and (found is None or invoice["created"] >= found["created"])
        ):
            found = invoice
    return found
