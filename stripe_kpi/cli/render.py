"""What the commands print: Rich tables on a terminal, CSV for spreadsheets. Everything here
formats values the services return; nothing computes.
Money arrives in major units (the ``--json`` document's), so every form shows the same figures."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from rich.table import Table

SERIES_COLUMNS = (
    "date", "mrr", "customers", "arpu", "new", "expansion", "contraction", "churn",
    "reactivation", "net", "fx", "churned_voluntary", "churned_involuntary",
)  # fmt: skip


#: The columns of `movements --csv`, in order: the keys of ``report.movements.movement_rows``.
MOVEMENT_COLUMNS = (
    "date", "customer_id", "name", "email", "type", "amount", "mrr_before", "mrr_after",
    "churn_reason", "cancellation_reason", "feedback", "comment",
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


def movements_table(rows: Sequence[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
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
    return table


#: Subscriptions not comparable listed one per line in `check`'s text (every disagreement is).
NOT_COMPARABLE_SHOWN = 20


def check_lines(document: dict[str, Any]) -> list[Table | str]:
    """`stripe-kpi check`: a table of the subscriptions that disagree, then one line each (ids,
    the likely cause, the facts), then one line per subscription not comparable (the first
    :data:`NOT_COMPARABLE_SHOWN`). Ids are never cut, so the lines carry them whole; everything
    is Stripe ids and our own sentences."""
    shown: list[Table | str] = []
    rows = document["subscriptions"]
    disagree = [r for r in rows if r["outcome"] == "disagrees"]
    if disagree:
        table = Table(title="Subscriptions whose MRR disagrees with their latest invoice")
        table.add_column("subscription", no_wrap=True)
        table.add_column("metrics MRR", justify="right", no_wrap=True)
        table.add_column("invoiced MRR", justify="right", no_wrap=True)
        table.add_column("likely cause", overflow="fold")
        for r in disagree:
            ccy = r["currency"].upper()
            table.add_row(
                r["subscription_id"],
                f"{_fmt(r['metrics_mrr'])} {ccy}",
                f"{_fmt(r['invoiced_mrr'])} {ccy}",
                r["why"],
            )
        shown.append(table)
        shown.extend(_check_line(r) for r in disagree)
    odd = [r for r in rows if r["outcome"] == "not_comparable"]
    if odd:
        shown.append(f"not comparable ({len(odd):,}):")
        shown.extend(_check_line(r) for r in odd[:NOT_COMPARABLE_SHOWN])
        if len(odd) > NOT_COMPARABLE_SHOWN:
            shown.append(f"  … and {len(odd) - NOT_COMPARABLE_SHOWN:,} more (all of them: --json)")
    return shown


def _check_line(r: dict[str, Any]) -> str:
    invoice = f", invoice {r['invoice_id']}" if r["invoice_id"] else ""
    facts = f" ({r['detail']})" if r["detail"] else ""
    where = f"customer {r['customer_id']}{invoice}"
    return f"  {r['subscription_id']} ({where}): {r['explanation']}{facts}"


def spend_line(row: dict[str, Any]) -> str:
    """What `spend set` prints: the month as stored."""
    return f"spend {row['month']}: {_fmt(row['amount'])} {row['currency'].upper()}"


def spend_table(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="Sales and marketing spend")
    table.add_column("month")
    table.add_column("amount", justify="right")
    table.add_column("currency")
    for r in rows:
        table.add_row(r["month"], _fmt(r["amount"]), r["currency"].upper())
    return table
