"""One-off invoices, credit notes and deleted customers end to end: the simulated Stripe account
behind its HTTP server → ``stripe-kpi sync`` (``sync_and_derive``) → the metrics and movements the
CLI prints. Each expected figure is worked out by hand in a comment."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from stripe_kpi.config import Settings
from stripe_kpi.services import metrics_document, movements_for, sync_and_derive
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.sync.lists import EVENT_RETENTION_SECONDS
from tests.sync_support import synced_rows


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def settings_for(server: SimulatorServer, where: Path | str) -> Settings:
    """Settings for the server; the database in the folder ``where`` or at that URL."""
    url = f"sqlite:///{where / 'kpi.db'}" if isinstance(where, Path) else where
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        stripe_api_key=server.api_key,
        stripe_api_base=server.url,
        database_url=url,
        rate_limit=1000,
    )


def synced(account: BillingAccount, until: datetime, where: Path | str) -> tuple[Settings, Any]:
    """Advance the account to ``until``, serve it, and run one full sync; the settings to read
    the metrics with (the server stops, the database stays) and the sync's outcome."""
    account.advance(until)
    with SimulatorServer(account.snapshot()) as server:
        settings = settings_for(server, where)
        outcome = sync_and_derive(settings, until)
    return settings, outcome


def mrr_on(settings: Settings, now: datetime, day: date) -> float:
    document = metrics_document(settings, now, day, day)
    return document["series"][0]["mrr"]


def movements(settings: Settings, now: datetime) -> list[tuple[str, str, float, str | None]]:
    """Every movement, by day then customer name."""
    rows = movements_for(settings, now, date(2026, 1, 1), now.date())
    found = [(r["date"], r["type"], r["amount"], r["name"]) for r in rows]
    return sorted(found, key=lambda m: (m[0], m[3] or ""))


def test_example_20_setup_fee_on_the_next_invoice_is_not_mrr(tmp_path: Path) -> None:
    """$30/month from 1 Jan; a $500 setup fee added on 10 Jan waits for the 1 Feb renewal,
    whose invoice is $30 + $500 = $530. MRR stays 30.00: one-off items are excluded."""
    account = BillingAccount(at(1, 1, 0), seed=20)
    ada = account.create_customer("Ada", "ada@example.com", at(1, 1))
    plan = account.create_price(3000, "month", product="Pro", at=at(1, 1))
    account.subscribe(ada, [(plan, 1)], at(1, 1))
    account.add_invoice_item(ada, 50000, at(1, 10), description="Setup fee")
    now = at(2, 15)
    settings, outcome = synced(account, now, tmp_path)
    (renewal,) = [
        i for i in account.invoices.values() if i["billing_reason"] == "subscription_cycle"
    ]
    assert (renewal["total"], renewal["status"]) == (53000, "paid")
    assert outcome.disagreeing == 0  # the check is not confused by the one-off line
    assert mrr_on(settings, now, date(2026, 2, 14)) == 30.0
    assert movements(settings, now) == [("2026-01-01", "new", 30.0, "Ada")]


def test_a_one_off_invoice_without_a_subscription_is_stored_but_never_mrr(tmp_path: Path) -> None:
    """Bob pays a $500 setup fee and a $1,200 consulting day on their own invoice (no
    subscription); Ada pays $30/month. MRR 30.00 and one paying customer: Bob's $1,700 is cash."""
    account = BillingAccount(at(1, 1, 0), seed=21)
    ada = account.create_customer("Ada", "ada@example.com", at(1, 1))
    bob = account.create_customer("Bob", "bob@example.com", at(1, 1))
    plan = account.create_price(3000, "month", product="Pro", at=at(1, 1))
    account.subscribe(ada, [(plan, 1)], at(1, 1))
    account.add_invoice_item(bob, 50000, at(1, 5), description="Setup fee", currency="usd")
    account.add_invoice_item(bob, 120000, at(1, 5), description="Consulting day")
    one_off = account.create_invoice(bob, at(1, 5))
    now = at(1, 20)
    settings, outcome = synced(account, now, tmp_path)
    assert (one_off["parent"], one_off["total"], one_off["status"]) == (None, 170000, "paid")
    assert outcome.sync.objects["invoices"] == 2  # Ada's first invoice and Bob's one-off
    assert outcome.disagreeing == 0
    day = metrics_document(settings, now, date(2026, 1, 19), date(2026, 1, 19))["series"][0]
    assert (day["mrr"], day["customers"]) == (30.0, 1)
    assert movements(settings, now) == [("2026-01-01", "new", 30.0, "Ada")]


def test_a_credit_note_is_cash_not_a_movement(tmp_path: Path) -> None:
    """$100/month from 1 Jan; the first invoice also bills a $100 onboarding ($200 in all), and
    on 12 Jan a $200 credit note refunds all of it. MRR stays 100.00 and the only movement is
    new +100.00 on 1 Jan."""
    account = BillingAccount(at(1, 1, 0), seed=22)
    cleo = account.create_customer("Cleo", "cleo@example.com", at(1, 1))
    plan = account.create_price(10000, "month", product="Pro", at=at(1, 1))
    account.add_invoice_item(cleo, 10000, at(1, 1), description="Onboarding", currency="usd")
    sub = account.subscribe(cleo, [(plan, 1)], at(1, 1))
    first = account.invoices[sub["latest_invoice"]]
    note = account.issue_credit_note(first, 20000, at(1, 12), reason="product_unsatisfactory")
    now = at(1, 25)
    settings, outcome = synced(account, now, tmp_path)
    assert (first["total"], note["post_payment_amount"]) == (20000, 20000)
    assert first["post_payment_credit_notes_amount"] == 20000
    assert outcome.disagreeing == 0
    assert mrr_on(settings, now, date(2026, 1, 12)) == 100.0
    assert mrr_on(settings, now, date(2026, 1, 24)) == 100.0
    assert movements(settings, now) == [("2026-01-01", "new", 100.0, "Cleo")]


def dora_and_eli() -> tuple[BillingAccount, dict]:
    """Dora pays $50/month from 10 Mar (the merchant will delete her on 10 Jun at 15:00); Eli
    pays $20/month throughout, so the account is not empty after her."""
    account = BillingAccount(at(3, 1, 0), seed=23)
    plan = account.create_price(5000, "month", product="Pro", at=at(3, 1))
    small = account.create_price(2000, "month", product="Lite", at=at(3, 1))
    dora = account.create_customer("Dora", "dora@example.com", at(3, 10))
    account.subscribe(dora, [(plan, 1)], at(3, 10))
    eli = account.create_customer("Eli", "eli@example.com", at(3, 10))
    account.subscribe(eli, [(small, 1)], at(3, 10))
    return account, dora


DELETED_AT = at(6, 10, 15)


#: Dora: new +50.00 on 10 Mar, churn −50.00 on the deletion day; Eli: new +20.00 on 10 Mar.
DORA_AND_ELI = [
    ("2026-03-10", "new", 50.0, "Dora"),
    ("2026-03-10", "new", 20.0, "Eli"),
    ("2026-06-10", "churn", -50.0, "Dora"),
]


@pytest.mark.parametrize(
    "now",
    [at(6, 20), at(7, 25)],
    ids=["deleted-10-days-ago", "deleted-45-days-ago-events-gone"],
)
def test_a_deleted_customer_churns_on_the_deletion_day_and_keeps_her_name(
    db_url: str, now: datetime
) -> None:
    """The customer list no longer shows Dora; her canceled subscription and her invoices still
    list. 10 days later the ``customer.deleted`` event still has her; 45 days later only the
    retrieve's stub and her invoices' frozen ``customer_name`` do. Either way: churn −50.00 on
    10 Jun, voluntary (``cancellation_requested``), named."""
    account, dora = dora_and_eli()
    account.delete_customer(dora, DELETED_AT)
    settings, outcome = synced(account, now, db_url)
    assert outcome.disagreeing == 0
    assert movements(settings, now) == DORA_AND_ELI
    (churn,) = movements_for(settings, now, date(2026, 6, 10), date(2026, 6, 10))
    assert (churn["churn_reason"], churn["cancellation_reason"]) == (
        "voluntary", "cancellation_requested",
    )  # fmt: skip
    assert churn["email"] == "dora@example.com"
    # 9 Jun: 50 + 20 = 70.00; 10 Jun: 20.00 (Dora's subscription ended at 15:00).
    assert mrr_on(settings, now, date(2026, 6, 9)) == 70.0
    assert mrr_on(settings, now, date(2026, 6, 10)) == 20.0


def test_a_deletion_seen_by_an_incremental_sync_gives_the_same_history(tmp_path: Path) -> None:
    """A full sync on 10 Jun at noon (after that day's renewals), the deletion at 15:00, a
    credit note on Eli's June invoice at 16:00, an incremental sync on 20 Jun: the events pass
    records all of it (``customer.deleted``, ``customer.subscription.deleted``, the invoice a
    ``credit_note.created`` names), row for row as a fresh full sync does, and with the same
    movements."""
    account, dora = dora_and_eli()
    account.advance(at(6, 10, 12))
    with SimulatorServer(account.snapshot()) as server:
        settings = settings_for(server, tmp_path)
        assert sync_and_derive(settings, at(6, 10, 12)).sync.mode == "full"
        account.delete_customer(dora, DELETED_AT)
        (june,) = [i for i in account.invoices.values() if i["created"] == at(6, 10).timestamp()
                   and i["customer"] != dora["id"]]  # fmt: skip
        account.issue_credit_note(june, 500, at(6, 10, 16), reason="order_change")
        account.advance(at(6, 20))
        server.set_data(account.snapshot())
        incremental = sync_and_derive(settings, at(6, 20))
        fresh = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'fresh.db'}"})
        sync_and_derive(fresh, at(6, 20))
    assert incremental.sync.mode == "incremental"
    assert movements(settings, at(6, 20)) == DORA_AND_ELI
    since = int(at(6, 20).timestamp()) - EVENT_RETENTION_SECONDS
    inc_engine = open_database(settings.database_url)
    fresh_engine = open_database(fresh.database_url)
    try:
        assert synced_rows(inc_engine, since) == synced_rows(fresh_engine, since)
    finally:
        inc_engine.dispose()
        fresh_engine.dispose()
