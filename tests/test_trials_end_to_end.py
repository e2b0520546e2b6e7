"""Trials that end without a payment method, end to end: simulated Stripe over HTTP → sync →
database → metrics.

Six customers, each a 14-day trial of $30/month from 1 Mar 2026 00:00 UTC without a card (the
trial ends 15 Mar 00:00), one per way such a trial can go (figures by hand, METRICS.md §1–§3):

- paused_resumed: pause; adds a card and resumes 20 Mar 10:00 → MRR 0 until 19 Mar, new +30.00
  on 20 Mar (paused counts zero; the resumption invoice is the first payment).
- paused_canceled: pause; the merchant cancels it 25 Mar → no movement at all.
- still_paused: pause; nothing more → no movement; paused now.
- dunned: create_invoice; without a card the payment fails 15 Mar 01:00 and at the retries of
  18, 23 and 30 Mar 01:00 (3, 5, 7 days), then dunning cancels it (``payment_failed``) → new
  +30.00 on 15 Mar (past_due counts), churn −30.00 on 30 Mar, involuntary.
- late_card: create_invoice; adds a card 20 Mar, paid at the 23 Mar retry → new +30.00 on 15 Mar.
- canceled: cancel → no movement at all.

March: six trials ended (15 Mar), two had MRR at that day's end (dunned and late_card, past due):
trial conversion 2 of 6. MRR at the end of 31 Mar: 30 (paused_resumed) + 30 (late_card) = 60.00.

The account is synced twice: on 1 Apr (the March events are kept: the pause and resume are known
from ``customer.subscription.paused``/``resumed``) and on 30 Jun (Stripe no longer returns them:
the pause is read off the invoices). Both must tell the same March.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select

from stripe_kpi.metrics import period_kpis
from stripe_kpi.metrics.computation import Computed
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.data import StripeData
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.models import Event, Subscription
from stripe_kpi.store.partition import compute_account
from stripe_kpi.sync import sync
from tests.sync_support import fast_client

EARLY = datetime(2026, 4, 1, 12, tzinfo=UTC)
LATE = datetime(2026, 6, 30, 12, tzinfo=UTC)


def on(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _script() -> tuple[dict[str, StripeData], dict[str, str]]:
    acct = BillingAccount(on(1, 1), seed=12)
    price = acct.create_price(3000, "month", product="Pro", at=on(2, 1))
    behaviors = {
        "paused_resumed": "pause",
        "paused_canceled": "pause",
        "still_paused": "pause",
        "dunned": "create_invoice",
        "late_card": "create_invoice",
        "canceled": "cancel",
    }
    customers, subs = {}, {}
    for name, behavior in behaviors.items():
        customers[name] = acct.create_customer(
            name, f"{name}@example.com", on(3, 1), payment_method=False
        )
        subs[name] = acct.subscribe(
            customers[name], [(price, 1)], on(3, 1), trial_days=14, trial_end_behavior=behavior
        )
    acct.add_payment_method(customers["paused_resumed"], on(3, 20, 10))
    acct.resume(subs["paused_resumed"], on(3, 20, 10))
    acct.add_payment_method(customers["late_card"], on(3, 20, 10))
    acct.cancel(subs["paused_canceled"], on(3, 25))
    acct.advance(EARLY)
    early = acct.snapshot()
    acct.advance(LATE)
    return {"early": early, "late": acct.snapshot()}, {n: c["id"] for n, c in customers.items()}


@pytest.fixture(scope="module")
def script() -> tuple[dict[str, StripeData], dict[str, str]]:
    return _script()


_SYNCS = [
    pytest.param(("early", "sqlite"), id="early-sqlite"),
    pytest.param(("late", "sqlite"), id="late-sqlite"),
    pytest.param(("early", "postgres"), id="early-postgres", marks=pytest.mark.postgres),
    pytest.param(("late", "postgres"), id="late-postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="module", params=_SYNCS)
def synced(
    request: pytest.FixtureRequest, script, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Computed, dict[str, str], Engine]]:
    """One sync per moment and database, shared by the module's tests (they only read)."""
    snapshots, ids = script
    moment, backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('trials') / 'stripe_kpi.db'}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"trials_{moment}")
    engine = open_database(url)
    now = EARLY if moment == "early" else LATE
    with SimulatorServer(snapshots[moment]) as server, fast_client(server) as client:
        sync(engine, client, now=int(now.timestamp()), concurrency=2)
    yield compute_account(engine, currency="usd", tz="UTC", as_of=now, workers=1), ids, engine
    engine.dispose()


def _moves(computed: Computed, customer_id: str) -> list[tuple[date, str, int, str | None]]:
    return [
        (date.fromordinal(m.day), m.type, m.amount, m.churn_reason)
        for m in computed.movements(date(2026, 3, 1), date(2026, 3, 31))
        if m.customer_id == customer_id
    ]


def _mrr(computed: Computed, day: date) -> int:
    return computed.ledger.level("mrr", day.toordinal())


def test_a_paused_trial_resumed_on_20_march_is_new_that_day(synced) -> None:
    computed, ids, _ = synced
    assert _moves(computed, ids["paused_resumed"]) == [(date(2026, 3, 20), "new", 3000, None)]


def test_a_paused_trial_that_never_resumed_made_no_movement(synced) -> None:
    computed, ids, _ = synced
    assert _moves(computed, ids["paused_canceled"]) == []
    assert _moves(computed, ids["still_paused"]) == []


def test_an_invoiced_trial_that_never_pays_is_new_then_an_involuntary_churn(synced) -> None:
    computed, ids, _ = synced
    assert _moves(computed, ids["dunned"]) == [
        (date(2026, 3, 15), "new", 3000, None),
        (date(2026, 3, 30), "churn", -3000, "involuntary"),
    ]
    assert _moves(computed, ids["late_card"]) == [(date(2026, 3, 15), "new", 3000, None)]


def test_a_trial_canceled_at_its_end_made_no_movement(synced) -> None:
    computed, ids, _ = synced
    assert _moves(computed, ids["canceled"]) == []


def test_march_mrr_and_trial_conversion(synced) -> None:
    computed, _, _ = synced
    # Until 14 Mar: all six trialing. 15–19 Mar: dunned + late_card past due/active = 60.00.
    # 20–29 Mar: + paused_resumed = 90.00. 30–31 Mar: dunned churned = 60.00.
    assert [_mrr(computed, date(2026, 3, d)) for d in (14, 15, 19, 20, 29, 30, 31)] == [
        0, 6000, 6000, 9000, 9000, 6000, 6000,
    ]  # fmt: skip
    kpis = period_kpis(computed, date(2026, 3, 1), date(2026, 3, 31))
    assert (kpis.trials_ended, kpis.trials_converted) == (6, 2)


def test_the_paused_status_and_its_events_are_stored(synced) -> None:
    """The sync stores every ``customer.subscription.*`` event Stripe still returns: on 1 Apr the
    pause (15 Mar) and the resume (20 Mar); on 30 Jun neither (older than 30 days)."""
    computed, ids, engine = synced
    with engine.connect() as connection:
        rows = connection.execute(select(Subscription.customer_id, Subscription.status)).all()
        kinds = set(connection.execute(select(Event.type).distinct()).scalars())
    statuses = dict(rows)
    assert statuses[ids["still_paused"]] == "paused"
    assert statuses[ids["paused_resumed"]] == "active"
    assert statuses[ids["paused_canceled"]] == "canceled"
    pause_events = {"customer.subscription.paused", "customer.subscription.resumed"}
    kept = pause_events & kinds
    assert kept == (pause_events if computed.as_of == EARLY else set())
