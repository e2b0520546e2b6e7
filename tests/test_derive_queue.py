"""Pending derive work is data: a sync killed between committing its pages and committing the
derived tables leaves the work in ``derive_queue``, and the next sync (with nothing new at
Stripe) or, separately, the next read finishes it, leaving every derived table equal to a full
rebuild. On SQLite and PostgreSQL.

A kill is injected at each step of the derive (every write in its transaction, before and after
the queue is consumed) by raising :class:`Killed` there: nothing of an uncommitted transaction
survives a dead process, and a transaction rolled back is the same. One test kills a real
process with SIGKILL inside the derive's transaction (``tests/crash_child.py``).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

import stripe_kpi.store.tables as tables_module
import stripe_kpi.store.update as update_module
from stripe_kpi.config import Settings
from stripe_kpi.services import metrics_document, sync_and_derive, tables_up_to_date
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.current import bring_up_to_date
from stripe_kpi.store.engine import open_database, session_scope, upsert_rows
from stripe_kpi.store.queue import EVERYTHING, consume, queue_customers, read_queue
from stripe_kpi.store.tables import recompute_derived_tables
from stripe_kpi.sync import mapping
from stripe_kpi.sync.state import PENDING_EVENTS_KEY, write_state

END = datetime(2026, 5, 20, 12, tzinfo=UTC)
LATER = END + timedelta(days=3, hours=2)  # the read or sync after the kill: a few days on
TZ = "Europe/Paris"
_copies = itertools.count()


class Killed(BaseException):
    """The process dying at this instant: nothing after it runs, and its open transaction
    never commits (a ``BaseException``, so nothing on the way catches it)."""


def _tables(engine: Engine) -> dict[str, list[tuple]]:
    """The derived tables, ``mrr_movement`` without its autoincrement id."""
    queries = {
        "mrr_movement": "SELECT date, customer_id, type, amount, mrr_before, mrr_after, currency, "
        "churn_reason, subscription_ids FROM mrr_movement",
        "daily_metrics": "SELECT * FROM daily_metrics",
        "customer_result": "SELECT * FROM customer_result",
    }
    with engine.connect() as connection:
        return {
            name: sorted(tuple(row) for row in connection.execute(text(sql)))
            for name, sql in queries.items()
        }


def _queued(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(read_queue(connection))


def _rebuilt(engine: Engine, as_of: datetime) -> dict[str, list[tuple]]:
    return _rebuilt_at(engine, as_of, tz=TZ)


def _rebuilt_at(engine: Engine, as_of: datetime, *, tz: str) -> dict[str, list[tuple]]:
    """What a full rebuild at ``as_of`` writes (on this database: call it last)."""
    recompute_derived_tables(engine, currency="usd", tz=tz, as_of=as_of, workers=1)
    return _tables(engine)


def test_a_derive_consumes_only_the_rows_it_read(engine: Engine) -> None:
    """A customer queued again while a derive ran keeps its row: its new data may postdate
    what the derive loaded."""
    with session_scope(engine) as session:
        queue_customers(session.connection(), ["cus_a", "cus_b"], at=1)
    with engine.connect() as connection:
        taken = read_queue(connection)
    with session_scope(engine) as session:  # a sync page commits during the derive
        queue_customers(session.connection(), ["cus_a", "cus_c"], at=2)
    with session_scope(engine) as session:
        consume(session.connection(), taken)
    # cus_b and the migration's "*" were read, so consumed; cus_a was queued again since.
    assert taken.keys() == {EVERYTHING, "cus_a", "cus_b"}
    assert _queued(engine) == {"cus_a", "cus_c"}


# ---------------------------------------------------------------------------------------------
# kill at each step, then the next sync or the next read
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    account = generate_account(seed=21, customers=8, start=END - timedelta(days=120), end=END)
    with SimulatorServer(account.snapshot()) as served:
        served.account = account  # type: ignore[attr-defined]  # to advance for an update
        yield served


def _settings(server: SimulatorServer, url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        stripe_api_key=server.api_key,
        stripe_api_base=server.url,
        database_url=url,
        rate_limit=1000,
        currency="usd",
        timezone=TZ,
    )


def _copy(url: str) -> str:
    """A copy of a closed database, to kill a derive on it."""
    n = next(_copies)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = Path(parsed.database or "")
        target = source.with_name(f"copy{n}.db")
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    import psycopg

    name = f"{parsed.database}_copy{n}"
    with psycopg.connect(
        f"host=127.0.0.1 port={parsed.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"')
    return parsed.set(database=name).render_as_string(hide_password=False)


#: Each instant a derive can die at: (module, function, which call, before or after it runs).
#: A rebuild writes mrr_movement, daily_metrics, customer_result, its record, then consumes the
#: queue; an update in place writes mrr_movement, customer_result, daily_metrics, its record,
#: then consumes the queue. "after" the last step is the instant before the commit.
REBUILD_STEPS = [
    (tables_module, "insert", 1, "before"),
    (tables_module, "insert", 2, "before"),
    (tables_module, "insert", 3, "before"),
    (tables_module, "write_meta", 1, "before"),
    (tables_module, "consume", 1, "before"),
    (tables_module, "consume", 1, "after"),
]
UPDATE_STEPS = [
    (update_module, "insert", 1, "before"),
    (update_module, "insert", 2, "before"),
    (update_module, "_apply_to_daily", 1, "before"),
    (update_module, "write_meta", 1, "before"),
    (update_module, "consume", 1, "before"),
    (update_module, "consume", 1, "after"),
]


def _dying(real: Any, nth: int, when: str) -> Any:
    calls = itertools.count(1)

    def call(*args: Any, **kwargs: Any) -> Any:
        n = next(calls)
        if n == nth and when == "before":
            raise Killed(f"before {real.__name__} #{n}")
        result = real(*args, **kwargs)
        if n == nth:
            raise Killed(f"after {real.__name__} #{n}")
        return result

    return call


def _kill_derive(
    monkeypatch: pytest.MonkeyPatch, url: str, step: tuple[ModuleType, str, int, str], now: datetime
) -> None:
    module, name, nth, when = step
    engine = open_database(url)
    try:
        with monkeypatch.context() as patched:
            patched.setattr(module, name, _dying(getattr(module, name), nth, when))
            with pytest.raises(Killed):
                bring_up_to_date(engine, currency="usd", tz=TZ, as_of=now)
    finally:
        engine.dispose()


def _pages_committed(server: SimulatorServer, db_url: str, path: str) -> tuple[str, datetime]:
    """A database whose last sync committed its pages and derived nothing (as if killed right
    after), and the sync's instant: a first (full) sync for ``rebuild``; for ``update``, a full
    sync derived, then an incremental one that applied a few days of events."""
    settings = _settings(server, db_url)
    if path == "rebuild":
        outcome = sync_and_derive(settings, END, derive=False)
        assert outcome.sync.mode == "full"
        return db_url, END
    sync_and_derive(settings, END)
    account = server.account  # type: ignore[attr-defined]
    later = END + timedelta(days=2)
    account.advance(later)
    server.set_data(account.snapshot())
    outcome = sync_and_derive(settings, later, derive=False)
    assert outcome.sync.mode == "incremental"
    assert outcome.sync.events > 0
    return db_url, later


@pytest.mark.parametrize("path", ["rebuild", "update"])
def test_killed_at_each_derive_step_then_the_next_sync_or_read_finishes_it(
    server: SimulatorServer, db_url: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed at any step, the database is exactly as the sync's pages left it (queue and
    derived tables alike), so killing it again at the next step, and then finishing, covers
    every instant: the next sync, and separately the next read, finish the work."""
    base, synced_at = _pages_committed(server, db_url, path)
    engine = open_database(base)
    owed, before = _queued(engine), _tables(engine)
    engine.dispose()
    if path == "rebuild":
        assert owed == {EVERYTHING}
    else:  # the customers the events touched
        assert EVERYTHING not in owed
        assert len(owed) >= 1
    for step in REBUILD_STEPS if path == "rebuild" else UPDATE_STEPS:
        _kill_derive(monkeypatch, base, step, synced_at)
        engine = open_database(base)
        assert (_queued(engine), _tables(engine)) == (owed, before), step
        engine.dispose()
    for reader in ("sync", "metrics"):
        url = _copy(base)
        settings = _settings(server, url)
        if reader == "sync":
            outcome = sync_and_derive(settings, LATER)
            assert outcome.sync.events == 0
            assert outcome.derived is not None
            assert outcome.derived.how == ("rebuilt" if path == "rebuild" else "updated")
        else:
            metrics_document(settings, LATER, date(2026, 5, 1), date(2026, 5, 22))
        engine = open_database(url)
        assert _queued(engine) == set(), reader
        derived = _tables(engine)
        assert derived["daily_metrics"][-1][0] == "2026-05-23", reader  # LATER's day
        assert derived == _rebuilt(engine, LATER), reader
        engine.dispose()
    if path == "update":  # the module's account moved on: later tests start from END again
        server.account = generate_account(  # type: ignore[attr-defined]
            seed=21, customers=8, start=END - timedelta(days=120), end=END
        )
        server.set_data(server.account.snapshot())  # type: ignore[attr-defined]


def test_a_sync_killed_by_sigkill_inside_its_derive(
    server: SimulatorServer, db_url: str, tmp_path: Path
) -> None:
    """A real process, a real ``kill -9`` once the rebuild's rows are written and the queue
    consumed, before its commit; then the next sync, with nothing new at Stripe."""
    env = {
        **os.environ,
        "STRIPE_API_KEY": server.api_key,
        "STRIPE_API_BASE": server.url,
        "DATABASE_URL": db_url,
        "STRIPE_KPI_RATE_LIMIT": "1000",
        "STRIPE_KPI_CURRENCY": "usd",
        "STRIPE_KPI_TIMEZONE": TZ,
        "CRASH_AT": "stripe_kpi.store.tables:consume",
        "CRASH_NOW": END.isoformat(),
    }
    child = subprocess.run(
        [sys.executable, "-m", "tests.crash_child", "sync"],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    engine = open_database(db_url)
    assert _queued(engine) == {EVERYTHING}
    assert _tables(engine)["customer_result"] == []  # nothing of the derive committed
    outcome = sync_and_derive(_settings(server, db_url), LATER)
    assert (outcome.sync.mode, outcome.sync.events) == ("incremental", 0)
    assert _queued(engine) == set()
    assert _tables(engine) == _rebuilt(engine, LATER)
    engine.dispose()


# ---------------------------------------------------------------------------------------------
# time passes with no event
# ---------------------------------------------------------------------------------------------

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def _three_customers() -> BillingAccount:
    """From 1 March 2026: a 14-day trial of $30/month (METRICS.md example 5), $100/month with a
    50 % coupon repeating one month, and $30/month cancelled on 5 March at its period end
    (1 April). Seen as of 10 March, before the trial, the coupon or the period ends."""
    account = BillingAccount(MARCH)
    basic = account.create_price(3000, product="Basic", at=MARCH)
    pro = account.create_price(10000, product="Pro", at=MARCH)
    half = account.create_coupon(percent_off=50, duration="repeating", duration_in_months=1)
    trial = account.create_customer("Trial Co", "t@example.com", MARCH)
    account.subscribe(trial, [(basic, 1)], MARCH, trial_days=14)
    coupon = account.create_customer("Coupon Co", "c@example.com", MARCH)
    account.subscribe(coupon, [(pro, 1)], MARCH, coupon=half)
    leaving = account.create_customer("Leaving Co", "l@example.com", MARCH)
    sub = account.subscribe(leaving, [(basic, 1)], MARCH)
    account.cancel(sub, MARCH + timedelta(days=4), at_period_end=True)
    account.advance(datetime(2026, 3, 10, 12, tzinfo=UTC))
    return account


def _store_snapshot(engine: Engine, account: BillingAccount) -> dict[str, str]:
    """Every object, written as the sync writes it; the customers' ids by name."""
    rows: mapping.Rows = {}
    data = account.snapshot()
    for kind in ("customers", "products", "prices", "coupons", "discounts", "subscriptions"):
        for obj in data.objects.get(kind, {}).values():
            mapping.merge_rows(rows, mapping.rows_for(obj))
    for obj in data.objects.get("invoices", {}).values():
        mapping.merge_rows(rows, mapping.rows_for(obj))
    with session_scope(engine) as session:
        upsert_rows(session, rows)
    return {c["name"]: c["id"] for c in data.objects["customers"].values()}


def test_time_passing_with_no_event_is_brought_in_by_the_next_read(
    engine: Engine, db_url: str
) -> None:
    """No sync after 10 March: on 2 April the trial has converted, the coupon has run out and
    the cancellation has come due. The next read brings them into the tables, ending where a
    rebuild on 2 April does."""
    names = _store_snapshot(engine, _three_customers())
    synced = datetime(2026, 3, 10, 12, tzinfo=UTC)
    bring_up_to_date(engine, currency="usd", tz="UTC", as_of=synced)
    settings = Settings(_env_file=None, database_url=db_url, currency="usd", timezone="UTC")  # type: ignore[call-arg]
    read_at = datetime(2026, 4, 2, 9, tzinfo=UTC)

    metrics_document(settings, read_at, date(2026, 3, 1), date(2026, 4, 1))

    derived = _tables(engine)
    moved = {(row[0], row[1], row[2]): row[3] for row in derived["mrr_movement"]}
    trial, coupon, leaving = names["Trial Co"], names["Coupon Co"], names["Leaving Co"]
    assert moved == {
        ("2026-03-01", coupon, "new"): 5000,  # $100 at 50 % off
        ("2026-03-01", leaving, "new"): 3000,
        ("2026-03-15", trial, "new"): 3000,  # the trial ended (1 March + 14 days)
        ("2026-04-01", coupon, "expansion"): 5000,  # the one repeating month is over: $100
        # No churn for Leaving Co: a subscription counts until its ``ended_at`` (METRICS.md §1),
        # which only the sync of Stripe's customer.subscription.deleted brings.
    }
    mrr = {row[0]: row[2] for row in derived["daily_metrics"]}
    assert (mrr["2026-03-10"], mrr["2026-03-15"], mrr["2026-04-02"]) == (
        8000,  # 5,000 + 3,000 (the trial counts nothing yet)
        11000,  # + 3,000 from the trial
        16000,  # 3,000 + 10,000 + 3,000
    )
    assert max(mrr) == "2026-04-02"  # the day of the read
    assert derived == _rebuilt_at(engine, read_at, tz="UTC")


def test_a_new_time_zone_or_currency_rebuilds_on_the_next_read(engine: Engine) -> None:
    _store_snapshot(engine, _three_customers())
    synced = datetime(2026, 3, 10, 12, tzinfo=UTC)
    bring_up_to_date(engine, currency="usd", tz="UTC", as_of=synced)
    assert bring_up_to_date(engine, currency="usd", tz="UTC", as_of=synced) is None

    moved = bring_up_to_date(engine, currency="usd", tz=TZ, as_of=synced)

    assert moved is not None
    assert moved.full_reason == f"the time zone changed from UTC to {TZ}"
    derived = _tables(engine)
    assert derived == _rebuilt_at(engine, synced, tz=TZ)
    priced = bring_up_to_date(engine, currency="eur", tz=TZ, as_of=synced)
    assert priced is not None
    assert priced.full_reason == "the reporting currency changed from usd to eur"


def test_a_read_leaves_an_unfinished_backfill_to_the_sync(engine: Engine, db_url: str) -> None:
    """Mid-backfill the database holds part of the account: deriving it would be wasted (and
    hold SQLite's write lock against the backfill's pages); the sync that ends it derives."""
    _store_snapshot(engine, _three_customers())
    with session_scope(engine) as session:
        write_state(session, PENDING_EVENTS_KEY, {"id": None, "created": 0}, at=0)
    settings = Settings(_env_file=None, database_url=db_url, currency="usd", timezone="UTC")  # type: ignore[call-arg]

    tables_up_to_date(engine, settings, datetime(2026, 3, 10, 12, tzinfo=UTC))

    assert _queued(engine) == {EVERYTHING}
    assert _tables(engine)["customer_result"] == []


def test_a_database_from_before_the_queue_rebuilds_on_its_first_read(db_url: str) -> None:
    """At revision 0003 an older version's sync was killed after its pages: ``customer_result``
    empty, ``daily_metrics`` holding a stale day, the tables' record saying they are current.
    Upgraded in place, the database owes a rebuild ("*"), and its first read makes every
    derived table what a rebuild writes."""
    from alembic import command
    from sqlalchemy import MetaData

    from stripe_kpi.store.engine import alembic_config, make_engine

    old = make_engine(db_url)
    command.upgrade(alembic_config(old), "0003")
    rows: mapping.Rows = {}
    data = _three_customers().snapshot()
    for kind in ("customers", "products", "prices", "coupons", "discounts", "subscriptions"):
        for obj in data.objects.get(kind, {}).values():
            mapping.merge_rows(rows, mapping.rows_for(obj))
    for obj in data.objects["invoices"].values():
        mapping.merge_rows(rows, mapping.rows_for(obj))
    schema = MetaData()
    schema.reflect(old)
    synced = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with old.begin() as connection:
        for table in schema.sorted_tables:  # the columns of 0003 only, as that version wrote
            by_key = {
                tuple(row[c.name] for c in table.primary_key): row
                for row in rows.get(table.name, [])
            }
            batch = [{c.name: row.get(c.name) for c in table.columns} for row in by_key.values()]
            if batch:
                connection.execute(table.insert(), batch)
        connection.execute(
            text(
                "INSERT INTO daily_metrics VALUES "
                "('2026-03-10', 'usd', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"
            )
        )
        record = json.dumps(
            {"as_of": int(synced.timestamp()), "currency": "usd", "format": 1}
            | {"last_day": "2026-03-10", "tz": "UTC"}
        )
        connection.execute(
            text("INSERT INTO sync_state VALUES ('metrics:derived', :value, 0)"),
            {"value": record},
        )
    old.dispose()

    engine = open_database(db_url)
    try:
        assert _queued(engine) == {EVERYTHING}
        settings = Settings(_env_file=None, database_url=db_url, currency="usd", timezone="UTC")  # type: ignore[call-arg]
        metrics_document(settings, synced, date(2026, 3, 1), date(2026, 3, 10))
        assert _queued(engine) == set()
        derived = _tables(engine)
        assert len(derived["customer_result"]) == 3
        assert derived["daily_metrics"][-1][:3] == ("2026-03-10", "usd", 8000)  # 5,000 + 3,000
        assert derived == _rebuilt_at(engine, synced, tz="UTC")
    finally:
        engine.dispose()
