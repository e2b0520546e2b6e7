"""`stripe-kpi sync` as cron runs it: one clear line and a non-zero exit for every failure, the
database untouched; a real `kill -9` mid-backfill, then a clean finish."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.stripe_api import RetryPolicy
from stripe_kpi.sync.lock import sync_lock
from tests.pg_cluster import free_port
from tests.sync_support import dump

runner = CliRunner()


@pytest.fixture(scope="module")
def live_server() -> Iterator[SimulatorServer]:
    """An account whose present is the real present: the CLI syncs with the real clock."""
    end = datetime.now(UTC).replace(microsecond=0)
    account = generate_account(seed=3, customers=30, start=end - timedelta(days=400), end=end)
    with SimulatorServer(account.snapshot(), revoked_keys=["sk_test_revoked0001"]) as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, live_server: SimulatorServer) -> dict:
    values = {
        "STRIPE_API_KEY": live_server.api_key,
        "STRIPE_API_BASE": live_server.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kpi.db'}",
        "STRIPE_KPI_RATE_LIMIT": "1000",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return values


def _sync(*args: str):
    return runner.invoke(app, ["sync", *args])


def test_sync_then_in_step(env: dict) -> None:
    first = _sync()
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("in step: full sync (first sync) copied ")
    second = _sync()
    assert second.exit_code == 0
    assert second.stdout.startswith("in step: nothing changed since the last sync")


def _one_line_failure(result, code: int, starts: str) -> None:
    """Exactly one human line (the last), besides structured log lines (JSON, for the logs)."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    human = [line for line in lines if not line.startswith("{")]
    assert human == [lines[-1]], result.stderr
    assert lines[-1].startswith(f"error: {starts}"), lines[-1]
    assert "Traceback" not in result.output


def test_wrong_key(env: dict, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_wrongwrongwrong")
    _one_line_failure(_sync(), 3, "Stripe rejected the API key (401)")


def test_revoked_key(env: dict, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_revoked0001")
    _one_line_failure(_sync(), 3, "Stripe rejected the API key (401)")


def test_malformed_key(env: dict, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "pk_test_publishable1")
    _one_line_failure(_sync(), 2, "STRIPE_API_KEY is not a Stripe secret or restricted key")


def test_unreachable_server(env: dict, monkeypatch) -> None:
    monkeypatch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")
    quick = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
    monkeypatch.setattr("stripe_kpi.stripe_api.client.RetryPolicy", lambda: quick)
    _one_line_failure(_sync(), 3, "Cannot reach the Stripe API at http://127.0.0.1:")


def test_malformed_response_leaves_the_database_as_it_was(
    env: dict, live_server: SimulatorServer
) -> None:
    assert _sync().exit_code == 0
    engine = open_database(env["DATABASE_URL"])
    before = dump(engine)
    live_server.malformed_rate = 1.0
    try:
        _one_line_failure(_sync("--full"), 3, "The server at http://127.0.0.1:")
    finally:
        live_server.malformed_rate = 0.0
    assert dump(engine) == before
    engine.dispose()


def test_second_sync_is_refused_while_one_runs(env: dict) -> None:
    engine = open_database(env["DATABASE_URL"])
    with sync_lock(engine):
        _one_line_failure(_sync(), 4, "another stripe-kpi sync is running on this database")
    engine.dispose()


def test_locked_database(env: dict, monkeypatch) -> None:
    monkeypatch.setattr("stripe_kpi.store.engine.SQLITE_BUSY_TIMEOUT_MS", 200)
    open_database(env["DATABASE_URL"]).dispose()
    holder = sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///"))
    holder.execute("BEGIN EXCLUSIVE")
    try:
        _one_line_failure(_sync(), 5, "sqlite:///")
        assert "is locked by another process" in _sync().stderr
    finally:
        holder.rollback()
        holder.close()


def test_read_only_database(env: dict, monkeypatch) -> None:
    path = env["DATABASE_URL"].removeprefix("sqlite:///")
    open_database(env["DATABASE_URL"]).dispose()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///file:{path}?mode=ro&uri=true")
    result = _sync()
    _one_line_failure(result, 5, "sqlite:///file")
    assert "is read-only" in result.stderr


def _wait_for_backfill_progress(url: str, stage: int, timeout: float = 30.0) -> None:
    """Until the child has committed pages (more at each stage) and windows are still pending,
    so the kill lands in the middle of a backfill, whatever the machine's speed."""

    deadline = time.monotonic() + timeout
    path = url.removeprefix("sqlite:///")
    while time.monotonic() < deadline:
        time.sleep(0.02)
        if not Path(path).exists():
            continue
        try:
            with sqlite3.connect(path, timeout=0.1) as db:
                rows = db.execute("SELECT count(*) FROM invoice_line").fetchone()[0]
                pending = db.execute(
                    "SELECT count(*) FROM sync_state WHERE key LIKE 'backfill:%'"
                ).fetchone()[0]
        except sqlite3.Error:
            continue
        if rows >= 40 * stage and pending > 1:
            return
    raise AssertionError("the sync made no progress to interrupt")


def test_kill_9_mid_backfill_then_resume(env: dict, live_server: SimulatorServer, tmp_path) -> None:
    """A real process, a real SIGKILL while pages are being written, then a clean finish."""
    child_env = {**os.environ, **env, "STRIPE_KPI_SYNC_CONCURRENCY": "2"}
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    command = [sys.executable, "-m", "stripe_kpi.cli", "sync"]
    done = subprocess.run(
        command, env={**child_env, "DATABASE_URL": reference_url}, capture_output=True, check=True
    )
    assert done.returncode == 0
    live_server.latency = 0.05
    try:
        for stage in (1, 2):
            child = subprocess.Popen(
                command, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                _wait_for_backfill_progress(env["DATABASE_URL"], stage)
            finally:
                child.send_signal(signal.SIGKILL)
                child.wait()
    finally:
        live_server.latency = 0.0
    finished = subprocess.run(command, env=child_env, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    engine, reference = open_database(env["DATABASE_URL"]), open_database(reference_url)
    assert dump(engine) == dump(reference)
    engine.dispose()
    reference.dispose()
