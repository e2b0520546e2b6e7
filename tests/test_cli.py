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


def test_doctor_fails_a_malformed_key_and_still_checks_the_rest(monkeypatch) -> None:
    """The key's shape is checked where Stripe is called, so doctor names it on the key's own
    line and goes on with the database and SMTP checks instead of stopping at the settings."""
    monkeypatch.setenv("STRIPE_API_KEY", "garbage")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "✓ settings: currency usd, time zone UTC"
    assert (
        "✗ stripe key: STRIPE_API_KEY is not a Stripe secret or restricted key (expected "
        "sk_test_…, sk_live_…, rk_test_… or rk_live_…)"
    ) in lines
    assert "! smtp: SMTP_HOST is not set" in result.stdout
    assert "garbage" not in result.stdout


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


@pytest.fixture(scope="module")
def doctor_server():
    from datetime import UTC, datetime

    from stripe_kpi.simulator.billing import BillingAccount
    from stripe_kpi.simulator.server import PERMISSIONS, SimulatorServer

    account = BillingAccount(start=datetime(2026, 1, 1, tzinfo=UTC), seed=2)
    account.create_customer(name="Ada", email="ada@example.com")
    # Subscription schedules are read with the same permission: leave it out for both.
    no_subs = PERMISSIONS["subscriptions"]
    everything_but_subscriptions = [p for p in PERMISSIONS.values() if p != no_subs]
    with SimulatorServer(
        account.snapshot(),
        restricted_keys={
            "rk_test_readall0001": PERMISSIONS.values(),
            "rk_test_nosubs00001": everything_but_subscriptions,
        },
    ) as server:
        yield server


def _doctor_with_key(monkeypatch, server, key: str):
    monkeypatch.setenv("STRIPE_API_KEY", key)
    monkeypatch.setenv("STRIPE_API_BASE", server.url)
    return runner.invoke(app, ["doctor"])


def test_doctor_accepts_a_restricted_read_key(monkeypatch, doctor_server) -> None:
    result = _doctor_with_key(monkeypatch, doctor_server, "rk_test_readall0001")
    assert "✓ stripe key: restricted key, test mode" in result.stdout
    assert "✓ stripe access: can read /v1/customers, /v1/products" in result.stdout
    assert "full-access" not in result.stdout


def test_doctor_names_the_missing_permission(monkeypatch, doctor_server) -> None:
    result = _doctor_with_key(monkeypatch, doctor_server, "rk_test_nosubs00001")
    assert result.exit_code == 1
    failures = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    lacks = (
        " (403): the key lacks the 'Subscriptions: read' permission; create a restricted key "
        "with read access to Subscriptions (Dashboard → Developers → API keys), or add that "
        "permission to this key"
    )
    assert failures == [
        f"✗ stripe access: Stripe refused GET /v1/subscriptions{lacks}",
        f"✗ stripe access: Stripe refused GET /v1/subscription_schedules{lacks}",
    ]


def test_doctor_warns_about_a_full_access_key(monkeypatch, doctor_server) -> None:
    result = _doctor_with_key(monkeypatch, doctor_server, doctor_server.api_key)
    assert result.exit_code == 0, result.stdout
    assert "! stripe key: this is a full-access secret key; stripe_kpi only reads" in (
        result.stdout
    )


def test_doctor_reports_a_rejected_key(monkeypatch, doctor_server) -> None:
    result = _doctor_with_key(monkeypatch, doctor_server, "sk_test_notthekey123")
    assert result.exit_code == 1
    assert "✗ stripe access: Stripe rejected the API key (401)" in result.stdout
