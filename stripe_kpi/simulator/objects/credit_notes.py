"""Credit notes and their lines (``/v1/credit_notes``), in the pinned API version's shape.

A credit note adjusts a finalized invoice: "A credit note will first reduce the invoice's
``amount_remaining`` (and ``amount_due``), but not below zero. This amount is indicated by the
credit note's ``pre_payment_amount``. The excess amount is indicated by ``post_payment_amount``"
(docs.stripe.com/api/credit_notes/create). The billing engine (``billing/adjustments.py``)
decides those amounts; these builders only lay out the fields.
"""

from __future__ import annotations

from stripe_kpi.simulator.objects.common import StripeDict, list_object


def credit_note_line_item(
    *,
    id: str,
    livemode: bool,
    amount: int,
    description: str | None,
    invoice_line_item: str | None,
    quantity: int | None,
) -> StripeDict:
    """A credit note line: an amount credited on one invoice line (``type=invoice_line_item``)
    or a custom amount (``custom_line_item``), untaxed and undiscounted."""
    return {
        "amount": amount,
        "description": description,
        "discount_amount": 0,
        "discount_amounts": [],
        "id": id,
        "invoice_line_item": invoice_line_item,
        "livemode": livemode,
        "metadata": {},
        "object": "credit_note_line_item",
        "pretax_credit_amounts": [],
        "quantity": quantity,
        "tax_rates": [],
        "taxes": [],
        "type": "invoice_line_item" if invoice_line_item else "custom_line_item",
        "unit_amount": None if invoice_line_item else amount,
        "unit_amount_decimal": None if invoice_line_item else str(amount),
    }


def credit_note(
    *,
    id: str,
    account: str,
    customer: str,
    invoice: str,
    number: str,
    created: int,
    livemode: bool,
    currency: str,
    lines: list[StripeDict],
    pre_payment_amount: int,
    post_payment_amount: int,
    refund: str | None,
    out_of_band_amount: int | None,
    reason: str | None,
    memo: str | None,
) -> StripeDict:
    """An issued credit note. ``type`` follows its two parts: ``pre_payment`` when it only
    reduced what was still owed, ``post_payment`` when it credited money already paid,
    ``mixed`` for both. A post-payment amount is refunded (``refunds``) or credited outside
    Stripe (``out_of_band_amount``); customer-balance credit is not modelled."""
    amount = sum(line["amount"] for line in lines)
    if pre_payment_amount and post_payment_amount:
        kind = "mixed"
    else:
        kind = "post_payment" if post_payment_amount else "pre_payment"
    refunds = []
    if refund is not None:
        refunded = post_payment_amount - (out_of_band_amount or 0)
        refunds = [
            {
                "amount_refunded": refunded,
                "payment_record_refund": None,
                "refund": refund,
                "type": "refund",
            }
        ]
    return {
        "amount": amount,
        "amount_shipping": 0,
        "created": created,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "customer_balance_transaction": None,
        "discount_amount": 0,
        "discount_amounts": [],
        "effective_at": created,
        "id": id,
        "invoice": invoice,
        "lines": list_object(lines, f"/v1/credit_notes/{id}/lines"),
        "livemode": livemode,
        "memo": memo,
        "metadata": {},
        "number": number,
        "object": "credit_note",
        "out_of_band_amount": out_of_band_amount,
        "pdf": f"https://pay.stripe.com/credit_notes/{account}/{id[3:]}/pdf",
        "post_payment_amount": post_payment_amount,
        "pre_payment_amount": pre_payment_amount,
        "pretax_credit_amounts": [],
        "reason": reason,
        "refunds": refunds,
        "shipping_cost": None,
        "status": "issued",
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "total": amount,
        "total_excluding_tax": amount,
        "total_taxes": [],
        "type": kind,
        "voided_at": None,
    }
