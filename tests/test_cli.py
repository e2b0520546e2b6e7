"""The command line: help, version, one-line errors, doctor."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from stripe_kpi import __version__
from stripe_kpi.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in (
        "STRIPE_API_KEY",
        "STRIPE_API_BASE",
        "DATABASE_URL",
        "SMTP_HOST",
        "STRIPE_KPI_CURRENCY",
        "STRIPE_KPI_TIMEZONE",
        "EMAIL_FROM",
        "EMAIL_TO",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"stripe-kpi {__version__}"


def test_doctor_on_a_fresh_machine_warns_but_passes(tmp_path) -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "✓ settings: currency usd, time zone UTC"
    assert lines[1] == (
        "✓ database: sqlite:///stripe_kpi.db (0 customers, 0 subscriptions, 0 invoices)"
    )
    assert "! sync: no successful sync yet" in result.stdout
    assert "! stripe key: STRIPE_API_KEY is not set" in result.stdout
    assert "! smtp: SMTP_HOST is not set" in result.stdout
    assert (tmp_path / "stripe_kpi.db").exists()


def test_doctor_names_a_bad_setting(monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_KPI_TIMEZONE", "Nowhere/Atlantis")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "✗ settings: STRIPE_KPI_TIMEZONE is not an IANA time zone (e.g. UTC, Europe/Paris, "
        "America/New_York)"
    ]


def test_doctor_reports_unreachable_smtp(monkeypatch) -> None:
    from tests.pg_cluster import free_port

    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    monkeypatch.setenv("SMTP_SECURITY", "none")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "✗ email: EMAIL_FROM and EMAIL_TO not set" in result.stdout
    assert "✗ smtp: cannot reach 127.0.0.1:" in result.stdout


def test_doctor_reports_unusable_database(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/missing/dir/x.db")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert f"✗ database: DATABASE_URL points into {tmp_path}/missing/dir, which does not exist" in (
        result.stdout
    )


def test_simulate_serve_is_pageable_with_the_official_client() -> None:
    import re
    import subprocess
    import sys

    import stripe

    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stripe_kpi.cli",
            "simulate",
            "serve",
            "--port",
            "0",
            "--customers",
            "30",
            "--months",
            "6",
            "--seed",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = child.stdout.readline()
        match = re.search(
            r"\((\d+) customers, (\d+) subscriptions.* at (http://127\.0\.0\.1:\d+)", first
        )
        assert match, first
        assert child.stdout.readline().strip() == f"STRIPE_API_BASE={match[3]}"
        assert child.stdout.readline().strip() == "STRIPE_API_KEY=sk_test_simulator"
        client = stripe.StripeClient(
            "sk_test_simulator", base_addresses={"api": match[3]}, max_network_retries=0
        )
        customers = list(client.v1.customers.list({"limit": 7}).auto_paging_iter())
        subscriptions = list(
            client.v1.subscriptions.list({"limit": 7, "status": "all"}).auto_paging_iter()
        )
        assert len(customers) == int(match[1]) == 30
        assert len(subscriptions) == int(match[2])
        assert len({c.id for c in customers}) == 30
    finally:
        child.terminate()
        child.wait(timeout=10)
        child.stdout.close()
