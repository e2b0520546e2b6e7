"""The events pass uses an event's payload when it is the object at the pinned API version, and
re-fetches it otherwise: the database ends the same either way, with fewer requests."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.sync.lists import EVENT_RETENTION_SECONDS
from stripe_kpi.sync.run import sync
from tests.sync_support import fast_client, small_account, synced_rows

START = datetime(2026, 1, 1, tzinfo=UTC)


def _account() -> tuple[BillingAccount, list[dict]]:
    """Three customers on plain prices: no coupons, so every payload is complete."""
    account = BillingAccount(START)
    price = account.create_price(3000, "month", product="Plan", at=START)
    subs = []
    for n, name in enumerate(("Ada", "Grace", "Alan")):
        at = START + timedelta(hours=n)
        customer = account.create_customer(name, f"{name.lower()}@example.com", at)
        subs.append(account.subscribe(customer, [(price, 1 + n)], at))
    account.advance(START + timedelta(days=40))
    return account, subs


def _week_of_changes(account: BillingAccount, subs: list[dict]) -> None:
    now = account.now
    account.change(subs[0], quantity=4, at=now + timedelta(days=1))
    account.cancel(subs[1], at_period_end=True, at=now + timedelta(days=2))
    newcomer = account.create_customer("Edsger", "edsger@example.com", now + timedelta(days=3))
    price = subs[0]["items"]["data"][0]["price"]["id"]
    account.subscribe(newcomer, [(price, 2)], now + timedelta(days=3))
    account.advance(now + timedelta(days=7))


def _retrieves(server: SimulatorServer) -> Counter[str]:
    """Retrieve requests of one object, by list (``/v1/subscriptions/sub_…`` → subscriptions)."""
    found: Counter[str] = Counter()
    for path, n in server.path_counts.items():
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[1] != "events":
            found[parts[1]] += n
    return found


def _sync_a_week(tmp_path, version: str | None) -> tuple[Counter[str], int, bool]:
    """Full sync, a week of changes, an incremental sync with events at ``version``: the
    incremental's retrieves, its requests, and whether it ended equal to a fresh full sync."""
    account, subs = _account()
    with SimulatorServer(account.snapshot()) as server:
        server.knobs.account_api_version = version
        incremental = open_database(f"sqlite:///{tmp_path / 'inc.db'}")
        fresh = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
        with fast_client(server) as client:
            sync(incremental, client, now=server.data.now, concurrency=2)
            _week_of_changes(account, subs)
            server.set_data(account.snapshot())
            server.reset_counts()
            report = sync(incremental, client, now=server.data.now, concurrency=2)
            retrieves, requests = _retrieves(server), server.request_count
            sync(fresh, client, now=server.data.now, concurrency=2)
        assert report.mode == "incremental"
        since = server.data.now - EVENT_RETENTION_SECONDS
        same = synced_rows(incremental, since) == synced_rows(fresh, since)
        incremental.dispose()
        fresh.dispose()
    return retrieves, requests, same


def test_pinned_event_payloads_are_used_as_they_are(tmp_path) -> None:
    retrieves, _, same = _sync_a_week(tmp_path, version=None)
    assert same
    assert retrieves == Counter()  # customers, subscriptions, invoices: all from the payloads


def test_events_at_an_older_api_version_are_re_fetched(tmp_path) -> None:
    """At 2024-06-20 a subscription's period sits on the subscription and an invoice has no
    ``parent``: those payloads are not what we parse, so each object is re-fetched."""
    retrieves, _, same = _sync_a_week(tmp_path, version="2024-06-20")
    assert same
    # The week touched 3 subscriptions (a seat change prorated onto the next invoice, a
    # scheduled cancellation, a new one), the new one's first invoice, and its customer; the
    # seat change's two prorations (a credit and a debit) wait as pending invoice items.
    assert retrieves == Counter(
        {"subscriptions": 3, "invoices": 1, "customers": 1, "invoiceitems": 2}
    )


def test_a_week_of_the_demo_account_syncs_incrementally_to_a_full_sync_for_fewer_requests(
    tmp_path,
) -> None:
    """On the demo-like account (every feature of the demo: add-on packs, paused collection,
    12-item subscriptions…), a week of its own life: the incremental sync ends equal to a fresh
    full sync of the same account, and costs fewer requests than that full sync."""
    account = small_account(customers=60, seed=3)
    with SimulatorServer(account.snapshot()) as server:
        engine = open_database(f"sqlite:///{tmp_path / 'kpi.db'}")
        fresh = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
        with fast_client(server) as client:
            sync(engine, client, now=server.data.now, concurrency=2)
            account.advance(account.now + timedelta(days=7))
            server.set_data(account.snapshot())
            server.reset_counts()
            report = sync(engine, client, now=server.data.now, concurrency=2)
            incremental = server.request_count
            server.reset_counts()
            sync(fresh, client, now=server.data.now, concurrency=2)
            full = server.request_count
        since = server.data.now - EVENT_RETENTION_SECONDS
        same = synced_rows(engine, since) == synced_rows(fresh, since)
        engine.dispose()
        fresh.dispose()
    assert report.mode == "incremental"
    assert report.events > 0
    assert same
    assert incremental < full
