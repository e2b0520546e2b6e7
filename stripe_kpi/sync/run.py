"""One sync, under the database's sync lock: a backfill when one is needed (and the reason,
said out loud), then the events since the cursor; each run recorded in ``sync_run``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import structlog
from sqlalchemy import Engine, delete
from sqlmodel import Session

from stripe_kpi.errors import (
    EventCursorExpired,
)
from stripe_kpi.store.engine import session_scope
from stripe_kpi.store.models import SyncState
from stripe_kpi.stripe_api import StripeApi
from stripe_kpi.sync.backfill import run_backfill, start_backfill
from stripe_kpi.sync.deleted_customers import restore_deleted_customers
from stripe_kpi.sync.events import apply_events
from stripe_kpi.sync.lists import EVENT_RETENTION_SECONDS, Progress
from stripe_kpi.sync.lock import sync_lock
from stripe_kpi.sync.state import (
    EVENTS_KEY,
    PENDING_EVENTS_KEY,
    RunOutcome,
    SyncMode,
    pending_windows,
    read_state,
    record_run_end,
    record_run_start,
    write_state,
)

log = structlog.get_logger(__name__)

#: Why a sync is a full one, as its report and the log say it.
FullReason = Literal[
    "asked for (--full)",
    "resuming an interrupted backfill",
    "first sync",
    "the last sync is older than the 30 days of events Stripe keeps",
    "Stripe no longer has the events after our cursor",
]


@dataclass
class SyncReport:
    mode: SyncMode
    objects: dict[str, int] = field(default_factory=dict)
    events: int = 0
    requests: int = 0
    seconds: float = 0.0
    full_reason: FullReason | None = None
    #: Customers whose rows an incremental sync changed: the derived tables need only them.
    touched_customers: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return sum(self.objects.values())


def _full_reason(engine: Engine, full: bool, now: int) -> FullReason | None:
    with Session(engine) as session:
        cursor = read_state(session, EVENTS_KEY)
        in_progress = read_state(session, PENDING_EVENTS_KEY)
    if full:
        return "asked for (--full)"
    if in_progress is not None:
        return "resuming an interrupted backfill"
    if cursor is None:
        return "first sync"
    if cursor.get("created", now) < now - EVENT_RETENTION_SECONDS:
        return "the last sync is older than the 30 days of events Stripe keeps"
    return None


def sync(
    engine: Engine,
    client: StripeApi,
    *,
    full: bool = False,
    concurrency: int = 16,
    now: int,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], int] | None = None,
) -> SyncReport:
    """One sync, under the database's sync lock.

    ``now`` is the sync's present in unix seconds: the backfill's upper bound, the retention
    check, the run's start. ``clock`` is the wall clock for the rows' stamps (the checkpoints'
    ``updated_at``, the run's ``finished_at``); default: ``now``, the sync's present. Both come
    from the caller, so nothing here reads the clock and tests use the simulator's time.
    """
    stamp = clock or (lambda: now)
    started = time.monotonic()
    with sync_lock(engine):
        run_id = record_run_start(engine, now)
        requests_before = client.request_count
        report = SyncReport(mode="incremental")
        try:
            reason: FullReason | None = _full_reason(engine, full, now)
            if reason is None:
                try:
                    report.events = _incremental(
                        engine, client, concurrency, progress, stop, stamp, report.touched_customers
                    )
                except EventCursorExpired:
                    reason = "Stripe no longer has the events after our cursor"
            if reason is not None:
                report.mode, report.full_reason = "full", reason
                log.info("full_sync", reason=reason)
                resume = reason == "resuming an interrupted backfill"
                report.objects = _backfill(
                    engine, client, concurrency, now, progress, resume, stop, stamp
                )
                try:
                    report.events = _incremental(engine, client, concurrency, progress, stop, stamp)
                except EventCursorExpired:  # the backfill's own cursor: the next sync starts over
                    report.events = 0
        except BaseException as exc:
            _record_end(engine, run_id, "failed", report, stamp(), error=str(exc)[:500])
            raise
        report.seconds = time.monotonic() - started
        report.requests = client.request_count - requests_before
        _record_end(engine, run_id, "ok", report, stamp())
        return report


def _record_end(
    engine: Engine,
    run_id: int,
    status: RunOutcome,
    report: SyncReport,
    finished_at: int,
    error: str | None = None,
) -> None:
    record_run_end(
        engine,
        run_id,
        status,
        mode=report.mode,
        objects=report.total,
        requests=report.requests,
        finished_at=finished_at,
        error=error,
    )


def _backfill(
    engine: Engine,
    client: StripeApi,
    concurrency: int,
    now: int,
    progress: Progress | None,
    resume: bool,
    stop: threading.Event | None,
    clock: Callable[[], int],
) -> dict[str, int]:
    windows = pending_windows(engine) if resume else []
    if not windows:
        windows = start_backfill(engine, client, now, stamp=clock())
    counts = run_backfill(
        engine,
        client,
        windows,
        concurrency=concurrency,
        clock=clock,
        progress=progress,
        stop=stop,
    )
    restored = restore_deleted_customers(
        engine, client, since=now - EVENT_RETENTION_SECONDS, at=clock()
    )
    counts["customers"] = counts.get("customers", 0) + restored
    with session_scope(engine) as session:
        cursor = read_state(session, PENDING_EVENTS_KEY) or {"id": None, "created": now}
        write_state(session, EVENTS_KEY, cursor, at=clock())
        session.execute(delete(SyncState).where(SyncState.key == PENDING_EVENTS_KEY))
    return counts


def _incremental(
    engine: Engine,
    client: StripeApi,
    concurrency: int,
    progress: Progress | None,
    stop: threading.Event | None,
    clock: Callable[[], int],
    touched: set[str] | None = None,
) -> int:
    """Apply events since the cursor (``EventCursorExpired`` when Stripe no longer knows the
    cursor's event, said in the log)."""
    with Session(engine) as session:
        cursor = read_state(session, EVENTS_KEY) or {}
    try:
        return apply_events(
            engine,
            client,
            cursor,
            concurrency=concurrency,
            clock=clock,
            progress=progress,
            stop=stop,
            touched=touched,
        )
    except EventCursorExpired:
        log.warning("events_cursor_expired", cursor=cursor.get("id"))
        raise
