"""Committed MRR (METRICS.md §9), end to end: a scripted account synced through HTTP, then
`stripe-kpi metrics --json` (USD, UTC, read on 15 Jun 2026 at noon).

Example 27: MRR 1,000; a $100 subscription set to cancel; a schedule moving $50 to $80 next
month; two $40 trials and a 50 % conversion → CMRR 1,000 − 100 + 30 + 40 = 970.00. Scripted as:

  Xavier  $820/month from 1 Jan.
  Cancel  $100/month from 1 Feb, asks on 10 Jun to cancel at the period end (1 Jul).
  Sched   $50/month from 1 Mar; a schedule made on 5 Jun moves it to $80 on 1 Jul.
  Tina    $30/month, 14-day trial from 1 Apr: converts on 15 Apr.
  Lapse   $30/month, 14-day trial from 1 May, no card: canceled at its end (15 May).
  Try1/2  $40/month each, 14-day trials from 10 Jun (they end on 24 Jun, after the read).

MRR on 15 Jun: 820 + 100 + 50 + 30 = 1,000. Trials ended in the 90 days to 15 Jun (17 Mar…):
Tina's (converted) and Lapse's (not): 1 of 2 = 50 %. Trials in progress: 2 × 40 = 80, × 0.5 = 40.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from fractions import Fraction

import pytest
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.metrics.committed import Commitment, committed_mrr
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.billing.schedules import Phase
from stripe_kpi.store.engine import open_database
from tests.sync_support import cli_env, synced_sqlite

runner = CliRunner()
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


def d(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def example_27() -> BillingAccount:
    acct = BillingAccount(start=datetime(2026, 1, 1, tzinfo=UTC), seed=27)
    big = acct.create_price(unit_amount=82000, interval="month", product="Enterprise")
    hundred = acct.create_price(unit_amount=10000, interval="month", product="Pro")
    fifty = acct.create_price(unit_amount=5000, interval="month", product="Team")
    eighty = acct.create_price(unit_amount=8000, interval="month", product="Team+")
    thirty = acct.create_price(unit_amount=3000, interval="month", product="Basic")
    forty = acct.create_price(unit_amount=4000, interval="month", product="Plus")
    xavier = acct.create_customer(name="Xavier", email="x@example.com", at=d(1, 1))
    acct.subscribe(xavier, [(big, 1)], at=d(1, 1))
    cancel = acct.create_customer(name="Cancel", email="c@example.com", at=d(2, 1))
    to_cancel = acct.subscribe(cancel, [(hundred, 1)], at=d(2, 1))
    sched = acct.create_customer(name="Sched", email="s@example.com", at=d(3, 1))
    scheduled = acct.subscribe(sched, [(fifty, 1)], at=d(3, 1))
    tina = acct.create_customer(name="Tina", email="t@example.com", at=d(4, 1))
    acct.subscribe(tina, [(thirty, 1)], at=d(4, 1), trial_days=14)
    lapse = acct.create_customer(name="Lapse", email="l@example.com", at=d(5, 1))
    acct.trial_lapses(acct.subscribe(lapse, [(thirty, 1)], at=d(5, 1), trial_days=14))
    acct.create_schedule(scheduled, [Phase(d(7, 1), [(eighty, 1)])], end=d(10, 1), at=d(6, 5))
    for name in ("Try1", "Try2"):
        trier = acct.create_customer(name=name, email=f"{name}@example.com", at=d(6, 10))
        acct.subscribe(trier, [(forty, 1)], at=d(6, 10), trial_days=14)
    acct.cancel(to_cancel, at=d(6, 10, 10), at_period_end=True)
    acct.advance(NOW)
    return acct


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> str:
    acct = example_27()
    return synced_sqlite(acct, tmp_path_factory.mktemp("cmrr"), NOW)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, synced: str, tmp_path) -> None:
    cli_env(monkeypatch, synced, NOW, tmp_path)


def _totals(*args: str) -> dict:
    result = runner.invoke(app, ["metrics", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["totals"]


def test_example_27_committed_mrr(env) -> None:
    totals = _totals()
    assert totals["mrr_end"] == 1000.0
    assert totals["cmrr"] == 970.0


def test_the_stored_commitments(env, synced: str) -> None:
    from sqlalchemy import text

    _totals()
    engine = open_database(synced)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT kind, date, amount FROM committed_change ORDER BY kind, date, amount")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("ending", "2026-07-01", -10000),  # −100.00 on its period end
        ("scheduled", "2026-07-01", 3000),  # 80.00 − 50.00
        ("trial", "2026-06-24", 4000),
        ("trial", "2026-06-24", 4000),
    ]


def test_cmrr_is_for_today_only(env) -> None:
    """A past period has no CMRR: whether a subscription was set to cancel then is not known."""
    assert _totals("--from", "2026-05-01", "--to", "2026-05-31")["cmrr"] is None
    assert _totals("--from", "2026-06-01", "--to", "2026-06-15")["cmrr"] == 970.0


def test_the_text_view_shows_it(env) -> None:
    result = runner.invoke(app, ["metrics"])
    assert result.exit_code == 0, result.output
    assert any(
        "committed MRR (today)" in line and "970.00" in line for line in result.stdout.splitlines()
    )


def _row(kind: str, sub: str, day: date, amount: int) -> Commitment:
    return Commitment("cus", sub, kind, day.toordinal(), amount)  # type: ignore[arg-type]


def test_only_the_next_phase_counts_and_rounding_is_once() -> None:
    today = date(2026, 6, 15)
    rows = [
        _row("scheduled", "sub_a", date(2026, 7, 1), 3000),
        _row("scheduled", "sub_a", date(2026, 9, 1), 5000),  # a later phase: not in CMRR
        _row("trial", "sub_b", date(2026, 6, 20), 3333),
        _row("trial", "sub_c", date(2026, 6, 20), 3333),
    ]
    # 10,000 + 30.00 + (33.33 + 33.33) × 1/3 = 100.00 + 30.00 + 22.22 (66.66 / 3 = 22.22).
    assert committed_mrr(10000, rows, Fraction(1, 3), today.toordinal()) == (10000 + 3000 + 2222)
    # No trial ended in the window: conversion unknown, the trials add nothing.
    assert committed_mrr(10000, rows, None, today.toordinal()) == 13000


def test_forecast_of_the_example_27_account(env) -> None:
    """Base months: March starts at 920 (820 + 100) and gains Sched's +50; April starts at 970
    and gains Tina's +30 (converted 15 Apr); May starts at 1,000, no movement. Growth
    (50 + 30 + 0) / 3 = 26.67 a month, shrink 0. Scheduled on 1 Jul: −100 (the cancellation)
    and +30 (the phase). July: 1,000 + 26.67 − 70 = 956.67; August 983.33; September 1,010.00."""
    result = runner.invoke(app, ["forecast", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [(m["month"], m["mrr_start"], m["gained"], m["lost"]) for m in doc["based_on"]] == [
        ("2026-03", 920.0, 50.0, 0.0),
        ("2026-04", 970.0, 30.0, 0.0),
        ("2026-05", 1000.0, 0.0, 0.0),
    ]
    assert (doc["growth"], doc["shrink_rate"]) == (26.67, 0.0)
    assert [(m["month"], m["scheduled"], m["mrr_end"]) for m in doc["months"]] == [
        ("2026-07", -70.0, 956.67),
        ("2026-08", 0.0, 983.33),
        ("2026-09", 0.0, 1010.0),
    ]
    text_view = runner.invoke(app, ["forecast", "--months", "1"])
    assert text_view.exit_code == 0, text_view.output
    lines = text_view.stdout.splitlines()
    assert lines[0].startswith("MRR forecast — a projection, not a measurement (USD")
    assert lines[-1].split() == ["2026-07", "1,000.00", "26.67", "0.00", "-70.00", "956.67"]
