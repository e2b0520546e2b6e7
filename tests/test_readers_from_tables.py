"""The readers (``metrics``, ``movements``, ``report``) take the account's figures from
``customer_result`` once the derived tables are current, instead of loading and computing the
whole account: their output is identical to the recomputation's, on SQLite and PostgreSQL, on a
random simulated history read as of several instants (the day of the sync, the next day, two
weeks on with trials, coupons and periods come due), and after an incremental sync."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

import stripe_kpi.services as services
from stripe_kpi.config import Settings
from stripe_kpi.report.render import render_text
from stripe_kpi.services import metrics_document, movements_for, report_for
from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.store.current import current_results
from stripe_kpi.store.engine import session_scope, upsert_rows
from stripe_kpi.store.queue import queue_customers
from stripe_kpi.sync import mapping
from stripe_kpi.sync.events import STORED_EVENTS, customers_in

END = datetime(2026, 2, 10, 15, tzinfo=UTC)
TZ = "Europe/Paris"
KINDS = (
    "customers", "products", "prices", "coupons", "tax_rates", "discounts", "subscriptions",
    "invoices", "events",
)  # fmt: skip


def _store(engine: Engine, data, *, queue: bool) -> None:
    """Every object, as the sync writes it (an incremental sync also queues its customers)."""
    rows: mapping.Rows = {}
    for kind in KINDS:
        for obj in data.objects.get(kind, {}).values():
            if kind == "events" and not obj["type"].startswith(STORED_EVENTS):
                continue
            mapping.merge_rows(rows, mapping.rows_for(obj))
    with session_scope(engine) as session:
        upsert_rows(session, rows)
        if queue:
            queue_customers(session.connection(), customers_in(rows), at=0)


def _outputs(settings: Settings, now: datetime) -> tuple:
    first, last = date(2025, 11, 1), (now - timedelta(days=1)).date()
    report = report_for(settings, now)
    return (
        metrics_document(settings, now, first, last),
        metrics_document(settings, now, date(2025, 1, 1), last, "month"),
        movements_for(settings, now, first, last),
        render_text(report.summary),
        report.chart,
    )


def test_every_reader_reads_the_tables_and_says_what_a_recomputation_says(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    account = generate_account(seed=31, customers=25, start=start, end=END)
    _store(engine, account.snapshot(), queue=False)
    settings = Settings(_env_file=None, database_url=db_url, currency="usd", timezone=TZ)  # type: ignore[call-arg]
    instants = [END, END + timedelta(days=1, hours=3), END + timedelta(days=15)]
    for now in instants:
        from_tables = _outputs(settings, now)
        assert current_results(engine, currency="usd", tz=TZ, as_of=now) is not None, now
        with monkeypatch.context() as patched:  # the readers as they were: recomputing
            patched.setattr(services, "read_current", lambda *a, **k: None)
            assert _outputs(settings, now) == from_tables, now
    # An incremental sync: a few days of renewals, trials and dunning, stored and queued.
    account.advance(END + timedelta(days=20))
    _store(engine, account.snapshot(), queue=True)
    now = END + timedelta(days=20, hours=1)
    from_tables = _outputs(settings, now)
    assert current_results(engine, currency="usd", tz=TZ, as_of=now) is not None
    with monkeypatch.context() as patched:
        patched.setattr(services, "read_current", lambda *a, **k: None)
        assert _outputs(settings, now) == from_tables
