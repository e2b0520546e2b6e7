"""`stripe-kpi metrics` and `movements` on a small scripted account synced through HTTP.

Figures worked out by hand from the script below (USD, UTC):
  Ada  $50/month from 3 Jan.
  Bob  $100/month from 20 Jan, downgraded to $60/month on 20 May (prorated)  → contraction −40.
  Cy   $40/month from 5 Feb, asks on 1 Jun to cancel at period end (5 Jun)   → churn −40, voluntary.
May: MRR 190 → 150, one contraction; June: 150 → 110, one voluntary churn.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.simulator.billing import BillingAccount
from tests.sync_support import cli_env, synced_sqlite

runner = CliRunner()
NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def d(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> str:
    acct = BillingAccount(start=datetime(2026, 1, 1, tzinfo=UTC), seed=3)
    fifty = acct.create_price(unit_amount=5000, interval="month", product="Starter")
    hundred = acct.create_price(unit_amount=10000, interval="month", product="Pro")
    sixty = acct.create_price(unit_amount=6000, interval="month", product="Team")
    forty = acct.create_price(unit_amount=4000, interval="month", product="Basic")
    ada = acct.create_customer(name="Ada Lovelace", email="ada@example.com", at=d(1, 3))
    acct.subscribe(ada, [(fifty, 1)], at=d(1, 3))
    bob = acct.create_customer(name="Bob Noyce", email="bob@example.com", at=d(1, 20))
    bobs = acct.subscribe(bob, [(hundred, 1)], at=d(1, 20))
    cy = acct.create_customer(name="Cy <Cyrus>", email="cy@example.com", at=d(2, 5))
    cys = acct.subscribe(cy, [(forty, 1)], at=d(2, 5))
    acct.change(bobs, at=d(5, 20), price=sixty)
    acct.cancel(
        cys,
        at=d(6, 1),
        at_period_end=True,
        reason="cancellation_requested",
        feedback="too_expensive",
        comment="Budget cuts",
    )
    acct.advance(NOW)
    return synced_sqlite(acct, tmp_path_factory.mktemp("m"), NOW)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, synced: str, tmp_path) -> None:
    cli_env(monkeypatch, synced, NOW, tmp_path)


def _json(*args: str) -> dict:
    result = runner.invoke(app, ["metrics", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_may_has_one_contraction(env) -> None:
    doc = _json("--from", "2026-05-01", "--to", "2026-05-31")
    assert (doc["currency"], doc["timezone"], doc["from"], doc["to"], doc["by"]) == (
        "usd",
        "UTC",
        "2026-05-01",
        "2026-05-31",
        "day",
    )
    assert len(doc["series"]) == 31
    may20 = next(p for p in doc["series"] if p["date"] == "2026-05-20")
    assert may20["mrr"] == 150.0
    assert may20["movements"]["contraction"] == -40.0
    assert may20["movements"]["net"] == -40.0
    t = doc["totals"]
    assert (t["mrr_start"], t["mrr_end"]) == (190.0, 150.0)
    assert (t["customers_start"], t["customers_end"]) == (3, 3)
    assert t["movements"] == {
        "new": 0, "expansion": 0, "contraction": -40.0, "churn": 0,
        "reactivation": 0, "net": -40.0, "fx": 0,
    }  # fmt: skip
    assert t["customer_churn_rate"] == 0.0
    assert t["gross_mrr_churn_rate"] == pytest.approx(40 / 190, abs=1e-6)
    assert t["net_mrr_churn_rate"] == pytest.approx(40 / 190, abs=1e-6)
    assert t["nrr"] == pytest.approx(150 / 190, abs=1e-6)
    assert t["grr"] == pytest.approx(150 / 190, abs=1e-6)
    assert t["quick_ratio"] == 0.0
    assert (t["arpu"], t["arr"], t["mrr_at_risk"]) == (50.0, 1800.0, 0.0)
    assert t["trial_conversion"] is None


def test_june_churn_is_voluntary_with_feedback(env) -> None:
    t = _json("--from", "2026-06-01", "--to", "2026-06-30")["totals"]
    assert (t["mrr_start"], t["mrr_end"], t["customers_end"]) == (150.0, 110.0, 2)
    assert t["movements"]["churn"] == -40.0
    assert t["churned_customers"] == {"voluntary": 1, "involuntary": 0}
    assert t["churned_mrr"] == {"voluntary": 40.0, "involuntary": 0.0}
    assert t["customer_churn_rate"] == pytest.approx(1 / 3, abs=1e-6)
    result = runner.invoke(app, ["movements", "--type", "churn", "--from", "2026-06-01", "--csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        f"2026-06-05,{_customer_id('Cy')},Cy <Cyrus>,cy@example.com,churn,-40.0,40.0,0.0,"
        "voluntary,cancellation_requested,too_expensive,Budget cuts"
    ]


def _customer_id(name: str) -> str:
    result = runner.invoke(app, ["movements", "--json", "--from", "2026-01-01"])
    rows = json.loads(result.stdout)
    return next(r["customer_id"] for r in rows if r["name"].startswith(name))


def test_by_month(env) -> None:
    doc = _json("--from", "2026-01-01", "--to", "2026-06-30", "--by", "month")
    assert [(p["date"], p["mrr"], p["customers"]) for p in doc["series"]] == [
        ("2026-01-31", 150.0, 2),
        ("2026-02-28", 190.0, 3),
        ("2026-03-31", 190.0, 3),
        ("2026-04-30", 190.0, 3),
        ("2026-05-31", 150.0, 3),
        ("2026-06-30", 110.0, 2),
    ]
    assert [p["movements"]["new"] for p in doc["series"]] == [150.0, 40.0, 0, 0, 0, 0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-02-30"], "--date '2026-02-30' is not a date: use YYYY-MM-DD"),
        (["--from", "yesterday"], "--from 'yesterday' is not a date: use YYYY-MM-DD"),
        (["--from", "2026-05-02", "--to", "2026-05-01"], "--from 2026-05-02 is after --to"),
        (["--date", "2026-05-01", "--to", "2026-05-02"], "give either --date or --from/--to"),
        (["--to", "2026-07-01"], "2026-07-01 is in the future"),
        (["--by", "week"], "--by 'week': use day or month"),
        (["--json", "--csv"], "give either --json or --csv"),
    ],
)
def test_bad_input_is_one_line(env, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["metrics", *args])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {message}" or result.stderr.startswith(
        f"error: {message}"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_movement_type(env) -> None:
    result = runner.invoke(app, ["movements", "--type", "upgrade"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --type 'upgrade': use one of new, expansion")


def test_empty_database(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["metrics"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: the database holds no Stripe data yet: run `stripe-kpi sync` first (or "
        "`stripe-kpi demo` to see the simulated account)"
    )


def test_a_malformed_key_does_not_stop_the_commands_that_only_read(env, monkeypatch) -> None:
    """`STRIPE_API_KEY=garbage`: metrics, movements, report, cohorts, spend and dashboard read the
    database and never call Stripe, so they work; sync, which calls Stripe, refuses the key in
    one line (exit 2)."""
    monkeypatch.setenv("STRIPE_API_KEY", "garbage")
    t = _json("--from", "2026-06-01", "--to", "2026-06-30")["totals"]
    assert (t["mrr_start"], t["mrr_end"]) == (150.0, 110.0)  # Cy's $40 churned on 5 Jun
    moves = runner.invoke(app, ["movements", "--json", "--from", "2026-01-01"])
    assert moves.exit_code == 0, moves.output
    types = [r["type"] for r in json.loads(moves.stdout)]
    assert types == ["new", "new", "new", "contraction", "churn"]  # Ada, Bob, Cy; Bob; Cy
    report = runner.invoke(app, ["report", "--date", "2026-06-05"])
    assert report.exit_code == 0, report.output
    cohorts = runner.invoke(app, ["cohorts", "--json"])
    assert cohorts.exit_code == 0, cohorts.output
    spend = runner.invoke(app, ["spend", "list", "--json"])
    assert (spend.exit_code, json.loads(spend.stdout)) == (0, [])
    page = runner.invoke(app, ["dashboard", "--out", "board.html"])
    assert page.exit_code == 0, page.output
    assert page.stdout.startswith("wrote ")
    synced = runner.invoke(app, ["sync"])
    assert synced.exit_code == 2
    assert synced.stderr.startswith("error: STRIPE_API_KEY is not a Stripe secret")
    assert "garbage" not in synced.output


@pytest.fixture
def with_spend(env, synced: str, tmp_path, monkeypatch) -> None:
    """A copy of the synced account (the module's database stays without spend) with spend
    entered for January–June: $600, $300, $150, then 0 for April–June."""
    copy = tmp_path / "spend.db"
    shutil.copyfile(synced.removeprefix("sqlite:///"), copy)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{copy}")
    (tmp_path / "spend.csv").write_text(
        "month,amount\n2026-01,600\n2026-02,300\n2026-03,150\n2026-04,0\n2026-05,0\n2026-06,0\n"
    )
    result = runner.invoke(app, ["spend", "import", "spend.csv"])
    assert result.exit_code == 0, result.output


def test_cac_ltv_cac_and_payback(with_spend) -> None:
    doc = _json("--from", "2026-01-01", "--to", "2026-06-30", "--by", "month")
    t = doc["totals"]
    # Spend 600 + 300 + 150 = 1,050; new customers Ada ($50), Bob ($100), Cy ($40): CAC 350.
    # LTV: ARPU 110 / 2 = 55 at 30 Jun ÷ the mean churn of Apr (0/3), May (0/3), Jun (1/3) =
    # 1/9 → 495; LTV:CAC 495 / 350 = 1.414286; payback 350 ÷ (190 / 3) = 1,050 / 190 = 5.526316.
    assert (t["new_customers"], t["spend"], t["cac"], t["ltv"]) == (3, 1050.0, 350.0, 495.0)
    assert (t["ltv_cac"], t["cac_payback_months"]) == (1.414286, 5.526316)
    # January: 600 ÷ 2 = 300, payback 300 ÷ (150 / 2) = 4; February: 300 ÷ 1 = 300, payback
    # 300 ÷ 40 = 7.5; March: spend but nobody new → null; April–June: nobody new → null.
    assert [(p["new_customers"], p["spend"], p["cac"], p["cac_payback_months"])
            for p in doc["series"]] == [
        (2, 600.0, 300.0, 4.0), (1, 300.0, 300.0, 7.5), (0, 150.0, None, None),
        (0, 0, None, None), (0, 0, None, None), (0, 0, None, None),
    ]  # fmt: skip
    csv_rows = runner.invoke(
        app, ["metrics", "--csv", "--from", "2026-01-01", "--to", "2026-02-28", "--by", "month"]
    ).stdout.splitlines()
    assert csv_rows[0].endswith(",new_customers,spend,cac,cac_payback_months")
    assert csv_rows[1].endswith(",2,600.0,300.0,4.0")


def test_without_spend_cac_is_null_never_zero(env) -> None:
    t = _json("--from", "2026-01-01", "--to", "2026-06-30")["totals"]
    assert (t["new_customers"], t["spend"], t["cac"]) == (3, None, None)
    assert (t["ltv_cac"], t["cac_payback_months"]) == (None, None)


def test_six_months_by_month_on_an_80_column_terminal(with_spend) -> None:
    result = runner.invoke(
        app, ["metrics", "--from", "2026-01-01", "--to", "2026-06-30", "--by", "month"]
    )
    assert result.exit_code == 0, result.output
    shown = result.stdout
    assert "…" not in shown
    assert max(len(line) for line in shown.splitlines()) <= 80
    # One column per month; MRR 150 → 190 → 190 → 190 → 150 → 110; May's contraction −40 and
    # June's churn −40; January's CAC 300 with a 4-month payback, February's 7.5.
    for month in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"):
        assert month in shown
    mrr = [
        cell.strip()
        for line in shown.splitlines()
        if line.startswith("│") and line.split("│")[1].strip() == "MRR"
        for cell in line.split("│")[2:-1]
    ]  # across the tables the months were split into
    assert mrr == ["150.00", "190.00", "190.00", "190.00", "150.00", "110.00"]
    for figure in ("-40.00", "7.5", "300.00", "LTV:CAC", "1.41"):  # LTV:CAC 495 / 350 = 1.41
        assert figure in shown, figure
