"""Compute the whole account by ranges of customer ids: in worker processes when there are cores
for them, else one range after the other in this process.

A large account is computed in worker processes, one range of customer ids each, so that both
cores load and compute while memory stays bounded by the size of a range (at 100,000 customers
and 1.4 million invoice lines: ``benchmarks/metrics_recompute.py``). ``stripe-kpi check`` runs
the same way (:func:`reconcile_account`, ``benchmarks/check_account.py``).
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from stripe_kpi.errors import InputError, StorageError
from stripe_kpi.metrics import Computed, CustomerResult, RateFn, compute_customers, horizons
from stripe_kpi.metrics.bulk import cycle_collector_paused
from stripe_kpi.metrics.committed import commitments
from stripe_kpi.metrics.reconcile import SubscriptionCheck, check_subscriptions
from stripe_kpi.metrics.status import COUNTING
from stripe_kpi.store.committed_table import committed_rows
from stripe_kpi.store.engine import make_engine, storage_message
from stripe_kpi.store.load import Customers, load
from stripe_kpi.store.models import table
from stripe_kpi.store.rates import process_rates
from stripe_kpi.store.rows import DerivedRows, Horizons, derived_rows

log = structlog.get_logger(__name__)

#: Customers per worker task (about 0.2 GB of history each): small tasks keep both workers busy
#: to the end.
_PART_CUSTOMERS = 6_000
#: Below this many subscriptions, starting processes costs more than it saves.
_PARALLEL_FROM = 20_000
_MAX_WORKERS = 4


def _compute(
    connection: Connection,
    customers: Customers | None,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn,
    rows: bool,
    check: Checking | None = None,
) -> tuple[dict[str, CustomerResult], Horizons] | DerivedRows:
    """Load and compute some customers: their results and horizons, or (``rows``) their rows,
    and with ``check`` their subscriptions checked against their invoices too."""
    history = load(connection, customers)
    if customers is None and not history.customers and not history.subscriptions:
        raise InputError(
            "the database holds no Stripe data yet: run `stripe-kpi sync` first "
            "(or `stripe-kpi demo` to see the simulated account)"
        )
    results = compute_customers(
        history, currency=currency, tz=tz, as_of=as_of, rate=rate, segments=rows
    )
    until = int(as_of.timestamp())
    ahead = horizons(history, until)
    checks = None
    if check is not None:
        checks = check_subscriptions(
            history, currency=currency, as_of=as_of, rate=rate, events_since=check.events_since
        )
    committed = commitments(history, currency=currency, tz=tz, as_of=as_of, rate=rate)
    del history  # free it before the rows are built
    if not rows:
        return results, ahead
    derived = derived_rows(results, ahead, currency.lower())
    return replace(derived, checks=checks, committed=committed_rows(committed, currency.lower()))


def _compute_part(
    url: str,
    customers: Customers,
    currency: str,
    tz: str,
    as_of: datetime,
    rows: bool,
    check: Checking | None,
) -> tuple[dict[str, CustomerResult], Horizons] | DerivedRows:
    """One worker task: one range of customers (with the default rates)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection, cycle_collector_paused():
            return _compute(
                connection, customers, currency, tz, as_of, process_rates(), rows, check
            )
    except SQLAlchemyError as exc:
        raise StorageError(storage_message(url, exc)) from None
    finally:
        engine.dispose()


def compute_all(
    engine: Engine,
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn | None,
    workers: int | None,
    rows: bool = False,
    check: bool = False,
) -> list[Any]:
    """What :func:`_compute` returns, for every customer: one entry per range of customers, or
    a single one for a small account. The ranges go to worker processes when there are cores
    for them (and the default rates), else they are computed here one after the other: memory
    then holds one range's history at a time. Raises InputError on an empty database.
    ``check`` (with ``rows``): each part's rows carry its reconciliation (``DerivedRows.checks``),
    so a full sync checks itself without loading the account a second time."""
    checking = Checking(_events_since(engine)) if check else None
    parts = _parts(engine, workers)
    if parts and rate is None and _workers(workers) > 1 and not _in_memory(engine):
        try:
            return _in_workers(
                engine, parts, _workers(workers), _compute_part, currency, tz, as_of, rows, checking
            )
        except BrokenProcessPool:
            # A worker died: killed for memory, or it could not start because the program that
            # called us has no ``if __name__ == "__main__":`` guard (spawned processes import
            # the main module). This process can still do the work.
            log.warning("metrics_workers_failed", parts=len(parts))
    rate = rate or process_rates()
    with engine.connect() as connection:
        return [
            _compute(connection, part, currency, tz, as_of, rate, rows, checking)
            for part in parts or [None]
        ]


@dataclass(frozen=True)
class Checking:
    """That a computation also checks subscriptions against invoices, from when on the database
    holds every subscription event (:func:`_events_since`, read once for all the parts)."""

    events_since: int | None


def _in_workers(
    engine: Engine, parts: list[Customers], workers: int, task: Callable[..., Any], *args: Any
) -> list[Any]:
    """``task(url, part, *args)`` for every part, in worker processes, in the order of the parts
    (by customer id)."""
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")  # never fork a process holding threads
    with ProcessPoolExecutor(min(len(parts), workers), mp_context=context) as pool:
        tasks = [pool.submit(task, url, part, *args) for part in parts]
        return [t.result() for t in tasks]


def _workers(asked: int | None) -> int:
    return asked if asked is not None else min(os.cpu_count() or 1, _MAX_WORKERS)


def _in_memory(engine: Engine) -> bool:
    url = engine.url
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    )


def _parts(engine: Engine, asked: int | None) -> list[Customers]:
    """Ranges of customer ids of about :data:`_PART_CUSTOMERS` each, in a multiple of the
    workers (no last round left to one of them alone), for an account of
    :data:`_PARALLEL_FROM` subscriptions or more, or whenever workers were asked for; else none
    (a small account is computed whole)."""
    workers = max(1, _workers(asked))
    subscription = table("subscription")
    with engine.connect() as connection:
        if asked is None or asked < 2:
            count = connection.execute(select(func.count()).select_from(subscription)).scalar()
            if (count or 0) < _PARALLEL_FROM:
                return []
        ids = connection.execute(
            select(subscription.c.customer_id).distinct().order_by(subscription.c.customer_id)
        ).scalars()
        ids = list(ids)
    if len(ids) < 2:
        return []
    count = workers * max(1, math.ceil(len(ids) / _PART_CUSTOMERS / workers))
    bounds = [None, *sorted({ids[i * len(ids) // count] for i in range(1, count)}), None]
    return [Customers(low=low, high=high) for low, high in pairwise(bounds)]


def compute_account(
    engine: Engine,
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn | None = None,
    workers: int | None = None,
) -> Computed:
    """Load and compute the whole account as of ``as_of``.

    ``workers``: processes to compute in (default: one per core, up to four, for an account of
    20,000 subscriptions or more; 1: this process only). They are spawned, not forked (a
    scheduler's threads do not survive a fork), so a script that calls this needs the usual
    ``if __name__ == "__main__":`` guard; without it the work falls back to this process. A
    custom ``rate`` keeps the work in this process (the workers use the ECB rates).
    """
    with cycle_collector_paused():
        parts = compute_all(
            engine, currency=currency, tz=tz, as_of=as_of, rate=rate, workers=workers
        )
        results = {k: v for part_results, _ in parts for k, v in part_results.items()}
        return Computed.of(results, currency=currency, tz=tz, as_of=as_of)


# ---------------------------------------------------------------------------------------------
# stripe-kpi check
# ---------------------------------------------------------------------------------------------


def reconcile_account(
    engine: Engine,
    *,
    currency: str,
    as_of: datetime,
    rate: RateFn | None = None,
    workers: int | None = None,
) -> list[SubscriptionCheck]:
    """Check every subscription Stripe bills at ``as_of`` against its invoices
    (:func:`~stripe_kpi.metrics.reconcile.check_subscriptions`), loading only the customers who
    have one; by ranges of customers, in workers, as :func:`compute_account` does. Sorted by
    subscription id; raises InputError on a database without Stripe data."""
    events_since = _events_since(engine)
    with cycle_collector_paused():
        parts = [replace(p, statuses=tuple(sorted(COUNTING))) for p in _parts(engine, workers)]
        if parts and rate is None and _workers(workers) > 1 and not _in_memory(engine):
            try:
                found = _in_workers(
                    engine, parts, _workers(workers), _check_part, currency, as_of, events_since
                )
                return _by_subscription(found)
            except BrokenProcessPool:  # as in compute_all: this process can still do the work
                log.warning("check_workers_failed", parts=len(parts))
        rate = rate or process_rates()
        with engine.connect() as connection:
            found = [
                _check(connection, part, currency, as_of, rate, events_since)
                for part in parts or [Customers(statuses=tuple(sorted(COUNTING)))]
            ]
    return _by_subscription(found)


def _by_subscription(parts: list[list[SubscriptionCheck]]) -> list[SubscriptionCheck]:
    return sorted((check for part in parts for check in part), key=lambda c: c.subscription_id)


def _events_since(engine: Engine) -> int | None:
    """The earliest ``customer.subscription.*`` event the database holds: from then on, a change
    to a subscription left one."""
    event = table("event")
    with engine.connect() as connection:
        return connection.execute(
            select(func.min(event.c.created)).where(event.c.type.like("customer.subscription.%"))
        ).scalar()


def _check(
    connection: Connection,
    customers: Customers,
    currency: str,
    as_of: datetime,
    rate: RateFn,
    events_since: int | None,
) -> list[SubscriptionCheck]:
    history = load(connection, customers)
    whole = customers.low is None and customers.high is None
    if whole and not history.subscriptions:
        customer = table("customer")
        if not connection.execute(select(func.count()).select_from(customer)).scalar():
            raise InputError(
                "the database holds no Stripe data yet: run `stripe-kpi sync` first "
                "(or `stripe-kpi demo` to see the simulated account)"
            )
    return check_subscriptions(
        history, currency=currency, as_of=as_of, rate=rate, events_since=events_since
    )


def _check_part(
    url: str, customers: Customers, currency: str, as_of: datetime, events_since: int | None
) -> list[SubscriptionCheck]:
    """One worker task of :func:`reconcile_account` (with the default rates)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection, cycle_collector_paused():
            return _check(connection, customers, currency, as_of, process_rates(), events_since)
    except SQLAlchemyError as exc:
        raise StorageError(storage_message(url, exc)) from None
    finally:
        engine.dispose()
