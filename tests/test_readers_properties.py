"""Every reader says what a recomputation says, over random histories billed by the simulator.

``metrics --json`` (by day and by month), ``movements --json`` and ``report --text`` read the
derived tables (``daily_metrics``, ``mrr_movement``, the customers at risk in
``customer_result``) once they are brought up to date; with the tables' reader switched off
(``services.read_current``) the same services compute the account from the raw rows. The two
must be equal, whatever the history, the reporting time zone, the period, the report's day, and
the instant of the read (at the end of the history, or days later with no sync: trials, coupons
and periods come due). Hypothesis draws on SQLite, one database emptied between examples; a
fixed history runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlmodel import SQLModel

import stripe_kpi.services as services
from stripe_kpi.config import Settings
from stripe_kpi.report.render import render_text
from stripe_kpi.services import metrics_document, movements_for, report_for
from stripe_kpi.store.engine import open_database, session_scope, upsert_rows
from tests.metrics_scripts import DAYS, START, Action, play, scripts

READERS = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ZONES = ("UTC", "Europe/Paris", "America/Los_Angeles")


@pytest.fixture
def on_sqlite(sqlite_url: str) -> Iterator[tuple[str, Engine]]:
    """One migrated SQLite database for every example (migrating one per example would cost
    most of the test's time); :func:`_fill` empties it first."""
    engine = open_database(sqlite_url)
    yield sqlite_url, engine
    engine.dispose()


@pytest.fixture
def on_both(db_url: str) -> Iterator[tuple[str, Engine]]:
    """A migrated database, on SQLite and on PostgreSQL."""
    engine = open_database(db_url)
    yield db_url, engine
    engine.dispose()


def _fill(engine: Engine, rows: dict[str, list[dict]]) -> None:
    """Nothing but these raw rows, as a first sync stores them: the derived tables, their
    record and the queue empty, so the first read builds them."""
    with session_scope(engine) as session:
        for table in reversed(SQLModel.metadata.sorted_tables):
            session.execute(delete(table))
        upsert_rows(session, rows)


def _outputs(
    config: Settings, now: datetime, period: tuple[date, date], report_day: date
) -> tuple[Any, ...]:
    first, last = period
    return (
        _without_cmrr(metrics_document(config, now, first, last)),
        _without_cmrr(metrics_document(config, now, first, last, "month")),
        movements_for(config, now, first, last),
        render_text(report_for(config, now, report_day).summary),
    )


def _readers_agree(
    url: str,
    engine: Engine,
    script: list[Action],
    monkeypatch: pytest.MonkeyPatch,
    *,
    zone: str,
    start: int,
    length: int,
    report_at: int,
    later: timedelta,
) -> None:
    """Play ``script``, store its rows, and read them at the end of the history plus
    ``later``: the period of ``length`` days from day ``start`` and the report of day
    ``report_at`` (both cut at what has passed), through the tables and through a
    recomputation."""
    played = play(script)
    _fill(engine, played.rows)
    now = played.as_of + later
    today = now.astimezone(ZoneInfo(zone)).date()
    first = min(START.date() + timedelta(days=start), today)
    period = (first, min(first + timedelta(days=length), today))
    report_day = min(START.date() + timedelta(days=report_at), today - timedelta(days=1))
    config = Settings(_env_file=None, database_url=url, currency="usd", timezone=zone)  # type: ignore[call-arg]
    read: list[object] = []
    real = services.read_current

    def noted(*args: Any, **kwargs: Any) -> object:
        read.append(real(*args, **kwargs))
        return read[-1]

    with monkeypatch.context() as patched:  # the readers read the tables (they were current)
        patched.setattr(services, "read_current", noted)
        from_tables = _outputs(config, now, period, report_day)
    assert len(read) == 4  # metrics (twice), movements, report
    assert None not in read
    with monkeypatch.context() as patched:  # the readers with the tables' reader off
        patched.setattr(services, "read_current", lambda *a, **k: None)
        assert _outputs(config, now, period, report_day) == from_tables


def _without_cmrr(document: dict[str, Any]) -> dict[str, Any]:
    """The document less its committed MRR, which only the tables give (``committed_change``;
    a recomputation says null: ``services._cmrr``), so is no reader's figure to compare."""
    document["totals"].pop("cmrr", None)
    return document


@READERS
@given(
    script=scripts(),
    zone=st.sampled_from(ZONES),
    start=st.integers(0, DAYS - 1),
    length=st.integers(1, DAYS),
    report_at=st.integers(0, DAYS - 1),
    later=st.sampled_from([timedelta(0), timedelta(days=4, hours=7)]),
)
def test_every_reader_reads_the_tables_and_says_what_a_recomputation_says(
    on_sqlite: tuple[str, Engine],
    script: list[Action],
    zone: str,
    start: int,
    length: int,
    report_at: int,
    later: timedelta,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, engine = on_sqlite
    _readers_agree(
        url, engine, script, monkeypatch,
        zone=zone, start=start, length=length, report_at=report_at, later=later,
    )  # fmt: skip


#: Four customers: a trial that converts, is upgraded and set to cancel at its period end; a
#: EUR subscription with a repeating coupon whose payments then fail; seats on a volume price
#: with an item coupon, fewer seats invoiced at once, then ended by dunning; a yearly plan with
#: an amount off, switched to monthly. The report's day (day 125, 6 May) has the first customer
#: at risk (set to cancel on day 120, churned on day 137).
FIXED = sorted(
    [
        Action(3, 9, 0, "subscribe", ("m10", 1, 14, None, None, None, "usd", None)),
        Action(40, 10, 0, "price", ("create_prorations",)),
        Action(120, 10, 0, "cancel_end", ("cancellation_requested",)),
        Action(10, 8, 1, "subscribe", ("e20", 1, None, "pct25x2", None, None, "eur", None)),
        Action(70, 5, 1, "fail", (None,)),
        Action(25, 12, 2, "subscribe", ("seats", 6, None, None, None, "pct10", "usd", None)),
        Action(90, 3, 2, "quantity", (2, "always_invoice")),
        Action(150, 4, 2, "cancel", ("payment_failed",)),
        Action(60, 7, 3, "subscribe", ("y240", 1, None, "off5", None, None, "usd", None)),
        Action(100, 9, 3, "switch", ()),
    ],
    key=lambda a: (a.day, a.hour, a.customer),
)


def test_the_readers_agree_on_a_fixed_history_on_both_backends(
    on_both: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine = on_both
    _readers_agree(
        url, engine, FIXED, monkeypatch,
        zone="Europe/Paris", start=30, length=170, report_at=125, later=timedelta(days=4, hours=7),
    )  # fmt: skip
