"""Storage on SQLite and on a real PostgreSQL server: migrations, upserts, children, errors."""

from __future__ import annotations

import json
import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select, text
from sqlmodel import Session, SQLModel

from stripe_kpi.errors import StorageError
from stripe_kpi.store.engine import (
    current_revision,
    head_revision,
    newest_file_revision,
    open_database,
    session_scope,
    upsert_rows,
)
from stripe_kpi.store.models import Invoice, InvoiceLine, Subscription, SubscriptionItem
from stripe_kpi.sync import mapping

EXPECTED_TABLES = {
    "alembic_version",
    "coupon",
    "customer",
    "customer_result",
    "cohort_month",
    "customer_segment",
    "committed_change",
    "daily_metrics",
    "derive_queue",
    "discount",
    "event",
    "invoice",
    "invoice_line",
    "mrr_movement",
    "pending_invoice_item",
    "price",
    "product",
    "subscription",
    "subscription_item",
    "subscription_schedule",
    "sync_run",
    "sync_state",
    "report_claim",
    "report_delivery",
    "spend",
    "segment_mrr",
    "tax_rate",
}


def test_the_revision_named_by_the_newest_file_is_alembics_head() -> None:
    """The fast check on open (no alembic import) compares with this: a migration whose file
    name is not its revision, or a branch, would make it skip an upgrade."""
    assert newest_file_revision() == head_revision()


def test_opening_a_current_database_imports_no_alembic(tmp_path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'a.db'}"
    open_database(url).dispose()  # created and migrated
    probe = (
        "import sys; from stripe_kpi.store.engine import open_database; "
        f"open_database({url!r}).dispose(); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_migrations_create_every_table(engine: Engine) -> None:
    from sqlalchemy import inspect

    assert set(inspect(engine).get_table_names()) == EXPECTED_TABLES
    assert current_revision(engine) == head_revision()


def test_migrations_match_the_models(engine: Engine) -> None:
    """A model changed without a migration would leave existing databases behind."""
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


def test_a_database_at_0001_upgrades_in_place(db_url: str) -> None:
    """Revision 0002 adds ``customer_result`` and two covering indexes to a database in use,
    0003 the paused-collection columns, filled from the raw JSON already stored: every row
    already there stays as it was."""
    from alembic import command
    from sqlalchemy import MetaData, inspect

    from stripe_kpi.store.engine import alembic_config, make_engine

    old = make_engine(db_url)
    command.upgrade(alembic_config(old), "0001")
    paused = {
        **_subscription([("si_c", 1)]),
        "id": "sub_2",
        "pause_collection": {"behavior": "void", "resumes_at": 1772323200},
    }
    rows = mapping.rows_for(_subscription([("si_a", 5), ("si_b", 1)]))
    mapping.merge_rows(rows, mapping.rows_for(paused))
    mapping.merge_rows(rows, mapping.rows_for(_invoice(["il_1", "il_2"], has_more=False)))
    schema = MetaData()
    schema.reflect(old)
    with Session(old) as session:
        for table in schema.sorted_tables:  # the 0001 columns only, as an old sync wrote them
            by_key = {
                tuple(row[c.name] for c in table.primary_key): row
                for row in rows.get(table.name, [])
            }
            batch = [{c.name: row.get(c.name) for c in table.columns} for row in by_key.values()]
            if batch:
                session.execute(table.insert(), batch)
        session.execute(
            text(
                "INSERT INTO daily_metrics VALUES "
                "('2026-01-01', 'usd', 1000, 1, 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"
            )
        )
        session.commit()
    tables = sorted(inspect(old).get_table_names())
    columns = {t: [c["name"] for c in inspect(old).get_columns(t)] for t in tables}
    before = _dump(old, columns)
    old.dispose()

    engine = open_database(db_url)
    try:
        assert current_revision(engine) == head_revision()
        assert _dump(engine, columns) == before
        assert (len(before["invoice_line"]), len(before["daily_metrics"])) == (2, 1)
        assert "customer_result" in inspect(engine).get_table_names()
        indexes = {
            i["name"] for t in ("invoice", "invoice_line") for i in inspect(engine).get_indexes(t)
        }
        assert {"ix_invoice_metrics", "ix_invoice_line_metrics"} <= indexes
        with engine.connect() as connection:
            filled = connection.execute(
                text(
                    "SELECT id, pause_collection_behavior, pause_collection_resumes_at "
                    "FROM subscription ORDER BY id"
                )
            ).all()
        assert [tuple(row) for row in filled] == [
            ("sub_1", None, None),
            ("sub_2", "void", 1772323200),
        ]
        # 0004: the tables an older version derived are owed a rebuild (one "*" row).
        with engine.connect() as connection:
            queued = connection.execute(text("SELECT customer_id FROM derive_queue")).scalars()
            assert list(queued) == ["*"]
    finally:
        engine.dispose()


def test_the_metrics_indexes_cover_what_the_metrics_read() -> None:
    """A column added to ``metrics.inputs.COLUMNS`` must join the covering index too, or every
    invoice row is read from the table again (several times slower on a large account)."""
    from stripe_kpi.metrics.inputs import COLUMNS

    for table, name in (
        ("invoice", "ix_invoice_metrics"),
        ("invoice_line", "ix_invoice_line_metrics"),
    ):
        index = next(i for i in SQLModel.metadata.tables[table].indexes if i.name == name)
        assert set(COLUMNS[table]) <= {column.name for column in index.columns}


def _dump(engine: Engine, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Every row of each table, those columns only (a later revision may add some)."""
    with engine.connect() as connection:
        dump = {}
        for table, names in columns.items():
            if table == "alembic_version":
                continue
            quoted = ", ".join(f'"{name}"' for name in names)  # "end" is a keyword
            rows = connection.execute(text(f"SELECT {quoted} FROM {table}"))
            dump[table] = sorted(tuple(row) for row in rows)
        return dump


def test_open_twice_is_a_no_op(db_url: str) -> None:
    first = open_database(db_url)
    first.dispose()
    second = open_database(db_url)
    assert current_revision(second) == head_revision()
    second.dispose()


def _subscription(items: list[tuple[str, int]]) -> dict:
    """A subscription whose items embed their price whole (its includable ``tiers`` and
    ``currency_options`` there, as the billing engine stores it): such a price is a row too."""
    return {
        "id": "sub_1",
        "object": "subscription",
        "customer": "cus_1",
        "status": "active",
        "currency": "usd",
        "created": 1767225600,
        "start_date": 1767225600,
        "cancel_at_period_end": False,
        "cancellation_details": {"reason": None, "feedback": None, "comment": None},
        "discounts": [],
        "items": {
            "object": "list",
            "data": [
                {
                    "id": item_id,
                    "object": "subscription_item",
                    "subscription": "sub_1",
                    "price": {
                        "id": "price_1",
                        "object": "price",
                        "currency": "usd",
                        "type": "recurring",
                        "unit_amount": 1000,
                        "tiers": None,
                        "currency_options": None,
                        "recurring": {
                            "interval": "month",
                            "interval_count": 1,
                            "usage_type": "licensed",
                        },
                    },
                    "quantity": quantity,
                    "created": 1767225600,
                    "current_period_start": 1767225600,
                    "current_period_end": 1769904000,
                    "discounts": [],
                }
                for item_id, quantity in items
            ],
        },
    }


def test_upsert_is_idempotent_and_drops_removed_items(engine: Engine) -> None:
    rows = mapping.rows_for(_subscription([("si_a", 5), ("si_b", 1)]))
    with Session(engine) as session:
        assert upsert_rows(session, rows) == 4  # subscription, 2 items, 1 price
        upsert_rows(session, rows)
        session.commit()
    with Session(engine) as session:
        assert session.exec(select(SubscriptionItem.id).order_by(SubscriptionItem.id)).all() == [
            ("si_a",),
            ("si_b",),
        ]
    # Stripe now lists one item with a new quantity: si_b was removed from the subscription.
    with Session(engine) as session:
        upsert_rows(session, mapping.rows_for(_subscription([("si_a", 8)])))
        session.commit()
    with Session(engine) as session:
        items = session.exec(select(SubscriptionItem.id, SubscriptionItem.quantity)).all()
        assert [tuple(i) for i in items] == [("si_a", 8)]
        raw = session.exec(select(Subscription.raw)).one()[0]
        assert json.loads(raw)["items"]["data"][0]["quantity"] == 8


def _invoice(line_ids: list[str], has_more: bool) -> dict:
    return {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_1",
        "currency": "usd",
        "created": 1767225600,
        "status": "paid",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": "sub_1"},
        },
        "status_transitions": {"paid_at": 1767229200, "finalized_at": 1767225700},
        "lines": {
            "object": "list",
            "has_more": has_more,
            "data": [
                {
                    "id": line_id,
                    "object": "line_item",
                    "amount": 1000,
                    "currency": "usd",
                    "period": {"start": 1767225600, "end": 1769904000},
                    "parent": {
                        "type": "subscription_item_details",
                        "subscription_item_details": {
                            "subscription": "sub_1",
                            "subscription_item": "si_a",
                            "proration": False,
                            "invoice_item": None,
                        },
                    },
                    "pricing": {
                        "type": "price_details",
                        "price_details": {"price": "price_1", "product": "prod_1"},
                    },
                    "quantity": 1,
                    "taxes": [{"amount": 200, "tax_behavior": "exclusive"}],
                    "discount_amounts": [{"amount": 100, "discount": "di_1"}],
                }
                for line_id in line_ids
            ],
        },
    }


def test_invoice_lines_are_typed_and_complete_flag_is_honest(engine: Engine) -> None:
    with Session(engine) as session:
        upsert_rows(session, mapping.rows_for(_invoice(["il_1", "il_2"], has_more=True)))
        session.commit()
        invoice = session.exec(select(Invoice)).one()[0]
        assert (invoice.subscription_id, invoice.paid_at, invoice.lines_complete) == (
            "sub_1",
            1767229200,
            False,
        )
        assert "lines" not in json.loads(invoice.raw)
        line = session.get(InvoiceLine, "il_1")
        assert (line.subscription_item_id, line.price_id, line.proration) == (
            "si_a",
            "price_1",
            False,
        )
        assert (line.tax_exclusive_amount, line.discount_amount, line.position) == (200, 100, 0)
    # The rest of the lines arrive: il_2 was dropped from the invoice, il_3 added.
    with Session(engine) as session:
        extra = _invoice(["il_3"], has_more=False)["lines"]["data"]
        upsert_rows(session, mapping.rows_for(_invoice(["il_1"], has_more=True), extra))
        session.commit()
        ids = [r[0] for r in session.exec(select(InvoiceLine.id).order_by(InvoiceLine.id)).all()]
        assert ids == ["il_1", "il_3"]
        assert session.get(Invoice, "in_1").lines_complete is True


def test_sqlite_pragmas(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 10000
    engine.dispose()


def test_newer_schema_is_refused_not_downgraded(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StorageError, match="newer stripe_kpi"):
        open_database(sqlite_url)


def test_not_a_database_is_one_clear_line(tmp_path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database" * 100)
    with pytest.raises(StorageError, match="is not a stripe_kpi database"):
        open_database(f"sqlite:///{path}")
    assert path.read_text().startswith("these are my notes")


def test_missing_folder_is_one_clear_line(tmp_path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        open_database(f"sqlite:///{tmp_path}/nope/stripe_kpi.db")


def test_unreachable_postgres_is_one_clear_line() -> None:
    from tests.pg_cluster import free_port

    url = f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{free_port()}/x"
    with pytest.raises(StorageError, match="cannot connect") as info:
        open_database(url)
    assert "hunter2" not in info.value.message


def test_locked_sqlite_is_one_clear_line(sqlite_url: str, monkeypatch) -> None:
    monkeypatch.setattr("stripe_kpi.store.engine.SQLITE_BUSY_TIMEOUT_MS", 100)
    engine = open_database(sqlite_url)
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with (
            pytest.raises(StorageError, match="is locked by another process"),
            session_scope(engine) as session,
        ):
            session.exec(text("DELETE FROM customer"))
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
