"""The worker's two jobs for real, run by the scheduler: a sync from the simulated Stripe account
over HTTP, then the morning job (its own sync, the metrics, the report) into an SMTP server on
127.0.0.1. The email that arrives is the report of the account as synced, figure for figure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from stripe_kpi.config import Settings
from stripe_kpi.report.daily import report_day
from stripe_kpi.report.render import render_text
from stripe_kpi.services import report_for
from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.models import ReportDelivery, SyncRun
from stripe_kpi.worker import WorkerJobs, build_scheduler, run_report, run_sync
from tests.smtp_support import Inbox


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[SimulatorServer]:
    """An account whose present is the real present: the sync runs with the real clock."""
    end = datetime.now(UTC).replace(microsecond=0)
    account = generate_account(seed=5, customers=25, start=end - timedelta(days=200), end=end)
    with SimulatorServer(account.snapshot()) as server:
        yield server


def test_worker_syncs_then_sends_the_report_of_the_synced_account(
    stripe_server: SimulatorServer, inbox: tuple[Inbox, int], tmp_path: Any
) -> None:
    handler, port = inbox
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        stripe_api_key=stripe_server.api_key,
        stripe_api_base=stripe_server.url,
        database_url=f"sqlite:///{tmp_path / 'kpi.db'}",
        rate_limit=1000,
        timezone="Europe/Paris",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        email_from="reports@example.test",
        email_to="founder@example.test",
    )
    now = datetime.now(UTC)
    jobs = WorkerJobs(
        sync=lambda: run_sync(settings, now),
        report=lambda: run_report(settings, now),
    )
    # A worker starting after its report time with nothing sent: a sync and the catch-up
    # report are both due at once, and run one after the other.
    scheduler = build_scheduler(settings, jobs, now=now, report_due_now=True)
    scheduler.start()
    try:
        deadline = time.monotonic() + 60
        while not handler.envelopes and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert handler.envelopes, "no report arrived"

    engine = open_database(settings.database_url)
    try:
        with Session(engine) as session:
            runs = session.execute(select(SyncRun.mode, SyncRun.status)).all()
            deliveries = session.execute(
                select(ReportDelivery.report_date, ReportDelivery.status)
            ).all()
        day = report_day(now, "Europe/Paris")
    finally:
        engine.dispose()
    summary = report_for(settings, now, day).summary

    assert [status for _, status in runs] == ["ok", "ok"]  # the interval sync, the report's sync
    assert {mode for mode, _ in runs} == {"full", "incremental"}
    assert deliveries == [(day.isoformat(), "sent")]
    assert summary.mrr > 0
    assert summary.customers > 0
    # The identities of METRICS.md §2 hold in what is reported.
    assert summary.change_day == summary.day_movements.net + summary.day_movements.fx
    assert summary.change_mtd == summary.mtd_movements.net + summary.mtd_movements.fx

    (message,) = [
        message_from_bytes(e.original_content, policy=policy.default) for e in handler.envelopes
    ]
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    received = text.get_content().replace("\r\n", "\n")
    # The text received is the report of the synced account as of yesterday, line for line
    # (the synced-at time read back is the one the email was built with).
    assert received == render_text(summary)
    assert any(part.get_content_type() == "image/png" for part in message.walk())


def test_the_worker_rewrites_the_dashboard_after_a_sync_that_changed_something(
    stripe_server: SimulatorServer, tmp_path: Any
) -> None:
    path = tmp_path / "dashboard.html"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        stripe_api_key=stripe_server.api_key,
        stripe_api_base=stripe_server.url,
        database_url=f"sqlite:///{tmp_path / 'kpi.db'}",
        rate_limit=1000,
        dashboard_path=path,
    )
    now = datetime.now(UTC)
    first = run_sync(settings, now)
    assert first.derived is not None  # the first sync built the tables: the file is written
    written = path.stat()
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert written.st_mode & 0o777 == 0o600
    again = run_sync(settings, now)
    assert again.derived is None  # nothing changed: the file is left as it was
    assert path.stat().st_mtime_ns == written.st_mtime_ns
    assert path.stat().st_ino == written.st_ino
    path.unlink()
    run_sync(settings, now)  # nothing changed, but the file is missing: written again
    assert path.exists()
