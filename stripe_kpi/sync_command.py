"""The `sync` command's body, apart from the Typer layer so the worker and the demo reuse it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from rich.console import Console
from sqlalchemy import Engine

from stripe_kpi.config import Settings
from stripe_kpi.errors import InputError
from stripe_kpi.progress import counting_progress
from stripe_kpi.store.derived import recompute_derived_tables, update_derived_tables
from stripe_kpi.store.engine import open_database
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
                line = derive_tables(engine, settings, report, as_of)
            except InputError:  # an account without customers yet: nothing to derive
                return report
            console.print(line, highlight=False)
    finally:
        engine.dispose()
    return report


def derive_tables(engine: Engine, settings: Settings, report: SyncReport, as_of: datetime) -> str:
    """Bring ``mrr_movement`` and ``daily_metrics`` up to date after a sync; the line that says
    how. A full sync rebuilds them; an incremental one recomputes only the customers it touched
    (``update_derived_tables`` falls back to a rebuild when it must, and says why)."""
    tables = "(tables mrr_movement, daily_metrics)"
    if report.mode == "full":
        movements, days = recompute_derived_tables(
            engine, currency=settings.currency, tz=settings.timezone, as_of=as_of
        )
        return f"metrics: {movements:,} MRR movements over {days:,} days rebuilt {tables}"
    update = update_derived_tables(
        engine,
        report.touched_customers,
        currency=settings.currency,
        tz=settings.timezone,
        as_of=as_of,
    )
    if update.full_reason is not None:
        return (
            f"metrics: {update.movements:,} MRR movements over {update.days:,} days rebuilt "
            f"{tables}: {update.full_reason}"
        )
    customers = "customer" if update.customers == 1 else "customers"
    return (
        f"metrics: {update.customers:,} {customers} recomputed, {update.movements:,} MRR "
        f"movements and {update.days:,} days updated in place {tables}"
    )


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
