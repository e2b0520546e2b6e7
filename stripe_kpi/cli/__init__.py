"""The command line: thin Typer commands over the library.

Every command turns a ``StripeKpiError`` into one red line and its exit code; anything unexpected
becomes one line too, with the traceback only under ``--debug``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from stripe_kpi import __version__
from stripe_kpi.config import Settings, load_settings
from stripe_kpi.errors import StripeKpiError
from stripe_kpi.log import configure_logging

app = typer.Typer(
    name="stripe-kpi",
    help="SaaS metrics (MRR movements, churn, ARPU…) from your Stripe account, kept in a local "
    "database you own.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
simulate_app = typer.Typer(help="The built-in simulated Stripe account (no key, no network).")
app.add_typer(simulate_app, name="simulate")
spend_app = typer.Typer(
    help="Sales and marketing spend per month, in the reporting currency: what CAC divides.",
    no_args_is_help=True,
)
app.add_typer(spend_app, name="spend")

out = Console(soft_wrap=True)  # one line per fact, whatever the width: scripts grep them
err = Console(stderr=True, soft_wrap=True)

_state: dict[str, Any] = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(func: F) -> F:
    """Print a StripeKpiError as its one line and exit with its code; never a traceback unless
    --debug was given."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except StripeKpiError as exc:
            if _state["debug"]:
                raise
            err.print(f"[red]error:[/red] {exc.message}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            if _state["debug"]:
                raise
            err.print(
                f"[red]unexpected error:[/red] {exc.__class__.__name__}: {exc} "
                "(run again with --debug for the traceback, and please report it)",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(70) from None

    return wrapper  # type: ignore[return-value]


def settings() -> Settings:
    return load_settings()


def _version(value: bool) -> None:
    if value:
        out.print(f"stripe-kpi {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show progress logs."),
) -> None:
    """SaaS metrics from your Stripe account."""
    _state["debug"] = debug
    fmt = "auto"
    with contextlib.suppress(StripeKpiError):  # the command itself reports a bad setting
        fmt = load_settings().log_format
    # Commands print their own one-line result; logs below WARNING are for --verbose (the
    # worker logs at INFO, as JSON, by itself).
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    configure_logging(fmt, level)


@app.command()
@one_line_errors
def doctor() -> None:
    """Check the settings, the database, the Stripe key and SMTP, and say what is wrong."""
    from stripe_kpi.doctor import run_checks

    results = run_checks()
    failed = False
    for check in results:
        mark = {"ok": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]"}
        out.print(f"{mark[check.status]} {check.name}: {check.detail}", highlight=False)
        failed = failed or check.status == "fail"
    if failed:
        raise typer.Exit(1)


@app.command()
@one_line_errors
def sync(
    full: bool = typer.Option(
        False, "--full", help="Copy everything again instead of applying the latest events."
    ),
) -> None:
    """Bring the database in step with Stripe (cron-friendly: exit 0 when in step)."""
    from stripe_kpi.progress import counting_progress
    from stripe_kpi.services import sync_and_derive

    s = settings()
    with counting_progress(out, "sync") as progress:
        outcome = sync_and_derive(s, _now(), full=full, progress=progress, clock=_now)
    for line in outcome.describe():
        out.print(line, highlight=False)


@app.command()
@one_line_errors
def derive(
    full: bool = typer.Option(
        False,
        "--full",
        help="Rebuild every derived table from the raw rows, and say what that repaired.",
    ),
) -> None:
    """Bring the derived tables (mrr_movement, daily_metrics, customer_result…) up to date from
    the synced rows, without calling Stripe; --full rebuilds them whole for anyone who doubts
    them."""
    from stripe_kpi.services import derive_now

    with out.status("deriving…") as status:
        outcome = derive_now(settings(), _now(), full=full, step=lambda m: status.update(f"{m}…"))
    for line in outcome.describe():
        out.print(line, highlight=False, markup=False)


@app.command()
@one_line_errors
def metrics(
    on: str = typer.Option(None, "--date", help="One day, YYYY-MM-DD."),
    start: str = typer.Option(None, "--from", help="First day (default: the 1st of --to's month)."),
    end: str = typer.Option(None, "--to", help="Last day (default: today)."),
    by: str = typer.Option("day", "--by", help="day or month."),
    as_json: bool = typer.Option(False, "--json", help="The machine-readable form."),
    as_csv: bool = typer.Option(False, "--csv", help="The series as CSV, for spreadsheets."),
    segment: str = typer.Option(
        None,
        "--segment",
        help="Split by plan, product, interval, currency, country or metadata:KEY.",
    ),
) -> None:
    """MRR, its movements and the SaaS KPIs for a day or a period (CAC, LTV:CAC and payback once
    `stripe-kpi spend` holds the period's spend). On a terminal the series is one column per day
    or month, in as many tables as the width needs."""
    from stripe_kpi.cli.periods import local_today, parse_period
    from stripe_kpi.cli.render import SERIES_COLUMNS, metrics_table, series_rows, to_csv
    from stripe_kpi.errors import InputError
    from stripe_kpi.services import metrics_document

    if by not in ("day", "month"):
        raise InputError(f"--by {by!r}: use day or month")
    if as_json and as_csv:
        raise InputError("give either --json or --csv, not both")
    s, now = settings(), _now()
    period = parse_period(local_today(s, now), on=on, start=start, end=end)
    if segment is not None:
        from stripe_kpi.cli.segments import print_segments

        print_segments(s, now, segment, period, by, as_json=as_json, as_csv=as_csv)
        return
    document = metrics_document(s, now, period.first, period.last, by)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    elif as_csv:
        typer.echo(to_csv(SERIES_COLUMNS, series_rows(document)), nl=False)
    else:
        for table in metrics_table(document, out.width):
            out.print(table)


@app.command()
@one_line_errors
def movements(
    start: str = typer.Option(None, "--from", help="First day (default: 30 days ago)."),
    end: str = typer.Option(None, "--to", help="Last day (default: today)."),
    kind: str = typer.Option(
        None, "--type", help="new, expansion, contraction, churn, reactivation or fx."
    ),
    as_csv: bool = typer.Option(False, "--csv", help="CSV, for spreadsheets."),
    as_json: bool = typer.Option(False, "--json", help="JSON rows."),
    segment: str = typer.Option(
        None,
        "--segment",
        help="Each customer's movements inside each plan, product, interval, currency, "
        "country or metadata:KEY segment.",
    ),
) -> None:
    """Each customer's MRR movements: who, when, how much, and why they churned."""
    from stripe_kpi.cli.periods import local_today, parse_period
    from stripe_kpi.cli.render import MOVEMENT_COLUMNS, movements_table, to_csv
    from stripe_kpi.errors import InputError
    from stripe_kpi.metrics.vocabulary import MOVEMENT_TYPES
    from stripe_kpi.services import movements_for

    if kind is not None and kind not in MOVEMENT_TYPES:
        raise InputError(f"--type {kind!r}: use one of {', '.join(MOVEMENT_TYPES)}")
    s, now = settings(), _now()
    today = local_today(s, now)
    if start is None and end is None:
        start = (today - timedelta(days=29)).isoformat()
    period = parse_period(today, start=start, end=end)
    if segment is not None:
        from stripe_kpi.cli.segments import print_segment_movements

        print_segment_movements(s, now, segment, period, kind, as_json=as_json, as_csv=as_csv)
        return
    rows = movements_for(s, now, period.first, period.last, kind)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    elif as_csv:
        typer.echo(
            to_csv(MOVEMENT_COLUMNS, [[r[c] for c in MOVEMENT_COLUMNS] for r in rows]), nl=False
        )
    else:
        out.print(movements_table(rows, f"MRR movements {period.first} → {period.last}"))


@app.command()
@one_line_errors
def cohorts(
    by: str = typer.Option("month", "--by", help="How cohorts are grouped: month."),
    metric: str = typer.Option(
        "customers", "--metric", help="customers (still paying) or mrr (starting MRR kept, net)."
    ),
    start: str = typer.Option(None, "--from", help="First cohort, YYYY-MM (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="The machine-readable form."),
    as_csv: bool = typer.Option(False, "--csv", help="The triangle as CSV, for spreadsheets."),
) -> None:
    """Retention by monthly cohort (month of first payment): customers or MRR kept, by month."""
    from stripe_kpi.cli.cohorts import cohort_csv, cohort_lines, parse_month
    from stripe_kpi.errors import InputError
    from stripe_kpi.services import cohorts_document

    if by != "month":
        raise InputError(f"--by {by!r}: cohorts are by month")
    if metric not in ("customers", "mrr"):
        raise InputError(f"--metric {metric!r}: use customers or mrr")
    if as_json and as_csv:
        raise InputError("give either --json or --csv, not both")
    first = parse_month(start, "--from") if start else None
    document = cohorts_document(settings(), _now(), first, metric)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    elif as_csv:
        typer.echo(cohort_csv(document), nl=False)
    else:
        for line in cohort_lines(document):
            out.print(line, highlight=False, markup=False)


@app.command()
@one_line_errors
def forecast(
    months: int = typer.Option(3, "--months", min=1, max=24, help="Months to project."),
    as_json: bool = typer.Option(False, "--json", help="The machine-readable form."),
) -> None:
    """Project MRR month by month from the last three full months and the changes scheduled
    (a projection, labelled so, with the months it is based on)."""
    from stripe_kpi.cli.cohorts import forecast_lines
    from stripe_kpi.services import forecast_document

    document = forecast_document(settings(), _now(), months)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        for line in forecast_lines(document):
            out.print(line, highlight=False, markup=False)


@app.command()
@one_line_errors
def check(
    as_json: bool = typer.Option(False, "--json", help="The whole result, machine-readable."),
) -> None:
    """Reconcile each subscription's MRR with what Stripe bills for it (its latest invoice):
    exit 0 when none disagree, 1 when some do."""
    from stripe_kpi.cli.render import check_lines
    from stripe_kpi.services import check_account

    with out.status("checking every subscription against its latest invoice…"):
        document = check_account(settings(), _now()).document()
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        for shown in check_lines(document):
            out.print(shown, highlight=False, markup=False)
        out.print(document["summary"]["line"], highlight=False, markup=False)
    if document["summary"]["disagreeing"]:
        raise typer.Exit(1)


@app.command()
@one_line_errors
def report(
    on: str = typer.Option(
        None, "--date", help="The day, YYYY-MM-DD (default: yesterday in STRIPE_KPI_TIMEZONE)."
    ),
    send: bool = typer.Option(
        False, "--send", help="Email it (SMTP_* and EMAIL_*); a day already sent is not resent."
    ),
    force: bool = typer.Option(False, "--force", help="With --send: send a day again."),
    html: Path = typer.Option(
        None, "--html", dir_okay=False, help="Write the report to this HTML file."
    ),
    text: bool = typer.Option(
        False, "--text", help="Print the text report (the default without --send or --html)."
    ),
) -> None:
    """The daily summary: printed, written as HTML, or sent by email."""
    from stripe_kpi.cli.periods import parse_day
    from stripe_kpi.errors import InputError
    from stripe_kpi.private_files import write_owner_only
    from stripe_kpi.services import report_for, send_daily_report

    if force and not send:
        raise InputError("--force only applies with --send")
    s, now = settings(), _now()
    day = parse_day(on, "--date") if on else None  # None: yesterday in STRIPE_KPI_TIMEZONE
    if send:
        outcome = send_daily_report(s, now, day=day, force=force)
        out.print(outcome.describe(), highlight=False, markup=False)
    if html is None and (send and not text):
        return
    daily = report_for(s, now, day)
    if html is not None:
        write_owner_only(html, daily.html_page)
        out.print(f"wrote {html}", highlight=False, markup=False)
    if text or (html is None and not send):
        typer.echo(daily.text, nl=False)  # plain: Stripe strings are not Rich markup


@app.command()
@one_line_errors
def dashboard(
    path: Path = typer.Option(
        Path("stripe-kpi-dashboard.html"), "--out", dir_okay=False, help="The HTML file to write."
    ),
    start: str = typer.Option(None, "--from", help="First day (default: the first stored)."),
    end: str = typer.Option(None, "--to", help="Last day (default: today)."),
) -> None:
    """Write the dashboard: one HTML file that opens offline (charts, customers, MRR at risk)."""
    from stripe_kpi.cli.periods import parse_day
    from stripe_kpi.errors import InputError
    from stripe_kpi.services import write_dashboard

    first = parse_day(start, "--from") if start else None
    last = parse_day(end, "--to") if end else None
    if first and last and last < first:
        raise InputError(f"--to {last} is before --from {first}")
    written = write_dashboard(settings(), _now(), path, first, last)
    out.print(f"wrote {written}", highlight=False, markup=False)


@app.command()
@one_line_errors
def serve(
    port: int = typer.Option(8050, min=0, max=65535, help="Port (0: any free one)."),
    host: str = typer.Option(
        "127.0.0.1", help="Address; any but 127.0.0.1 needs STRIPE_KPI_DASHBOARD_TOKEN."
    ),
) -> None:
    """Serve the dashboard on 127.0.0.1, read-only, current after every sync."""
    from stripe_kpi.services import dashboard_server

    server = dashboard_server(settings(), _now, host=host, port=port)
    out.print(f"dashboard at {server.url} (Ctrl-C to stop)", highlight=False, markup=False)
    server.serve_forever()


@app.command()
@one_line_errors
def worker() -> None:
    """Run the scheduler: sync every STRIPE_KPI_SYNC_INTERVAL_MINUTES, and send the daily report
    at STRIPE_KPI_REPORT_TIME in STRIPE_KPI_TIMEZONE (after a sync). Stops on SIGTERM/Ctrl-C."""
    from stripe_kpi.worker import run_worker

    s = settings()
    s.api_key_value()  # the worker syncs: a missing or malformed key stops it here, not hourly
    fmt = "json" if s.log_format == "auto" else s.log_format  # the worker logs JSON lines
    # INFO even without --verbose: sync_done and report_done are the worker's heartbeat.
    configure_logging(fmt, logging.DEBUG if _state["debug"] else logging.INFO)
    run_worker(s, clock=_now)


@app.command()
@one_line_errors
def demo(
    directory: Path = typer.Option(
        Path("stripe-kpi-demo"), "--dir", file_okay=False, help="Where to put the demo's files."
    ),
    customers: int = typer.Option(300, min=1, max=20_000, help="Size of the simulated SaaS."),
    seed: int = typer.Option(1, help="Seed of the simulated account."),
) -> None:
    """The whole pipeline on a simulated Stripe account: no key, no network."""
    from stripe_kpi.demo import run_demo

    run_demo(out, _now(), directory=directory, customers=customers, seed=seed)


def _now() -> datetime:
    """The one clock read of a command: everything below takes ``now`` as an argument."""
    return datetime.now(UTC)


@simulate_app.command("serve")
@one_line_errors
def simulate_serve(
    port: int = typer.Option(12111, min=0, max=65535, help="Port on 127.0.0.1 (0: any free)."),
    seed: int = typer.Option(1, help="Seed of the synthetic account."),
    customers: int = typer.Option(200, min=1, max=200_000, help="Number of customers."),
    months: int = typer.Option(24, min=1, max=120, help="Months of history."),
    latency: float = typer.Option(0.0, min=0.0, help="Seconds added to every response."),
    rate_limit: float = typer.Option(
        None, min=0.1, help="Answer 429 past this many requests per second, like Stripe."
    ),
    endpoint_rate_limit: float = typer.Option(
        None, min=0.1, help="The same, per endpoint (Stripe live mode: 25)."
    ),
) -> None:
    """Serve a synthetic Stripe account on 127.0.0.1 for manual use and benchmarks."""
    from stripe_kpi.cli.simulate import serve_synthetic

    serve_synthetic(
        _now(),
        port=port,
        seed=seed,
        customers=customers,
        months=months,
        console=out,
        latency=latency,
        rate_limit=rate_limit,
        endpoint_rate_limit=endpoint_rate_limit,
    )


@spend_app.command("set")
@one_line_errors
def spend_set(
    month: str = typer.Argument(..., help="The month, YYYY-MM."),
    amount: str = typer.Argument(
        ..., help="What was spent, in major units of STRIPE_KPI_CURRENCY (4500 or 4500.50)."
    ),
) -> None:
    """Set one month's spend (a month set again is replaced)."""
    from stripe_kpi.cli.render import spend_line
    from stripe_kpi.services import set_spend

    out.print(spend_line(set_spend(settings(), _now(), month, amount)), highlight=False)


@spend_app.command("import")
@one_line_errors
def spend_import(
    path: Path = typer.Argument(..., dir_okay=False, help="A CSV file of month,amount rows."),
) -> None:
    """Set the spend of every month in a CSV file (rows month,amount; a header is optional):
    all of them, or none when a row is bad."""
    from stripe_kpi.services import import_spend

    rows = import_spend(settings(), _now(), path)
    months = "month" if len(rows) == 1 else "months"
    out.print(f"imported {len(rows)} {months} of spend from {path}", highlight=False)


@spend_app.command("list")
@one_line_errors
def spend_list(
    as_json: bool = typer.Option(False, "--json", help="JSON rows."),
) -> None:
    """Every month's spend, oldest first."""
    from stripe_kpi.cli.render import spend_table
    from stripe_kpi.services import spend_list as listed

    rows = listed(settings())
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    elif not rows:
        out.print("no spend entered yet: stripe-kpi spend set 2026-10 4500", highlight=False)
    else:
        out.print(spend_table(rows))


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
