"""``stripe-kpi cohorts`` and ``stripe-kpi forecast`` rendered: the text tables and CSV of
their ``--json`` documents (``metrics.cohorts.cohorts_json``, ``metrics.forecast``)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from stripe_kpi.cli.render import to_csv
from stripe_kpi.errors import InputError

_TITLES = {
    "customers": "share of each cohort's customers still paying at the end of each month",
    "mrr": "share of each cohort's starting MRR (its MRR at the end of its first month) kept, "
    "net of expansion",
}


def parse_month(value: str, option: str) -> date:
    """``YYYY-MM`` (or a day of that month, ``YYYY-MM-DD``) → the month's first day."""
    match = re.fullmatch(r"(\d{4})-(\d{2})(-\d{2})?", value.strip())
    try:
        if match is None:
            raise ValueError
        if match.group(3):
            return date.fromisoformat(value.strip()).replace(day=1)
        return date(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a month: use YYYY-MM") from None


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _amount(value: float | int | None) -> str:
    return "–" if value is None else f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def cohort_lines(document: dict[str, Any]) -> list[str]:
    """The triangle as fixed-width text lines: a row per cohort, a column per month since."""
    metric = document["metric"]
    rows = document["cohorts"]
    lines = [
        f"Cohorts by month of first payment, {_TITLES[metric]} "
        f"({document['currency'].upper()}, to {document['as_of']})"
    ]
    if not rows:
        return [*lines, "no paying customer yet"]
    width = max(len(r["months"]) for r in rows)
    head = f"{'cohort':<8} {'customers':>9}"
    if metric == "mrr":
        head += f" {'start MRR':>12}"
    lines.append(head + "".join(f" {'M' + str(k):>5}" for k in range(width)))
    partial = False
    for r in rows:
        line = f"{r['cohort']:<8} {r['customers']:>9,}"
        if metric == "mrr":
            line += f" {_amount(r['starting_mrr']):>12}"
        for m in r["months"]:
            cell = _pct(m["retention"]) + ("*" if m["partial"] else "")
            partial = partial or m["partial"]
            line += f" {cell:>5}"
        lines.append(line)
    if partial:
        lines.append(f"* the month in progress, at {document['as_of']}")
    return lines


def cohort_csv(document: dict[str, Any]) -> str:
    """One row per cohort: its month, customers, starting MRR, then retention by month since."""
    rows = document["cohorts"]
    width = max((len(r["months"]) for r in rows), default=0)
    header = ["cohort", "customers", "starting_mrr", *(f"m{k}" for k in range(width))]
    body = [
        [
            r["cohort"],
            r["customers"],
            r["starting_mrr"],
            *(m["retention"] for m in r["months"]),
            *([""] * (width - len(r["months"]))),
        ]
        for r in rows
    ]
    return to_csv(header, body)


def forecast_lines(document: dict[str, Any]) -> list[str]:
    """The projection as text: the months it is based on, then the projected months."""
    ccy = document["currency"].upper()
    lines = [
        f"MRR forecast — a projection, not a measurement ({ccy}, from "
        f"{_amount(document['mrr_now'])} on {document['as_of']})",
        "based on the three full months:",
        f"  {'month':<8} {'MRR start':>12} {'new+exp+react':>14} {'churn+contr':>12} {'lost':>6}",
    ]
    for m in document["based_on"]:
        lines.append(
            f"  {m['month']:<8} {_amount(m['mrr_start']):>12} {_amount(m['gained']):>14} "
            f"{_amount(m['lost']):>12} {_pct1(m['shrink_rate']):>6}"
        )
    if not document["based_on"]:
        lines.append("  (no full month yet: flat)")
    lines.append(
        f"growth {_amount(document['growth'])} a month; shrink "
        f"{_pct1(document['shrink_rate'])} of each month's starting MRR"
    )
    if document["scheduled_this_month"]:
        still = _amount(document["scheduled_this_month"])
        lines.append(f"scheduled changes still to land this month: {still}")
    lines.append(
        f"  {'month':<8} {'MRR start':>12} {'growth':>10} {'shrink':>10} {'scheduled':>10} "
        f"{'MRR end':>12}"
    )
    for m in document["months"]:
        lines.append(
            f"  {m['month']:<8} {_amount(m['mrr_start']):>12} {_amount(m['growth']):>10} "
            f"{_amount(m['shrink']):>10} {_amount(m['scheduled']):>10} {_amount(m['mrr_end']):>12}"
        )
    return lines


def _pct1(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"
