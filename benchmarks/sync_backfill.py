"""Backfill throughput against the simulator with Stripe-like latency and rate limits.

    .venv/bin/python benchmarks/sync_backfill.py --mode test       # 25 requests/s overall
    .venv/bin/python benchmarks/sync_backfill.py --mode live       # 100/s, 25/s per endpoint
    .venv/bin/python benchmarks/sync_backfill.py --customers 2000  # a quick run

The simulator runs in its own process (as Stripe would: its CPU is not ours) with 200 ms added
to every response and Stripe's limits enforced (429 beyond them). The sync runs here, through the
real HTTP path, into a fresh SQLite file. Printed: objects copied, objects per second and its
share of the naive ceiling (requests/s × 100 objects a page), requests, the account's own ceiling
(its objects over the fewest requests that copy them: full list pages plus one page per invoice
with more than 10 lines and per subscription with more than 10 items, at the rate limit), peak
memory of the syncing process, then an incremental sync with nothing changed.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, text  # noqa: E402

from stripe_kpi.store.engine import open_database  # noqa: E402
from stripe_kpi.stripe_api import make_client  # noqa: E402
from stripe_kpi.sync import sync  # noqa: E402

LIMITS = {"test": (25.0, None), "live": (100.0, 25.0)}


def start_simulator(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    overall, per_endpoint = LIMITS[args.mode]
    command = [
        sys.executable, "-m", "stripe_kpi.cli", "simulate", "serve", "--port", "0",
        "--customers", str(args.customers), "--months", str(args.months), "--seed", "1",
        "--latency", str(args.latency), "--rate-limit", str(overall * 1.05),
    ]  # fmt: skip
    if per_endpoint:
        command += ["--endpoint-rate-limit", str(per_endpoint * 1.05)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout is not None
    first = child.stdout.readline()
    match = re.search(
        r"\(([\d,]+) customers, ([\d,]+) subscriptions, ([\d,]+) invoices\) at (\S+)", first
    )
    if not match:
        child.kill()
        raise SystemExit(f"simulator did not start: {first!r}")
    print(f"simulator: {match[1]} customers, {match[2]} subscriptions, {match[3]} invoices")
    return child, match[4]


def _sub_list_pages(engine: Engine) -> int:
    """The requests past the embedded 10 that copying this account needs, at 100 a page."""
    with engine.connect() as connection:
        counts = [
            n
            for table, parent in (
                ("invoice_line", "invoice_id"),
                ("subscription_item", "subscription_id"),
            )
            for (n,) in connection.execute(
                text(f"SELECT COUNT(*) FROM {table} GROUP BY {parent} HAVING COUNT(*) > 10")
            )
        ]
    return sum(-(-(n - 10) // 100) for n in counts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--mode", choices=LIMITS, default="test")
    parser.add_argument("--customers", type=int, default=19_000)
    parser.add_argument("--months", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    overall, per_endpoint = LIMITS[args.mode]
    started = time.monotonic()
    child, url = start_simulator(args)
    print(f"simulator ready in {time.monotonic() - started:.0f}s at {url}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine = open_database(f"sqlite:///{tmp}/bench.db")
            client = make_client(
                "sk_test_simulator", url, rate_limit=overall, rate_limit_per_endpoint=per_endpoint
            )
            t0 = time.monotonic()
            report = sync(engine, client, concurrency=args.concurrency, now=int(time.time()))
            seconds = time.monotonic() - t0
            rate = report.total / seconds
            ceiling = overall * 100
            print(
                f"backfill: {report.total:,} objects, {report.requests:,} requests "
                f"in {seconds:.1f}s"
            )
            print(
                f"  {rate:,.0f} objects/s = {rate / ceiling:.0%} of {ceiling:,.0f}/s "
                f"({overall:g} requests/s x 100 objects)"
            )
            print(
                f"  {report.requests / seconds:.1f} requests/s; "
                f"by kind: {json.dumps(report.objects)}"
            )
            # A long invoice's lines past the 10 embedded, and a subscription's items past 10,
            # cost a request each that brings only those few: the account's own ceiling is its
            # objects over the fewest requests that can copy them, at the limit.
            sub_pages = _sub_list_pages(engine)
            fewest = sum(-(-n // 100) for n in report.objects.values()) + sub_pages
            best = report.total / (fewest / overall)
            print(
                f"  sub-list pages needed: {sub_pages:,} (lines past 10, items past 10); fewest "
                f"requests {fewest:,}: ceiling {best:,.0f} objects/s, reached {rate / best:.0%}"
            )
            if per_endpoint:
                # The per-endpoint limit caps the largest list: its pages / 25 per second.
                pages = {k: -(-n // 100) for k, n in report.objects.items()}
                floor = max(max(pages.values()) / per_endpoint, sum(pages.values()) / overall)
                print(
                    f"  ceiling with {per_endpoint:g}/s per endpoint: {report.total / floor:,.0f} "
                    f"objects/s; reached {rate / (report.total / floor):.0%} of it"
                )
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  peak memory of the syncing process: {peak:,.0f} MB")
            t1 = time.monotonic()
            again = sync(engine, client, concurrency=args.concurrency, now=int(time.time()))
            print(
                f"incremental, nothing changed: {again.requests} request(s), "
                f"{time.monotonic() - t1:.2f}s, mode {again.mode}"
            )
            client.close()
            engine.dispose()
    finally:
        child.terminate()
        child.wait()


if __name__ == "__main__":
    main()
