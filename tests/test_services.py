"""The services as the CLI and the worker call them: a full sync checks itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stripe_kpi.config import Settings
from stripe_kpi.services import SyncOutcome, sync_and_derive
from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.sync.run import SyncReport


def test_a_full_sync_runs_the_check_and_an_incremental_one_does_not(tmp_path) -> None:
    end = datetime(2026, 6, 1, 12, tzinfo=UTC)
    account = generate_account(seed=4, customers=40, start=end - timedelta(days=300), end=end)
    with SimulatorServer(account.snapshot()) as server:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            stripe_api_key=server.api_key,
            stripe_api_base=server.url,
            database_url=f"sqlite:///{tmp_path / 'kpi.db'}",
            rate_limit=1000,
        )
        full = sync_and_derive(settings, end)
        account.advance(end + timedelta(days=2))
        server.set_data(account.snapshot())
        incremental = sync_and_derive(settings, end + timedelta(days=2))
    assert (full.sync.mode, full.disagreeing) == ("full", 0)  # checked, and all reconcile
    assert full.describe()[-1].startswith("metrics:")  # no warning line when none disagree
    assert incremental.sync.mode == "incremental"
    assert incremental.disagreeing is None


def test_the_sync_line_says_how_many_disagree_and_what_to_run() -> None:
    report = SyncReport(
        mode="full", objects={"customers": 3}, seconds=1.0, full_reason="first sync"
    )
    assert SyncOutcome(report, None, 2).describe()[-1] == (
        "2 subscriptions disagree with their invoices: run stripe-kpi check"
    )
    assert SyncOutcome(report, None, 1).describe()[-1] == (
        "1 subscription disagrees with its invoices: run stripe-kpi check"
    )
