"""The sync against the simulator: complete, idempotent, incremental, crash-safe, fault-tolerant.

Every test compares with what the simulator serves or with the database of one clean sync, row
by row, raw JSON included.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from structlog.testing import capture_logs

from stripe_kpi.errors import StripeNotFound, SyncInterrupted
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.simulator.server.lists import render
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.models import (
    Customer,
    Event,
    Invoice,
    InvoiceLine,
    Price,
    Subscription,
    SyncRun,
    SyncState,
)
from stripe_kpi.sync.lists import EVENT_RETENTION_SECONDS
from stripe_kpi.sync.run import sync
from tests.sync_support import (
    dump,
    fast_client,
    line_count,
    small_account,
    synced_rows,
)


@pytest.fixture(scope="module")
def account() -> BillingAccount:
    return small_account()


@pytest.fixture(scope="module")
def server(account: BillingAccount) -> Iterator[SimulatorServer]:
    with SimulatorServer(account.snapshot()) as srv:
        yield srv


@pytest.fixture(scope="module")
def clean_sync(server: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The reference: one uninterrupted sync on SQLite, and how many requests it took."""
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('clean') / 'clean.db'}")
    with fast_client(server) as client:
        report = sync(engine, client, now=server.data.now, concurrency=4)
    reference = dump(engine)
    engine.dispose()
    return reference, report.requests


@pytest.fixture(scope="module")
def clean(clean_sync: tuple) -> dict:
    return clean_sync[0]


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()[0]


def test_full_sync_copies_every_object(engine: Engine, server: SimulatorServer) -> None:
    data = server.data
    with fast_client(server) as client:
        report = sync(engine, client, now=data.now, concurrency=4)
    assert report.mode == "full"
    assert report.full_reason == "first sync"
    assert _count(engine, Customer) == data.count("customers") == 41
    assert _count(engine, Subscription) == data.count("subscriptions")
    assert _count(engine, Invoice) == data.count("invoices")
    assert _count(engine, InvoiceLine) == line_count(data)
    subscription_events = [
        e for e in data.objects["events"].values() if e["type"].startswith("customer.subscription.")
    ]
    assert 0 < len(subscription_events) < data.count("events")
    assert _count(engine, Event) == len(subscription_events)
    with Session(engine) as session:
        statuses = {row[0] for row in session.exec(select(Subscription.status)).all()}
        assert "canceled" in statuses  # status=all: Stripe hides them otherwise
        incomplete = session.exec(select(Invoice.id).where(Invoice.lines_complete.is_(False)))
        assert incomplete.all() == []
        twelve = session.exec(
            select(InvoiceLine.invoice_id, func.count())
            .group_by(InvoiceLine.invoice_id)
            .having(func.count() == 12)
        ).all()
        assert len(twelve) == 1
        some = session.exec(select(Subscription).limit(1)).one()[0]
        served = render("subscriptions", data.objects["subscriptions"][some.id])
        assert json.loads(some.raw) == json.loads(json.dumps(served))  # as Stripe showed it


def test_same_database_on_both_backends(engine: Engine, server: SimulatorServer, clean) -> None:
    with fast_client(server) as client:
        sync(engine, client, now=server.data.now, concurrency=4)
    assert dump(engine) == clean


def test_nothing_changed_costs_one_request(sqlite_url: str, server: SimulatorServer) -> None:
    engine = open_database(sqlite_url)
    with fast_client(server) as client:
        sync(engine, client, now=server.data.now, concurrency=4)
        before = dump(engine)
        report = sync(engine, client, now=server.data.now, concurrency=4)
    assert (report.mode, report.events, report.requests) == ("incremental", 0, 1)
    assert dump(engine) == before
    with Session(engine) as session:
        runs = session.exec(select(SyncRun.mode, SyncRun.status).order_by(SyncRun.id)).all()
    assert [tuple(r) for r in runs] == [("full", "ok"), ("incremental", "ok")]
    engine.dispose()


def test_incremental_sync_equals_a_fresh_full_sync(tmp_path) -> None:
    account = small_account(customers=25, seed=11)
    with SimulatorServer(account.snapshot()) as server:
        incremental = open_database(f"sqlite:///{tmp_path / 'inc.db'}")
        with fast_client(server) as client:
            sync(incremental, client, now=server.data.now, concurrency=4)
            # A week passes: renewals, a new customer, an upgrade, a cancellation.
            later = account.now + timedelta(days=7)
            newcomer = account.create_customer(name="Late Larry", email="larry@example.com")
            price = account.create_price(unit_amount=4900, interval="month", product="Late")
            account.subscribe(newcomer, [(price, 3)])
            # What the events pass must re-fetch with expansions: a tiered price, a coupon
            # limited to its product (the dumps below compare their raw JSON too).
            seats = account.create_price(
                product="Late seats",
                billing_scheme="tiered",
                tiers_mode="graduated",
                tiers=[(4, 1200, None), (None, 900, None)],
            )
            only_seats = account.create_coupon(
                percent_off=10, duration="forever", applies_to=["Late seats"]
            )
            account.subscribe(newcomer, [(seats, 7)], coupon=only_seats)
            active = [s for s in account.subscriptions.values() if s["status"] == "active"]
            account.change(active[0], quantity=(active[0]["items"]["data"][0]["quantity"] or 1) + 2)
            account.cancel(active[1], at_period_end=True, reason="cancellation_requested")
            account.advance(later)
            server.set_data(account.snapshot())
            report = sync(incremental, client, now=server.data.now, concurrency=4)
        assert report.mode == "incremental"
        assert report.events > 0
        # The derived tables need only the customers whose rows changed: Larry, the upgraded
        # and the cancelling customer, and those renewed during the week (never all of them).
        assert {newcomer["id"], active[0]["customer"], active[1]["customer"]} <= (
            report.touched_customers
        )
        assert len(report.touched_customers) < len(account.customers)
        with Session(incremental) as session:
            assert session.exec(select(Price.tiers).where(Price.id == seats["id"])).one()[0]
        fresh = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
        with fast_client(server) as client:
            sync(fresh, client, now=server.data.now, concurrency=4)
        since = server.data.now - EVENT_RETENTION_SECONDS
        assert synced_rows(incremental, since) == synced_rows(fresh, since)
        incremental.dispose()
        fresh.dispose()


class Killed(BaseException):
    """Stands for kill -9: raised mid-request, not caught by the sync's error handling."""


class DyingClient:
    """A client that dies on its n-th request, like a process killed at that instant."""

    def __init__(self, inner: Any, die_at: int) -> None:
        self.inner, self.die_at, self.calls = inner, die_at, 0

    def _tick(self) -> None:
        self.calls += 1
        if self.calls == self.die_at:
            raise Killed

    def list_page(self, path: str, params: Any = None) -> dict:
        self._tick()
        return self.inner.list_page(path, params)

    def retrieve(self, path: str, params: Any = None) -> dict:
        self._tick()
        return self.inner.retrieve(path, params)

    def account(self) -> dict:
        self._tick()
        return self.inner.account()

    @property
    def limiter(self) -> Any:
        return self.inner.limiter

    @property
    def round_trip(self) -> float:
        return self.inner.round_trip

    @property
    def request_count(self) -> int:
        return self.calls


@pytest.mark.parametrize("when", [0.0, 0.02, 0.15, 0.4, 0.7, 0.97])
def test_killed_backfill_resumes_to_the_same_database(
    when: float, db_url: str, server: SimulatorServer, clean_sync: tuple
) -> None:
    clean, requests = clean_sync
    die_at = 1 + int(when * (requests - 1))
    engine = open_database(db_url)
    with fast_client(server) as inner:
        with pytest.raises(Killed):
            sync(engine, DyingClient(inner, die_at), now=server.data.now, concurrency=4)
        report = sync(engine, inner, now=server.data.now, concurrency=4)
    if when < 0.9:  # near the end the death can fall after the backfill, in its event replay
        assert report.mode == "full"
        assert report.full_reason in ("resuming an interrupted backfill", "first sync")
    assert dump(engine) == clean
    engine.dispose()


def test_killed_incremental_sync_resumes(tmp_path) -> None:
    account = small_account(customers=15, seed=5)
    with SimulatorServer(account.snapshot()) as server:
        engine = open_database(f"sqlite:///{tmp_path / 'a.db'}")
        with fast_client(server) as client:
            sync(engine, client, now=server.data.now, concurrency=2)
            for i in range(40):  # enough changes for several event pages and refetches
                customer = account.create_customer(name=f"C{i}", email=f"c{i}@example.com")
                price = account.create_price(unit_amount=1000 + i, interval="month")
                account.subscribe(customer, [(price, 1)])
            account.advance(account.now + timedelta(days=2))
            server.set_data(account.snapshot())
            rng = random.Random(3)
            for die_at in sorted(rng.sample(range(2, 60), 3)):
                with contextlib.suppress(Killed):
                    sync(engine, DyingClient(client, die_at), now=server.data.now, concurrency=2)
            sync(engine, client, now=server.data.now, concurrency=2)
        fresh = open_database(f"sqlite:///{tmp_path / 'b.db'}")
        with fast_client(server) as client:
            sync(fresh, client, now=server.data.now, concurrency=2)
        since = server.data.now - EVENT_RETENTION_SECONDS
        assert synced_rows(engine, since) == synced_rows(fresh, since)
        engine.dispose()
        fresh.dispose()


def test_429s_and_500s_change_nothing(sqlite_url: str, account: BillingAccount, clean) -> None:
    with SimulatorServer(
        account.snapshot(), rate_limit_fraction=0.3, fault_rate=0.1, seed=42
    ) as faulty:
        engine = open_database(sqlite_url)
        with fast_client(faulty) as client:
            sync(engine, client, now=faulty.data.now, concurrency=4)
        assert faulty.status_counts[429] > 10
        assert faulty.status_counts[500] >= 2
    assert dump(engine) == clean
    engine.dispose()


def test_stop_between_pages_then_resume(sqlite_url: str, server: SimulatorServer, clean) -> None:
    """The worker's SIGTERM: pages in flight are written, the rest waits for the next sync."""
    import threading

    from stripe_kpi.errors import SyncInterrupted
    from stripe_kpi.sync.state import pending_windows

    engine = open_database(sqlite_url)
    stop = threading.Event()
    pages = []

    def progress(kind: str, n: int) -> None:
        pages.append(kind)
        if len(pages) == 3:
            stop.set()

    with fast_client(server) as client:
        with pytest.raises(SyncInterrupted):
            sync(engine, client, now=server.data.now, concurrency=2, progress=progress, stop=stop)
        assert pending_windows(engine)
        report = sync(engine, client, now=server.data.now, concurrency=2)
    assert report.full_reason == "resuming an interrupted backfill"
    assert dump(engine) == clean
    engine.dispose()


def test_a_cursor_older_than_stripes_retention_means_a_full_resync(
    sqlite_url: str, server: SimulatorServer
) -> None:
    engine = open_database(sqlite_url)
    with fast_client(server) as client:
        sync(engine, client, now=server.data.now, concurrency=4)
        month_later = server.data.now + EVENT_RETENTION_SECONDS + 3600
        report = sync(engine, client, now=month_later, concurrency=4)
    assert report.mode == "full"
    assert report.full_reason == "the last sync is older than the 30 days of events Stripe keeps"
    engine.dispose()


def test_a_cursor_stripe_no_longer_knows_means_a_full_resync(tmp_path) -> None:
    first, second = small_account(customers=5, seed=1), small_account(customers=5, seed=2)
    with SimulatorServer(first.snapshot()) as server:
        engine = open_database(f"sqlite:///{tmp_path / 'k.db'}")
        with fast_client(server) as client:
            sync(engine, client, now=server.data.now, concurrency=2)
            server.set_data(second.snapshot())  # the cursor's event is not in this account
            report = sync(engine, client, now=server.data.now, concurrency=2)
        assert report.mode == "full"
        assert report.full_reason == "Stripe no longer has the events after our cursor"
        engine.dispose()


class CursorAnswered404(DyingClient):
    """Stripe answering the events cursor with a 404 rather than the simulator's 400."""

    def list_page(self, path: str, params: Any = None) -> dict:
        if (params or {}).get("ending_before"):
            self._tick()
            raise StripeNotFound("Stripe refused GET /v1/events (HTTP 404): No such event")
        return super().list_page(path, params)


def test_a_404_for_the_cursor_means_a_full_resync_too(
    sqlite_url: str, server: SimulatorServer, clean
) -> None:
    engine = open_database(sqlite_url)
    with fast_client(server) as client:
        sync(engine, client, now=server.data.now, concurrency=2)
        with capture_logs() as logs:
            report = sync(engine, CursorAnswered404(client, 0), now=server.data.now, concurrency=2)
    assert report.mode == "full"
    assert report.full_reason == "Stripe no longer has the events after our cursor"
    assert "events_cursor_expired" in [entry["event"] for entry in logs]
    assert dump(engine) == clean
    engine.dispose()


def test_stamps_come_from_now_or_the_given_clock_never_the_wall_clock(
    sqlite_url: str, server: SimulatorServer
) -> None:
    engine = open_database(sqlite_url)

    def stamps() -> tuple[set[int], set[int | None]]:
        with Session(engine) as session:
            state = {row[0] for row in session.exec(select(SyncState.updated_at)).all()}
            runs = {row[0] for row in session.exec(select(SyncRun.finished_at)).all()}
        return state, runs

    now = server.data.now
    with fast_client(server) as client:
        stopped = threading.Event()
        stopped.set()  # leave the backfill's windows pending, so their stamps can be read
        with pytest.raises(SyncInterrupted):
            sync(engine, client, now=now, concurrency=2, stop=stopped)
        assert stamps() == ({now}, {now})
        sync(engine, client, now=now, concurrency=2, clock=lambda: now + 7)
        sync(engine, client, now=now, concurrency=2, clock=lambda: now + 9)
    assert stamps() == ({now + 7}, {now, now + 7, now + 9})
    engine.dispose()
