"""The sync and the metrics survive the keys Stripe leaves out, over HTTP, numbers unchanged.

A real account leaves optional keys out of its JSON where the simulator used to send ``null``
(``simulator/objects/omitted.py``: a metered item's ``quantity``, an invoice's
``threshold_reason``, a customer's ``business_name``…). Here the simulator serves them absent;
a full sync then an incremental one store the account, and the metrics read it: the movements
are the ones worked out by hand below, and the same as those computed from the engine's own
objects, which still hold every key as ``null`` (the path that never meets an absent key).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import Engine, text

from stripe_kpi.metrics import compute, inputs_from_rows
from stripe_kpi.metrics.computation import Computed
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.partition import compute_account
from stripe_kpi.sync.lists import EVENT_RETENTION_SECONDS
from stripe_kpi.sync.mapping import merge_rows, rows_for
from stripe_kpi.sync.run import sync
from tests.metrics_factories import no_rates
from tests.sync_support import fast_client, synced_rows

START = datetime(2026, 1, 1, tzinfo=UTC)
#: The lists whose objects this account's metrics read (it has no credit notes; its one-off
#: setup fee is invoiced, so no invoice item is left pending).
_METRIC_KINDS = ("customers", "products", "prices", "coupons", "tax_rates", "subscriptions")
_METRIC_KINDS += ("invoices", "events")


def on(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _first_month() -> tuple[BillingAccount, dict, dict]:
    """Ada on 2 seats at $10 a month and a metered API item at 5¢ a call from Jan 1, 3 seats
    from Jan 15 (prorated), 40 calls on Jan 20 and a $25 setup fee on Jan 16; Hedy on 1 seat
    from Jan 2, whose card fails from her first renewal on. Run until Feb 3."""
    account = BillingAccount(START, seed=5)
    seats = account.create_price(1000, "month", product="Seats", at=START)
    calls = account.create_price(5, "month", product="API", usage_type="metered", at=START)
    ada = account.create_customer("Ada", "ada@example.com", on(1, 1))
    ada_sub = account.subscribe(ada, [(seats, 2), (calls, None)], on(1, 1))
    hedy = account.create_customer("Hedy", "hedy@example.com", on(1, 2))
    hedy_sub = account.subscribe(hedy, [(seats, 1)], on(1, 2))
    account.fail_payments(hedy_sub, on(1, 3))
    seat_item, calls_item = ada_sub["items"]["data"]
    account.change(ada_sub, on(1, 15), quantity=3, item=seat_item)
    account.add_invoice_item(ada, 2500, on(1, 16), description="Setup fee")
    account.report_usage(ada_sub, calls_item, 40, on(1, 20))
    account.advance(on(2, 3))
    return account, ada_sub, hedy_sub


#: Worked out by hand (METRICS.md §1–2, one movement per customer and day), by Feb 3:
#: - Jan 1, Ada: 2 seats × $10 = $20 new (the metered item counts $0 until a usage period ends);
#: - Jan 2, Hedy: 1 seat × $10 = $10 new;
#: - Jan 15, Ada: 3 seats, +$10 expansion;
#: - Feb 1, Ada: her first usage period (Jan 1 – Feb 1) ended with 40 calls × 5¢ = $2, which
#:   counts from the next period's start: +$2 expansion. (Hedy's Feb 2 renewal failed: past
#:   due, her $10 still counts.)
BY_FEB_3 = [
    (date(2026, 1, 1), "new", 2000),
    (date(2026, 1, 2), "new", 1000),
    (date(2026, 1, 15), "expansion", 1000),
    (date(2026, 2, 1), "expansion", 200),
]
#: Then, by Mar 1: Hedy's renewal is retried 3, 5 and 7 days later (Feb 5, 10, 17); after the
#: last failure the invoice is marked uncollectible (``status_details`` set) and the
#: subscription canceled (the default dunning): −$10 churn on Feb 17. Ada renews on Mar 1 at
#: 00:00 with no usage in February: her metered $2 ends, −$2 contraction that day.
BY_MAR_1 = [
    *BY_FEB_3,
    (date(2026, 2, 17), "churn", -1000),
    (date(2026, 3, 1), "contraction", -200),
]


def _moves(computed: Computed) -> list[tuple[date, str, int]]:
    return [(date.fromordinal(m.day), m.type, m.amount) for m in computed.movements()]


def _from_http(engine: Engine, as_of: datetime) -> list[tuple[date, str, int]]:
    computed = compute_account(engine, currency="usd", tz="UTC", as_of=as_of, workers=1)
    return _moves(computed)


def _from_the_engine(account: BillingAccount, as_of: datetime) -> list[tuple[date, str, int]]:
    """The same metrics from the engine's objects, every optional key there as ``null``."""
    rows: dict[str, list[dict]] = {}
    for kind in _METRIC_KINDS:
        for obj in account.snapshot().objects[kind].values():
            merge_rows(rows, rows_for(obj))
    computed = compute(inputs_from_rows(rows), currency="usd", tz="UTC", as_of=as_of, rate=no_rates)
    return _moves(computed)


def _raw(engine: Engine, table: str, object_id: str) -> dict:
    with engine.connect() as connection:
        found = connection.execute(
            text(f"SELECT raw FROM {table} WHERE id = :id"), {"id": object_id}
        ).scalar_one()
    return json.loads(found)


def test_a_sync_of_an_account_with_omitted_keys_gives_the_hand_worked_movements(tmp_path) -> None:
    account, ada_sub, hedy_sub = _first_month()
    kept = open_database(f"sqlite:///{tmp_path / 'kept.db'}")
    fresh = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
    with SimulatorServer(account.snapshot()) as server, fast_client(server) as client:
        first = sync(kept, client, now=server.data.now, concurrency=2)
        # What reached the database is what Stripe sends: the keys are absent, not null.
        assert "presentment_details" not in _raw(kept, "subscription", ada_sub["id"])
        seat, metered = (_raw(kept, "subscription_item", i["id"]) for i in ada_sub["items"]["data"])
        assert (seat["quantity"], "quantity" in metered) == (3, False)
        assert "business_name" not in _raw(kept, "customer", ada_sub["customer"])
        invoice = _raw(kept, "invoice", ada_sub["latest_invoice"])
        assert "threshold_reason" not in invoice
        assert "confirmation_secret" not in invoice
        assert _from_http(kept, on(2, 3)) == BY_FEB_3
        account.advance(on(3, 1, 12))  # past 10:00, when Mar 1's drafts finalize
        server.set_data(account.snapshot())
        second = sync(kept, client, now=server.data.now, concurrency=2)
        sync(fresh, client, now=server.data.now, concurrency=2)
    assert (first.mode, second.mode) == ("full", "incremental")
    stored = account.snapshot().objects["invoices"].values()
    hedy = [_raw(kept, "invoice", i["id"]) for i in stored if i["customer"] == hedy_sub["customer"]]
    assert [i.get("status_details") for i in hedy] == [
        None,  # her first invoice, paid: the key is absent
        {"uncollectible": {"reason": "max_payment_attempts"}},  # the failed renewal
    ]
    assert ["status_details" in i for i in hedy] == [False, True]
    assert _from_http(kept, on(3, 1, 12)) == BY_MAR_1
    assert _from_the_engine(account, on(3, 1, 12)) == BY_MAR_1
    since = int(on(3, 1, 12).timestamp()) - EVENT_RETENTION_SECONDS
    assert synced_rows(kept, since) == synced_rows(fresh, since)
    kept.dispose()
    fresh.dispose()
