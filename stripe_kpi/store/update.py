"""The derived tables brought up to date in place, after a sync that touched a few customers:
their old figures come out of ``daily_metrics`` and their new ones go in, ending exactly where a
full rebuild (:mod:`.tables`) would.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from stripe_kpi.metrics import RateFn, compute_customers, horizons
from stripe_kpi.metrics.bulk import cycle_collector_paused
from stripe_kpi.metrics.calendar import LocalCalendar
from stripe_kpi.metrics.committed import commitments
from stripe_kpi.metrics.ledger import COLUMNS as LEDGER_COLUMNS
from stripe_kpi.metrics.ledger import LEVELS, Ledger
from stripe_kpi.metrics.reconcile import SubscriptionCheck
from stripe_kpi.store.cohort_table import update_cohorts
from stripe_kpi.store.committed_table import committed_rows, replace_committed
from stripe_kpi.store.engine import session_scope
from stripe_kpi.store.load import Customers, load
from stripe_kpi.store.models import table
from stripe_kpi.store.queue import EVERYTHING, consume, read_queue
from stripe_kpi.store.rates import process_rates
from stripe_kpi.store.rows import (
    DAILY,
    DAILY_COLUMNS,
    MOVEMENT_COLUMNS,
    RESULT_COLUMNS,
    decode_result,
    movement_rows,
    result_row,
)
from stripe_kpi.store.segments import update_segment_tables
from stripe_kpi.store.tables import (
    FORMAT,
    insert,
    lock_meta,
    rebuild_and_check,
    recompute_derived_tables,
    write_meta,
)

#: Past this many customers to recompute, a rebuild instead: the in-place update computes in
#: this process only and names the customers in one IN list per query (SQLite allows 32,766).
INCREMENTAL_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class DerivedTablesUpdate:
    """What :func:`update_derived_tables` did: ``customers`` recomputed (all of them on a full
    rebuild), ``movements`` rows written to ``mrr_movement`` and ``days`` rows written to
    ``daily_metrics``; ``full_reason`` says why it rebuilt everything (None: in place).
    ``checks``: asked for with ``check`` and rebuilt, every subscription checked against its
    invoices on the history the rebuild loaded (else None)."""

    customers: int
    movements: int
    days: int
    full_reason: str | None = None
    checks: list[SubscriptionCheck] | None = None


#: Why a rebuild, when ``derive_queue`` asked for one (a backfill's pages, or an upgrade).
QUEUED_REBUILD = "a rebuild was queued (a full sync, or an upgrade from an older version)"


def update_derived_tables(
    engine: Engine,
    customer_ids: Collection[str] = (),
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn | None = None,
    check: bool = False,
) -> DerivedTablesUpdate:
    """Bring the derived tables to exactly what a full rebuild at ``as_of`` would write, after
    a sync that changed only ``customer_ids`` and those ``derive_queue`` holds.

    Those customers, and any whose figures could have changed by themselves since the tables
    were computed (a trial or a coupon that ended: see ``metrics.horizons``), are recomputed;
    their old figures (``customer_result``) come out of ``daily_metrics`` and the new ones go
    in, with the ledger's exact add and remove (a level's change shifts every later day, a flow
    only its day; a later ``as_of`` extends the table, levels carried forward); their
    ``mrr_movement`` and ``customer_result`` rows are replaced, and the queue's rows read are
    deleted. All in one transaction, which starts by locking the tables' record, so two
    updates never interleave, and a process killed before it commits leaves the queue as it was.

    Rebuilds everything instead when the queue holds ``*``, when the tables were never built (or
    by another version), when the reporting currency or time zone changed, when ``as_of`` is
    earlier than theirs, or when more than :data:`INCREMENTAL_LIMIT` customers would be
    recomputed. With ``check``, a rebuild also checks the account (``checks``).
    """
    until = int(as_of.timestamp())
    with cycle_collector_paused():
        with session_scope(engine) as session:
            connection = session.connection()
            meta = lock_meta(connection)
            queued = read_queue(connection)
            reason = _rebuild_reason(meta, currency, tz, until)
            if reason is None and EVERYTHING in queued:
                reason = QUEUED_REBUILD
            if reason is None:
                ids = set(customer_ids) | set(queued) | _due(connection, until)
                if len(ids) > INCREMENTAL_LIMIT:
                    reason = f"{len(ids):,} customers to recompute"
                else:
                    update = _update_in_place(connection, sorted(ids), currency, tz, as_of, rate)
                    consume(connection, queued)
                    return update
        checks = None
        if check:
            movements, days, checks = rebuild_and_check(
                engine, currency=currency, tz=tz, as_of=as_of, rate=rate
            )
        else:
            movements, days = recompute_derived_tables(
                engine, currency=currency, tz=tz, as_of=as_of, rate=rate
            )
    with engine.connect() as connection:
        customers = connection.execute(
            select(func.count()).select_from(table("customer_result"))
        ).scalar_one()
    return DerivedTablesUpdate(customers, movements, days, full_reason=reason, checks=checks)


def _rebuild_reason(meta: dict[str, Any] | None, currency: str, tz: str, until: int) -> str | None:
    if meta is None:
        return "the derived tables were never built"
    if meta.get("format") != FORMAT:
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
        segments=True,
    )
    ahead = horizons(history, until, ids)
    result, movement = table("customer_result"), table("mrr_movement")
    stored = connection.execute(
        select(result.c.customer_id, result.c.result).where(result.c.customer_id.in_(ids))
    ).all()
    delta = Ledger()
    old = [decode_result(customer_id, text) for customer_id, text in stored]
    for before in old:
        delta.add(before, sign=-1)
    for fresh in new.values():
        delta.add(fresh)
    reporting = currency.lower()
    moved = sorted(
        (m for r in new.values() for m in r.movements),
        key=lambda m: (m.day, m.customer_id, m.type != "fx"),
    )
    connection.execute(delete(movement).where(movement.c.customer_id.in_(ids)))
    written = insert(connection, "mrr_movement", MOVEMENT_COLUMNS, movement_rows(moved, reporting))
    connection.execute(delete(result).where(result.c.customer_id.in_(ids)))
    rows = (result_row(r, ahead.get(r.customer_id)) for r in new.values())
    insert(connection, "customer_result", RESULT_COLUMNS, rows)
    update_segment_tables(connection, ids, new, reporting, insert)
    first = connection.execute(select(func.min(result.c.first_day))).scalar()
    last = date.fromordinal(LocalCalendar(tz).day_of(until))
    days = _apply_to_daily(connection, delta.changes(), first, last, reporting)
    update_cohorts(connection, old, new.values(), last, reporting)
    committed = commitments(
        history,
        currency=currency,
        tz=tz,
        as_of=as_of,
        rate=rate or process_rates(),
        customer_ids=ids,
    )
    replace_committed(connection, committed_rows(committed, reporting), ids)
    write_meta(connection, reporting, tz, until, last)
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
    insert(connection, "daily_metrics", DAILY_COLUMNS, fresh)
    return len(fresh)
