"""The bodies of `stripe-kpi metrics` and `stripe-kpi movements`: parse the period, compute, print
a Rich table, CSV or the JSON of METRICS.md §5."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select
from sqlmodel import Session

from stripe_kpi.config import Settings
from stripe_kpi.errors import InputError
from stripe_kpi.metrics import Computed, metrics_json
from stripe_kpi.metrics.report_json import money
from stripe_kpi.store.derived import compute_account
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.models import Customer, Subscription

MOVEMENT_TYPES = ("new", "expansion", "contraction", "churn", "reactivation", "fx")


@dataclass(frozen=True)
class Period:
    first: date
    last: date


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


def parse_period(
    today: date,
    *,
    on: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Period:
    """--date D, or --from A --to B (either end may be left out), or month to date."""
    if on and (start or end):
        raise InputError("give either --date or --from/--to, not both")
    if on:
        day = parse_day(on, "--date")
        first = last = day
    else:
        last = parse_day(end, "--to") if end else today
        first = parse_day(start, "--from") if start else last.replace(day=1)
    if first > last:
        raise InputError(f"--from {first} is after --to {last}")
    if last > today:
        raise InputError(f"{last} is in the future (today is {today} in the reporting time zone)")
    return Period(first, last)


def _open_and_compute(settings: Settings, now: datetime) -> tuple[Engine, Computed]:
    engine = open_database(settings.database_url)
    computed = compute_account(
        engine, currency=settings.currency, tz=settings.timezone, as_of=now.astimezone(UTC)
    )
    return engine, computed


def local_today(settings: Settings, now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.timezone)).date()


# -------------------------------------------------------------------------------------------
# metrics
# -------------------------------------------------------------------------------------------

SERIES_COLUMNS = (
    "date", "mrr", "customers", "arpu", "new", "expansion", "contraction", "churn",
    "reactivation", "net", "fx", "churned_voluntary", "churned_involuntary",
)  # fmt: skip


def series_rows(document: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for point in document["series"]:
        moves, churned = point["movements"], point["churned_customers"]
        rows.append(
            [
                point["date"],
                point["mrr"],
                point["customers"],
                point["arpu"],
                moves["new"],
                moves["expansion"],
                moves["contraction"],
                moves["churn"],
                moves["reactivation"],
                moves["net"],
                moves["fx"],
                churned["voluntary"],
                churned["involuntary"],
            ]
        )
    return rows


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue()


def _fmt(value: Any) -> str:
    """Money arrives in major units: a float with cents, or an int for zero-decimal currencies."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def metrics_table(document: dict[str, Any]) -> tuple[Table, Table]:
    ccy = document["currency"].upper()
    series = Table(title=f"{document['from']} → {document['to']} ({ccy}, {document['timezone']})")
    for name in SERIES_COLUMNS:
        series.add_column(name.replace("churned_", "churned "), justify="right")
    for row in series_rows(document):
        series.add_row(*[_fmt(v) if i else str(v) for i, v in enumerate(row)])
    totals = document["totals"]
    kpis = Table(title="Totals", show_header=False)
    kpis.add_column("kpi")
    kpis.add_column("value", justify="right")
    pairs = [
        ("MRR start → end", f"{_fmt(totals['mrr_start'])} → {_fmt(totals['mrr_end'])}"),
        ("ARR", _fmt(totals["arr"])),
        ("paying customers", f"{totals['customers_start']} → {totals['customers_end']}"),
        ("ARPU", _fmt(totals["arpu"])),
        *[(f"{k} MRR", _fmt(v)) for k, v in totals["movements"].items()],
        ("churned customers (vol./invol.)", "{voluntary} / {involuntary}".format(
            **totals["churned_customers"])),
        ("churned MRR (vol./invol.)", " / ".join(
            _fmt(totals["churned_mrr"][k]) for k in ("voluntary", "involuntary"))),
        ("customer churn rate", _pct(totals["customer_churn_rate"])),
        ("gross / net MRR churn", f"{_pct(totals['gross_mrr_churn_rate'])} / "
                                  f"{_pct(totals['net_mrr_churn_rate'])}"),
        ("NRR / GRR", f"{_pct(totals['nrr'])} / {_pct(totals['grr'])}"),
        ("quick ratio", "—" if totals["quick_ratio"] is None else f"{totals['quick_ratio']:.2f}"),
        ("LTV", _fmt(totals["ltv"])),
        ("trial conversion", _pct(totals["trial_conversion"])),
        ("MRR at risk", _fmt(totals["mrr_at_risk"])),
    ]  # fmt: skip
    for name, value in pairs:
        kpis.add_row(name, value)
    return series, kpis


def run_metrics_command(
    settings: Settings,
    console: Console,
    *,
    now: datetime,
    on: str | None = None,
    start: str | None = None,
    end: str | None = None,
    by: str = "day",
    as_json: bool = False,
    as_csv: bool = False,
) -> dict[str, Any]:
    if by not in ("day", "month"):
        raise InputError(f"--by {by!r}: use day or month")
    if as_json and as_csv:
        raise InputError("give either --json or --csv, not both")
    period = parse_period(local_today(settings, now), on=on, start=start, end=end)
    engine, computed = _open_and_compute(settings, now)
    engine.dispose()
    document = metrics_json(computed, period.first, period.last, by)  # type: ignore[arg-type]
    if as_json:
        print(json.dumps(document, indent=2))
    elif as_csv:
        print(to_csv(SERIES_COLUMNS, series_rows(document)), end="")
    else:
        for table in metrics_table(document):
            console.print(table)
    return document


# -------------------------------------------------------------------------------------------
# movements
# -------------------------------------------------------------------------------------------

MOVEMENT_COLUMNS = (
    "date", "customer_id", "name", "email", "type", "amount", "mrr_before", "mrr_after",
    "churn_reason", "cancellation_reason", "feedback", "comment",
)  # fmt: skip


def movement_rows(
    engine: Engine, computed: Computed, period: Period, kind: str | None
) -> list[dict[str, Any]]:
    ccy = computed.currency
    moves = [
        m for m in computed.movements(period.first, period.last) if kind is None or m.type == kind
    ]
    customer_ids = {m.customer_id for m in moves}
    sub_ids = {s for m in moves for s in m.subscription_ids}
    with Session(engine) as session:
        people = {
            row[0]: (row[1], row[2])
            for row in session.exec(
                select(Customer.id, Customer.name, Customer.email).where(
                    Customer.id.in_(customer_ids)  # type: ignore[attr-defined]
                )
            )
        }
        subs = {
            row[0]: row[1:]
            for row in session.exec(
                select(
                    Subscription.id,
                    Subscription.cancellation_reason,
                    Subscription.cancellation_feedback,
                    Subscription.cancellation_comment,
                ).where(Subscription.id.in_(sub_ids))  # type: ignore[attr-defined]
            )
        }
    rows = []
    for m in moves:
        name, email = people.get(m.customer_id, (None, None))
        details = [subs[s] for s in m.subscription_ids if s in subs and any(subs[s])]
        reason, feedback, comment = details[0] if m.type == "churn" and details else (None,) * 3
        rows.append(
            {
                "date": date.fromordinal(m.day).isoformat(),
                "customer_id": m.customer_id,
                "name": name,
                "email": email,
                "type": m.type,
                "amount": money(m.amount, ccy),
                "mrr_before": money(m.mrr_before, ccy),
                "mrr_after": money(m.mrr_after, ccy),
                "churn_reason": m.churn_reason,
                "cancellation_reason": reason,
                "feedback": feedback,
                "comment": comment,
            }
        )
    return rows


def run_movements_command(
    settings: Settings,
    console: Console,
    *,
    now: datetime,
    start: str | None = None,
    end: str | None = None,
    kind: str | None = None,
    as_csv: bool = False,
    as_json: bool = False,
) -> list[dict[str, Any]]:
    if kind is not None and kind not in MOVEMENT_TYPES:
        raise InputError(f"--type {kind!r}: use one of {', '.join(MOVEMENT_TYPES)}")
    today = local_today(settings, now)
    if start is None and end is None:
        start = (today - timedelta(days=29)).isoformat()
    period = parse_period(today, start=start, end=end)
    engine, computed = _open_and_compute(settings, now)
    try:
        rows = movement_rows(engine, computed, period, kind)
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(rows, indent=2))
    elif as_csv:
        print(to_csv(MOVEMENT_COLUMNS, [[r[c] for c in MOVEMENT_COLUMNS] for r in rows]), end="")
    else:
        table = Table(title=f"MRR movements {period.first} → {period.last}")
        for column in ("date", "customer", "type", "amount", "reason", "feedback"):
            table.add_column(column, justify="right" if column == "amount" else "left")
        for r in rows:
            who = " ".join(x for x in (r["name"], f"<{r['email']}>" if r["email"] else None) if x)
            table.add_row(
                r["date"],
                who or r["customer_id"],
                r["type"],
                _fmt(r["amount"]),
                r["churn_reason"] or "",
                " — ".join(x for x in (r["feedback"], r["comment"]) if x),
            )
        console.print(table)
    return rows
