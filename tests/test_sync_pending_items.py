"""Pending invoice items in the database: listed by the backfill, followed by the events pass,
and gone once an invoice takes them (its line replaces them), in whatever order the two arrive.

The account: 5 seats × $120/year from 1 Jan 2026, 8 seats from 10 Mar with prorations (two
pending items until the renewal of 1 Jan 2027); a second customer's monthly plan changes on
20 May and renews on 1 Jun, which takes its prorations.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlmodel import Session

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database, session_scope, upsert_rows
from stripe_kpi.store.models import InvoiceLine, PendingInvoiceItem
from stripe_kpi.sync import mapping
from stripe_kpi.sync.lists import EVENT_RETENTION_SECONDS
from stripe_kpi.sync.run import sync
from tests.sync_support import fast_client, synced_rows


def on(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def _item(iid: str, invoice: str | None = None, **extra: object) -> dict:
    return {
        "id": iid,
        "object": "invoiceitem",
        "customer": "cus_1",
        "amount": 78_115,
        "currency": "usd",
        "date": 1_773_100_800,
        "invoice": invoice,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": "sub_1", "subscription_item": "si_1"},
        },
        "period": {"start": 1_773_100_800, "end": 1_798_761_600},
        "pricing": {
            "type": "price_details",
            "price_details": {"price": "price_y", "product": "prod_1"},
            "unit_amount_decimal": "12000",
        },
        "proration": True,
        "quantity": 8,
        **extra,
    }


def _invoice_taking(iid: str) -> dict:
    line = {
        "id": "il_1",
        "object": "line_item",
        "invoice": "in_1",
        "amount": 78_115,
        "currency": "usd",
        "parent": {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "invoice_item": iid,
                "proration": True,
                "subscription": "sub_1",
                "subscription_item": "si_1",
            },
        },
        "period": {"start": 1_773_100_800, "end": 1_798_761_600},
        "quantity": 8,
    }
    return {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_1",
        "currency": "usd",
        "created": 1_798_761_600,
        "lines": {"object": "list", "data": [line], "has_more": False},
    }


def _pending(engine: Engine) -> list[str]:
    with Session(engine) as session:
        query = select(PendingInvoiceItem.id).order_by(PendingInvoiceItem.id)
        return [row[0] for row in session.exec(query)]


def test_the_row_reads_the_pinned_shape() -> None:
    (row,) = mapping.rows_for(_item("ii_1"))["pending_invoice_item"]
    assert (row["subscription_id"], row["subscription_item_id"], row["price_id"]) == (
        "sub_1",
        "si_1",
        "price_y",
    )
    assert (row["period_start"], row["amount"], row["quantity"], row["proration"]) == (
        1_773_100_800,
        78_115,
        8,
        True,
    )


def test_an_invoice_line_replaces_its_pending_item_in_either_order(engine: Engine) -> None:
    with session_scope(engine) as session:
        upsert_rows(session, mapping.rows_for(_item("ii_1")))
        upsert_rows(session, mapping.rows_for(_item("ii_2")))
    assert _pending(engine) == ["ii_1", "ii_2"]
    with session_scope(engine) as session:  # the item first, then the invoice that took it
        upsert_rows(session, mapping.rows_for(_invoice_taking("ii_1")))
    assert _pending(engine) == ["ii_2"]
    with session_scope(engine) as session:  # the invoice known, then a stale "pending" copy
        upsert_rows(session, mapping.rows_for(_item("ii_1")))
    assert _pending(engine) == ["ii_2"]
    with Session(engine) as session:
        taken = [row[0] for row in session.exec(select(InvoiceLine.invoice_item_id))]
    assert taken == ["ii_1"]


def test_an_invoiced_or_deleted_item_is_removed(engine: Engine) -> None:
    with session_scope(engine) as session:
        upsert_rows(session, mapping.rows_for(_item("ii_3")))
        upsert_rows(session, mapping.rows_for(_item("ii_4")))
        upsert_rows(session, mapping.rows_for(_item("ii_5")))
    with session_scope(engine) as session:
        upsert_rows(session, mapping.rows_for(_item("ii_3", invoice="in_9")))
        upsert_rows(session, mapping.rows_for(_item("ii_4", deleted=True)))
    assert _pending(engine) == ["ii_5"]


def _account() -> BillingAccount:
    acct = BillingAccount(on(1, 1), seed=21)
    ada = acct.create_customer("Ada", "ada@example.com")
    bo = acct.create_customer("Bo", "bo@example.com")
    yearly = acct.create_price(12_000, "year", product="Seats")
    monthly = acct.create_price(1_000, "month", product="Team")
    seats = acct.subscribe(ada, [(yearly, 5)])
    acct.subscribe(bo, [(monthly, 2)])
    acct.change(seats, on(3, 10), quantity=8)
    acct.advance(on(5, 15))
    return acct


def test_backfill_and_events_keep_the_pending_items_a_full_sync_finds(tmp_path) -> None:
    """First sync on 15 May: Ada's two prorations pending. Then Bo changes seats on 20 May
    (two new pending items, by events) and renews on 1 Jun (they go on that invoice: gone);
    synced on 5 Jun the database equals a fresh full sync, Ada's two items still pending."""
    account = _account()
    ada_items = sorted(account.invoiceitems)
    with SimulatorServer(account.snapshot()) as server:
        incremental = open_database(f"sqlite:///{tmp_path / 'inc.db'}")
        with fast_client(server) as client:
            sync(incremental, client, now=server.data.now, concurrency=2)
            assert _pending(incremental) == ada_items
            team = next(
                s for s in account.subscriptions.values() if s["items"]["data"][0]["quantity"] == 2
            )
            account.change(team, on(5, 20), quantity=3)
            bo_items = sorted(set(account.invoiceitems) - set(ada_items))
            assert len(bo_items) == 2
            account.advance(on(5, 25))
            server.set_data(account.snapshot())
            sync(incremental, client, now=server.data.now, concurrency=2)
            assert _pending(incremental) == sorted(ada_items + bo_items)
            account.advance(on(6, 5))
            server.set_data(account.snapshot())
            report = sync(incremental, client, now=server.data.now, concurrency=2)
        assert report.mode == "incremental"
        assert _pending(incremental) == ada_items
        fresh = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
        with fast_client(server) as client:
            sync(fresh, client, now=server.data.now, concurrency=2)
        since = server.data.now - EVENT_RETENTION_SECONDS
        assert synced_rows(incremental, since) == synced_rows(fresh, since)
        incremental.dispose()
        fresh.dispose()
