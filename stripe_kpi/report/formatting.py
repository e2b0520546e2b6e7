"""How the report writes money, rates and days: one convention for the text, HTML and chart.

Money is an ``int`` in minor units until it is printed here. The convention is English grouping
(``1,234.56``) with the currency's symbol in front for the currencies founders bill in most, and
the upper-case ISO code otherwise (``CHF 1,234.56``): a report read in one inbox across countries
should not switch decimal commas on the reader. Zero-decimal currencies (JPY, KRW…) have no
decimals (``¥1,000``), three-decimal ones (KWD…) have three, as Stripe counts their minor units.
Negative amounts use a real minus sign (U+2212), so ``−$40.00`` never reads as a dash.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from stripe_kpi.metrics.money import minor_exponent

#: Symbols that are unambiguous to an English-reading founder; every other code is printed as is.
#: Only glyphs present in DejaVu Sans (matplotlib's bundled font), so the chart can print them.
CURRENCY_SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "inr": "₹",
    "krw": "₩",
    "cad": "CA$",
    "aud": "A$",
    "nzd": "NZ$",
    "brl": "R$",
    "mxn": "MX$",
}

MINUS = "\u2212"


def currency_prefix(currency: str) -> str:
    """``$`` for USD, ``CHF `` (code and a space) for a currency without a symbol here."""
    return CURRENCY_SYMBOLS.get(currency.lower(), currency.upper() + " ")


def format_money(amount_minor: int, currency: str) -> str:
    """``123456`` usd → ``$1,234.56``; ``-4000`` usd → ``−$40.00``; ``1000`` jpy → ``¥1,000``."""
    exponent = minor_exponent(currency)
    major = Decimal(abs(amount_minor)).scaleb(-exponent)
    digits = f"{major:,.{exponent}f}"
    sign = MINUS if amount_minor < 0 else ""
    return f"{sign}{currency_prefix(currency)}{digits}"


def format_signed_money(amount_minor: int, currency: str) -> str:
    """A change: always signed, ``+$120.00``, ``−$40.00``, and ``$0.00`` for no change."""
    if amount_minor > 0:
        return "+" + format_money(amount_minor, currency)
    return format_money(amount_minor, currency)


def format_compact_money(amount_minor: int, currency: str) -> str:
    """An axis label: whole major units, ``$12,346`` (the chart has no room for cents)."""
    exponent = minor_exponent(currency)
    major = Decimal(amount_minor).scaleb(-exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    sign = MINUS if major < 0 else ""
    return f"{sign}{currency_prefix(currency)}{abs(major):,.0f}"


def format_rate(rate: Fraction | None, *, places: int = 1) -> str:
    """A fraction as a percentage, half up: ``Fraction(1, 40)`` → ``2.5%``; ``None`` → ``n/a``
    (a rate with a zero denominator is undefined, not zero: shared/METRICS.md §4)."""
    if rate is None:
        return "n/a"
    percent = Decimal(rate.numerator) * 100 / Decimal(rate.denominator)
    quantum = Decimal(1).scaleb(-places)
    value = percent.quantize(quantum, rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)  # never "-0.0%"
    text = f"{abs(value):.{places}f}%"
    return (MINUS + text) if value < 0 else text


def format_day(day: date) -> str:
    """``Mon 23 Nov 2026``: weekday first, because "yesterday" is how founders think of it.
    Locale-independent (``strftime('%a')`` would follow LC_TIME)."""
    weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[day.weekday()]
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[
        day.month - 1
    ]
    return f"{weekday} {day.day} {month} {day.year}"


def format_short_day(day: date) -> str:
    """``23 Nov``: for lists inside one report, where the year is obvious."""
    return format_day(day).split(" ", 1)[1].rsplit(" ", 1)[0]
