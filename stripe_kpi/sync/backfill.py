"""The backfill: every list the metrics need, paged concurrently by ``created`` windows.

Used by the first sync, ``--full``, and when Stripe no longer keeps the events after our cursor.
Each list is split into ``created`` windows (:mod:`.windows`) paged concurrently under the
client's shared rate limiter. Fetching happens on a thread pool; one writer thread
(:mod:`.writer`) commits each page's rows together with the checkpoint change it causes, so a
sync killed at any instant resumes where the committed state says and fetches nothing twice.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy import Engine, delete

from stripe_kpi.errors import StripeAccessError, SyncInterrupted
from stripe_kpi.store.engine import session_scope
from stripe_kpi.store.models import PendingInvoiceItem, SyncState
from stripe_kpi.store.queue import EVERYTHING, queue_customers
from stripe_kpi.stripe_api import StripeApi, endpoint_key
from stripe_kpi.sync.lists import EVENT_RETENTION_SECONDS, LISTS, Progress, rows_for_objects
from stripe_kpi.sync.state import PENDING_EVENTS_KEY, write_state
from stripe_kpi.sync.windows import STRIPE_EPOCH, Window, initial_windows, next_windows
from stripe_kpi.sync.writer import PageWrite, Writer

#: How many windows each list starts with, before the adaptive split takes over.
INITIAL_PIECES = 1

#: Which list gets a free thread first: the lists that take longest (most pages) go first, so
#: the longest one never waits behind short ones and the backfill ends when it does.
PRIORITY = ("invoices", "events", "subscriptions", "customers", "prices", "products")


def fetch_window(
    client: StripeApi, window: Window, split: Callable[[], bool]
) -> tuple[PageWrite, int]:
    path, extra = LISTS[window.kind]
    page = client.list_page(path, {**extra, **window.params()})
    data = page["data"]
    more = next_windows(window, data, page["has_more"], split=split())
    return PageWrite(rows_for_objects(client, data), done=window, more=more), len(data)


def _priority(window: Window) -> int:
    return PRIORITY.index(window.kind) if window.kind in PRIORITY else len(PRIORITY)


def run_backfill(
    engine: Engine,
    client: StripeApi,
    windows: list[Window],
    *,
    concurrency: int,
    clock: Callable[[], int],
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """Page every pending window, splitting as it goes, until none is left (or ``stop`` is set:
    then the pages in flight are written and ``SyncInterrupted`` says the rest waits).
    ``clock`` stamps the checkpoints."""
    counts: dict[str, int] = dict.fromkeys(LISTS, 0)
    # A short queue: a page waiting to be written holds its rows (about 1 MB of invoices), and
    # a writer that falls behind should slow the fetchers, not grow the heap.
    writer = Writer(engine, max_queued=16, clock=clock)
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


def start_backfill(engine: Engine, client: StripeApi, now: int, *, stamp: int) -> list[Window]:
    """Take the event cursor first (changes during the backfill are replayed after it), then lay
    out the windows up to ``now``; both commit together, stamped ``stamp``, replacing any earlier
    backfill's leftovers. The pending invoice items go too: they are a present state, which the
    backfill lists whole (one deleted in Stripe while the events that said so expired would
    otherwise stay pending here for good)."""
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
        session.execute(delete(PendingInvoiceItem))
        write_state(session, PENDING_EVENTS_KEY, cursor, at=stamp)
        queue_customers(session.connection(), [EVERYTHING], at=stamp)  # then a rebuild
        for window in windows:
            session.add(SyncState(key=window.key, value=window.to_json(), updated_at=stamp))
    return windows
