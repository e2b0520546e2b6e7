"""The `sync` command's body, apart from the Typer layer so the worker and the demo reuse it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from rich.console import Console

from stripe_kpi.config import Settings
from stripe_kpi.db import open_database
from stripe_kpi.errors import InputError
from stripe_kpi.metrics_store import compute_account, rebuild_derived_tables
from stripe_kpi.progress import counting_progress
from stripe_kpi.stripe_api import client_from_settings
from stripe_kpi.sync import SyncReport, sync


def run_sync_command(
    settings: Settings,
    *,
    full: bool = False,
    console: Console | None = None,
    now: int | None = None,
    rebuild: bool = True,
    stop: threading.Event | None = None,
) -> SyncReport:
    """Open, sync, rebuild the derived tables when anything changed, one line each. Errors
    propagate as StripeKpiError lines."""
    console = console or Console(stderr=True)
    engine = open_database(settings.database_url)
    try:
        with client_from_settings(settings) as client, counting_progress(console, "sync") as step:
            report = sync(
                engine,
                client,
                full=full,
                concurrency=settings.sync_concurrency,
                now=now,
                progress=step,
                stop=stop,
            )
        console.print(summary_line(report), highlight=False)
        if rebuild and (report.mode == "full" or report.events):
            as_of = datetime.fromtimestamp(now, UTC) if now is not None else datetime.now(UTC)
            try:
                computed = compute_account(
                    engine, currency=settings.currency, tz=settings.timezone, as_of=as_of
                )
            except InputError:  # an account without customers yet: nothing to derive
                return report
            movements, days = rebuild_derived_tables(engine, computed)
            console.print(
                f"metrics: {movements:,} MRR movements over {days:,} days rebuilt "
                "(tables mrr_movement, daily_metrics)",
                highlight=False,
            )
    finally:
        engine.dispose()
    return report


def summary_line(report: SyncReport) -> str:
    if report.mode == "full":
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in report.objects.items() if n)
        return (
            f"in step: full sync ({report.full_reason}) copied {report.total:,} objects "
            f"({kinds or 'none'}) in {report.seconds:.1f}s"
        )
    if report.events == 0:
        return f"in step: nothing changed since the last sync ({report.seconds:.1f}s)"
    return f"in step: applied {report.events:,} events in {report.seconds:.1f}s"
