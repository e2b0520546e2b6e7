"""The derived tables brought up to date before anyone reads them, and after every sync.

What the tables owe is data, never a process's memory: ``derive_queue`` (customers a sync page
touched, or ``*``: everything) and the tables' record in ``sync_state`` (the currency, time
zone, format, ``as_of`` and last day they were computed for, see :func:`.tables.write_meta`).
So whatever instant a sync died, the next sync or read finds the work and finishes it, and days
that pass without any event (a trial ending, a coupon running out, a period renewing, a
scheduled cancellation, a plain new day) are brought in too: ``daily_metrics`` always reaches
the day of the read.

:func:`bring_up_to_date` is cheap when nothing is owed: four indexed reads
(``benchmarks/derive_pending.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, func, select

from stripe_kpi.metrics import CustomerResult, RateFn
from stripe_kpi.metrics.calendar import LocalCalendar
from stripe_kpi.store.models import table
from stripe_kpi.store.queue import anything_queued
from stripe_kpi.store.rows import decode_result
from stripe_kpi.store.tables import FORMAT, read_meta
from stripe_kpi.store.update import DerivedTablesUpdate, update_derived_tables

T = TypeVar("T")


def bring_up_to_date(
    engine: Engine,
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn | None = None,
    check: bool = False,
) -> DerivedTablesUpdate | None:
    """Make ``mrr_movement``, ``daily_metrics`` and ``customer_result`` exactly what a full
    rebuild at ``as_of`` would write, doing only what is owed (:func:`out_of_date`); None when
    nothing was. ``check``: a rebuild also checks the account (``DerivedTablesUpdate.checks``).

    The tables never go back in time: given an ``as_of`` earlier than theirs (a clock behind
    the last sync's), they are brought up to date at their own. Raises InputError when the
    database holds no Stripe data yet (nothing to derive from)."""
    until = int(as_of.timestamp())
    with engine.connect() as connection:
        meta = read_meta(connection)
        if meta is not None and meta.get("format") == FORMAT and until < meta["as_of"]:
            until = meta["as_of"]
            as_of = datetime.fromtimestamp(until, UTC)
        if out_of_date(connection, meta, currency=currency, tz=tz, until=until) is None:
            return None
    return update_derived_tables(
        engine, currency=currency, tz=tz, as_of=as_of, rate=rate, check=check
    )


def out_of_date(
    connection: Connection, meta: dict[str, Any] | None, *, currency: str, tz: str, until: int
) -> str | None:
    """Why the derived tables (whose record is ``meta``) are not current at ``until`` in this
    currency and time zone, or None when they are."""
    if anything_queued(connection):
        return "a sync left work in derive_queue"
    if meta is None:
        return "the derived tables were never built"
    if meta.get("format") != FORMAT:
        return "the derived tables were built by another version"
    if meta["currency"] != currency.lower() or meta["tz"] != tz:
        return "the reporting currency or time zone changed"
    today = date.fromordinal(LocalCalendar(tz).day_of(until)).isoformat()
    if meta["last_day"] < today:
        return "a new day"
    result = table("customer_result")
    due = connection.execute(select(func.min(result.c.horizon))).scalar()
    if due is not None and due <= until:
        return "a trial, coupon, billing period or scheduled change came due"
    return None


def read_current(
    engine: Engine, *, currency: str, tz: str, as_of: datetime, read: Callable[[Connection], T]
) -> T | None:
    """What ``read`` reads of the derived tables, when they are exactly what a rebuild at
    ``as_of`` would write (computed at or before it for this currency and time zone, nothing
    queued, no day or horizon passed since); None otherwise (the caller computes).

    The tables' record is read before and after ``read``: a derive that committed in between
    wrote a new ``generation``, and the rows may mix its state with the one before (SQLite
    reads each statement in a snapshot of its own)."""
    until = int(as_of.timestamp())
    with engine.connect() as connection:
        meta = read_meta(connection)
        if meta is None or meta.get("as_of", until + 1) > until:
            return None
        if out_of_date(connection, meta, currency=currency, tz=tz, until=until) is not None:
            return None
        value = read(connection)
        if read_meta(connection) != meta:
            return None
    return value


def current_results(
    engine: Engine, *, currency: str, tz: str, as_of: datetime
) -> dict[str, CustomerResult] | None:
    """Every customer's figures as ``customer_result`` holds them, by customer id, when the
    derived tables are current (:func:`read_current`): then they are what
    :func:`~stripe_kpi.metrics.compute_customers` would return, without loading or computing the
    account. None otherwise (the caller computes)."""
    result = table("customer_result")

    def decode(connection: Connection) -> dict[str, CustomerResult]:
        rows = connection.execute(select(result.c.customer_id, result.c.result)).all()
        return {customer_id: decode_result(customer_id, text) for customer_id, text in sorted(rows)}

    return read_current(engine, currency=currency, tz=tz, as_of=as_of, read=decode)
