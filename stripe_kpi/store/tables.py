"""The derived tables written whole, as a full sync does (:func:`recompute_derived_tables`), and
their record in ``sync_state``: what they were computed for, and the row that every writer locks
first, so that a rebuild and an incremental update (:mod:`.update`) never interleave.

The rows are written with the driver's ``executemany`` (at 100,000 customers and 1.4 million
invoice lines, ``benchmarks/metrics_recompute.py``): see :func:`insert`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import Connection, Engine, delete, select, text, update

from stripe_kpi.metrics import Computed, RateFn, daily_metrics_rows
from stripe_kpi.metrics.bulk import cycle_collector_paused
from stripe_kpi.metrics.calendar import LocalCalendar
from stripe_kpi.metrics.cohorts import CohortLedger
from stripe_kpi.metrics.ledger import Ledger
from stripe_kpi.metrics.reconcile import SubscriptionCheck
from stripe_kpi.store.cohort_table import write_cohorts
from stripe_kpi.store.committed_table import replace_committed
from stripe_kpi.store.engine import session_scope, upsert_rows
from stripe_kpi.store.models import table
from stripe_kpi.store.partition import compute_all
from stripe_kpi.store.queue import consume, read_queue
from stripe_kpi.store.rows import DAILY_COLUMNS, MOVEMENT_COLUMNS, RESULT_COLUMNS, DerivedRows
from stripe_kpi.store.segments import write_segment_tables

#: Rows per ``executemany`` batch.
_CHUNK = 20_000
#: Where the derived tables record what they were computed for (``sync_state``, JSON).
META_KEY = "metrics:derived"
#: Bumped whenever ``customer_result`` changes meaning, or the metrics give other figures for
#: the same rows (a fix): older tables are then rebuilt on the next sync or read. 2: the fixes
#: of 2026-12-04 (schedule phases dropping discounts, metered items with schedules, …).
FORMAT = 2
#: PostgreSQL advisory lock key of the derived tables' writers (any constant bigint, ours).
_DERIVE_LOCK = 0x5354_4B50_4944_4552  # "STKPIDER"


def recompute_derived_tables(
    engine: Engine,
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn | None = None,
    workers: int | None = None,
) -> tuple[int, int]:
    """Compute the whole account and replace every derived table (what a full sync does), in
    one transaction. Returns (movements, days) written; raises InputError on a database without
    Stripe data. ``workers`` and ``rate`` as for :func:`.partition.compute_account`.

    Everything ``derive_queue`` held before the account was loaded is settled by the rebuild and
    deleted in its transaction; what a sync queues meanwhile stays for the next derive."""
    queued = _queued(engine)
    with cycle_collector_paused():
        parts = compute_all(
            engine, currency=currency, tz=tz, as_of=as_of, rate=rate, workers=workers, rows=True
        )
        return _replace_all(engine, parts, currency.lower(), tz, as_of, queued)


def rebuild_and_check(
    engine: Engine,
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn | None = None,
    workers: int | None = None,
) -> tuple[int, int, list[SubscriptionCheck]]:
    """:func:`recompute_derived_tables`, and every subscription Stripe bills checked against its
    invoices on the same loaded history (what :func:`.partition.reconcile_account` gives, without
    loading the account again): (movements, days, checks sorted by subscription id)."""
    queued = _queued(engine)
    with cycle_collector_paused():
        parts = compute_all(
            engine,
            currency=currency,
            tz=tz,
            as_of=as_of,
            rate=rate,
            workers=workers,
            rows=True,
            check=True,
        )
        movements, days = _replace_all(engine, parts, currency.lower(), tz, as_of, queued)
    checks = sorted((c for part in parts for c in part.checks), key=lambda c: c.subscription_id)
    return movements, days, checks


def _queued(engine: Engine) -> dict[str, str]:
    """``derive_queue`` as it is before a rebuild loads anything: all of it the rebuild covers."""
    with engine.connect() as connection:
        return read_queue(connection)


def _replace_all(
    engine: Engine,
    parts: list[DerivedRows],
    currency: str,
    tz: str,
    as_of: datetime,
    queued: Mapping[str, str],
) -> tuple[int, int]:
    until = int(as_of.timestamp())
    # By day and customer, a day's fx row before the movement it precedes (Computed.movements).
    movements = sorted(
        (row for part in parts for row in part.movements),
        key=lambda row: (row[0], row[1], row[2] != "fx"),
    )
    ledger = Ledger.from_changes(part.changes for part in parts)
    last_day = date.fromordinal(LocalCalendar(tz).day_of(until))
    account = Computed(currency, tz, as_of, last_day, {}, ledger)
    days = [tuple(row[c] for c in DAILY_COLUMNS) for row in daily_metrics_rows(account)]
    with session_scope(engine) as session, _write_cache(session.connection()) as connection:
        lock_meta(connection)  # an update in progress elsewhere finishes first
        for name in ("mrr_movement", "daily_metrics", "customer_result"):
            connection.execute(delete(table(name)))
        with _indexes_rebuilt(connection, "mrr_movement"):
            insert(connection, "mrr_movement", MOVEMENT_COLUMNS, movements)
        insert(connection, "daily_metrics", DAILY_COLUMNS, days)
        for part in parts:
            insert(connection, "customer_result", RESULT_COLUMNS, part.results)
        write_segment_tables(connection, (p.segments for p in parts), currency, insert)
        cohorts = CohortLedger.from_changes(part.cohorts for part in parts)
        write_cohorts(connection, cohorts, last_day, currency)
        replace_committed(connection, [row for part in parts for row in part.committed], None)
        write_meta(connection, currency, tz, until, last_day)
        consume(connection, queued)  # settled in the transaction that settles it
    return len(movements), len(days)


@contextmanager
def _write_cache(connection: Connection) -> Iterator[Connection]:
    """A 256 MB page cache on SQLite for a bulk write: the indexes by customer id are written
    in random order, and with the default 2 MB a third of the time went to re-reading pages.
    Set back afterwards, so a long-lived connection does not keep the memory."""
    if connection.dialect.name != "sqlite":
        yield connection
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql("PRAGMA cache_size = -262144")
    try:
        yield connection
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


@contextmanager
def _indexes_rebuilt(connection: Connection, name: str) -> Iterator[None]:
    """On SQLite, drop a table's indexes for a bulk insert into it and build them afterwards
    (in the same transaction: readers see the old table until it commits): sorting once is
    faster than a random insertion per row, by half for ``mrr_movement``. PostgreSQL would lock
    readers out for the duration, so there the indexes stay."""
    indexes = list(table(name).indexes) if connection.dialect.name == "sqlite" else []
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)


def insert(
    connection: Connection, name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert value tuples in batches through the driver's ``executemany``: no per-row
    statement building, which is most of the cost of a few hundred thousand rows."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    quoted = ", ".join(f'"{column}"' for column in columns)  # date, type, new: quote them all
    sql = f"INSERT INTO {name} ({quoted}) VALUES ({', '.join([marker] * len(columns))})"
    written, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= _CHUNK:
            connection.exec_driver_sql(sql, batch)
            written, batch = written + len(batch), []
    if batch:
        connection.exec_driver_sql(sql, batch)
    return written + len(batch)


def write_meta(connection: Connection, currency: str, tz: str, until: int, last: date) -> None:
    """What the derived tables are current to: format, currency, time zone, ``as_of`` (unix
    seconds) and the last day of ``daily_metrics``; written in the transaction of the rows."""
    meta = {
        "format": FORMAT,
        "currency": currency.lower(),
        "tz": tz,
        "as_of": until,
        "last_day": last.isoformat(),
        # New at every write: a reader that finds the same record before and after reading the
        # tables knows no derive committed in between (``current.current_results``).
        "generation": uuid4().hex,
    }
    row = {"key": META_KEY, "value": json.dumps(meta, sort_keys=True), "updated_at": until}
    upsert_rows(connection, {"sync_state": [row]})


def read_meta(connection: Connection) -> dict[str, Any] | None:
    """The tables' record (what :func:`write_meta` wrote), unlocked: None when never built."""
    state = table("sync_state")
    value = connection.execute(select(state.c.value).where(state.c.key == META_KEY)).scalar()
    return None if value is None else json.loads(value)


def lock_meta(connection: Connection) -> dict[str, Any] | None:
    """The tables' record, locked for this transaction (a no-op write takes SQLite's write lock
    and PostgreSQL's row lock before anything is read). On PostgreSQL a transaction-scoped
    advisory lock too: before the tables are first built there is no row to lock, and two
    first builds (a sync and a read) must not interleave either."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DERIVE_LOCK})
    state = table("sync_state")
    connection.execute(
        update(state).where(state.c.key == META_KEY).values(updated_at=state.c.updated_at)
    )
    return read_meta(connection)
