"""`stripe-kpi demo`, the README's first command, end to end; and METRICS.md's identities held
over every day of the demo account."""

from __future__ import annotations

import itertools
import sqlite3
import stat
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stripe_kpi.cli import app

NOW = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object]:
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for name in ("DATABASE_URL", "STRIPE_API_KEY", "STRIPE_API_BASE",
                     "STRIPE_KPI_CURRENCY", "STRIPE_KPI_TIMEZONE"):  # fmt: skip
            patch.delenv(name, raising=False)
        patch.setattr("stripe_kpi.cli._now", lambda: NOW)
        result = CliRunner().invoke(app, ["demo"])
    return str(folder / "stripe-kpi-demo"), result


def test_demo_runs_and_says_where_its_files_are(demo) -> None:
    folder, result = demo
    assert result.exit_code == 0, result.output
    assert "simulated Stripe account at http://127.0.0.1:" in result.stdout
    assert "in step: full sync (first sync) copied " in result.stdout
    assert "MRR $" in result.stdout
    assert "— Thu 19 Nov 2026" in result.stdout
    assert f"HTML report: {folder}/report.html" in result.stdout
    assert f"dashboard:   {folder}/dashboard.html  (opens offline)" in result.stdout
    assert Path(folder, "dashboard.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    html = Path(folder, "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "data:image/png;base64," in html
    # Customer names and emails: owner-only, though the test process's umask would give 0644.
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in Path(folder).iterdir()}
    assert modes["report.html"] == modes["stripe_kpi_demo.db"] == 0o600
    assert all(mode == 0o600 for mode in modes.values()), modes


def test_every_day_mrr_change_equals_its_movements(demo) -> None:
    folder, _ = demo
    db = sqlite3.connect(f"{folder}/stripe_kpi_demo.db")
    days = db.execute(
        "SELECT date, mrr, customers, new + expansion + contraction + churn + reactivation, fx "
        "FROM daily_metrics ORDER BY date"
    ).fetchall()
    counts: dict[str, Counter] = {}
    for day, kind, n in db.execute(
        "SELECT date, type, count(*) FROM mrr_movement GROUP BY date, type"
    ):
        counts.setdefault(day, Counter())[kind] = n
    assert len(days) > 600  # two years of history, every day present
    assert days[-1][0] == "2026-11-20"
    previous_mrr, previous_customers = 0, 0
    for day, mrr, customers, net, fx in days:
        assert mrr - previous_mrr == net + fx, day
        c = counts.get(day, Counter())
        assert customers - previous_customers == c["new"] + c["reactivation"] - c["churn"], day
        previous_mrr, previous_customers = mrr, customers
    first = date.fromisoformat(days[0][0])
    assert all(
        date.fromisoformat(b[0]) - date.fromisoformat(a[0]) == timedelta(days=1)
        for a, b in itertools.pairwise(days)
    )
    assert first >= date(2024, 11, 1)
    db.close()
