"""What bringing the derived tables up to date costs a read (``store.current.bring_up_to_date``).

    .venv/bin/python benchmarks/derive_pending.py                       # 3,000 customers
    .venv/bin/python benchmarks/derive_pending.py --customers 100000 --reuse /tmp/m.db
    .venv/bin/python benchmarks/derive_pending.py --database-url postgresql+psycopg://...

The account (three years of a simulated SaaS, see ``_account_db.py``) is written straight into
the database and its tables built once. Then, in this process:

- nothing pending: what every ``metrics``, ``movements`` and ``report`` adds when no sync left
  work, no day passed and no horizon came due (median of 20 calls, with a fresh engine each, as a
  command opens one). Target: < 50 ms.
- a new day: the next day's first read, with no sync: the customers whose figures could change
  with time (a renewal, a trial or coupon ending, a scheduled cancellation) recomputed in place,
  against a full rebuild at the same instant.
- a reader's account (what ``metrics``, ``movements`` and ``report`` compute from): read from
  ``customer_result``, against recomputed from the raw rows.
- 100 customers queued (as a sync's pages queue them): the read that derives them.

A reused database (``--reuse``, a file ``metrics_recompute.py --keep`` wrote) has its derived
tables rebuilt at the account's end first, as a full sync would.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _account_args import account_url, add_account_arguments  # noqa: E402
from sqlalchemy import select  # noqa: E402

from stripe_kpi.metrics import Computed  # noqa: E402
from stripe_kpi.store.current import bring_up_to_date, current_results  # noqa: E402
from stripe_kpi.store.engine import open_database, session_scope  # noqa: E402
from stripe_kpi.store.models import table  # noqa: E402
from stripe_kpi.store.partition import compute_account  # noqa: E402
from stripe_kpi.store.queue import queue_customers  # noqa: E402
from stripe_kpi.store.tables import recompute_derived_tables  # noqa: E402

CURRENCY, TZ = "usd", "UTC"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add_account_arguments(parser, customers=3_000, chunk=3_000)
    args = parser.parse_args()
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    with tempfile.TemporaryDirectory(prefix="derive_pending_") as tmp:
        run(args, account_url(args, Path(tmp) / "derive.db"))


def run(args: argparse.Namespace, url: str) -> None:
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
    as_of = account.end
    t0 = time.monotonic()
    recompute_derived_tables(engine, currency=CURRENCY, tz=TZ, as_of=as_of)
    print(f"tables built as of {as_of:%Y-%m-%d %H:%M} UTC in {time.monotonic() - t0:.1f}s")
    engine.dispose()

    timings = []
    for _ in range(20):
        engine = open_database(url)
        t0 = time.perf_counter()
        done = bring_up_to_date(engine, currency=CURRENCY, tz=TZ, as_of=as_of)
        timings.append(time.perf_counter() - t0)
        engine.dispose()
        assert done is None, done
    print(
        f"nothing pending: median {statistics.median(timings) * 1000:.1f} ms, "
        f"max {max(timings) * 1000:.1f} ms (20 reads)"
    )

    engine = open_database(url)
    t0 = time.monotonic()
    results = current_results(engine, currency=CURRENCY, tz=TZ, as_of=as_of)
    if results is None:
        raise SystemExit("the tables should be current")
    Computed.of(results, currency=CURRENCY, tz=TZ, as_of=as_of)
    t1 = time.monotonic()
    compute_account(engine, currency=CURRENCY, tz=TZ, as_of=as_of)
    print(
        f"a reader's account: from customer_result in {t1 - t0:.2f}s, "
        f"recomputed from the raw rows in {time.monotonic() - t1:.2f}s"
    )
    next_day = as_of + timedelta(days=1)
    t0 = time.monotonic()
    update = bring_up_to_date(engine, currency=CURRENCY, tz=TZ, as_of=next_day)
    in_place = time.monotonic() - t0
    if update is None or update.full_reason is not None:
        raise SystemExit(f"expected an update in place, got {update}")
    t0 = time.monotonic()
    recompute_derived_tables(engine, currency=CURRENCY, tz=TZ, as_of=next_day)
    rebuild = time.monotonic() - t0
    print(
        f"a new day: {update.customers:,} customers recomputed in place in {in_place:.2f}s "
        f"({update.days:,} days written); a full rebuild takes {rebuild:.2f}s"
    )

    customer = table("customer")
    with engine.connect() as connection:
        ids = list(connection.execute(select(customer.c.id).order_by(customer.c.id).limit(100)))
    with session_scope(engine) as session:
        queue_customers(session.connection(), [row[0] for row in ids], at=0)
    t0 = time.monotonic()
    update = bring_up_to_date(engine, currency=CURRENCY, tz=TZ, as_of=next_day)
    if update is None or update.full_reason is not None:
        raise SystemExit(f"expected an update in place, got {update}")
    print(
        f"100 customers queued: derived in place in {time.monotonic() - t0:.2f}s "
        f"({update.customers:,} recomputed)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
