"""`stripe-kpi spend set|import|list`: the spend CAC divides (METRICS.md §9), on SQLite and
PostgreSQL. Amounts are typed in major units and stored in minor units; a bad file row is one
line naming its line number, exit 2, and nothing of the file is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.errors import InputError
from stripe_kpi.store.engine import (
    MIGRATIONS,
    alembic_config,
    head_revision,
    make_engine,
    open_database,
)
from stripe_kpi.store.spend import spend_by_month, spend_rows, write_spend
from stripe_kpi.store.spend_input import SpendEntry, parse_csv, parse_entry

runner = CliRunner()
NOT_AN_AMOUNT = "is not an amount: use major units such as 4500 or 4500.50"


# -- amounts and months ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("4500", "usd", 450_000),  # 4,500 dollars = 450,000 cents
        ("4500.50", "usd", 450_050),
        ("4500.5", "usd", 450_050),  # one decimal is 50 cents, not 5
        ("0.07", "eur", 7),
        ("0", "usd", 0),
        ("4500", "jpy", 4_500),  # zero-decimal: yen are the minor unit
        ("1.234", "kwd", 1_234),  # three-decimal: 1.234 dinar = 1,234 fils
    ],
)
def test_amounts_in_major_units_are_stored_in_minor_units(
    amount: str, currency: str, minor: int
) -> None:
    assert parse_entry("2026-10", amount, currency) == SpendEntry("2026-10", minor)


@pytest.mark.parametrize(
    ("month", "amount", "currency", "message"),
    [
        ("2026-13", "100", "usd", "'2026-13' is not a month: use YYYY-MM (e.g. 2026-10)"),
        ("2026-1", "100", "usd", "'2026-1' is not a month: use YYYY-MM (e.g. 2026-10)"),
        ("October", "100", "usd", "'October' is not a month: use YYYY-MM (e.g. 2026-10)"),
        ("2026-10", "-100", "usd", "'-100' is negative: spend is 0 or more"),
        ("2026-10", "abc", "usd", f"'abc' {NOT_AN_AMOUNT}"),
        ("2026-10", "4,500", "usd", f"'4,500' {NOT_AN_AMOUNT}"),
        ("2026-10", "4500.505", "usd", "'4500.505' has more decimals than USD has (2)"),
        ("2026-10", "4500.5", "jpy", "'4500.5' has more decimals than JPY has (0)"),
        ("2026-10", "1" + "0" * 14, "usd", f"'1{'0' * 14}' is too large for a month's spend"),
    ],
)  # fmt: skip
def test_a_bad_month_or_amount_is_one_line(
    month: str, amount: str, currency: str, message: str
) -> None:
    with pytest.raises(InputError) as info:
        parse_entry(month, amount, currency)
    assert info.value.message == message


def test_csv_rows_with_a_header_blank_lines_and_spaces() -> None:
    rows = "Month,Amount\n2026-01,1000\n\n 2026-02 , 1250.75\n2026-03,0\n"
    assert parse_csv(rows, "usd", "spend.csv") == [
        SpendEntry("2026-01", 100_000),
        SpendEntry("2026-02", 125_075),
        SpendEntry("2026-03", 0),
    ]


def test_a_csv_without_rows_is_refused() -> None:
    with pytest.raises(InputError, match=r"^spend\.csv has no spend rows"):
        parse_csv("month,amount\n\n", "usd", "spend.csv")


# -- the table ---------------------------------------------------------------------------------


def test_a_month_set_again_is_replaced_and_currencies_are_kept(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        write_spend(engine, [SpendEntry("2026-02", 500), SpendEntry("2026-01", 700)], "usd", 10)
        write_spend(engine, [SpendEntry("2026-02", 900)], "usd", 20)
        write_spend(engine, [SpendEntry("2026-03", 300)], "eur", 30)
        assert [(r.month, r.amount, r.currency, r.updated_at) for r in spend_rows(engine)] == [
            ("2026-01", 700, "usd", 10),
            ("2026-02", 900, "usd", 20),
            ("2026-03", 300, "eur", 30),
        ]
        # March was entered in euros: not spend in dollars (CAC then counts it as not entered).
        assert spend_by_month(engine, "usd") == {"2026-01": 700, "2026-02": 900}
    finally:
        engine.dispose()


def test_a_database_from_the_revision_before_upgrades_in_place(db_url: str) -> None:
    """The revision before ``0010_spend`` (whatever it is named), with data: opening it adds an
    empty ``spend`` table and keeps every row."""
    before = ScriptDirectory(str(MIGRATIONS)).get_revision("0010_spend").down_revision
    old = make_engine(db_url)
    command.upgrade(alembic_config(old), str(before))
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO daily_metrics (date, currency, mrr, customers, new, expansion, "
                "contraction, churn, reactivation, fx, churned_voluntary, churned_involuntary, "
                "churned_mrr_voluntary, churned_mrr_involuntary, mrr_at_risk) VALUES "
                "('2026-01-01', 'usd', 1000, 1, 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"
            )
        )
    assert "spend" not in inspect(old).get_table_names()
    old.dispose()
    engine = open_database(db_url)
    try:
        assert "spend" in inspect(engine).get_table_names()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT mrr FROM daily_metrics")).scalars().all() == [
                1000
            ]
        assert spend_rows(engine) == []
        assert head_revision() != before
    finally:
        engine.dispose()


# -- the commands ------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("STRIPE_KPI_CURRENCY", "usd")
    monkeypatch.setenv("STRIPE_API_KEY", "garbage")  # spend never calls Stripe
    return tmp_path


def _listed() -> list[dict]:
    result = runner.invoke(app, ["spend", "list", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_set_import_and_list(env: Path) -> None:
    result = runner.invoke(app, ["spend", "set", "2026-10", "4500"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "spend 2026-10: 4,500.00 USD\n"
    (env / "spend.csv").write_text("month,amount\n2026-08,1200.5\n2026-09,0\n2026-10,4750.25\n")
    result = runner.invoke(app, ["spend", "import", "spend.csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 3 months of spend from spend.csv\n"
    assert _listed() == [
        {"month": "2026-08", "amount": 1200.5, "currency": "usd"},
        {"month": "2026-09", "amount": 0, "currency": "usd"},
        {"month": "2026-10", "amount": 4750.25, "currency": "usd"},  # the file replaced 4,500
    ]
    table = runner.invoke(app, ["spend", "list"])
    assert table.exit_code == 0, table.output
    assert "│ 2026-10 │ 4,750.25 │ USD      │" in table.stdout


def test_list_before_any_spend(env: Path) -> None:
    result = runner.invoke(app, ["spend", "list"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "no spend entered yet: stripe-kpi spend set 2026-10 4500\n"
    assert _listed() == []


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("2026-13,100", "line 4: '2026-13' is not a month: use YYYY-MM (e.g. 2026-10)"),
        ("2026-11,-100", "line 4: '-100' is negative: spend is 0 or more"),
        ("2026-11,lots", f"line 4: 'lots' {NOT_AN_AMOUNT}"),
        ("2026-07,100", "line 4: 2026-07 is already on line 2"),
        ("2026-11,100,extra", "line 4: expected month,amount; found 3 fields"),
    ],
)  # fmt: skip
def test_a_bad_row_names_its_line_and_imports_nothing(
    env: Path, bad_row: str, message: str
) -> None:
    runner.invoke(app, ["spend", "set", "2026-07", "10"])
    (env / "spend.csv").write_text(
        f"month,amount\n2026-07,999\n2026-08,200\n{bad_row}\n2026-12,5\n"
    )
    result = runner.invoke(app, ["spend", "import", "spend.csv"])
    assert result.exit_code == 2
    assert result.stderr == f"error: spend.csv {message}\n"
    # Nothing of the file: July keeps the 10 set before, August and December never arrived.
    assert _listed() == [{"month": "2026-07", "amount": 10.0, "currency": "usd"}]


def test_a_missing_file_is_one_line(env: Path) -> None:
    result = runner.invoke(app, ["spend", "import", "nowhere.csv"])
    assert result.exit_code == 2
    assert result.stderr == "error: cannot read nowhere.csv: No such file or directory\n"


def test_set_refuses_a_bad_amount_in_one_line(env: Path) -> None:
    result = runner.invoke(app, ["spend", "set", "2026-10", "4500.123"])
    assert result.exit_code == 2
    assert result.stderr == "error: '4500.123' has more decimals than USD has (2)\n"
    assert _listed() == []
