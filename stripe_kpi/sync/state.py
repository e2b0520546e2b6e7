"""The sync's checkpoints and its run log: data, committed with the rows they vouch for.

``sync_state`` holds one row per checkpoint: ``events``, the Events API cursor the next
incremental sync starts from; ``backfill:events_cursor``, the cursor taken before a backfill
began, kept until the backfill ends; and ``backfill:<kind>:<lo>:<hi>:<after>``, one per window a
backfill still has to page. ``sync_run`` holds one line per sync: when, what kind, how it ended.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import structlog
from sqlalchemy import Engine, select
from sqlmodel import Session

from stripe_kpi.store.engine import session_scope
from stripe_kpi.store.models import SyncRun, SyncState
from stripe_kpi.sync.windows import Window

log = structlog.get_logger(__name__)

EVENTS_KEY = "events"
PENDING_EVENTS_KEY = "backfill:events_cursor"

#: What a sync did (``sync_run.mode``), and how it ended (``sync_run.status``, ``running`` until
#: then).
SyncMode = Literal["full", "incremental"]
RunOutcome = Literal["ok", "failed"]


def read_state(session: Session, key: str) -> dict[str, Any] | None:
    row = session.get(SyncState, key)
    return json.loads(row.value) if row else None


def write_state(session: Session, key: str, value: dict[str, Any], *, at: int) -> None:
    """Set a checkpoint, stamped ``at`` (unix seconds)."""
    row = session.get(SyncState, key)
    text = json.dumps(value, sort_keys=True)
    if row is None:
        session.add(SyncState(key=key, value=text, updated_at=at))
    else:
        row.value, row.updated_at = text, at
        session.add(row)


def backfill_unfinished(engine: Engine) -> bool:
    """Whether a backfill began and has not ended (running now, or killed and waiting for the
    next sync to resume it): until it ends the database holds part of the account."""
    with Session(engine) as session:
        return read_state(session, PENDING_EVENTS_KEY) is not None


def pending_windows(engine: Engine) -> list[Window]:
    with Session(engine) as session:
        rows = session.exec(
            select(SyncState.value)
            .where(SyncState.key.startswith("backfill:"))  # type: ignore[attr-defined]
            .where(SyncState.key != PENDING_EVENTS_KEY)
        ).all()
    return sorted(Window.from_json(row[0]) for row in rows)


def record_run_start(engine: Engine, now: int) -> int:
    with session_scope(engine) as session:
        run = SyncRun(started_at=now, mode="incremental", status="running")
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def record_run_end(
    engine: Engine,
    run_id: int,
    status: RunOutcome,
    *,
    mode: SyncMode,
    objects: int,
    requests: int,
    finished_at: int,
    error: str | None = None,
) -> None:
    try:
        with session_scope(engine) as session:
            run = session.get(SyncRun, run_id)
            if run is None:
                return
            run.finished_at = finished_at
            run.status, run.mode, run.objects, run.error = status, mode, objects, error
            run.requests = requests
            session.add(run)
    except Exception:  # the run log must never hide the sync's own error
        log.exception("sync_run_not_recorded")
