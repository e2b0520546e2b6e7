"""The columns the readers read (migration ``0009_reader_columns``): ``daily_metrics`` gains each
day's trials ended and converted, ``customer_result`` the days each customer had MRR at risk. A
database from the revision before upgrades in place, owes a rebuild, and its first read fills
them; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import text

from stripe_kpi.config import Settings
from stripe_kpi.services import metrics_document
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.queue import EVERYTHING, read_queue
from stripe_kpi.sync import mapping
from tests.test_derive_queue import _rebuilt_at, _tables, _three_customers

REVISION = "0009_reader_columns"


def test_a_database_from_the_revision_before_fills_the_reader_columns_on_its_first_read(
    db_url: str,
) -> None:
    """At the revision before, the derived tables current (nothing queued) as that version
    wrote them. Upgraded, the new columns are zeros and nulls and a rebuild is owed; the first
    read (2 April) fills them: the trial of 1 March ended on 15 March and converted (METRICS.md
    example 5), and Leaving Co, set on 5 March to cancel at its period end, has $30 at risk
    from that day on, still (no sync brought its end)."""
    from alembic import command
    from sqlalchemy import MetaData

    from stripe_kpi.store.engine import alembic_config, make_engine

    old = make_engine(db_url)
    command.upgrade(alembic_config(old), f"{REVISION}-1")
    rows: mapping.Rows = {}
    data = _three_customers().snapshot()
    for kind in ("customers", "products", "prices", "coupons", "discounts", "subscriptions"):
        for obj in data.objects.get(kind, {}).values():
            mapping.merge_rows(rows, mapping.rows_for(obj))
    for obj in data.objects["invoices"].values():
        mapping.merge_rows(rows, mapping.rows_for(obj))
    names = {c["id"]: c["name"] for c in data.objects["customers"].values()}
    schema = MetaData()
    schema.reflect(old)
    synced = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with old.begin() as connection:
        for table in schema.sorted_tables:  # the columns of the revision before only
            by_key = {
                tuple(row[c.name] for c in table.primary_key): row
                for row in rows.get(table.name, [])
            }
            batch = [{c.name: row.get(c.name) for c in table.columns} for row in by_key.values()]
            if batch:
                connection.execute(table.insert(), batch)
        connection.execute(text("DELETE FROM derive_queue"))
        connection.execute(
            text(
                "INSERT INTO daily_metrics VALUES "
                "('2026-03-10', 'usd', 8000, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3000)"
            )
        )
        record = json.dumps(
            {"as_of": int(synced.timestamp()), "currency": "usd", "format": 1}
            | {"last_day": "2026-03-10", "tz": "UTC", "generation": "before"}
        )
        connection.execute(
            text("INSERT INTO sync_state VALUES ('metrics:derived', :value, 0)"),
            {"value": record},
        )
    old.dispose()

    engine = open_database(db_url)
    try:
        with engine.connect() as connection:
            assert set(read_queue(connection)) == {EVERYTHING}
            kept = connection.execute(
                text("SELECT date, mrr, trials_ended, trials_converted FROM daily_metrics")
            ).all()
            assert [tuple(row) for row in kept] == [("2026-03-10", 8000, 0, 0)]
        settings = Settings(_env_file=None, database_url=db_url, currency="usd", timezone="UTC")  # type: ignore[call-arg]
        read_at = datetime(2026, 4, 2, 9, tzinfo=UTC)
        document = metrics_document(settings, read_at, date(2026, 3, 1), date(2026, 3, 31))
        with engine.connect() as connection:
            assert list(read_queue(connection)) == []
            trials = connection.execute(
                text(
                    "SELECT date, trials_ended, trials_converted FROM daily_metrics "
                    "WHERE trials_ended > 0"
                )
            ).all()
            risky = connection.execute(
                text(
                    "SELECT customer_id, at_risk_from, at_risk_until FROM customer_result "
                    "WHERE at_risk_from IS NOT NULL"
                )
            ).all()
        assert [tuple(row) for row in trials] == [("2026-03-15", 1, 1)]
        assert [(names[c], a, b) for c, a, b in risky] == [
            ("Leaving Co", "2026-03-05", "9999-12-31")
        ]
        assert document["totals"]["trial_conversion"] == 1.0  # 1 converted ÷ 1 ended
        assert document["totals"]["mrr_at_risk"] == 30.0
        assert _tables(engine) == _rebuilt_at(engine, read_at, tz="UTC")
    finally:
        engine.dispose()


def test_the_at_risk_days_bound_every_day_a_customer_had_mrr_at_risk() -> None:
    """``at_risk_from`` is the first day ending with MRR at risk, ``at_risk_until`` the day the
    last spell ended (excluded), or 9999-12-31 while it lasts; days between spells stay inside
    (the bounds only narrow which customers the report decodes)."""
    from stripe_kpi.metrics import CustomerResult
    from stripe_kpi.store.rows import at_risk_days

    def risk(*steps: tuple[date, int]) -> tuple[str | None, str | None]:
        ordinal = tuple((day.toordinal(), value) for day, value in steps)
        return at_risk_days(CustomerResult("cus_1", (), ordinal, (), ()))

    assert risk() == (None, None)
    assert risk((date(2026, 3, 1), 0)) == (None, None)
    assert risk((date(2026, 3, 5), 3000)) == ("2026-03-05", "9999-12-31")
    ended = ((date(2026, 3, 5), 3000), (date(2026, 3, 9), 0))
    assert risk(*ended) == ("2026-03-05", "2026-03-09")
    assert risk(*ended, (date(2026, 4, 2), 1000), (date(2026, 4, 3), 0)) == (
        "2026-03-05",
        "2026-04-03",
    )
    assert risk(*ended, (date(2026, 4, 2), 1000)) == ("2026-03-05", "9999-12-31")
