"""Invoice arithmetic: what a price charges, prorations, discounts, taxes and totals.

Pure functions over Stripe-shaped dicts, in integer minor units. Where Stripe rounds, we round
half away from zero on the exact rational value (``Fraction``), once per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from stripe_kpi.simulator.clock import format_day

StripeDict = dict[str, Any]

ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
     "xaf", "xof", "xpf"}
)  # fmt: skip
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


def round_half_up(value: Fraction) -> int:
    """Round to the nearest integer, halves away from zero (so a credit mirrors its debit)."""
    magnitude = (abs(value) * 2 + 1) // 2
    return int(magnitude if value >= 0 else -magnitude)


def price_amount(price: StripeDict, quantity: int) -> int:
    """What ``price`` charges for ``quantity`` in one period (per-unit, volume or graduated)."""
    if price["billing_scheme"] != "tiered":
        return price["unit_amount"] * quantity
    tiers = price["tiers"]
    if price["tiers_mode"] == "volume":
        for tier in tiers:
            if tier["up_to"] is None or quantity <= tier["up_to"]:
                return (tier["unit_amount"] or 0) * quantity + (tier["flat_amount"] or 0)
    total, floor = 0, 0
    for tier in tiers:  # graduated: each tier charges the units that fall into it
        ceiling = tier["up_to"]
        top = quantity if ceiling is None else min(quantity, ceiling)
        if top <= floor:
            break
        total += (tier["unit_amount"] or 0) * (top - floor) + (tier["flat_amount"] or 0)
        floor = top
    return total


def prorated(amount: int, remaining: int, period: int) -> int:
    """Stripe prorates to the second: ``amount × remaining / period``, rounded once."""
    return round_half_up(Fraction(amount * remaining, period))


def format_money(amount: int, currency: str) -> str:
    """``$1,000.00``, ``€9.50``, ``¥1,200``: how Stripe writes amounts in line descriptions."""
    symbol = _SYMBOLS.get(currency, currency.upper() + " ")
    if currency in ZERO_DECIMAL:
        return f"{symbol}{amount:,}"
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}"


def interval_words(price: StripeDict) -> str:
    recurring = price["recurring"]
    count, interval = recurring["interval_count"], recurring["interval"]
    return interval if count == 1 else f"every {count} {interval}s"


def period_description(price: StripeDict, product_name: str, quantity: int) -> str:
    """``5 × Seats (at $10.00 / month)``; tiered prices show no unit amount."""
    if price["billing_scheme"] == "tiered":
        return f"{quantity} × {product_name} (tiered, per {interval_words(price)})"
    unit = format_money(price["unit_amount"], price["currency"])
    return f"{quantity} × {product_name} (at {unit} / {interval_words(price)})"


def proration_description(credit: bool, product_name: str, quantity: int, since: int) -> str:
    """``Unused time on 5 × Seats after 11 Jan 2026`` / ``Remaining time on …``."""
    what = product_name if quantity == 1 else f"{quantity} × {product_name}"
    verb = "Unused time on" if credit else "Remaining time on"
    return f"{verb} {what} after {format_day(since)}"


def percent_discount(amount: int, percent_off: float) -> int:
    """The part of ``amount`` a ``percent_off`` coupon takes, rounded like a line amount."""
    return round_half_up(Fraction(amount) * Fraction(str(percent_off)) / 100)


def coupon_applies(coupon: StripeDict, product: str | None) -> bool:
    """Whether ``coupon`` may discount what ``product`` sells (no ``applies_to``: everything)."""
    limited = coupon.get("applies_to")
    return limited is None or product in limited["products"]


def line_product(line: StripeDict) -> str | None:
    """The product a line bills (None: a custom amount with no price)."""
    pricing = line.get("pricing")
    return pricing["price_details"]["product"] if pricing else None


def apply_discount(lines: list[StripeDict], coupon: StripeDict, discount_id: str) -> None:
    """Write a subscription discount onto an invoice's lines (``discounts``, ``discount_amounts``).

    ``percent_off`` takes its share of every discountable line. ``amount_off`` is taken once per
    invoice, at most the discountable total, spread over positive lines in proportion to their
    amounts (the last line takes the rounding). Prorations already carry their discount in their
    amount (flexible billing mode, ``proration_discounts=included``), so they list the discount
    with an amount of 0.

    A coupon with ``applies_to`` discounts only the lines of those products, both kinds alike:
    Stripe's ``applies_to`` "limits the items in an invoice that the coupon can apply to, but does
    not add restrictions to subscriptions" (stripe.com/docs/billing/subscriptions/discounts), so
    a percentage is taken from the eligible lines only, and a fixed amount from their total at
    most, spread over them. Lines of other products, and custom lines with no product, are not
    discounted and do not list the discount.
    """
    targets = [
        line
        for line in lines
        if line["discountable"] and coupon_applies(coupon, line_product(line))
    ]
    for line in targets:
        line["discounts"].append(discount_id)
    regular = [line for line in targets if not _is_proration(line)]
    amounts: dict[str, int] = {}
    if coupon["percent_off"] is not None:
        for line in regular:
            amounts[line["id"]] = percent_discount(line["amount"], coupon["percent_off"])
    else:
        positive = [line for line in regular if line["amount"] > 0]
        base = sum(line["amount"] for line in positive)
        take = min(coupon["amount_off"], base)
        left = take
        for i, line in enumerate(positive):
            share = left if i == len(positive) - 1 else take * line["amount"] // base
            amounts[line["id"]] = share
            left -= share
    for line in targets:
        amount = amounts.get(line["id"], 0)
        line["discount_amounts"].append({"amount": amount, "discount": discount_id})
        line["pretax_credit_amounts"].append(
            {"amount": amount, "credit_balance_transaction": None, "discount": discount_id,
             "type": "discount"}
        )  # fmt: skip


def _is_proration(line: StripeDict) -> bool:
    parent = line["parent"]
    details = parent["subscription_item_details"] or parent["invoice_item_details"]
    return bool(details["proration"])


def apply_taxes(line: StripeDict, rates: Iterable[StripeDict]) -> None:
    """Tax a line on its amount net of discounts.

    An exclusive rate adds ``net × p%`` on top; an inclusive rate finds the tax inside the
    amount: ``net × p / (100 + p)``, so the total stays the price.
    """
    net = line["amount"] - sum(d["amount"] for d in line["discount_amounts"])
    taxes = []
    for rate in rates:
        pct = Fraction(str(rate["percentage"]))
        if rate["inclusive"]:
            tax = round_half_up(Fraction(net) * pct / (100 + pct))
            taxable = net - tax
        else:
            tax = round_half_up(Fraction(net) * pct / 100)
            taxable = net
        taxes.append(
            {
                "amount": tax,
                "tax_behavior": "inclusive" if rate["inclusive"] else "exclusive",
                "tax_rate_details": {"tax_rate": rate["id"]},
                "taxability_reason": "standard_rated",
                "taxable_amount": taxable,
                "type": "tax_rate_details",
            }
        )
    line["taxes"] = taxes


def fill_totals(invoice: StripeDict, inclusive_rates: dict[str, StripeDict]) -> None:
    """Invoice totals from its lines, as Stripe reports them.

    ``subtotal`` sums line amounts (before discounts; inclusive tax inside); ``total`` subtracts
    discounts and adds exclusive tax; ``*_excluding_tax`` take every tax out. The
    ``subtotal_excluding_tax`` of an inclusive line is its amount less the tax its gross amount
    contains.
    """
    lines = invoice["lines"]["data"]
    subtotal = sum(line["amount"] for line in lines)
    discounts: dict[str, int] = {}
    taxes: dict[tuple[str, str], list[int]] = {}
    inclusive_in_gross = 0
    for line in lines:
        for d in line["discount_amounts"]:
            discounts[d["discount"]] = discounts.get(d["discount"], 0) + d["amount"]
        for tax in line["taxes"]:
            key = (tax["tax_rate_details"]["tax_rate"], tax["tax_behavior"])
            sums = taxes.setdefault(key, [0, 0])
            sums[0] += tax["amount"]
            sums[1] += tax["taxable_amount"]
            if tax["tax_behavior"] == "inclusive":
                pct = Fraction(str(inclusive_rates[key[0]]["percentage"]))
                inclusive_in_gross += round_half_up(Fraction(line["amount"]) * pct / (100 + pct))
    discount_total = sum(discounts.values())
    exclusive = sum(s[0] for (_, behavior), s in taxes.items() if behavior == "exclusive")
    all_tax = sum(s[0] for s in taxes.values())
    total = subtotal - discount_total + exclusive
    invoice["subtotal"] = subtotal
    invoice["subtotal_excluding_tax"] = subtotal - inclusive_in_gross
    invoice["total"] = total
    invoice["total_excluding_tax"] = total - all_tax
    invoice["total_discount_amounts"] = [
        {"amount": amount, "discount": discount_id} for discount_id, amount in discounts.items()
    ]
    invoice["total_pretax_credit_amounts"] = [
        {"amount": amount, "credit_balance_transaction": None, "discount": discount_id,
         "type": "discount"}
        for discount_id, amount in discounts.items()
    ]  # fmt: skip
    invoice["total_taxes"] = [
        {"amount": amount, "tax_behavior": behavior, "tax_rate_details": {"tax_rate": rate_id},
         "taxability_reason": "standard_rated", "taxable_amount": taxable,
         "type": "tax_rate_details"}
        for (rate_id, behavior), (amount, taxable) in taxes.items()
    ]  # fmt: skip
