"""The backfill's one writer: a thread that commits each page's rows together with the
checkpoint change the page causes (its window done, the windows it leaves), so that a sync
killed at any instant resumes where the committed state says and fetches nothing twice."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete

from stripe_kpi.store.engine import session_scope, upsert_rows
from stripe_kpi.store.models import SyncState
from stripe_kpi.store.queue import EVERYTHING, queue_customers
from stripe_kpi.sync import mapping
from stripe_kpi.sync.windows import Window


@dataclass
class PageWrite:
    rows: mapping.Rows
    done: Window | None = None
    more: list[Window] = field(default_factory=list)


class Writer:
    """Commits pages in the order they were fetched; merges whatever is queued into one
    transaction (SQLite serialises writers anyway; fewer commits, same atomicity per page).
    ``clock`` stamps the checkpoints (unix seconds)."""

    def __init__(self, engine: Engine, max_queued: int, clock: Callable[[], int]) -> None:
        self.engine = engine
        self.clock = clock
        self.queue: queue.Queue[PageWrite | None] = queue.Queue(maxsize=max_queued)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="stripe-kpi-writer", daemon=True)
        self.thread.start()

    def put(self, write: PageWrite) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(write)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        stop = False
        while not stop:
            batch = [self.queue.get()]
            while len(batch) < 64:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            writes = [w for w in batch if w is not None]
            if not writes or self.error is not None:
                continue
            try:
                self._commit(writes)
            except BaseException as exc:  # surfaced to the fetching side by put()/close()
                self.error = exc

    def _commit(self, writes: list[PageWrite]) -> None:
        rows: mapping.Rows = {}
        for write in writes:
            mapping.merge_rows(rows, write.rows)
        # Net checkpoint change of the batch: a window both left and finished inside it is gone.
        done = {w.done.key for w in writes if w.done is not None}
        added = {w.key: w for write in writes for w in write.more}
        stamp = self.clock()
        rows["sync_state"] = [
            {"key": key, "value": w.to_json(), "updated_at": stamp}
            for key, w in added.items()
            if key not in done
        ]
        finished = [key for key in done if key not in added]
        with session_scope(self.engine) as session:
            upsert_rows(session, rows)
            # A backfill page owes a rebuild: queued again by every page (a fresh token), so a
            # derive that ran on a half-copied account never settles the pages after it.
            queue_customers(session.connection(), [EVERYTHING], at=stamp)
            for start in range(0, len(finished), 500):
                chunk = finished[start : start + 500]
                session.execute(delete(SyncState).where(SyncState.key.in_(chunk)))  # type: ignore[attr-defined]
