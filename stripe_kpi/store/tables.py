"""The metrics layer's edge: load rows from the database, compute, keep the derived tables.

``stripe_kpi.metrics`` is pure; this module is the one place that feeds it from SQL and stores
what it returns: ``mrr_movement`` and ``daily_metrics`` (documented in the README, so a founder
can query them with SQL), and ``customer_result``, each customer's figures as those tables count
them. A full sync rebuilds everything (:func:`recompute_derived_tables`); an incremental one
recomputes the customers it touched and updates the tables in place
(:func:`update_derived_tables`), ending exactly where a rebuild would.

Speed, at 100,000 customers and 1.4 million invoice lines (``benchmarks/metrics_recompute.py``):
the rows are loaded as :mod:`.load` says and computed as :mod:`.partition` says; the cycle
collector stays paused from the first row to the last write (the heap holds millions of objects
that cannot form cycles, and every collection would walk them all); and the rows are written with
``executemany``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from stripe_kpi.metrics import Computed, RateFn, compute_customers, daily_metrics_rows, horizons
from stripe_kpi.metrics.bulk import cycle_collector_paused
from stripe_kpi.metrics.calendar import LocalCalendar
from stripe_kpi.metrics.ledger import COLUMNS as LEDGER_COLUMNS
from stripe_kpi.metrics.ledger import LEVELS, Ledger
from stripe_kpi.store.engine import session_scope, upsert_rows
from stripe_kpi.store.load import Customers, load
from stripe_kpi.store.models import table
from stripe_kpi.store.partition import compute_all
from stripe_kpi.store.rates import process_rates
from stripe_kpi.store.rows import (
    DAILY,
    DAILY_COLUMNS,
    MOVEMENT_COLUMNS,
    RESULT_COLUMNS,
    DerivedRows,
    decode_result,
    movement_rows,
    result_row,
)

#: Rows per ``executemany`` batch.
_CHUNK = 20_000
#: Where the derived tables record what they were computed for (``sync_state``, JSON).
META_KEY = "metrics:derived"
#: Bumped whenever ``customer_result`` changes meaning: older tables are then rebuilt.
_FORMAT = 1
#: Past this many customers to recompute, a rebuild instead: the in-place update computes in
#: this process only and names the customers in one IN list per query (SQLite allows 32,766).
INCREMENTAL_LIMIT = 10_000


# ---------------------------------------------------------------------------------------------
# Writing the derived tables
# ---------------------------------------------------------------------------------------------


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
    Stripe data. ``workers`` and ``rate`` as for :func:`compute_account`."""
    with cycle_collector_paused():
        parts = compute_all(
            engine, currency=currency, tz=tz, as_of=as_of, rate=rate, workers=workers, rows=True
        )
        return _replace_all(engine, parts, currency.lower(), tz, as_of)


def _replace_all(
    engine: Engine, parts: list[DerivedRows], currency: str, tz: str, as_of: datetime
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
        _lock_meta(connection)  # an update in progress elsewhere finishes first
        for name in ("mrr_movement", "daily_metrics", "customer_result"):
            connection.execute(delete(table(name)))
        with _indexes_rebuilt(connection, "mrr_movement"):
            _insert(connection, "mrr_movement", MOVEMENT_COLUMNS, movements)
        _insert(connection, "daily_metrics", DAILY_COLUMNS, days)
        for part in parts:
            _insert(connection, "customer_result", RESULT_COLUMNS, part.results)
        _write_meta(connection, currency, tz, until, last_day)
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


def _insert(
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


def _write_meta(connection: Connection, currency: str, tz: str, until: int, last: date) -> None:
    meta = {
        "format": _FORMAT,
        "currency": currency.lower(),
        "tz": tz,
        "as_of": until,
        "last_day": last.isoformat(),
    }
    row = {"key": META_KEY, "value": json.dumps(meta, sort_keys=True), "updated_at": until}
    upsert_rows(connection, {"sync_state": [row]})


# ---------------------------------------------------------------------------------------------
# The incremental update
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DerivedTablesUpdate:
    """What :func:`update_derived_tables` did: ``customers`` recomputed (all of them on a full
    rebuild), ``movements`` rows written to ``mrr_movement`` and ``days`` rows written to
    ``daily_metrics``; ``full_reason`` says why it rebuilt everything (None: in place)."""

    customers: int
    movements: int
    days: int
    full_reason: str | None = None


def update_derived_tables(
    engine: Engine,
    customer_ids: Collection[str],
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn | None = None,
) -> DerivedTablesUpdate:
    """Bring the derived tables to exactly what a full rebuild at ``as_of`` would write, after
    a sync that changed only ``customer_ids``.

    Those customers, and any whose figures could have changed by themselves since the tables
    were computed (a trial or a coupon that ended: see ``metrics.horizons``), are recomputed;
    their old figures (``customer_result``) come out of ``daily_metrics`` and the new ones go
    in, with the ledger's exact add and remove (a level's change shifts every later day, a flow
    only its day; a later ``as_of`` extends the table, levels carried forward); their
    ``mrr_movement`` and ``customer_result`` rows are replaced. All in one transaction, which
    starts by locking the tables' record, so two updates never interleave.

    Rebuilds everything instead when the tables were never built (or by another version), when
    the reporting currency or time zone changed, when ``as_of`` is earlier than theirs, or when
    more than :data:`INCREMENTAL_LIMIT` customers would be recomputed.
    """
    until = int(as_of.timestamp())
    with cycle_collector_paused():
        with session_scope(engine) as session:
            connection = session.connection()
            meta = _lock_meta(connection)
            reason = _rebuild_reason(meta, currency, tz, until)
            if reason is None:
                ids = set(customer_ids) | _due(connection, until)
                if len(ids) > INCREMENTAL_LIMIT:
                    reason = f"{len(ids):,} customers to recompute"
                else:
                    return _update_in_place(connection, sorted(ids), currency, tz, as_of, rate)
        movements, days = recompute_derived_tables(
            engine, currency=currency, tz=tz, as_of=as_of, rate=rate
        )
    with engine.connect() as connection:
        customers = connection.execute(
            select(func.count()).select_from(table("customer_result"))
        ).scalar_one()
    return DerivedTablesUpdate(customers, movements, days, full_reason=reason)


def _lock_meta(connection: Connection) -> dict[str, Any] | None:
    """The tables' record, locked for this transaction (a no-op write takes SQLite's write lock
    and PostgreSQL's row lock before anything is read)."""
    state = table("sync_state")
    connection.execute(
        update(state).where(state.c.key == META_KEY).values(updated_at=state.c.updated_at)
    )
    value = connection.execute(select(state.c.value).where(state.c.key == META_KEY)).scalar()
    return None if value is None else json.loads(value)


def _rebuild_reason(meta: dict[str, Any] | None, currency: str, tz: str, until: int) -> str | None:
    if meta is None:
        return "the derived tables were never built"
    if meta.get("format") != _FORMAT:
        return "the derived tables were built by another version"
    if meta["currency"] != currency.lower():
        return f"the reporting currency changed from {meta['currency']} to {currency.lower()}"
    if meta["tz"] != tz:
        return f"the time zone changed from {meta['tz']} to {tz}"
    if until < meta["as_of"]:
        return "as_of is earlier than the derived tables"
    return None


def _due(connection: Connection, until: int) -> set[str]:
    """Customers whose figures may have changed by themselves by ``until``."""
    result = table("customer_result")
    query = select(result.c.customer_id).where(result.c.horizon <= until)
    return set(connection.execute(query).scalars())


def _update_in_place(
    connection: Connection,
    ids: list[str],
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn | None,
) -> DerivedTablesUpdate:
    until = int(as_of.timestamp())
    history = load(connection, Customers(ids=tuple(ids)))
    new = compute_customers(
        history,
        currency=currency,
        tz=tz,
        as_of=as_of,
        rate=rate or process_rates(),
        customer_ids=ids,
    )
    ahead = horizons(history, until, ids)
    result, movement = table("customer_result"), table("mrr_movement")
    stored = connection.execute(
        select(result.c.customer_id, result.c.result).where(result.c.customer_id.in_(ids))
    ).all()
    delta = Ledger()
    for customer_id, text in stored:
        delta.add(decode_result(customer_id, text), sign=-1)
    for fresh in new.values():
        delta.add(fresh)
    reporting = currency.lower()
    moved = sorted(
        (m for r in new.values() for m in r.movements),
        key=lambda m: (m.day, m.customer_id, m.type != "fx"),
    )
    connection.execute(delete(movement).where(movement.c.customer_id.in_(ids)))
    written = _insert(connection, "mrr_movement", MOVEMENT_COLUMNS, movement_rows(moved, reporting))
    connection.execute(delete(result).where(result.c.customer_id.in_(ids)))
    rows = (result_row(r, ahead.get(r.customer_id)) for r in new.values())
    _insert(connection, "customer_result", RESULT_COLUMNS, rows)
    first = connection.execute(select(func.min(result.c.first_day))).scalar()
    last = date.fromordinal(LocalCalendar(tz).day_of(until))
    days = _apply_to_daily(connection, delta.changes(), first, last, reporting)
    _write_meta(connection, reporting, tz, until, last)
    return DerivedTablesUpdate(len(ids), written, days)


def _apply_to_daily(
    connection: Connection,
    changes: Mapping[int, tuple[int, ...]],
    first_day: str | None,
    last_day: date,
    currency: str,
) -> int:
    """Apply per-day changes to ``daily_metrics``, which then runs from ``first_day`` (the
    earliest of every customer's first day: the day the account's ledger starts) to
    ``last_day``. Days past the stored ones carry the last stored levels forward (nothing of an
    untouched customer changes before its horizon). Returns the rows written."""
    daily = table("daily_metrics")
    stored = {
        row[0]: tuple(row[1:])
        for row in connection.execute(select(*(daily.c[c] for c in ("date", *DAILY))))
    }
    if first_day is None:
        connection.execute(delete(daily))
        return 0
    width = len(LEDGER_COLUMNS)
    index = {name: i for i, name in enumerate(LEDGER_COLUMNS)}
    levels = [index[c] for c in DAILY if c in LEVELS]
    is_level = [c in LEVELS for c in DAILY]
    last_stored = max(stored, default=None)
    carried = (
        tuple(v if level else 0 for v, level in zip(stored[last_stored], is_level, strict=True))
        if last_stored is not None
        else (0,) * len(DAILY)
    )
    start, end = date.fromisoformat(first_day).toordinal(), last_day.toordinal()
    running = [0] * width
    wanted: dict[str, tuple[Any, ...]] = {}
    for day in range(min(start, *changes) if changes else start, end + 1):
        change = changes.get(day)
        if change is not None:
            for i in levels:
                running[i] += change[i]
        if day < start:
            continue
        iso = date.fromordinal(day).isoformat()
        base = stored.get(iso)
        if base is None:
            base = carried if last_stored is not None and iso > last_stored else (0,) * len(DAILY)
        values = []
        for name, value, level in zip(DAILY, base, is_level, strict=True):
            i = index[name]
            if level:
                value += running[i]
            elif change is not None:
                value += change[i]
            values.append(value)
        wanted[iso] = (iso, currency, *values)
    stale = [d for d in stored if d not in wanted or stored[d] != wanted[d][2:]]
    fresh = [row for d, row in wanted.items() if stored.get(d) != row[2:]]
    for start_at in range(0, len(stale), 500):
        connection.execute(delete(daily).where(daily.c.date.in_(stale[start_at : start_at + 500])))
    _insert(connection, "daily_metrics", DAILY_COLUMNS, fresh)
    return len(fresh)
