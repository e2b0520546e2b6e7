"""The readers on a large account: ``metrics``, ``movements`` and ``report`` read the derived
tables, so a read costs what its rows cost, not what the account costs.

    cp /tmp/skbench/bench.db /tmp/readers.db    # a copy: the benchmark upgrades and derives it
    .venv/bin/python benchmarks/readers.py --database /tmp/readers.db
    .venv/bin/python benchmarks/readers.py --database /tmp/readers.db --runs 3 --skip-incremental

The database is one ``metrics_recompute.py --keep`` wrote (100,000 customers over three years).
Each figure is taken in fresh processes, the median (and the range) of ``--runs``:

- upgrade and first read: the migrations, then the first read, which rebuilds the derived tables
  they queued (once; minutes on 100,000 customers);
- ``stripe-kpi metrics --from <a year ago> --to <yesterday> --json``, ``movements`` for the
  account's last full month (``--json``) and ``report --text`` of its last day (the generated
  account ends then; the tables run on to today): the whole command's wall time, and the service's
  own time in a process that has imported it (``metrics_document``, ``movements_for``,
  ``report_for``). Targets: 0.5 s, 0.5 s, 2 s;
- the CLI's import alone (``import stripe_kpi.cli``) and a command that does nothing
  (``stripe-kpi --version``): what every command pays before reading anything;
- a read with nothing pending: ``services.tables_up_to_date`` when the tables are current
  (the cost every read adds). Target: < 50 ms;
- an incremental derive for 100 customers a sync touched (``metrics_recompute.py``'s step: half
  cancel, half add a seat; then undone). Target: < 2 s.

Reads use the real clock (the CLI reads it): the tables are derived as of the first read, and
a run that crosses midnight UTC derives a new day in its first read after it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CURRENCY, TZ = "usd", "UTC"
CLI = str(Path(sys.executable).with_name("stripe-kpi"))


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE", "SMTP", "EMAIL"))}
    env.update(DATABASE_URL=url, STRIPE_KPI_CURRENCY=CURRENCY, STRIPE_KPI_TIMEZONE=TZ)
    return env


def _run(command: list[str], url: str, cwd: str) -> tuple[float, str]:
    t0 = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=_env(url))
    seconds = time.monotonic() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return seconds, done.stdout


def _figure(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}s (min {min(values):.3f}, max {max(values):.3f})"


# -------------------------------------------------------------------------------------------
# Measured in a fresh process (``--measure``)
# -------------------------------------------------------------------------------------------


def measure(step: str, url: str, args: list[str]) -> dict[str, Any]:
    """One step in this (fresh) process: the service's own time, imports done beforehand."""
    t0 = time.monotonic()
    from stripe_kpi.config import Settings
    from stripe_kpi.services import (
        metrics_document,
        movements_for,
        report_for,
        tables_up_to_date,
    )
    from stripe_kpi.store.engine import open_database

    imported = time.monotonic() - t0
    settings = Settings(_env_file=None, database_url=url, currency=CURRENCY, timezone=TZ)  # type: ignore[call-arg]
    now = datetime.now(UTC)
    t0 = time.monotonic()
    if step == "upgrade":
        open_database(url).dispose()
    elif step == "first-read":
        engine = open_database(url)
        tables_up_to_date(engine, settings, now)
        engine.dispose()
    elif step == "metrics":
        metrics_document(settings, now, date.fromisoformat(args[0]), date.fromisoformat(args[1]))
    elif step == "movements":
        movements_for(settings, now, date.fromisoformat(args[0]), date.fromisoformat(args[1]))
    elif step == "report":
        report_for(settings, now, date.fromisoformat(args[0])).text  # noqa: B018  (as printed)
    elif step == "pending":
        engine = open_database(url)
        tables_up_to_date(engine, settings, now)  # a first call warms the connection
        times = []
        for _ in range(20):
            t1 = time.monotonic()
            tables_up_to_date(engine, settings, now)
            times.append(time.monotonic() - t1)
        engine.dispose()
        return {"median": statistics.median(times), "max": max(times), "imports": imported}
    return {"seconds": time.monotonic() - t0, "imports": imported}


def in_fresh_process(step: str, url: str, *args: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", step, "--database", url, *args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------------------------------


def _account_end(url: str) -> date | None:
    """The day the generated account ends (``_account_db.py`` records it), if it says."""
    from sqlalchemy import text

    from stripe_kpi.store.engine import open_database

    engine = open_database(url)
    with engine.connect() as connection:
        value = connection.execute(
            text("SELECT value FROM sync_state WHERE key = 'benchmark:account'")
        ).scalar()
    engine.dispose()
    return None if value is None else datetime.fromisoformat(json.loads(value)["end"]).date()


def run(url: str, runs: int, incremental: bool) -> None:
    cwd = tempfile.mkdtemp(prefix="readers_")  # no .env there
    t0 = time.monotonic()
    in_fresh_process("upgrade", url)
    upgraded = time.monotonic() - t0
    first = in_fresh_process("first-read", url)
    print(f"upgrade: {upgraded:.1f}s; first read (the rebuild it queued): {first['seconds']:.1f}s")

    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    year_ago = yesterday - timedelta(days=365)
    # The generated account's own last month and last day (it ends at its ``end``, nothing
    # happens after it): movements and report where there is something to read.
    end = _account_end(url) or today
    month_last = end.replace(day=1) - timedelta(days=1)
    month_first = month_last.replace(day=1)
    report_day = end - timedelta(days=1)
    commands = {
        "metrics": (
            ["metrics", "--from", year_ago.isoformat(), "--to", yesterday.isoformat(), "--json"],
            [year_ago.isoformat(), yesterday.isoformat()],
        ),
        "movements": (
            [
                "movements",
                "--from",
                month_first.isoformat(),
                "--to",
                month_last.isoformat(),
                "--json",
            ],
            [month_first.isoformat(), month_last.isoformat()],
        ),
        "report": (
            ["report", "--text", "--date", report_day.isoformat()],
            [report_day.isoformat()],
        ),
    }
    imports = [
        _run([sys.executable, "-c", "import stripe_kpi.cli"], url, cwd)[0] for _ in range(runs)
    ]
    version = [_run([CLI, "--version"], url, cwd)[0] for _ in range(runs)]
    print(f"import stripe_kpi.cli: {_figure(imports)}; stripe-kpi --version: {_figure(version)}")
    for name, (cli_args, service_args) in commands.items():
        walls, sizes = [], set()
        for _ in range(runs):
            seconds, output = _run([CLI, *cli_args], url, cwd)
            walls.append(seconds)
            sizes.add(len(output))
        services = [in_fresh_process(name, url, *service_args) for _ in range(runs)]
        print(
            f"stripe-kpi {' '.join(cli_args)}: whole command {_figure(walls)}; the service "
            f"in-process {_figure([s['seconds'] for s in services])} (its imports "
            f"{_figure([s['imports'] for s in services])}); output {sorted(sizes)} characters"
        )
    pending = [in_fresh_process("pending", url) for _ in range(runs)]
    print(
        "a read with nothing pending (tables_up_to_date, 20 calls per process): median "
        + ", ".join(f"{p['median'] * 1000:.1f} ms (max {p['max'] * 1000:.1f})" for p in pending)
    )
    if incremental:
        _incremental(url)


def _incremental(url: str) -> None:
    """``metrics_recompute.py``'s incremental step, as of now (the tables' own instant)."""
    import metrics_recompute as recompute

    from stripe_kpi.store.engine import open_database

    engine = open_database(url)
    as_of = datetime.now(UTC)
    originals = recompute.pick_customers(engine, 100, 1)
    at = int((as_of - timedelta(hours=6)).timestamp())
    subs, events = [], []
    for index, sub in enumerate(originals):
        new, event = recompute.changed(sub, at, cancel=index % 2 == 0)
        subs.append(new)
        events.append(event)
    ids = sorted({s["customer"] for s in originals})
    recompute.apply_sync(engine, subs, events)
    try:
        step = recompute.in_fresh_process("incremental", url, as_of, ids)
        print(f"incremental, {len(ids)} customers (half cancel, half add a seat): "
              f"{recompute._incremental(step)}")  # fmt: skip
    finally:
        recompute.undo_sync(engine, originals, events)
    back = recompute.in_fresh_process("incremental", url, as_of, ids)
    print(f"incremental, the same change undone: {recompute._incremental(back)}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", required=True, help="a copy of a --keep file, or a URL")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.database if "://" in args.database else f"sqlite:///{Path(args.database).resolve()}"
    if args.measure:
        print(json.dumps(measure(args.measure, url, args.rest)))
        return
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    run(url, args.runs, not args.skip_incremental)


if __name__ == "__main__":
    main()
