"""A large simulated account written straight into a database: no HTTP, the sync's own rows.

The simulator builds 5,000 customers in a few seconds but 20,000 take gigabytes, so the account
is generated in chunks, each a ``generate_account`` of its own seed. Every object of a chunk goes
through ``mapping.rows_for`` (invoices embed all their lines) and ``db.upsert_rows``, as the
backfill would write it; of the events only ``customer.subscription.*`` are kept, as the sync
keeps only those.

Chunks share nothing but the coupon ids the simulator's catalog spells out (``WELCOME20``…),
which are the same coupon in every chunk. Every other id is hashed from the chunk's seed; that
they never collide is checked here, not assumed: a collision stops the run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.store.engine import session_scope, upsert_rows
from stripe_kpi.store.models import SyncState
from stripe_kpi.sync import mapping
from stripe_kpi.sync.events import STORED_EVENTS

#: Objects of one kind written per transaction (an invoice carries ~1-2 lines).
_BATCH = 2_000
#: Object kinds the sync stores (invoice items: only the pending ones, as the backfill lists them).
_KINDS = (
    "customers",
    "products",
    "prices",
    "coupons",
    "tax_rates",
    "discounts",
    "subscriptions",
    "subscription_schedules",
    "invoiceitems",
    "invoices",
    "events",
)
#: Tables whose ids the chunks may share, because they are the same object (the coupon ids are
#: written out in the simulator's catalog).
_SHARED = {"coupon"}


class IdCollision(RuntimeError):
    pass


class _Ids:
    """Which ids earlier chunks wrote, per table, to catch a collision between chunks."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, Any]] = {}
        #: a shared coupon's ``applies_to`` products, over every chunk written so far
        self.applies_to: dict[str, list[str]] = {}

    def share(self, rows: mapping.Rows) -> None:
        """A shared coupon limited to products (``ADDONS25``) names each chunk's own products:
        the one row they share must name them all, or the chunks written first would bill a
        discount their stored coupon no longer applies to."""
        for row in rows.get("coupon", []):
            raw = json.loads(row["raw"])
            products = (raw.get("applies_to") or {}).get("products")
            if products is None:
                continue
            known = self.applies_to.setdefault(row["id"], [])
            known += [p for p in products if p not in known]
            raw["applies_to"]["products"] = list(known)
            row["raw"] = mapping.dumps(raw)

    def check(self, rows: mapping.Rows, chunk: int) -> None:
        for table, batch in rows.items():
            seen = self.seen.setdefault(table, {})
            for row in batch:
                key = row.get("id")
                if key is None:
                    continue
                mark = _typed(row) if table in _SHARED else chunk
                first = seen.setdefault(key, mark)
                if table in _SHARED and first != mark:
                    raise IdCollision(f"{table} {key} differs between chunks")
                if table not in _SHARED and first != chunk:
                    raise IdCollision(f"{table} {key} appears in two chunks")


def _typed(row: dict[str, Any]) -> tuple:
    return tuple(sorted((k, v) for k, v in row.items() if k not in ("raw", "created")))


def _objects(data: Any, kind: str) -> Iterator[dict[str, Any]]:
    for obj in data.objects.get(kind, {}).values():
        if kind == "events" and not obj["type"].startswith(STORED_EVENTS):
            continue
        if kind == "invoiceitems" and obj.get("invoice") is not None:
            continue
        yield obj


def write_chunk(engine: Engine, data: Any, ids: _Ids, chunk: int) -> dict[str, int]:
    """Every object of one generated account, mapped and upserted in batches."""
    counts: dict[str, int] = {}
    for kind in _KINDS:
        objects = list(_objects(data, kind))
        for start in range(0, len(objects), _BATCH):
            rows: mapping.Rows = {}
            for obj in objects[start : start + _BATCH]:
                mapping.merge_rows(rows, mapping.rows_for(obj))
            ids.check(rows, chunk)
            ids.share(rows)
            with session_scope(engine) as session:
                upsert_rows(session, rows)
        counts[kind] = len(objects)
    return counts


def generate_into(
    engine: Engine,
    *,
    customers: int,
    chunk_size: int,
    seed: int,
    start: datetime,
    end: datetime,
    say: Callable[[str], None] = print,
) -> dict[str, int]:
    """Generate ``customers`` customers in chunks of ``chunk_size`` and write them."""
    ids = _Ids()
    totals: dict[str, int] = {}
    chunks = -(-customers // chunk_size)
    for chunk in range(chunks):
        size = min(chunk_size, customers - chunk * chunk_size)
        t0 = time.monotonic()
        account = generate_account(seed * 1_000 + chunk, size, start, end)
        t1 = time.monotonic()
        counts = write_chunk(engine, account.snapshot(copy=False), ids, chunk)
        del account
        for kind, n in counts.items():
            totals[kind] = totals.get(kind, 0) + n
        say(
            f"  chunk {chunk + 1}/{chunks}: {size:,} customers generated in {t1 - t0:.1f}s, "
            f"written in {time.monotonic() - t1:.1f}s ({counts['invoices']:,} invoices)"
        )
    return totals


#: Where a generated account records what it is (``sync_state``), so a later run can reuse it.
META_KEY = "benchmark:account"
#: Every benchmark account starts here; ``years`` later it ends, and it is measured as of then.
START = datetime(2023, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BenchmarkAccount:
    customers: int
    start: datetime
    end: datetime


def account_in(
    engine: Engine, *, reuse: bool, customers: int, years: int, chunk_size: int, seed: int
) -> BenchmarkAccount:
    """The account the database holds; generated into it first unless ``reuse`` (then a
    database without one is an error: it was not written by ``metrics_recompute.py --keep``)."""
    with engine.connect() as connection:
        meta = connection.execute(
            select(SyncState.value).where(SyncState.key == META_KEY)
        ).scalar_one_or_none()
    if meta is not None:
        known = json.loads(meta)
        account = BenchmarkAccount(
            known["customers"], *(datetime.fromisoformat(known[k]) for k in ("start", "end"))
        )
        print(
            f"reusing {account.customers:,} customers, "
            f"{account.start:%Y-%m-%d} to {account.end:%Y-%m-%d}"
        )
        return account
    if reuse:
        raise SystemExit("this database holds no generated account: run with --keep first")
    account = BenchmarkAccount(customers, START, START.replace(year=START.year + years))
    print(
        f"generating {customers:,} customers, {account.start:%Y-%m-%d} to "
        f"{account.end:%Y-%m-%d}, in chunks of {chunk_size:,}"
    )
    t0 = time.monotonic()
    totals = generate_into(
        engine,
        customers=customers,
        chunk_size=chunk_size,
        seed=seed,
        start=account.start,
        end=account.end,
    )
    meta = {
        "customers": customers,
        "start": account.start.isoformat(),
        "end": account.end.isoformat(),
    }
    with session_scope(engine) as session:
        session.merge(SyncState(key=META_KEY, value=json.dumps(meta), updated_at=0))
    print(f"generated in {time.monotonic() - t0:.0f}s: {json.dumps(totals)}")
    return account
