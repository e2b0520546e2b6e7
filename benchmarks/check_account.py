"""`stripe-kpi check` on a large account: every subscription Stripe bills, against its invoices.

    .venv/bin/python benchmarks/check_account.py --reuse /tmp/m.db     # a file metrics_recompute
                                                                        # --keep wrote (100,000)
    .venv/bin/python benchmarks/check_account.py --customers 5000      # generate a small one
    .venv/bin/python benchmarks/check_account.py --database-url postgresql+psycopg://...
    .venv/bin/python benchmarks/check_account.py --customers 5000 --with-rebuild  # and what it
                                                                        # adds to a full sync

The account is the one ``metrics_recompute.py`` writes (``_account_db.py``: three years of a
simulated SaaS, straight into the database as the backfill would write it); generating 100,000
customers takes twenty minutes, hence ``--reuse``. The check runs in a fresh process (imports
excluded from the figure, printed apart), as ``stripe-kpi check`` would: load the customers who
have a subscription Stripe bills, compute each one's MRR as the metrics do, read its latest
invoice, compare. Target: < 30 s at 100,000 customers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _account_args import account_url, add_account_arguments  # noqa: E402

from stripe_kpi.store.engine import open_database  # noqa: E402

CURRENCY = "usd"


def measure(url: str, as_of: datetime) -> dict[str, Any]:
    from metrics_recompute import peak_memory

    from stripe_kpi.metrics.reconciliation import Reconciliation
    from stripe_kpi.store.partition import reconcile_account

    engine = open_database(url)
    with peak_memory() as memory:
        t0 = time.monotonic()
        checks = reconcile_account(engine, currency=CURRENCY, as_of=as_of)
        result = Reconciliation.of(checks, currency=CURRENCY, as_of=as_of)
        seconds = time.monotonic() - t0
    engine.dispose()
    return {
        "seconds": seconds,
        "checked": len(result.checks),
        "outcomes": Counter(c.outcome for c in result.checks),
        "why": Counter(c.why for c in result.checks if c.why),
        "summary": result.summary(),
        **memory,
    }


def measure_rebuild(url: str, as_of: datetime) -> dict[str, Any]:
    """What the check adds to a full sync's derive step: the rebuild alone, then the rebuild
    that also checks (``rebuild_and_check``, on the history it loaded anyway)."""
    from stripe_kpi.store.tables import rebuild_and_check, recompute_derived_tables

    engine = open_database(url)
    t0 = time.monotonic()
    recompute_derived_tables(engine, currency=CURRENCY, tz="UTC", as_of=as_of)
    t1 = time.monotonic()
    *_, checks = rebuild_and_check(engine, currency=CURRENCY, tz="UTC", as_of=as_of)
    t2 = time.monotonic()
    engine.dispose()
    return {"rebuild": t1 - t0, "rebuild_and_check": t2 - t1, "checked": len(checks)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add_account_arguments(parser, customers=100_000, chunk=5_000)
    parser.add_argument(
        "--with-rebuild",
        action="store_true",
        help="also time a full sync's derive step with and without its check (rewrites the "
        "derived tables of the database, as a full sync would)",
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--measure-rebuild", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, datetime.fromisoformat(args.as_of))))
        return
    if args.measure_rebuild:
        as_of = datetime.fromisoformat(args.as_of)
        print(json.dumps(measure_rebuild(args.measure_rebuild, as_of)))
        return
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    tmp = tempfile.mkdtemp(prefix="check_account_")
    try:
        run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: str) -> None:
    url = account_url(args, Path(tmp) / "check.db")
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
    engine.dispose()
    as_of = account.end
    print(f"account: {account.customers:,} customers, checked as of {as_of:%Y-%m-%d %H:%M} UTC")
    t0 = time.monotonic()
    command = [sys.executable, __file__, "--measure", url, "--as-of", as_of.isoformat()]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the check failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"check: {result['seconds']:.1f}s for {result['checked']:,} subscriptions, peak memory "
        f"{result['peak_mb']:,.0f} MB, {result['cpu_seconds']:.1f} CPU-seconds in all processes "
        f"(the whole subprocess, imports included, took {time.monotonic() - t0:.1f}s)"
    )
    print(f"  outcomes: {json.dumps(result['outcomes'])}; why: {json.dumps(result['why'])}")
    print(f"  {result['summary']}")
    if args.with_rebuild:
        command = [sys.executable, __file__, "--measure-rebuild", url, "--as-of", as_of.isoformat()]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the rebuild failed:\n{done.stderr}")
        rebuilt = json.loads(done.stdout.strip().splitlines()[-1])
        extra = rebuilt["rebuild_and_check"] - rebuilt["rebuild"]
        print(
            f"full sync's derive step: rebuild {rebuilt['rebuild']:.1f}s, rebuild and check "
            f"{rebuilt['rebuild_and_check']:.1f}s ({rebuilt['checked']:,} checked): the check "
            f"adds {extra:.1f}s there, against {result['seconds']:.1f}s on its own"
        )


if __name__ == "__main__":
    main()
