"""Recomputing the derived tables of a large account: in full, and after a sync that touched few.

    .venv/bin/python benchmarks/metrics_recompute.py                      # 100,000 customers
    .venv/bin/python benchmarks/metrics_recompute.py --keep /tmp/m.db     # ...and keep the file
    .venv/bin/python benchmarks/metrics_recompute.py --reuse /tmp/m.db    # skip the generation
    .venv/bin/python benchmarks/metrics_recompute.py --customers 5000     # a quick run
    .venv/bin/python benchmarks/metrics_recompute.py --database-url postgresql+psycopg://...

The account (three years of a simulated SaaS, about 14 invoice lines per customer) is written
straight into the database, as the backfill would write it (see ``_account_db.py``): that takes
minutes, hence ``--keep`` and ``--reuse``. Each measured step then runs in a fresh process, so
neither the generation's memory nor a warm import counts:

- full: load every row, compute every customer, write ``mrr_movement``, ``daily_metrics`` and
  ``customer_result`` (what a full sync does). Targets: < 30 s, < 2 GB peak memory.
- incremental: 100 customers changed as a sync would change them (half cancel now, half add a
  seat; each with its ``customer.subscription.*`` event), then ``update_derived_tables`` for
  them. Target: < 2 s. The change is then undone and brought in the same way (a second figure),
  so a reused database stays as generated.

Peak memory is the largest sum of the resident sizes of the measuring process and its children,
sampled every 20 ms (``ru_maxrss`` is printed too). ``--verify`` also checks, after the
incremental update, that the tables equal a full recompute row for row.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _account_args import account_url, add_account_arguments  # noqa: E402
from sqlalchemy import Engine, delete, select, text  # noqa: E402

from stripe_kpi.store.engine import open_database, session_scope, upsert_rows  # noqa: E402
from stripe_kpi.store.models import Event, Subscription  # noqa: E402
from stripe_kpi.sync import mapping  # noqa: E402

CURRENCY, TZ = "usd", "UTC"


# -------------------------------------------------------------------------------------------
# Peak memory of this process and its children
# -------------------------------------------------------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    """A ``VmRSS``/``VmHWM`` figure of ``/proc/<pid>/status`` (0 once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(k) for k in children.read().split()]
            except OSError:
                continue
            found += kids
            stack += kids
    return found


def _cpu() -> float:
    return sum(
        r.ru_utime + r.ru_stime
        for r in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )


@contextmanager
def peak_memory() -> Iterator[dict[str, float]]:
    """The largest resident size of this process and its children together, sampled every
    20 ms; yields a dict that gets ``peak_mb``, ``own_peak_mb`` and ``cpu_seconds``.

    Not ``ru_maxrss``: Linux carries it over ``fork`` and ``exec``, so a process started by one
    that had just generated the account would report the generator's memory as its own.
    ``VmHWM`` is the high-water mark of this process's own memory since its ``exec``.
    """
    result: dict[str, float] = {"peak_mb": 0.0}
    cpu_before = _cpu()
    done = threading.Event()
    me = os.getpid()

    def sample() -> None:
        peak = 0
        while not done.wait(0.02):
            peak = max(peak, sum(_status_kb(p, "VmRSS") for p in [me, *_descendants(me)]))
        result["peak_mb"] = peak / 1024

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        done.set()
        sampler.join()
        result["own_peak_mb"] = _status_kb(me, "VmHWM") / 1024
        result["peak_mb"] = max(result["peak_mb"], result["own_peak_mb"])
        result["cpu_seconds"] = _cpu() - cpu_before


# -------------------------------------------------------------------------------------------
# The measured steps (each in a fresh process: ``--measure``)
# -------------------------------------------------------------------------------------------


def measure_full(url: str, as_of: datetime) -> dict[str, Any]:
    from stripe_kpi.store.tables import recompute_derived_tables

    engine = open_database(url)
    with peak_memory() as memory:
        t0 = time.monotonic()
        movements, days = recompute_derived_tables(engine, currency=CURRENCY, tz=TZ, as_of=as_of)
        seconds = time.monotonic() - t0
    engine.dispose()
    return {"seconds": seconds, "movements": movements, "days": days, **memory}


def measure_incremental(url: str, as_of: datetime, customers: list[str]) -> dict[str, Any]:
    from stripe_kpi.store.update import update_derived_tables

    engine = open_database(url)
    with peak_memory() as memory:
        t0 = time.monotonic()
        outcome = update_derived_tables(engine, customers, currency=CURRENCY, tz=TZ, as_of=as_of)
        seconds = time.monotonic() - t0
    engine.dispose()
    return {
        "seconds": seconds,
        "customers": outcome.customers,
        "movements": outcome.movements,
        "days": outcome.days,
        "full_reason": outcome.full_reason,
        **memory,
    }


def measure_verify(url: str, as_of: datetime) -> dict[str, Any]:
    """The tables as they are, against a full computation in memory, row for row."""
    from stripe_kpi.metrics import daily_metrics_rows, mrr_movement_rows
    from stripe_kpi.store.partition import compute_account

    engine = open_database(url)
    computed = compute_account(engine, currency=CURRENCY, tz=TZ, as_of=as_of)
    columns = (
        "date, customer_id, type, amount, mrr_before, mrr_after, currency, churn_reason, "
        "subscription_ids"
    )
    with engine.connect() as connection:
        stored_movements = sorted(
            tuple(r) for r in connection.execute(text(f"SELECT {columns} FROM mrr_movement"))
        )
        stored_days = [
            tuple(r) for r in connection.execute(text("SELECT * FROM daily_metrics ORDER BY date"))
        ]
        day_columns = list(connection.execute(text("SELECT * FROM daily_metrics LIMIT 1")).keys())
    engine.dispose()
    names = [c.strip() for c in columns.split(",")]
    expected_movements = sorted(
        tuple(row[n] for n in names)
        for row in mrr_movement_rows(computed.movements(), computed.currency)
    )
    expected_days = [tuple(row[c] for c in day_columns) for row in daily_metrics_rows(computed)]
    return {
        "movements_equal": stored_movements == expected_movements,
        "days_equal": stored_days == expected_days,
        "movements": len(stored_movements),
        "days": len(stored_days),
    }


def run_measure(args: argparse.Namespace) -> None:
    as_of = datetime.fromisoformat(args.as_of)
    if args.measure == "full":
        result = measure_full(args.database_url, as_of)
    elif args.measure == "incremental":
        result = measure_incremental(args.database_url, as_of, args.ids.split(","))
    else:
        result = measure_verify(args.database_url, as_of)
    print(json.dumps(result))


def in_fresh_process(step: str, url: str, as_of: datetime, ids: list[str] = ()) -> dict:
    command = [
        sys.executable, __file__, "--measure", step, "--database-url", url,
        "--as-of", as_of.isoformat(),
    ]  # fmt: skip
    if ids:
        command += ["--ids", ",".join(ids)]
    t0 = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.monotonic() - t0
    return result


# -------------------------------------------------------------------------------------------
# The account, and a sync that touches 100 customers
# -------------------------------------------------------------------------------------------


def row_counts(engine: Engine) -> dict[str, int]:
    tables = ("customer", "subscription", "invoice", "invoice_line", "event")
    with engine.connect() as connection:
        return {
            t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables
        }


def pick_customers(engine: Engine, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` customers with an active subscription (the first of each), drawn by seed."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Subscription.customer_id, Subscription.id)
            .where(Subscription.status == "active")
            .order_by(Subscription.id)
        ).all()
    first: dict[str, str] = {}
    for customer, sub in rows:
        first.setdefault(customer, sub)
    chosen = random.Random(seed).sample(sorted(first), n)
    with engine.connect() as connection:
        raws = connection.execute(
            select(Subscription.raw).where(Subscription.id.in_([first[c] for c in chosen]))
        ).scalars()
        return sorted((json.loads(raw) for raw in raws), key=lambda sub: sub["id"])


def changed(sub: dict[str, Any], at: int, cancel: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The subscription as Stripe would show it after the change, and the event saying so."""
    new = json.loads(json.dumps(sub))
    if cancel:
        new.update(status="canceled", canceled_at=at, ended_at=at, cancel_at_period_end=False)
        new["cancellation_details"] = {
            "reason": "cancellation_requested",
            "feedback": "too_expensive",
            "comment": None,
        }
        kind, previous = "customer.subscription.deleted", {}
    else:
        item = new["items"]["data"][0]
        previous = {"items": json.loads(json.dumps(sub["items"]))}
        item["quantity"] = (item.get("quantity") or 1) + 1
        kind = "customer.subscription.updated"
    event = {
        "id": f"evt_bench_{new['id']}_{at}",
        "object": "event",
        "type": kind,
        "created": at,
        "api_version": "2025-01-01",
        "data": {"object": new, "previous_attributes": previous},
    }
    return new, event


def apply_sync(engine: Engine, subs: list[dict], events: list[dict]) -> None:
    """Write the subscriptions and their events the way the incremental sync does."""
    rows: mapping.Rows = {}
    for obj in [*subs, *events]:
        mapping.merge_rows(rows, mapping.rows_for(obj))
    with session_scope(engine) as session:
        upsert_rows(session, rows)


def undo_sync(engine: Engine, originals: list[dict], events: list[dict]) -> None:
    apply_sync(engine, originals, [])
    with session_scope(engine) as session:
        session.execute(delete(Event).where(Event.id.in_([e["id"] for e in events])))


# -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add_account_arguments(
        parser,
        customers=100_000,
        chunk=5_000,
        reuse_help="a file --keep wrote: skip the generation",
    )
    parser.add_argument("--touched", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="generate into this SQLite file and keep it")
    parser.add_argument("--verify", action="store_true", help="check the tables row for row")
    parser.add_argument(
        "--measure", choices=("full", "incremental", "verify"), help=argparse.SUPPRESS
    )
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        run_measure(args)
        return
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    tmp = tempfile.mkdtemp(prefix="metrics_recompute_")
    try:
        run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: str) -> None:
    url = account_url(args, args.keep.resolve() if args.keep else Path(tmp) / "metrics.db")
    from _account_db import account_in

    engine = open_database(url)
    account = account_in(
        engine,
        reuse=bool(args.reuse),
        customers=args.customers,
        years=args.years,
        chunk_size=args.chunk,
        seed=args.seed,
    )
    end = account.end
    counts = row_counts(engine)
    print("rows:", ", ".join(f"{n:,} {t}" for t, n in counts.items()))
    as_of = end

    full = in_fresh_process("full", url, as_of)
    print(
        f"full recompute: {full['seconds']:.1f}s, peak memory {full['peak_mb']:,.0f} MB "
        f"({full['movements']:,} movements, {full['days']:,} days; "
        f"{full['cpu_seconds']:.1f} CPU-seconds in all processes; the writing process alone "
        f"peaked at {full['own_peak_mb']:,.0f} MB; the whole subprocess took "
        f"{full['process_seconds']:.1f}s)"
    )

    originals = pick_customers(engine, args.touched, args.seed)
    at = int((as_of - timedelta(hours=6)).timestamp())
    subs, events = [], []
    for index, sub in enumerate(originals):
        new, event = changed(sub, at, cancel=index % 2 == 0)
        subs.append(new)
        events.append(event)
    ids = sorted({s["customer"] for s in originals})
    apply_sync(engine, subs, events)
    try:
        step = in_fresh_process("incremental", url, as_of, ids)
        print(
            f"incremental after a sync that touched {len(ids)} customers (half cancel, half "
            f"add a seat): {_incremental(step)}"
        )
        if args.verify:
            check = in_fresh_process("verify", url, as_of)
            print(f"  verify against a full recompute: {json.dumps(check)}")
    finally:
        undo_sync(engine, originals, events)
    back = in_fresh_process("incremental", url, as_of, ids)
    print(f"incremental, the same change undone: {_incremental(back)}")
    engine.dispose()


def _incremental(step: dict[str, Any]) -> str:
    how = (
        f"rebuilt in full ({step['full_reason']})"
        if step["full_reason"]
        else f"{step['customers']} customers recomputed"
    )
    return (
        f"{step['seconds']:.2f}s, {how}, {step['movements']:,} movements and "
        f"{step['days']:,} days written (peak memory {step['peak_mb']:,.0f} MB; the whole "
        f"subprocess, imports included, took {step['process_seconds']:.1f}s)"
    )


if __name__ == "__main__":
    main()
