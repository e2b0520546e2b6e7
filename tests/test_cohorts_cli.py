"""`stripe-kpi cohorts`: the triangle of METRICS.md §4 from the stored ``cohort_month`` table, on a
small scripted account synced through HTTP (USD, UTC, read on 15 Apr 2026).

  Ada  $50/month from 10 Jan.
  Bob  $100/month from 20 Jan, → $150/month on 5 Mar (prorated): expansion +50.
  Cy   $40/month from 25 Jan, canceled at once on 10 Feb: churn in February.
  Eve  $60/month from 14 Jan, canceled at once on 20 Jan: churn inside her first month.
  Dee  $80/month from 3 Feb, asks on 10 Mar to cancel at the period end (3 Apr).

January cohort (Ada, Bob, Cy, Eve: 4 customers):
  end of Jan  Ada 50 + Bob 100 + Cy 40 (Eve gone)   3 paying, MRR 190 (the starting MRR)
  end of Feb  Ada 50 + Bob 100                      2 paying, MRR 150
  end of Mar  Ada 50 + Bob 150                      2 paying, MRR 200
  15 Apr      the same                              2 paying, MRR 200 (month in progress)
  customers: 100 % (month 0 by definition), 2/4 = 50 %, 50 %, 50 %
  mrr:       190/190 = 100 %, 150/190 = 78.9 %, 200/190 = 105.3 %, 105.3 %
February cohort (Dee): 80, 80, then 0 on 15 Apr: customers 100 %, 100 %, 0 %; mrr the same.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.store.engine import open_database
from tests.sync_support import cli_env, synced_sqlite

runner = CliRunner()
NOW = datetime(2026, 4, 15, 12, tzinfo=UTC)


def d(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> str:
    acct = BillingAccount(start=datetime(2026, 1, 1, tzinfo=UTC), seed=5)
    fifty = acct.create_price(unit_amount=5000, interval="month", product="Starter")
    hundred = acct.create_price(unit_amount=10000, interval="month", product="Pro")
    one_fifty = acct.create_price(unit_amount=15000, interval="month", product="Business")
    forty = acct.create_price(unit_amount=4000, interval="month", product="Basic")
    sixty = acct.create_price(unit_amount=6000, interval="month", product="Team")
    eighty = acct.create_price(unit_amount=8000, interval="month", product="Plus")
    ada = acct.create_customer(name="Ada", email="ada@example.com", at=d(1, 10))
    acct.subscribe(ada, [(fifty, 1)], at=d(1, 10))
    eve = acct.create_customer(name="Eve", email="eve@example.com", at=d(1, 14))
    eves = acct.subscribe(eve, [(sixty, 1)], at=d(1, 14))
    acct.cancel(eves, at=d(1, 20))
    bob = acct.create_customer(name="Bob", email="bob@example.com", at=d(1, 20))
    bobs = acct.subscribe(bob, [(hundred, 1)], at=d(1, 20))
    cy = acct.create_customer(name="Cy", email="cy@example.com", at=d(1, 25))
    cys = acct.subscribe(cy, [(forty, 1)], at=d(1, 25))
    dee = acct.create_customer(name="Dee", email="dee@example.com", at=d(2, 3))
    dees = acct.subscribe(dee, [(eighty, 1)], at=d(2, 3))
    acct.cancel(cys, at=d(2, 10))
    acct.change(bobs, at=d(3, 5), price=one_fifty)
    acct.cancel(dees, at=d(3, 10), at_period_end=True)
    acct.advance(NOW)
    return synced_sqlite(acct, tmp_path_factory.mktemp("c"), NOW)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, synced: str, tmp_path) -> None:
    cli_env(monkeypatch, synced, NOW, tmp_path)
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)


def _json(*args: str) -> dict:
    result = runner.invoke(app, ["cohorts", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _cells(doc: dict, field: str) -> dict[str, list]:
    return {c["cohort"]: [m[field] for m in c["months"]] for c in doc["cohorts"]}


def test_customer_retention_triangle(env) -> None:
    doc = _json()
    assert [(c["cohort"], c["customers"]) for c in doc["cohorts"]] == [
        ("2026-01", 4),
        ("2026-02", 1),
    ]
    assert _cells(doc, "retention") == {"2026-01": [1.0, 0.5, 0.5, 0.5], "2026-02": [1.0, 1.0, 0.0]}
    assert _cells(doc, "customers") == {"2026-01": [3, 2, 2, 2], "2026-02": [1, 1, 0]}
    assert _cells(doc, "partial") == {
        "2026-01": [False, False, False, True],
        "2026-02": [False, False, True],
    }
    assert doc["as_of"] == "2026-04-15"


def test_mrr_retention_is_net_and_can_pass_100_percent(env) -> None:
    doc = _json("--metric", "mrr")
    january = doc["cohorts"][0]
    assert january["starting_mrr"] == 190.0
    assert [m["mrr"] for m in january["months"]] == [190.0, 150.0, 200.0, 200.0]
    # 150/190 = 0.789474, 200/190 = 1.052632 (six places)
    assert [m["retention"] for m in january["months"]] == [1.0, 0.789474, 1.052632, 1.052632]


def test_from_a_month_and_the_text_table(env) -> None:
    assert [c["cohort"] for c in _json("--from", "2026-02")["cohorts"]] == ["2026-02"]
    result = runner.invoke(app, ["cohorts", "--metric", "mrr"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["cohort", "customers", "start", "MRR", "M0", "M1", "M2", "M3"]
    assert lines[2].split() == ["2026-01", "4", "190.00", "100%", "79%", "105%", "105%*"]
    assert lines[3].split() == ["2026-02", "1", "80.00", "100%", "100%", "0%*"]
    assert lines[4] == "* the month in progress, at 2026-04-15"


def test_csv(env) -> None:
    result = runner.invoke(app, ["cohorts", "--csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "cohort,customers,starting_mrr,m0,m1,m2,m3",
        "2026-01,4,190.0,1.0,0.5,0.5,0.5",
        "2026-02,1,80.0,1.0,1.0,0.0,",
    ]


def test_read_from_the_stored_table(env, synced: str) -> None:
    """The command reads ``cohort_month`` (kept current with the other derived tables), not a
    recomputation: a row changed by hand shows."""
    _json()  # the tables are built by the first read
    engine = open_database(synced)
    try:
        with engine.begin() as connection:
            stored = connection.execute(
                text("SELECT * FROM cohort_month ORDER BY cohort, months_since")
            ).all()
            assert [tuple(r) for r in stored] == [
                ("2026-01-01", 0, "usd", 4, 3, 19000),
                ("2026-01-01", 1, "usd", 4, 2, 15000),
                ("2026-01-01", 2, "usd", 4, 2, 20000),
                ("2026-01-01", 3, "usd", 4, 2, 20000),
                ("2026-02-01", 0, "usd", 1, 1, 8000),
                ("2026-02-01", 1, "usd", 1, 1, 8000),
                ("2026-02-01", 2, "usd", 1, 0, 0),
            ]
            connection.execute(text("UPDATE cohort_month SET customers = 1 WHERE months_since = 3"))
        assert _cells(_json(), "retention")["2026-01"] == [1.0, 0.5, 0.5, 0.25]
        with engine.begin() as connection:
            connection.execute(text("UPDATE cohort_month SET customers = 2 WHERE months_since = 3"))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "week"], "--by 'week': cohorts are by month"),
        (["--metric", "revenue"], "--metric 'revenue': use customers or mrr"),
        (["--from", "2026-13"], "--from '2026-13' is not a month: use YYYY-MM"),
        (["--json", "--csv"], "give either --json or --csv, not both"),
    ],
)
def test_bad_options_are_one_line(env, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["cohorts", *args])
    assert result.exit_code == 2
    assert message in result.stderr
