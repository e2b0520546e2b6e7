"""Keep the database in step with Stripe: a concurrent backfill, then the Events API.

* **Backfill** (first sync, ``--full``, or a cursor Stripe no longer keeps): every list the metrics
  need, split into ``created`` windows (``sync_windows``) paged concurrently under the client's
  shared rate limiter. Fetching happens on a thread pool; one writer thread commits each page's
  rows together with the checkpoint change it causes (its window done, the windows it leaves), so
  a sync killed at any instant resumes where the committed state says and fetches nothing twice.
* **Incremental**: the Events API from the cursor taken *before* the backfill started, oldest
  first. Objects an event touches are re-fetched at the pinned API version (events carry the
  account's default version and truncate lists), once per object per page of events.

Nothing here knows HTTP (``stripe_api``) or SQL beyond upserts (``db``): it moves rows.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import Engine, delete, select
from sqlmodel import Session

from stripe_kpi.errors import StripeAccessError, SyncInterrupted
from stripe_kpi.store.engine import session_scope, upsert_rows
from stripe_kpi.store.models import SyncRun, SyncState
from stripe_kpi.stripe_api import StripeApi, endpoint_key
from stripe_kpi.sync import mapping
from stripe_kpi.sync.lock import sync_lock
from stripe_kpi.sync.windows import STRIPE_EPOCH, Window, initial_windows, next_windows

log = structlog.get_logger(__name__)

#: The lists a backfill copies, with the parameters Stripe needs to return everything we use.
#: ``status=all``: without it Stripe hides canceled subscriptions, i.e. every churn.
#: ``expand discounts``: a discount's window (start, end) exists only on the Discount object.
LISTS: dict[str, tuple[str, dict[str, Any]]] = {
    "customers": ("/v1/customers", {}),
    "products": ("/v1/products", {}),
    "prices": ("/v1/prices", {}),
    "coupons": ("/v1/coupons", {}),
    "tax_rates": ("/v1/tax_rates", {}),
    "subscriptions": ("/v1/subscriptions", {"status": "all", "expand": ["data.discounts"]}),
    "invoices": ("/v1/invoices", {"expand": ["data.discounts"]}),
    # The subscription events Stripe still keeps: the only record of recent status changes
    # (past_due → unpaid) that no invoice shows. Only these are stored (STORED_EVENTS): the
    # other kinds, five in six of an account's events, are what the objects already say.
    "events": ("/v1/events", {"type": "customer.subscription.*"}),
}

#: The events kept in the ``event`` table (the incremental sync reads every kind to know what to
#: re-fetch, and keeps these).
STORED_EVENTS = "customer.subscription."
#: Stripe keeps events for 30 days; a cursor older than that cannot be resumed.
EVENT_RETENTION_SECONDS = 30 * 24 * 3600
EVENTS_KEY = "events"
PENDING_EVENTS_KEY = "backfill:events_cursor"
#: How many windows each list starts with, before the adaptive split takes over.
INITIAL_PIECES = 1

Progress = Callable[[str, int], None]


@dataclass
class SyncReport:
    mode: str  # full | incremental
    objects: dict[str, int] = field(default_factory=dict)
    events: int = 0
    requests: int = 0
    seconds: float = 0.0
    full_reason: str | None = None
    #: Customers whose rows an incremental sync changed: the derived tables need only them.
    touched_customers: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return sum(self.objects.values())


# -------------------------------------------------------------------------------------------
# State
# -------------------------------------------------------------------------------------------


def _state(session: Session, key: str) -> dict[str, Any] | None:
    row = session.get(SyncState, key)
    return json.loads(row.value) if row else None


def _set_state(session: Session, key: str, value: dict[str, Any]) -> None:
    row = session.get(SyncState, key)
    text = json.dumps(value, sort_keys=True)
    if row is None:
        session.add(SyncState(key=key, value=text, updated_at=int(time.time())))
    else:
        row.value, row.updated_at = text, int(time.time())
        session.add(row)


def pending_windows(engine: Engine) -> list[Window]:
    with Session(engine) as session:
        rows = session.exec(
            select(SyncState.value)
            .where(SyncState.key.startswith("backfill:"))  # type: ignore[attr-defined]
            .where(SyncState.key != PENDING_EVENTS_KEY)
        ).all()
    return sorted(Window.from_json(row[0]) for row in rows)


# -------------------------------------------------------------------------------------------
# The writer: one thread, one transaction per batch of pages, rows and checkpoint together
# -------------------------------------------------------------------------------------------


@dataclass
class PageWrite:
    rows: mapping.Rows
    done: Window | None = None
    more: list[Window] = field(default_factory=list)


class Writer:
    """Commits pages in the order they were fetched; merges whatever is queued into one
    transaction (SQLite serialises writers anyway; fewer commits, same atomicity per page)."""

    def __init__(self, engine: Engine, max_queued: int) -> None:
        self.engine = engine
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
        stamp = int(time.time())
        rows["sync_state"] = [
            {"key": key, "value": w.to_json(), "updated_at": stamp}
            for key, w in added.items()
            if key not in done
        ]
        finished = [key for key in done if key not in added]
        with session_scope(self.engine) as session:
            upsert_rows(session, rows)
            for start in range(0, len(finished), 500):
                chunk = finished[start : start + 500]
                session.execute(delete(SyncState).where(SyncState.key.in_(chunk)))  # type: ignore[attr-defined]


# -------------------------------------------------------------------------------------------
# Fetching
# -------------------------------------------------------------------------------------------


def invoice_with_all_lines(client: StripeApi, invoice: dict[str, Any]) -> mapping.Rows:
    """A list response embeds at most 10 lines; page the rest from /v1/invoices/{id}/lines."""
    extra: list[dict[str, Any]] = []
    embedded = invoice.get("lines") or {}
    if embedded.get("has_more"):
        after = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["starting_after"] = after
            page = client.list_page(f"/v1/invoices/{invoice['id']}/lines", params)
            extra += page["data"]
            if not page["has_more"] or not page["data"]:
                break
            after = page["data"][-1]["id"]
    return mapping.rows_for(invoice, extra)


def rows_for_objects(client: StripeApi, objects: Iterable[dict[str, Any]]) -> mapping.Rows:
    rows: mapping.Rows = {}
    for obj in objects:
        if obj.get("object") == "invoice":
            mapping.merge_rows(rows, invoice_with_all_lines(client, obj))
        else:
            mapping.merge_rows(rows, mapping.rows_for(obj))
    return rows


def fetch_window(
    client: StripeApi, window: Window, split: Callable[[], bool]
) -> tuple[PageWrite, int]:
    path, extra = LISTS[window.kind]
    page = client.list_page(path, {**extra, **window.params()})
    data = page["data"]
    more = next_windows(window, data, page["has_more"], split=split())
    return PageWrite(rows_for_objects(client, data), done=window, more=more), len(data)


#: Which list gets a free thread first: the lists that take longest (most pages) go first, so
#: the longest one never waits behind short ones and the backfill ends when it does.
PRIORITY = ("invoices", "events", "subscriptions", "customers", "prices", "products")


def _priority(window: Window) -> int:
    return PRIORITY.index(window.kind) if window.kind in PRIORITY else len(PRIORITY)


def run_backfill(
    engine: Engine,
    client: StripeApi,
    windows: list[Window],
    *,
    concurrency: int,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """Page every pending window, splitting as it goes, until none is left (or ``stop`` is set:
    then the pages in flight are written and ``SyncInterrupted`` says the rest waits)."""
    counts: dict[str, int] = dict.fromkeys(LISTS, 0)
    # A short queue: a page waiting to be written holds its rows (about 1 MB of invoices), and
    # a writer that falls behind should slow the fetchers, not grow the heap.
    writer = Writer(engine, max_queued=16)
    pending = sorted(windows, key=_priority, reverse=True)  # pop() takes the first priority
    in_flight: dict[Future[tuple[PageWrite, int]], Window] = {}
    walks: Counter[str] = Counter(w.kind for w in windows)

    def want_more_walks(kind: str) -> bool:
        """Split a walk only while its list has fewer walks than its endpoint's rate limit can
        keep busy (requests/s × seconds per request, with a margin): splitting more buys no
        speed, costs a partly filled page at the end of each walk, and holds threads that other
        lists could use."""
        rate = client.limiter.current_rate(endpoint_key(LISTS[kind][0]))
        busy = math.ceil(rate * client.round_trip * 1.5)
        return walks[kind] < min(concurrency, max(2, busy))

    def fetch(window: Window) -> tuple[PageWrite, int]:
        return fetch_window(client, window, lambda: want_more_walks(window.kind))

    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="stripe-kpi-fetch") as pool:
            while (pending and not _stopping(stop)) or in_flight:
                while pending and len(in_flight) < concurrency and not _stopping(stop):
                    window = pending.pop()
                    in_flight[pool.submit(fetch, window)] = window
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    window = in_flight.pop(future)
                    try:
                        write, n = future.result()
                    except BaseException:
                        for other in in_flight:
                            other.cancel()
                        raise
                    writer.put(write)
                    walks[window.kind] += len(write.more) - 1
                    if write.more:
                        pending.extend(write.more)
                        pending.sort(key=_priority, reverse=True)
                    counts[window.kind] += n
                    if progress:
                        progress(window.kind, n)
    finally:
        writer.close()
    if pending:
        raise SyncInterrupted()
    return counts


def _stopping(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


# -------------------------------------------------------------------------------------------
# Events
# -------------------------------------------------------------------------------------------

#: event type prefix → (list, how to find the object to re-fetch)
_EVENT_TARGETS: tuple[tuple[str, str], ...] = (
    ("customer.subscription.", "subscriptions"),
    ("customer.discount.", "discount"),
    ("customer.source.", ""),
    ("customer.tax_id.", ""),
    ("customer.cash_balance", ""),
    ("customer.", "customers"),
    ("invoiceitem.", "invoiceitem"),
    ("invoice.", "invoices"),
    ("product.", "products"),
    ("price.", "prices"),
    ("plan.", "prices"),
    ("coupon.", "coupons"),
    ("tax_rate.", "tax_rates"),
)


def refetch_targets(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(list, id) pairs whose current state an event may have changed."""
    obj = (event.get("data") or {}).get("object") or {}
    kind = next((k for prefix, k in _EVENT_TARGETS if event["type"].startswith(prefix)), "")
    if kind == "discount":
        targets = [("customers", mapping._id(obj.get("customer")))]
        if obj.get("subscription"):
            targets.append(("subscriptions", obj["subscription"]))
        return [(k, i) for k, i in targets if i]
    if kind == "invoiceitem":
        invoice = mapping._id(obj.get("invoice"))
        return [("invoices", invoice)] if invoice else []
    if kind and obj.get("id"):
        return [(kind, obj["id"])]
    return []


def _retrieve(client: StripeApi, kind: str, object_id: str) -> dict[str, Any] | None:
    path, extra = LISTS[kind]
    params = {"expand": ["discounts"]} if "expand" in extra else None
    try:
        return client.retrieve(f"{path}/{object_id}", params)
    except StripeAccessError as exc:
        if getattr(exc.__cause__, "http_status", None) == 404:
            return None
        raise


def apply_events(
    engine: Engine,
    client: StripeApi,
    cursor: dict[str, Any],
    *,
    concurrency: int,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    touched: set[str] | None = None,
) -> int:
    """Apply every event newer than ``cursor``, oldest first; returns how many.

    ``ending_before`` pages towards the present: each page holds the events just newer than the
    cursor (newest first), so it is applied reversed and the cursor moves to its newest event.
    Each page commits with the cursor it leads to. Nothing changed costs one request.
    """
    applied = 0
    if not cursor.get("id"):
        # No event existed when the backfill began: find the oldest events by time instead.
        events = _events_since(client, int(cursor.get("created", 0)))
        for start in range(0, len(events), 100):
            chunk = events[start : start + 100]
            _apply_event_page(engine, client, chunk, concurrency, touched)
            applied += len(chunk)
            if progress:
                progress("events", len(chunk))
        if not events:
            return 0
        cursor = {"id": events[-1]["id"], "created": events[-1]["created"]}
    while True:
        if _stopping(stop):
            raise SyncInterrupted()
        page = client.list_page("/v1/events", {"limit": 100, "ending_before": cursor["id"]})
        events = list(reversed(page["data"]))
        if not events:
            return applied
        cursor = _apply_event_page(engine, client, events, concurrency, touched)
        applied += len(events)
        if progress:
            progress("events", len(events))
        if not page["has_more"]:
            return applied


def _events_since(client: StripeApi, created: int) -> list[dict[str, Any]]:
    """Every event created after ``created``, oldest first (Stripe lists newest first)."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100, "created": {"gt": created}}
    while True:
        page = client.list_page("/v1/events", params)
        found += page["data"]
        if not page["has_more"] or not page["data"]:
            return list(reversed(found))
        params = {**params, "starting_after": page["data"][-1]["id"]}


def _apply_event_page(
    engine: Engine,
    client: StripeApi,
    events: list[dict[str, Any]],
    concurrency: int,
    touched: set[str] | None = None,
) -> dict[str, Any]:
    """Re-fetch what these events touched, then commit rows, events and the new cursor."""
    rows = _rows_for_events(client, events, concurrency)
    if touched is not None:
        touched |= customers_in(rows)
    newest = events[-1]
    cursor = {"id": newest["id"], "created": newest["created"]}
    with session_scope(engine) as session:
        upsert_rows(session, rows)
        _set_state(session, EVENTS_KEY, cursor)
    return cursor


def customers_in(rows: mapping.Rows) -> set[str]:
    """The customers a batch of rows belongs to."""
    found = {row["id"] for row in rows.get("customer", [])}
    for table in ("subscription", "invoice", "discount"):
        found |= {row["customer_id"] for row in rows.get(table, []) if row.get("customer_id")}
    return found


def _rows_for_events(
    client: StripeApi, events: list[dict[str, Any]], concurrency: int
) -> mapping.Rows:
    rows: mapping.Rows = {
        "event": [mapping.event_row(e) for e in events if e["type"].startswith(STORED_EVENTS)]
    }
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        for target in refetch_targets(event):
            latest[target] = event
    deleted: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max(1, min(concurrency, len(latest) or 1))) as pool:
        fetched = dict(zip(latest, pool.map(lambda t: _retrieve(client, *t), latest), strict=True))
    objects = []
    for target, obj in fetched.items():
        if obj is not None and not obj.get("deleted"):
            objects.append(obj)
            continue
        payload = (latest[target].get("data") or {}).get("object") or {}
        if payload.get("id") == target[1] and payload.get("object") in (
            "customer",
            "product",
            "price",
            "coupon",
            "tax_rate",
            "plan",
        ):
            deleted.append({**payload, "deleted": True})
    mapping.merge_rows(rows, rows_for_objects(client, objects))
    for obj in deleted:
        if obj.get("object") == "plan":
            obj = {**obj, "object": "price"}
        mapping.merge_rows(rows, mapping.rows_for(obj))
    return rows


# -------------------------------------------------------------------------------------------
# The sync
# -------------------------------------------------------------------------------------------


def newest_event_cursor(client: StripeApi, now: int) -> dict[str, Any]:
    page = client.list_page("/v1/events", {"limit": 1})
    if page["data"]:
        event = page["data"][0]
        return {"id": event["id"], "created": event["created"]}
    return {"id": None, "created": now}


def account_created(client: StripeApi) -> int:
    """Nothing in an account predates the account: starting the windows there saves a request
    per empty half of the years before it. A key without "Account: read" starts from 2010."""
    try:
        created = client.account().get("created")
    except StripeAccessError:
        return STRIPE_EPOCH
    return max(STRIPE_EPOCH, int(created)) if isinstance(created, int) else STRIPE_EPOCH


def _start_backfill(engine: Engine, client: StripeApi, now: int) -> list[Window]:
    """Take the event cursor first (changes during the backfill are replayed after it), then lay
    out the windows; both commit together, replacing any earlier backfill's leftovers."""
    cursor = newest_event_cursor(client, now)
    born = account_created(client)
    windows = [
        w
        for kind in LISTS
        for w in initial_windows(
            kind,
            now,
            INITIAL_PIECES,
            since=now - EVENT_RETENTION_SECONDS if kind == "events" else born,
        )
    ]
    with session_scope(engine) as session:
        session.execute(
            delete(SyncState).where(SyncState.key.startswith("backfill:"))  # type: ignore[attr-defined]
        )
        _set_state(session, PENDING_EVENTS_KEY, cursor)
        for window in windows:
            session.add(SyncState(key=window.key, value=window.to_json(), updated_at=now))
    return windows


def _full_reason(engine: Engine, full: bool, now: int) -> str | None:
    with Session(engine) as session:
        cursor = _state(session, EVENTS_KEY)
        in_progress = _state(session, PENDING_EVENTS_KEY)
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
    now: int | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> SyncReport:
    """One sync, under the database's sync lock. ``now`` is the present in unix seconds (the
    backfill's upper bound and the retention check); injected so tests can use the simulator's
    clock."""
    now = int(time.time()) if now is None else now
    started = time.monotonic()
    with sync_lock(engine):
        run_id = _record_run_start(engine, now)
        requests_before = client.request_count
        report = SyncReport(mode="incremental")
        try:
            reason = _full_reason(engine, full, now)
            if reason is None:
                report.events = _incremental(
                    engine, client, concurrency, progress, stop, report.touched_customers
                )
                if report.events < 0:
                    reason = "Stripe no longer has the events after our cursor"
            if reason is not None:
                report.mode, report.full_reason = "full", reason
                log.info("full_sync", reason=reason)
                report.objects = _backfill(engine, client, concurrency, now, progress, reason, stop)
                report.events = max(0, _incremental(engine, client, concurrency, progress, stop))
        except BaseException as exc:
            _record_run_end(engine, run_id, "failed", report, error=str(exc)[:500])
            raise
        report.seconds = time.monotonic() - started
        report.requests = client.request_count - requests_before
        _record_run_end(engine, run_id, "ok", report)
        return report


def _backfill(
    engine: Engine,
    client: StripeApi,
    concurrency: int,
    now: int,
    progress: Progress | None,
    reason: str,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    windows = pending_windows(engine) if reason.startswith("resuming") else []
    if not windows:
        windows = _start_backfill(engine, client, now)
    counts = run_backfill(
        engine, client, windows, concurrency=concurrency, progress=progress, stop=stop
    )
    with session_scope(engine) as session:
        cursor = _state(session, PENDING_EVENTS_KEY) or {"id": None, "created": now}
        _set_state(session, EVENTS_KEY, cursor)
        session.execute(delete(SyncState).where(SyncState.key == PENDING_EVENTS_KEY))
    return counts


def _incremental(
    engine: Engine,
    client: StripeApi,
    concurrency: int,
    progress: Progress | None,
    stop: threading.Event | None = None,
    touched: set[str] | None = None,
) -> int:
    """Apply events since the cursor; -1 when Stripe no longer knows the cursor's event."""
    with Session(engine) as session:
        cursor = _state(session, EVENTS_KEY) or {}
    try:
        return apply_events(
            engine,
            client,
            cursor,
            concurrency=concurrency,
            progress=progress,
            stop=stop,
            touched=touched,
        )
    except StripeAccessError as exc:
        if getattr(exc.__cause__, "http_status", None) in (400, 404) and cursor.get("id"):
            log.warning("events_cursor_expired", cursor=cursor.get("id"))
            return -1
        raise


def _record_run_start(engine: Engine, now: int) -> int:
    with session_scope(engine) as session:
        run = SyncRun(started_at=now, mode="incremental", status="running")
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def _record_run_end(
    engine: Engine, run_id: int, status: str, report: SyncReport, error: str | None = None
) -> None:
    try:
        with session_scope(engine) as session:
            run = session.get(SyncRun, run_id)
            if run is None:
                return
            run.finished_at = int(time.time())
            run.status, run.mode, run.objects, run.error = status, report.mode, report.total, error
            run.requests = report.requests
            session.add(run)
    except Exception:  # the run log must never hide the sync's own error
        log.exception("sync_run_not_recorded")
