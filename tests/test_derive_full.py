"""``stripe-kpi derive [--full]``: the derived tables brought up to date, or rebuilt from the
raw rows with what the rebuild repaired; one-line errors on an empty database. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.store.current import bring_up_to_date
from tests.sync_support import cli_env
from tests.test_derive_queue import _store_snapshot, _tables, _three_customers

runner = CliRunner()
SYNCED = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path) -> None:
    cli_env(monkeypatch, db_url, SYNCED, tmp_path)


def test_derive_full_repairs_tampered_tables_and_says_what_it_repaired(
    env: None, engine: Engine
) -> None:
    """Three customers from 1 March (a trial, $100 with 50 % off, $30 set to cancel), synced on
    10 March: daily_metrics runs 1–10 March (10 rows). A founder's SQL deletes Coupon Co's
    customer_result row and edits 5 March's MRR; ``derive --full`` puts both back (the
    customer's row rewritten; the day's wrong row removed and the right one rewritten) and
    leaves every table as it was before the tampering."""
    names = _store_snapshot(engine, _three_customers())
    bring_up_to_date(engine, currency="usd", tz="UTC", as_of=SYNCED)
    right = _tables(engine)
    assert len(right["daily_metrics"]) == 10  # 1–10 March
    assert len(right["customer_result"]) == 3
    with engine.begin() as connection:
        connection.execute(
            text("DELETE FROM customer_result WHERE customer_id = :id"), {"id": names["Coupon Co"]}
        )
        connection.execute(text("UPDATE daily_metrics SET mrr = 1 WHERE date = '2026-03-05'"))
    assert _tables(engine) != right

    result = runner.invoke(app, ["derive", "--full"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # MRR movements: Coupon Co new +50 and Leaving Co new +30 on 1 March (the trial pays later).
    assert lines[0] == (
        "rebuilt mrr_movement, daily_metrics, customer_result, cohort_month, committed_change, "
        "segment_mrr, customer_segment from the raw rows "
        "as of 2026-03-10 12:00:00 UTC: 3 customers, 2 MRR movements, 10 days "
        + lines[0].rsplit(" ", 1)[1]
    )
    assert lines[1:] == [
        "repaired daily_metrics: 1 row rewritten, 1 removed (now 10)",
        "repaired customer_result: 1 row rewritten, 0 removed (now 3)",
    ]
    assert _tables(engine) == right

    again = runner.invoke(app, ["derive", "--full"])
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[1:] == [
        "nothing to repair: every derived table already matched the raw rows"
    ]


def test_derive_brings_the_tables_up_to_date_and_says_when_nothing_was_owed(
    env: None, engine: Engine
) -> None:
    _store_snapshot(engine, _three_customers())
    first = runner.invoke(app, ["derive"])
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        "metrics: 2 MRR movements over 10 days rebuilt (tables mrr_movement, daily_metrics): "
        "the derived tables were never built"
    ]
    second = runner.invoke(app, ["derive"])
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines() == [
        "the derived tables are up to date (nothing was owed); derive --full rebuilds them"
    ]


@pytest.mark.parametrize("args", [["derive"], ["derive", "--full"]])
def test_derive_on_an_empty_database_is_one_line_and_exit_2(env: None, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: the database holds no Stripe data yet: run `stripe-kpi sync` first (or "
        "`stripe-kpi demo` to see the simulated account)"
    )
