"""What the commands print: Rich tables on a terminal, CSV for spreadsheets. Everything here
formats values the services return; nothing computes.
Money arrives in major units (the ``--json`` document's), so every form shows the same figures."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from rich.table import Table

SERIES_COLUMNS = (
    "date", "mrr", "customers", "arpu", "new", "expansion", "contraction", "churn",
    "reactivation", "net", "fx", "churned_voluntary", "churned_involuntary",
    "new_customers", "spend", "cac", "cac_payback_months",
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
                point["new_customers"],
                point["spend"],
                point["cac"],
                point["cac_payback_months"],
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


def _months(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


#: The movements of a series entry, in the order the tables show them.
MOVEMENT_NAMES = ("new", "expansion", "contraction", "churn", "reactivation", "net", "fx")


def _movement(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda point: _fmt(point["movements"][name])


#: The series shown on a terminal, transposed: one row per figure (its label, and how to read
#: it off a series entry and format it), one column per day or month.
_SERIES_FIGURES: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("MRR", lambda p: _fmt(p["mrr"])),
    ("paying customers", lambda p: _fmt(p["customers"])),
    ("ARPU", lambda p: _fmt(p["arpu"])),
    *[(f"{k} MRR", _movement(k)) for k in MOVEMENT_NAMES],
    ("churned vol/inv", lambda p: "{voluntary} / {involuntary}".format(**p["churned_customers"])),
    ("new customers", lambda p: _fmt(p["new_customers"])),
    ("spend", lambda p: _fmt(p["spend"])),
    ("CAC", lambda p: _fmt(p["cac"])),
    ("payback (months)", lambda p: _months(p["cac_payback_months"])),
)  # fmt: skip

#: What a table's frame adds to its cells: one border before each column and one after the last,
#: and a space each side of every cell (Rich's default box and padding).
_BORDER, _PADDING = 1, 2


def _period_label(point: dict[str, Any], document: dict[str, Any]) -> str:
    """A column's header: the month (``2026-05``), or the day, without its year when the whole
    period lies in one year (``05-20``: the title gives the year), so a day's column is as narrow
    as its figures."""
    if document["by"] == "month":
        return point["date"][:7]
    one_year = document["from"][:4] == document["to"][:4]
    return point["date"][5:] if one_year else point["date"]


def _fitting_runs(needs: list[int], room: int) -> list[tuple[int, int]]:
    """Split columns of widths ``needs`` into runs ``[lo, hi)`` that each fit ``room``: as few
    runs as fit, then the same number of columns in each where that still fits (six months in
    3 + 3, not 5 + 1). A column wider than ``room`` alone gets a run of its own."""
    greedy, lo, used = [], 0, 0
    for i, need in enumerate(needs):
        if i > lo and used + need > room:
            greedy.append((lo, i))
            lo, used = i, 0
        used += need
    greedy.append((lo, len(needs)))
    size = -(-len(needs) // len(greedy))  # ceil
    even = [(lo, min(lo + size, len(needs))) for lo in range(0, len(needs), size)]
    if len(even) == len(greedy) and all(sum(needs[lo:hi]) <= room for lo, hi in even):
        return even
    return greedy


def series_tables(document: dict[str, Any], width: int) -> list[Table]:
    """The series transposed: one row per figure, one column per day or month, so that six
    months or a week of days stay readable on an 80-column terminal (13 figures side by side
    never fit: Rich cut every cell to "20…"). The columns go in as many tables as ``width``
    needs, each as wide as its longest cell, so no cell is ever cut."""
    by = document["by"]
    labels = [label for label, _ in _SERIES_FIGURES]
    columns = [
        (_period_label(p, document), [show(p) for _, show in _SERIES_FIGURES])
        for p in document["series"]
    ]
    frame = _BORDER + max(len(label) for label in labels) + _PADDING + _BORDER
    needs = [max(len(h), *(len(c) for c in cells)) + _PADDING + _BORDER for h, cells in columns]
    chunks = [columns[lo:hi] for lo, hi in _fitting_runs(needs, width - frame)]
    ccy = document["currency"].upper()
    title = f"{document['from']} → {document['to']} ({ccy}, {document['timezone']})"
    tables = []
    for k, chunk in enumerate(chunks):
        part = f" ({k + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        table = Table(title=f"{title}{part}")
        table.add_column("by day" if by == "day" else "by month", no_wrap=True)
        for header, _ in chunk:
            table.add_column(header, justify="right", no_wrap=True)
        for row, label in enumerate(labels):
            table.add_row(label, *[cells[row] for _, cells in chunk])
        tables.append(table)
    return tables


def metrics_table(document: dict[str, Any], width: int = 80) -> list[Table]:
    """What `metrics` prints on a terminal: the series (:func:`series_tables`, fitted to
    ``width``), then the period's totals."""
    totals = document["totals"]
    kpis = Table(title="Totals", show_header=False)
    kpis.add_column("kpi")
    kpis.add_column("value", justify="right")
    pairs = [
        ("MRR start → end", f"{_fmt(totals['mrr_start'])} → {_fmt(totals['mrr_end'])}"),
        ("ARR", _fmt(totals["arr"])),
        ("paying customers", f"{_fmt(totals['customers_start'])} → "
                             f"{_fmt(totals['customers_end'])}"),
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
        ("new customers", _fmt(totals["new_customers"])),
        ("spend", _fmt(totals["spend"])),
        ("CAC", _fmt(totals["cac"])),
        ("LTV:CAC", "—" if totals["ltv_cac"] is None else f"{totals['ltv_cac']:.2f}"),
        ("CAC payback (months)", _months(totals["cac_payback_months"])),
        ("committed MRR (today)", _fmt(totals.get("cmrr"))),
    ]  # fmt: skip
    for name, value in pairs:
        kpis.add_row(name, value)
    return [*series_tables(document, width), kpis]


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
