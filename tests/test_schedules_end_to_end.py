"""Subscription schedules end to end: simulator server → HTTP sync → database → metrics.

Each figure is worked out by hand in the comment beside it (USD, UTC, one customer alone on an
account). A phase's change is an expansion or contraction on the day the phase starts; a phase
that has not started yet is not in today's MRR; ``end_behavior=cancel`` churns on the
schedule's end date; and a change no invoice shows yet (no proration, a yearly price) is dated
at its phase's start, where nothing else in the database dates it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from stripe_kpi.metrics import compute
from stripe_kpi.metrics.computation import Computed
from stripe_kpi.metrics.reconcile import check_subscriptions
from stripe_kpi.metrics.records import SchedulePhase, SubscriptionSchedule
from stripe_kpi.simulator.billing import BillingAccount, Phase
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.load import load
from stripe_kpi.sync.run import sync
from tests.metrics_factories import no_rates
from tests.sync_support import fast_client


def on(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def synced(account: BillingAccount, until: datetime, tmp_path: Path) -> tuple[Computed, list]:
    """Let the account run to ``until``, sync it over HTTP into a fresh database, compute the
    metrics and ``stripe-kpi check``'s verdicts at ``until`` from what the database holds."""
    account.advance(until)
    engine = open_database(f"sqlite:///{tmp_path / f'kpi-{until:%Y%m%d}.db'}")
    try:
        with SimulatorServer(account.snapshot()) as server, fast_client(server) as client:
            sync(engine, client, now=server.data.now, concurrency=2)
        with engine.connect() as connection:
            history = load(connection, None)
    finally:
        engine.dispose()
    assert history.schedules  # the schedule reached the metrics through the table
    computed = compute(history, currency="usd", tz="UTC", as_of=until, rate=no_rates)
    checks = check_subscriptions(history, currency="usd", as_of=until, rate=no_rates)
    return computed, checks


def moves(computed: Computed) -> list[tuple[date, str, int]]:
    return [(date.fromordinal(m.day), m.type, m.amount) for m in computed.movements()]


def mrr(computed: Computed, day: date) -> int:
    return computed.ledger.level("mrr", day.toordinal())


def thirty_then_fifty(end_behavior: str = "release") -> BillingAccount:
    """$30/month from 1 Mar 2026; on 10 Mar a schedule moves it to $50/month on 1 May."""
    account = BillingAccount(on(2026, 3, 1), seed=12)
    ada = account.create_customer("Ada", "ada@example.com", on(2026, 3, 1))
    thirty = account.create_price(3000, product="Basic", at=on(2026, 3, 1))
    fifty = account.create_price(5000, product="Pro", at=on(2026, 3, 1))
    sub = account.subscribe(ada, [(thirty, 1)], on(2026, 3, 1))
    account.create_schedule(
        sub,
        [Phase(on(2026, 5, 1), [(fifty, 1)])],
        end=on(2026, 8, 1),
        end_behavior=end_behavior,  # type: ignore[arg-type]
        at=on(2026, 3, 10),
    )
    return account


def test_a_scheduled_upgrade_is_an_expansion_on_its_phase_start(tmp_path: Path) -> None:
    computed, checks = synced(thirty_then_fifty(), on(2026, 6, 15), tmp_path)
    # new +30.00 on 1 Mar; the phase of 1 May: 50.00 − 30.00 = expansion +20.00.
    assert moves(computed) == [
        (date(2026, 3, 1), "new", 3000),
        (date(2026, 5, 1), "expansion", 2000),
    ]
    assert mrr(computed, date(2026, 4, 30)) == 3000
    assert mrr(computed, date(2026, 5, 1)) == 5000
    assert mrr(computed, date(2026, 6, 15)) == 5000
    assert [c.outcome for c in checks] == ["reconciles"]


def test_a_phase_not_started_yet_is_not_in_todays_mrr(tmp_path: Path) -> None:
    computed, checks = synced(thirty_then_fifty(), on(2026, 4, 20), tmp_path)
    # Synced on 20 Apr: the $50 phase starts 1 May. Today's MRR is the $30 being billed.
    assert moves(computed) == [(date(2026, 3, 1), "new", 3000)]
    assert mrr(computed, date(2026, 4, 20)) == 3000
    assert [c.outcome for c in checks] == ["reconciles"]


def test_end_behavior_cancel_churns_on_the_schedules_end(tmp_path: Path) -> None:
    computed, _ = synced(thirty_then_fifty("cancel"), on(2026, 9, 15), tmp_path)
    # new +30.00 on 1 Mar, expansion +20.00 on 1 May, the schedule ends 1 Aug: churn −50.00.
    assert moves(computed) == [
        (date(2026, 3, 1), "new", 3000),
        (date(2026, 5, 1), "expansion", 2000),
        (date(2026, 8, 1), "churn", -5000),
    ]
    assert mrr(computed, date(2026, 7, 31)) == 5000
    assert mrr(computed, date(2026, 8, 1)) == 0


def test_an_uninvoiced_phase_change_is_dated_at_its_phase_start(tmp_path: Path) -> None:
    """$1,200/year from 1 Jan 2026 (MRR 100.00); a schedule doubles the seats on 15 Mar without
    proration. No invoice shows it until January 2027 and Stripe's events of 15 Mar are gone
    by the sync of 1 Jun (30 days kept): only the schedule's phase dates it."""
    account = BillingAccount(on(2026, 1, 1), seed=13)
    ada = account.create_customer("Ada", "ada@example.com", on(2026, 1, 1))
    yearly = account.create_price(120000, "year", product="Seats", at=on(2026, 1, 1))
    sub = account.subscribe(ada, [(yearly, 1)], on(2026, 1, 1))
    account.create_schedule(
        sub,
        [Phase(on(2026, 3, 15), [(yearly, 2)], proration_behavior="none")],
        end=on(2027, 1, 1),
        at=on(2026, 2, 1),
    )
    computed, checks = synced(account, on(2026, 6, 1), tmp_path)
    # new +100.00 on 1 Jan (1,200 / 12); 2 seats from 15 Mar: 200.00 − 100.00 = +100.00.
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 10000),
        (date(2026, 3, 15), "expansion", 10000),
    ]
    assert mrr(computed, date(2026, 3, 14)) == 10000
    assert mrr(computed, date(2026, 6, 1)) == 20000
    assert [(c.outcome, c.why) for c in checks] == [("not_comparable", "changed_since_invoice")]
    assert checks[0].detail.endswith("schedule phase from 2026-03-15")


def test_which_phases_have_started_is_read_off_the_schedule() -> None:
    """Never a clock: the status and its instant say which phases ran (1, 2, 3 = their starts)."""
    phases = tuple(SchedulePhase(start, start + 1) for start in (1, 2, 3))

    def started(status: str, **times: int) -> list[int]:
        schedule = SubscriptionSchedule("sub_sched_x", "cus_x", status, 0, phases=phases, **times)
        return [p.start_date for p in schedule.started_phases()]

    assert started("not_started") == []
    assert started("active", current_phase_start=2) == [1, 2]
    assert started("completed", completed_at=4) == [1, 2, 3]
    assert started("released", released_at=2) == [1, 2]  # released during its second phase
    assert started("canceled", canceled_at=1) == [1]


def test_a_ramp_between_invoices_is_dated_phase_by_phase(tmp_path: Path) -> None:
    """$1,200/year a seat from 1 Jan 2026; a ramp without proration: 2 seats from 15 Mar, 3 from
    15 May. Synced on 1 Jul, no invoice and no kept event shows either step: each phase
    dates its own, with the quantity the phase lists."""
    account = BillingAccount(on(2026, 1, 1), seed=14)
    ada = account.create_customer("Ada", "ada@example.com", on(2026, 1, 1))
    yearly = account.create_price(120000, "year", product="Seats", at=on(2026, 1, 1))
    sub = account.subscribe(ada, [(yearly, 1)], on(2026, 1, 1))
    account.create_schedule(
        sub,
        [
            Phase(on(2026, 3, 15), [(yearly, 2)], proration_behavior="none"),
            Phase(on(2026, 5, 15), [(yearly, 3)], proration_behavior="none"),
        ],
        end=on(2027, 1, 1),
        at=on(2026, 2, 1),
    )
    computed, _ = synced(account, on(2026, 7, 1), tmp_path)
    # new +100.00 (1,200 / 12); 15 Mar: 200.00 − 100.00 = +100.00; 15 May: 300.00 − 200.00.
    assert moves(computed) == [
        (date(2026, 1, 1), "new", 10000),
        (date(2026, 3, 15), "expansion", 10000),
        (date(2026, 5, 15), "expansion", 10000),
    ]
    assert mrr(computed, date(2026, 7, 1)) == 30000
