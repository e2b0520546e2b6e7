"""`stripe-kpi demo`: the whole pipeline on the built-in simulated account, no key, no network.

It starts the simulator on a free 127.0.0.1 port, syncs from it through the real HTTP path (the
same code a founder's cron runs), computes the metrics, prints yesterday's summary and writes the
HTML report. Everything lands in one folder (``stripe-kpi-demo/`` by default) that the founder
can open, query with SQL, or delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from rich.console import Console

from stripe_kpi.config import Settings, load_settings
from stripe_kpi.errors import StorageError
from stripe_kpi.private_files import write_owner_only
from stripe_kpi.progress import counting_progress
from stripe_kpi.services import report_for, sync_and_derive, write_dashboard
from stripe_kpi.simulator.saas import synthetic_account
from stripe_kpi.simulator.server import DEFAULT_API_KEY, SimulatorServer

DEMO_DIR = Path("stripe-kpi-demo")


@dataclass(frozen=True)
class DemoResult:
    database: Path
    html: Path
    day: date
    dashboard: Path | None = None


def run_demo(
    console: Console,
    now: datetime,
    *,
    directory: Path = DEMO_DIR,
    customers: int = 300,
    months: int = 24,
    seed: int = 1,
) -> DemoResult:
    """The simulated account ends at ``now``; the report is of the day before it."""
    now = now.replace(microsecond=0)
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "stripe_kpi_demo.db"
    html = directory / "report.html"
    dashboard = directory / "dashboard.html"
    for stale in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        try:
            stale.unlink(missing_ok=True)  # every demo starts from an empty database
        except OSError as exc:
            raise StorageError(f"cannot replace {stale}: {exc.strerror}") from None
    with console.status(f"simulating a SaaS: {customers} customers over {months} months…"):
        data = synthetic_account(seed, customers, months, now).snapshot()
    with SimulatorServer(data) as server:
        console.print(
            f"simulated Stripe account at {server.url}: {data.count('customers'):,} customers, "
            f"{data.count('subscriptions'):,} subscriptions, {data.count('invoices'):,} invoices",
            highlight=False,
        )
        settings = demo_settings(server.url, database)
        with counting_progress(console, "sync") as progress:
            outcome = sync_and_derive(settings, now, progress=progress)
        for line in outcome.describe():
            console.print(line, highlight=False)
    report = report_for(settings, now)
    day = report.summary.day
    write_owner_only(html, report.html_page)
    console.print()
    console.print(report.text, markup=False, highlight=False)
    console.print(f"HTML report: {html.resolve()}", highlight=False)
    write_dashboard(settings, now, dashboard)
    console.print(f"dashboard:   {dashboard.resolve()}  (opens offline)", highlight=False)
    console.print(
        f"database:    {database.resolve()}  (try: stripe-kpi metrics, with "
        f"DATABASE_URL=sqlite:///{database.resolve()})",
        highlight=False,
    )
    return DemoResult(database, html, day, dashboard)


def demo_settings(api_base: str, database: Path) -> Settings:
    """The founder's own currency and time zone (from the environment), the simulator for the
    rest: a demo never touches their Stripe account or their database."""
    base = load_settings()
    return load_settings(
        STRIPE_API_KEY=DEFAULT_API_KEY,
        STRIPE_API_BASE=api_base,
        DATABASE_URL=f"sqlite:///{database.resolve()}",
        STRIPE_KPI_CURRENCY=base.currency,
        STRIPE_KPI_TIMEZONE=base.timezone,
        STRIPE_KPI_RATE_LIMIT=1000,
    )
