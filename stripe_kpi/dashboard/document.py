"""The dashboard's document: every figure a page shows, assembled from :mod:`.data` for a period.

The headline figures are formatted here with the report's conventions
(``report.formatting``: currency symbol, English grouping, a real minus sign); the charts get
the same numbers in major units and format their hover values with the same rule in the page.

Where the period needs a choice: the period is the one asked, clipped to the days the tables
hold (before the first day there is no account; after the last, no data yet). "Last month" is
the last calendar month of the period that ended inside it (the month before the last day's,
or the last day's own when the period ends on its last day); a period inside one month shows
that month as far as it goes. Counted as ``metrics --from <month's 1st> --to <its last day>``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from stripe_kpi.dashboard import data
from stripe_kpi.dashboard.extras import cohorts_block, segments_block
from stripe_kpi.errors import InputError
from stripe_kpi.metrics.kpis import arpu
from stripe_kpi.metrics.money import minor_exponent, round_minor
from stripe_kpi.metrics.report_json import money
from stripe_kpi.metrics.vocabulary import MOVEMENT_TYPES
from stripe_kpi.report.formatting import (
    currency_prefix,
    format_day,
    format_money,
    format_signed_money,
)


def clip_period(span: data.Span, first: date | None, last: date | None) -> tuple[date, date]:
    """The period asked (default: every day stored), clipped to the stored days."""
    start = max(first or span.first, span.first)
    end = min(last or span.last, span.last)
    if end < start:
        raise InputError(
            f"no metrics between {first or span.first} and {last or span.last}: the tables hold "
            f"{span.first} to {span.last}"
        )
    return start, end


def last_month(first: date, last: date) -> tuple[date, date]:
    """The last calendar month of ``first``…``last`` that ended in it, clipped to the period
    (see the module's docstring)."""
    if (last + timedelta(days=1)).day == 1:
        month_start = last.replace(day=1)
        return max(first, month_start), last
    previous_end = last.replace(day=1) - timedelta(days=1)
    if previous_end < first:
        return max(first, last.replace(day=1)), last
    return max(first, previous_end.replace(day=1)), previous_end


def dashboard_document(
    connection: Connection,
    *,
    currency: str,
    tz: str,
    generated_at: datetime,
    first: date | None = None,
    last: date | None = None,
    top: int = data.TOP_CUSTOMERS,
    live: bool = False,
) -> dict[str, Any]:
    """Everything the pages show for ``first``…``last``. ``live``: for ``serve``, which answers
    searches and histories of any customer itself (the document then says so)."""
    span = data.stored_span(connection)
    if span is None:
        raise InputError("the derived tables are empty: run stripe-kpi sync first")
    first, last = clip_period(span, first, last)
    ccy = currency.lower()
    days = data.read_days(connection, first, last)
    months = data.by_month(days)
    end = days[-1]
    lm_first, lm_last = last_month(first, last)
    lm_rows = [row for row in days if lm_first.isoformat() <= row["date"] <= lm_last.isoformat()]
    lm_moves = {kind: sum(row[kind] for row in lm_rows) for kind in MOVEMENT_TYPES}
    lm_moves["net"] = sum(v for k, v in lm_moves.items() if k != "fx")
    average = arpu(end["mrr"], end["customers"])
    return {
        "currency": ccy,
        "prefix": currency_prefix(ccy),
        "exponent": minor_exponent(ccy),
        "timezone": tz,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "stored": {"from": span.first.isoformat(), "to": span.last.isoformat()},
        "generated_at": _stamp(generated_at, tz),
        "live": live,
        "headline": [
            _card("mrr", "MRR", money(end["mrr"], ccy), format_money(end["mrr"], ccy)),
            _card("arr", "ARR", money(12 * end["mrr"], ccy), format_money(12 * end["mrr"], ccy)),
            _card("customers", "Paying customers", end["customers"], f"{end['customers']:,}"),
            _card(
                "arpu",
                "ARPU",
                money(average, ccy),
                "n/a" if average is None else format_money(round_minor(average), ccy),
            ),
            _card(
                "mrr_at_risk",
                "MRR at risk",
                money(end["mrr_at_risk"], ccy),
                format_money(end["mrr_at_risk"], ccy),
            ),
        ],
        "last_month": {
            "from": lm_first.isoformat(),
            "to": lm_last.isoformat(),
            "label": _month_label(lm_first, lm_last),
            "movements": [
                {
                    "type": kind,
                    "value": money(lm_moves[kind], ccy),
                    "text": format_signed_money(lm_moves[kind], ccy),
                }
                for kind in (
                    "new",
                    "expansion",
                    "reactivation",
                    "contraction",
                    "churn",
                    "net",
                    "fx",
                )
            ],
        },
        "days": data.day_series(days, ccy),
        "months": data.month_series(months, ccy),
        "feedback": data.churn_feedback(connection, first, last),
        "at_risk": data.at_risk_block(connection, last, ccy, tz),
        "customers": data.customers_block(connection, last, ccy, limit=top),
        "cohorts": cohorts_block(connection, first, last, span.last, ccy, tz),
        "segments": segments_block(connection, first, last, ccy),
    }


def _card(key: str, label: str, value: Any, text: str) -> dict[str, Any]:
    return {"key": key, "label": label, "value": value, "text": text}


def _month_label(first: date, last: date) -> str:
    name = format_day(first).split(" ")[2]  # "Mon 1 Nov 2026" → "Nov"
    whole = first.day == 1 and (last + timedelta(days=1)).day == 1
    if whole:
        return f"{name} {first.year}"
    return f"{first.day} {name} – {format_day(last).split(' ', 1)[1]}"


def _stamp(at: datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    return f"{format_day(local.date())} {local:%H:%M} ({tz})"
