"""The dashboard on a large account: `stripe-kpi dashboard`'s file, and `stripe-kpi serve`'s page.

    .venv/bin/python benchmarks/dashboard.py --reuse /tmp/skbench/copy.db     # 100,000 customers
    .venv/bin/python benchmarks/dashboard.py --customers 3000                 # a fresh account

The account (three years of a simulated SaaS, see ``_account_db.py``, or a reused file) has its
derived tables brought up to date first at the account's end (a migration that queues a
rebuild makes that a rebuild: timed apart, as setup). Then:

- ``dashboard``: ``services.write_dashboard`` with the tables current (what the command does:
  the up-to-date check, every read, the page, the atomic write), median of 3. Target: < 5 s,
  and the file < 8 MB.
- ``serve``: ``GET /`` from a ``DashboardServer`` on 127.0.0.1 (a read-only connection, the
  tables read on every request), median and worst of 10 after one warm-up; and a search and a
  customer's history (``/api/customers?q=``, ``/api/customer?id=``). Target: < 300 ms a page.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _account_args import account_url, add_account_arguments  # noqa: E402

from stripe_kpi.config import Settings  # noqa: E402
from stripe_kpi.dashboard.server import DashboardServer  # noqa: E402
from stripe_kpi.log import configure_logging  # noqa: E402
from stripe_kpi.services import write_dashboard  # noqa: E402
from stripe_kpi.store.current import bring_up_to_date  # noqa: E402
from stripe_kpi.store.engine import open_database  # noqa: E402

CURRENCY, TZ = "usd", "UTC"


def _get(port: int, path: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return time.perf_counter() - started, response.status, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_account_arguments(parser, customers=3000, chunk=1000)
    args = parser.parse_args()
    configure_logging("console", logging.WARNING)  # not the server's line per request
    work = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    url = account_url(args, work / "account.db")
    from _account_db import account_in  # the simulator: only in this process, for the setup

    started = time.perf_counter()
    engine = open_database(url)  # migrates
    account = account_in(engine, reuse=bool(args.reuse), customers=args.customers,
                         years=args.years, chunk_size=args.chunk, seed=args.seed)  # fmt: skip
    as_of = account.end
    update = bring_up_to_date(engine, currency=CURRENCY, tz=TZ, as_of=as_of)
    engine.dispose()
    how = "nothing owed" if update is None else (update.full_reason or "updated in place")
    print(f"setup: tables current at {as_of:%Y-%m-%d %H:%M} ({how}) in "
          f"{time.perf_counter() - started:.1f}s")  # fmt: skip

    settings = Settings(_env_file=None, database_url=url, currency=CURRENCY, timezone=TZ)  # type: ignore[call-arg]
    out = work / "dashboard.html"
    times, cpu = [], []
    for _ in range(3):
        started, used = time.perf_counter(), time.process_time()
        write_dashboard(settings, as_of, out)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    size = out.stat().st_size
    print(f"dashboard: median {statistics.median(times):.2f}s of {[round(t, 2) for t in times]} "
          f"(CPU {statistics.median(cpu):.2f}s: on a busy machine the wall time is longer), "
          f"file {size / 1e6:.2f} MB (target < 5 s, < 8 MB)")  # fmt: skip

    server = DashboardServer(database_url=url, currency=CURRENCY, tz=TZ, clock=lambda: as_of,
                             port=0)  # fmt: skip
    with server:
        port = server.httpd.server_address[1]
        cold = _get(port, "/")[0]  # waits for the page the server builds as it starts
        print(f"serve GET / at start: {cold * 1000:.0f} ms (the page built once)")
        pages = [_get(port, "/") for _ in range(10)]
        assert all(status == 200 for _, status, _ in pages)
        seconds = [t for t, _, _ in pages]
        median, worst = statistics.median(seconds) * 1000, max(seconds) * 1000
        print(f"serve GET /: median {median:.0f} ms, worst {worst:.0f} ms, "
              f"{pages[0][2] / 1e6:.2f} MB (target < 300 ms)")  # fmt: skip
        search = [_get(port, "/api/customers?q=smith") for _ in range(5)]
        print(f"serve search: median {statistics.median(t for t, _, _ in search) * 1000:.0f} ms")
        top = server.search("")[0]["id"]
        history = [_get(port, f"/api/customer?id={top}") for _ in range(5)]
        print(f"serve customer: median {statistics.median(t for t, _, _ in history) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
