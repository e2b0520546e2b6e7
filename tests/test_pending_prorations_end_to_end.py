"""A seat change on a yearly plan, older than the events Stripe keeps, dated by its pending
prorations: simulator → HTTP → sync → database → metrics and ``check``.

5 seats × $120/year from 1 Jan 2026; on 10 Mar 8 seats with ``create_prorations`` (the two
prorations wait for the renewal of 1 Jan 2027); the account is read on 1 Jun, 83 days later,
when Stripe no longer keeps the ``customer.subscription.updated`` event of 10 Mar. Only the
pending invoice items (``GET /v1/invoiceitems?pending=true``) say when the seats changed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.partition import compute_account, reconcile_account
from stripe_kpi.sync import sync
from tests.sync_support import fast_client

END = datetime(2026, 6, 1, 12, tzinfo=UTC)


def on(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def account() -> BillingAccount:
    acct = BillingAccount(datetime(2026, 1, 1, tzinfo=UTC), seed=3)
    ada = acct.create_customer("Ada", "ada@example.com")
    seats = acct.create_price(12_000, "year", product="Seats")
    sub = acct.subscribe(ada, [(seats, 5)], on(1, 1))
    acct.change(sub, on(3, 10), quantity=8, proration_behavior="create_prorations")
    acct.advance(END)
    return acct


@pytest.fixture
def synced(account: BillingAccount, db_url: str) -> str:
    engine = open_database(db_url)
    with SimulatorServer(account.snapshot()) as server, fast_client(server) as client:
        sync(engine, client, now=int(END.timestamp()), concurrency=2)
    engine.dispose()
    return db_url


def test_the_events_of_the_change_are_gone(account: BillingAccount) -> None:
    """The premise: nothing but the pending items dates 10 Mar."""
    data = account.snapshot()
    assert [e["type"] for e in data.objects["events"].values()] == []
    pending = [ii for ii in data.objects["invoiceitems"].values() if ii["invoice"] is None]
    assert sorted(ii["quantity"] for ii in pending) == [5, 8]


def test_example_seat_change_on_a_yearly_plan_dated_by_its_pending_prorations(
    synced: str,
) -> None:
    """MRR 5 × $120 / 12 = $50.00 from 1 Jan; 8 × $120 / 12 = $80.00 from 10 Mar: expansion
    +$30.00 (3 seats × $10/month) on 10 Mar, not a new $80.00 on 1 Jan (what the subscription
    as it is now, undated, would say); MRR $80.00 on 1 Jun."""
    engine = open_database(synced)
    try:
        computed = compute_account(engine, currency="usd", tz="UTC", as_of=END)
        checks = reconcile_account(engine, currency="usd", as_of=END)
    finally:
        engine.dispose()
    moves = [(date.fromordinal(m.day), m.type, m.amount) for m in computed.movements()]
    assert moves == [(date(2026, 1, 1), "new", 5_000), (date(2026, 3, 10), "expansion", 3_000)]
    assert computed.ledger.level("mrr", date(2026, 3, 9).toordinal()) == 5_000
    assert computed.ledger.level("mrr", date(2026, 6, 1).toordinal()) == 8_000
    # check: the 1 Jan invoice bills 5 seats, the subscription has 8; the pending prorations
    # restate it: 8 × $120 / 12 = $80.00 billed from the next renewal, as the metrics say.
    (check,) = checks
    assert (check.outcome, check.metrics_mrr, check.invoiced_mrr) == ("reconciles", 8_000, 8_000)
