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


def price_amount(price: StripeDict, quantity: int, currency: str | None = None) -> int:
    """What ``price`` charges for ``quantity`` in one period (per-unit, volume or graduated).

    Billed in a ``currency`` other than the price's own, the price charges its
    ``currency_options`` entry for that currency ("Prices defined in each available currency
    option", the Price object's ``currency_options``; docs.stripe.com/products-prices/
    how-products-and-prices-work#multiple-currencies: one price, a customer charged in one of its
    currencies), its ``unit_amount`` or its ``tiers``.
    """
    price = billed_terms(price, currency)
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


def billed_terms(price: StripeDict, currency: str | None) -> StripeDict:
    """``price`` as it bills in ``currency``: itself, or its unit amount and tiers replaced by
    those of its currency option (a ``ValueError`` when it has none for that currency)."""
    if currency is None or currency == price["currency"]:
        return price
    option = (price.get("currency_options") or {}).get(currency)
    if option is None:
        raise ValueError(f"price {price['id']} has no {currency} currency option")
    return {**price, "currency": currency, "unit_amount": option["unit_amount"],
            "tiers": option.get("tiers") or price["tiers"]}  # fmt: skip


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


def period_description(
    price: StripeDict, product_name: str, quantity: int, currency: str | None = None
) -> str:
    """``5 × Seats (at $10.00 / month)``; tiered prices show no unit amount."""
    price = billed_terms(price, currency)
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


#: One discount to write onto an invoice: its coupon, its id, and the subscription item it is
#: attached to (None: the whole subscription).
StackEntry = tuple[StripeDict, str, "str | None"]


def stack_order(stack: Iterable[StackEntry]) -> list[StackEntry]:
    """The order Stripe takes a subscription's discounts in.

    Item discounts first: "Subscription item discounts are applied before subscription
    discounts" (the API reference of ``subscription.discounts`` and ``subscription_item.
    discounts``; for invoices "Line item discounts are applied before invoice discounts").
    Within a level each discount takes its share of what the ones before it left, percentages
    compounding ($35 × 0.95 × 0.80, as Stripe's upcoming invoice computes two stacked
    percentages: bitwarden/server#7786), and ``percent_off`` before ``amount_off`` (as
    useautumn/autumn#535 matches Stripe's stacking). Stripe's docs do not state the second
    point; within a kind, the order of the ``discounts`` list.
    """
    return sorted(stack, key=lambda e: (e[2] is None, e[0]["percent_off"] is None))


def apply_discounts(lines: list[StripeDict], stack: Iterable[StackEntry]) -> None:
    """Write a subscription's discounts onto an invoice's lines, in :func:`stack_order`."""
    for coupon, discount_id, item_id in stack_order(stack):
        apply_discount(lines, coupon, discount_id, item_id)


def apply_discount(
    lines: list[StripeDict], coupon: StripeDict, discount_id: str, item_id: str | None = None
) -> None:
    """Write one discount onto an invoice's lines (``discounts``, ``discount_amounts``).

    ``percent_off`` takes its share of what is left of every discountable line (its amount less
    the discounts already taken). ``amount_off`` is taken once per invoice, at most what is left,
    spread over positive lines in proportion to what is left of them (the last line takes the
    rounding). Prorations already carry their discount in their amount (flexible billing mode,
    ``proration_discounts=included``), so they list the discount with an amount of 0. A discount
    attached to one subscription item (``item_id``) discounts only that item's lines.

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
        if line["discountable"]
        and coupon_applies(coupon, line_product(line))
        and (item_id is None or line_item(line) == item_id)
    ]
    for line in targets:
        line["discounts"].append(discount_id)
    regular = [line for line in targets if not _is_proration(line)]
    amounts: dict[str, int] = {}
    if coupon["percent_off"] is not None:
        for line in regular:
            amounts[line["id"]] = percent_discount(left_of(line), coupon["percent_off"])
    else:
        positive = [line for line in regular if left_of(line) > 0]
        base = sum(left_of(line) for line in positive)
        take = min(coupon["amount_off"], base)
        left = take
        for i, line in enumerate(positive):
            share = left if i == len(positive) - 1 else take * left_of(line) // base
            amounts[line["id"]] = share
            left -= share
    for line in targets:
        amount = amounts.get(line["id"], 0)
        line["discount_amounts"].append({"amount": amount, "discount": discount_id})
        line["pretax_credit_amounts"].append(
            {"amount": amount, "credit_balance_transaction": None, "discount": discount_id,
             "type": "discount"}
        )  # fmt: skip


def left_of(line: StripeDict) -> int:
    """What the discounts written so far leave of a line's amount."""
    return line["amount"] - sum(d["amount"] for d in line["discount_amounts"])


def line_item(line: StripeDict) -> str | None:
    """The subscription item a line bills (None: a one-off invoice item)."""
    details = line["parent"]["subscription_item_details"]
    return details["subscription_item"] if details else None


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
