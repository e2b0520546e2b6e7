"""What ``metrics --segment`` and ``movements --segment`` print: a Rich table of the segments
(the period's totals, narrow enough for 80 columns), CSV of the series, or the JSON document.
Formats the services' values only; nothing computes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

#: ``metrics --segment --csv``: one row per segment and day (or month).
SEGMENT_COLUMNS = (
    "segment", "date", "mrr", "customers", "arpu", "new", "expansion", "contraction", "churn",
    "reactivation", "net", "fx",
)  # fmt: skip
#: ``movements --segment --csv``.
SEGMENT_MOVEMENT_COLUMNS = ("date", "customer_id", "name", "segment", "type", "amount")


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def segment_csv_rows(document: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for entry in document["segments"]:
        for point in entry["series"]:
            moves = point["movements"]
            rows.append(
                [
                    entry["segment"],
                    point["date"],
                    point["mrr"],
                    point["customers"],
                    point["arpu"],
                    *(moves[k] for k in SEGMENT_COLUMNS[5:]),
                ]
            )
    return rows


def segment_table(document: dict[str, Any]) -> Table:
    """The period's totals per segment: MRR and paying customers at its end, ARPU, and the
    movements summed (``--csv``/``--json`` give the series by day or month)."""
    ccy = document["currency"].upper()
    table = Table(
        title=f"MRR by {document['segment']}, {document['from']} → {document['to']} ({ccy})"
    )
    table.add_column(document["segment"], overflow="fold", max_width=18)
    for name in ("MRR", "cust.", "ARPU", "new", "exp.", "contr.", "churn", "react."):
        table.add_column(name, justify="right")
    for entry in document["segments"]:
        totals, moves = entry["totals"], entry["totals"]["movements"]
        table.add_row(
            entry["segment"],
            _fmt(totals["mrr_end"]),
            _fmt(totals["customers_end"]),
            _fmt(totals["arpu"]),
            *(_fmt(moves[k]) for k in ("new", "expansion", "contraction", "churn", "reactivation")),
        )
    return table


def segment_movements_table(rows: Sequence[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in ("date", "customer", "segment", "type", "amount"):
        table.add_column(column, justify="right" if column == "amount" else "left")
    for r in rows:
        table.add_row(r["date"], r["name"] or r["customer_id"], r["segment"], r["type"],
                      _fmt(r["amount"]))  # fmt: skip
    return table
