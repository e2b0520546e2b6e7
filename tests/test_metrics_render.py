"""`stripe-kpi metrics` on a terminal: the series fits 80 columns with no cell cut.

Rich shrinks a table wider than the terminal by cutting its cells ("1,23…"); the series is
therefore printed transposed (one row per figure, one column per month) and split into as many
tables as the width needs. These tests render at a fixed width and look for every figure whole.
"""

from __future__ import annotations

import io

from rich.console import Console

from stripe_kpi.cli.render import metrics_table

MONTHS = ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30"]


def _point(k: int, day: str) -> dict:
    """Month ``k``: figures as wide as a large account's (seven digits of dollars), each one
    different so that a figure missing from the output cannot hide behind another."""
    base = 1_000_000 + 111_111 * k
    return {
        "date": day,
        "mrr": base + 0.11,
        "customers": 10_000 + k,
        "arpu": 100 + k + 0.25,
        "movements": {
            "new": 20_000 + k + 0.01,
            "expansion": 30_000 + k + 0.02,
            "contraction": -(40_000 + k + 0.03),
            "churn": -(50_000 + k + 0.04),
            "reactivation": 60_000 + k + 0.05,
            "net": 20_000 + k + 0.01,
            "fx": -(70_000 + k + 0.06),
        },
        "churned_customers": {"voluntary": 300 + k, "involuntary": 400 + k},
        "new_customers": 500 + k,
        "spend": 80_000 + k + 0.07,
        "cac": 160 + k + 0.08,
        "cac_payback_months": 1.5 + k,
    }


def _document(days: list[str], by: str) -> dict:
    totals = {
        "mrr_start": 999_999.99, "mrr_end": 1_555_555.66, "customers_start": 9_999,
        "customers_end": 10_005,
        "movements": {"new": 1.0, "expansion": 2.0, "contraction": -3.0, "churn": -4.0,
                      "reactivation": 5.0, "net": 1.0, "fx": 0.0},
        "churned_customers": {"voluntary": 1, "involuntary": 2},
        "churned_mrr": {"voluntary": 10.0, "involuntary": 20.0},
        "customer_churn_rate": 0.0123, "gross_mrr_churn_rate": 0.02, "net_mrr_churn_rate": -0.01,
        "nrr": 1.01, "grr": 0.98, "quick_ratio": 2.5, "arpu": 155.47, "arr": 18_666_667.92,
        "ltv": 12_345.67, "trial_conversion": 0.5, "mrr_at_risk": 321.0,
        "new_customers": 3_015, "spend": 480_015.42, "cac": 159.21, "ltv_cac": 77.541,
        "cac_payback_months": 13.0,
    }  # fmt: skip
    return {
        "currency": "usd",
        "timezone": "Europe/Paris",
        "from": days[0][:8] + "01",
        "to": days[-1],
        "by": by,
        "series": [_point(k, day) for k, day in enumerate(days)],
        "totals": totals,
    }


def _render(document: dict, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None, soft_wrap=True)
    for table in metrics_table(document, width):
        console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_six_months_fit_80_columns_with_every_figure_whole() -> None:
    shown = _render(_document(MONTHS, "month"), 80)
    assert "…" not in shown
    assert max(len(line) for line in shown.splitlines()) <= 80
    for k, month in enumerate(MONTHS):
        assert month[:7] in shown  # the column of 2026-01 … 2026-06
        # e.g. month 0: MRR 1,000,000.11, 10,000 customers, ARPU 100.25, new 20,000.01 …
        base = 1_000_000 + 111_111 * k
        for figure in (
            f"{base:,}.11",
            f"{10_000 + k:,}",
            f"{100 + k}.25",
            f"{20_000 + k:,}.01",
            f"{30_000 + k:,}.02",
            f"-{40_000 + k:,}.03",
            f"-{50_000 + k:,}.04",
            f"{60_000 + k:,}.05",
            f"-{70_000 + k:,}.06",
            f"{300 + k} / {400 + k}",
            f"{500 + k}",
            f"{80_000 + k:,}.07",
            f"{160 + k}.08",
            f"{1.5 + k:.1f}",
        ):
            assert figure in shown, (month, figure)
    for total in (
        "999,999.99 → 1,555,555.66",
        "9,999 → 10,005",
        "18,666,667.92",
        "12,345.67",
        "1.2%",
        "2.50",
        "3,015",
        "480,015.42",
        "159.21",
        "77.54",
        "13.0",  # months of payback, one decimal
    ):
        assert total in shown, total


def test_the_months_split_into_tables_that_each_fit() -> None:
    """Six seven-digit columns of 12 characters (+3 of frame each) and a label column of 16
    ("reactivation MRR", +4) need 20 + 6 × 15 = 110 columns. At 80 four would fit (20 + 60),
    leaving two for a second table; the months go 3 + 3 instead. At 120 they fit one table."""
    narrow = _render(_document(MONTHS, "month"), 80)
    assert ("(1/2)" in narrow, "(2/2)" in narrow, "(3/" in narrow) == (True, True, False)
    headers = [line for line in narrow.splitlines() if "by month" in line]
    assert [
        [m for m in ("01", "02", "03", "04", "05", "06") if f"2026-{m}" in h] for h in headers
    ] == [
        ["01", "02", "03"],
        ["04", "05", "06"],
    ]
    wide = _render(_document(MONTHS, "month"), 120)
    assert "(1/" not in wide
    assert max(len(line) for line in wide.splitlines()) == 110


def test_a_week_of_days_fits_too() -> None:
    days = [f"2026-03-{d:02d}" for d in range(1, 8)]
    shown = _render(_document(days, "day"), 80)
    assert "…" not in shown
    # Within one year a day's column is headed by its month and day (the title has the year).
    assert all(f" {day[5:]} " in shown for day in days)
    assert "2026-03-01 → 2026-03-07" in shown
    assert max(len(line) for line in shown.splitlines()) <= 80


def test_days_across_a_new_year_keep_their_year() -> None:
    doc = _document(["2025-12-31", "2026-01-01"], "day")
    doc["from"] = "2025-12-31"
    shown = _render(doc, 80)
    assert " 2025-12-31 " in shown
    assert " 2026-01-01 " in shown
