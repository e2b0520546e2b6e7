"""Money: minor units, rounding, what a price charges for a quantity, normalisation to a month.

Every amount is a ``Decimal`` in *minor units* of its currency (cents, or yen for a zero-decimal
currency) until it is rounded once, per subscription item, to an ``int`` (shared/METRICS.md §1,
"Rounding"). Floats never appear here.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from stripe_kpi.metrics.records import Price

#: Stripe's zero-decimal currencies: amounts are whole units (¥1,200 is ``1200``).
ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)
#: Stripe's three-decimal currencies: amounts are in thousandths (fils).
THREE_DECIMAL_CURRENCIES = frozenset("bhd jod kwd omr tnd".split())

ZERO = Decimal(0)
ONE = Decimal(1)
_HUNDRED = Decimal(100)
_TWELVE = Decimal(12)
# Divisions such as ×52/12 or ÷1.2 leave a tail of 28 significant digits; a true half (x.5) can
# come out as x.4999…9. Settling the tail at 12 places first makes the half-up rounding honest.
_SETTLE = Decimal("1e-12")


def minor_exponent(currency: str) -> int:
    """Digits after the decimal point in ``currency``'s minor unit (Stripe's convention)."""
    ccy = currency.lower()
    if ccy in ZERO_DECIMAL_CURRENCIES:
        return 0
    if ccy in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def round_minor(amount: Decimal) -> int:
    """Round an amount in minor units to a whole minor unit, half up (away from zero)."""
    settled = amount.quantize(_SETTLE, rounding=ROUND_HALF_EVEN)
    return int(settled.quantize(ONE, rounding=ROUND_HALF_UP))


def monthly(amount: Decimal, interval: str, interval_count: int) -> Decimal:
    """Normalise an amount billed every ``interval_count`` × ``interval`` to one month.

    month → A/n; year → A/(12n); week → A×52/(12n); day → A×365/(12n) (METRICS.md §1). One
    division at the end, so that exact results stay exact.
    """
    n = Decimal(interval_count or 1)
    if interval == "month":
        return amount / n
    if interval == "year":
        return amount / (_TWELVE * n)
    if interval == "week":
        return amount * 52 / (_TWELVE * n)
    if interval == "day":
        return amount * 365 / (_TWELVE * n)
    raise ValueError(f"unknown billing interval {interval!r}")


def price_amount(
    price: Price, quantity: int | Decimal | None, currency: str | None = None
) -> Decimal:
    """What ``price`` charges for ``quantity`` per billing period, in minor units, as Stripe bills.

    per_unit: unit × quantity, after ``transform_quantity`` (package pricing: quantity ÷ divide_by,
    rounded up or down, then × unit). tiered ``volume``: the whole quantity at the tier it falls in
    (unit × quantity + that tier's flat amount, so quantity 0 pays the first tier's flat amount).
    tiered ``graduated``: each tier charges the units that fall inside it, plus its flat amount
    when it has any units. A price with
    ``currency_options`` charges the option of the subscription's ``currency``.
    """
    q = Decimal(1 if quantity is None else quantity)
    unit, tiers = price.unit_amount, price.tiers
    if currency is not None and currency != price.currency:
        option = price.currency_option(currency)
        if option is None:
            raise ValueError(f"price {price.id} has no {currency} amount")
        unit, tiers = option
    if price.billing_scheme == "tiered":
        if price.tiers_mode == "volume":
            return _volume(tiers, q)
        return _graduated(tiers, q)
    if unit is None:
        raise ValueError(f"price {price.id} has no unit amount")
    if price.transform_divide_by:
        rounding = ROUND_CEILING if price.transform_round == "up" else ROUND_FLOOR
        q = (q / Decimal(price.transform_divide_by)).quantize(ONE, rounding=rounding)
    return unit * q


def _volume(tiers: tuple, quantity: Decimal) -> Decimal:
    for tier in tiers:
        if tier.up_to is None or quantity <= tier.up_to:
            return tier.unit_amount * quantity + tier.flat_amount
    raise ValueError("volume tiers end before the quantity")


def _graduated(tiers: tuple, quantity: Decimal) -> Decimal:
    total, below = ZERO, ZERO
    for tier in tiers:
        top = quantity if tier.up_to is None else min(quantity, Decimal(tier.up_to))
        units = top - below
        if units <= 0:
            break
        total += tier.unit_amount * units + tier.flat_amount
        below = top
    return total


def percent_factor(percent_off: Decimal) -> Decimal:
    """The share left after a ``percent_off`` discount (25 → 0.75), never below zero."""
    return max(ZERO, (_HUNDRED - percent_off) / _HUNDRED)


def inclusive_tax_factor(percentages: tuple[Decimal, ...]) -> Decimal:
    """The net share of a tax-inclusive amount: 100 / (100 + Σ rates) (20 % → 1/1.2).

    Inclusive rates are all computed on the same net base, so several rates add up.
    """
    total = sum(percentages, ZERO)
    if not total:
        return ONE
    return _HUNDRED / (_HUNDRED + total)
