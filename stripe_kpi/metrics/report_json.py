"""The machine-readable forms: ``metrics --json`` (METRICS.md §5) and the derived-table rows.

``metrics_json`` returns a plain dict ready for ``json.dumps``: money in major units rounded to the
currency's minor unit (an ``int`` for a zero-decimal currency, else a number such as ``1234.5``),
ratios rounded to six decimal places, dates ISO. This is the encoder edge, the only place an
amount becomes a float. The table rows keep money in minor units, as the tables do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stripe_kpi.metrics.computation import Computed
from stripe_kpi.metrics.kpis import ChurnSplit, Granularity, period_kpis, series
from stripe_kpi.metrics.money import minor_exponent, round_minor
from stripe_kpi.metrics.movements import Movement
from stripe_kpi.metrics.vocabulary import MOVEMENT_TYPES, Movements

_RATIO_PLACES = Decimal("0.000001")


def money(amount_minor: int | Decimal | None, currency: str) -> int | float | None:
    """Minor units → a JSON number in major units, rounded (half up) to the minor unit."""
    if amount_minor is None:
        return None
    minor = round_minor(amount_minor) if isinstance(amount_minor, Decimal) else amount_minor
    exponent = minor_exponent(currency)
    if exponent == 0:
        return minor
    return float(Decimal(minor).scaleb(-exponent))


def fraction(value: Decimal | None) -> float | None:
    """A ratio as a JSON number, six decimal places (0.05, not 5)."""
    if value is None:
        return None
    return float(value.quantize(_RATIO_PLACES, rounding=ROUND_HALF_UP))


def _movements(totals: Movements, currency: str) -> dict[str, Any]:
    return {
        "new": money(totals.new, currency),
        "expansion": money(totals.expansion, currency),
        "contraction": money(totals.contraction, currency),
        "churn": money(totals.churn, currency),
        "reactivation": money(totals.reactivation, currency),
        "net": money(totals.net, currency),
        "fx": money(totals.fx, currency),
    }


def _split(split: ChurnSplit, currency: str | None = None) -> dict[str, Any]:
    if currency is None:
        return {"voluntary": split.voluntary, "involuntary": split.involuntary}
    return {
        "voluntary": money(split.voluntary, currency),
        "involuntary": money(split.involuntary, currency),
    }


def metrics_json(computed: Computed, first: date, last: date, by: Granularity = "day") -> dict:
    """The document ``stripe-kpi metrics --json`` prints, for the days ``first``…``last``.

    With ``by="month"`` each series entry is a calendar month clipped to the period; its ``date``
    is the entry's last day, the day its MRR and customers are measured at (the month's end, or
    ``last`` for a month in progress), and its movements are summed over the month.
    """
    ccy = computed.currency
    kpis = period_kpis(computed, first, last)
    return {
        "currency": ccy,
        "timezone": computed.tz,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "by": by,
        "series": [
            {
                "date": point.date.isoformat(),
                "mrr": money(point.mrr, ccy),
                "customers": point.customers,
                "arpu": money(point.arpu, ccy),
                "movements": _movements(point.movements, ccy),
                "churned_customers": _split(point.churned_customers),
            }
            for point in series(computed, first, last, by)
        ],
        "totals": {
            "mrr_start": money(kpis.mrr_start, ccy),
            "mrr_end": money(kpis.mrr_end, ccy),
            "customers_start": kpis.customers_start,
            "customers_end": kpis.customers_end,
            "movements": _movements(kpis.movements, ccy),
            "churned_customers": _split(kpis.churned_customers),
            "churned_mrr": _split(kpis.churned_mrr, ccy),
            "customer_churn_rate": fraction(kpis.customer_churn_rate),
            "gross_mrr_churn_rate": fraction(kpis.gross_mrr_churn_rate),
            "net_mrr_churn_rate": fraction(kpis.net_mrr_churn_rate),
            "nrr": fraction(kpis.nrr),
            "grr": fraction(kpis.grr),
            "quick_ratio": fraction(kpis.quick_ratio),
            "arpu": money(kpis.arpu, ccy),
            "arr": money(kpis.arr, ccy),
            "ltv": money(kpis.ltv, ccy),
            "trial_conversion": fraction(kpis.trial_conversion),
            "mrr_at_risk": money(kpis.mrr_at_risk, ccy),
        },
    }


def mrr_movement_rows(movements: Iterable[Movement], currency: str) -> list[dict[str, Any]]:
    """Rows for the ``mrr_movement`` table (column names of ``models.MrrMovement``)."""
    return [
        {
            "date": date.fromordinal(m.day).isoformat(),
            "customer_id": m.customer_id,
            "type": m.type,
            "amount": m.amount,
            "mrr_before": m.mrr_before,
            "mrr_after": m.mrr_after,
            "currency": currency,
            "churn_reason": m.churn_reason,
            "subscription_ids": json.dumps(list(m.subscription_ids)),
        }
        for m in movements
    ]


def daily_metrics_rows(
    computed: Computed, first: date | None = None, last: date | None = None
) -> list[dict[str, Any]]:
    """Rows for the ``daily_metrics`` table, one per day from ``first`` (default: the first day
    with data) to ``last`` (default: the day of ``as_of``)."""
    start = first or computed.first_day
    end = last or computed.last_day
    if start is None or end < start:
        return []
    ledger, rows = computed.ledger, []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        n = day.toordinal()
        row: dict[str, Any] = {"date": day.isoformat(), "currency": computed.currency}
        for column in ("mrr", "customers", "mrr_at_risk"):
            row[column] = ledger.level(column, n)
        for column in (
            *MOVEMENT_TYPES,
            "churned_voluntary",
            "churned_involuntary",
            "churned_mrr_voluntary",
            "churned_mrr_involuntary",
            "trials_ended",
            "trials_converted",
        ):
            row[column] = ledger.flow(column, n, n)
        rows.append(row)
    return rows
