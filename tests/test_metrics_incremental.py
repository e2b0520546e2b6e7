"""The derived tables kept up to date in place: after a sync that touched a few customers,
``update_derived_tables`` leaves ``mrr_movement``, ``daily_metrics`` and ``customer_result``
exactly as a full rebuild would, on SQLite and on PostgreSQL.

The account is a small simulated SaaS stored as the sync stores it; the "sync" continues the same
``BillingAccount`` (a cancellation now, one at the period end, an upgrade, a seat change, a new
customer, a few days of renewals, trials and dunning) and writes back every object that changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from stripe_kpi.metrics import CustomerResult, Movement
from stripe_kpi.metrics.cohorts import CohortLedger
from stripe_kpi.metrics.movements import TrialOutcome
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.data import StripeData
from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.store.engine import session_scope, upsert_rows
from stripe_kpi.store.rates import lazy_ecb_rates
from stripe_kpi.store.rows import decode_result, encode_result
from stripe_kpi.store.tables import recompute_derived_tables
from stripe_kpi.store.update import update_derived_tables
from stripe_kpi.sync import mapping
from stripe_kpi.sync.events import STORED_EVENTS, customers_in

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 2, 10, 15, tzinfo=UTC)
TZ = "Europe/Paris"  # days that do not start at midnight UTC, and a DST change in the window
KINDS = (
    "customers", "products", "prices", "coupons", "tax_rates", "discounts", "subscriptions",
    "invoices", "events",
)  # fmt: skip

Key = tuple[str, str]


def _objects(data: StripeData) -> dict[Key, dict[str, Any]]:
    return {(kind, key): obj for kind in KINDS for key, obj in data.objects.get(kind, {}).items()}


def _store(engine: Engine, objects: Iterable[dict[str, Any]]) -> set[str]:
    """Write objects as the sync writes them; return the customers they belong to."""
    rows: mapping.Rows = {}
    for obj in objects:
        if obj.get("object") == "event" and not obj["type"].startswith(STORED_EVENTS):
            continue
        mapping.merge_rows(rows, mapping.rows_for(obj))
    with session_scope(engine) as session:
        upsert_rows(session, rows)
    return customers_in(rows)


def _text(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS, default=str)


def _sync(engine: Engine, before: dict[Key, dict[str, Any]], account: BillingAccount) -> set[str]:
    """Store what changed since ``before``, as an incremental sync would."""
    after = _objects(account.snapshot())
    changed = [o for k, o in after.items() if k not in before or _text(o) != _text(before[k])]
    return _store(engine, changed)


def _tables(engine: Engine) -> dict[str, list[tuple]]:
    """The derived tables, ``mrr_movement`` without its autoincrement id."""
    queries = {
        "mrr_movement": "SELECT date, customer_id, type, amount, mrr_before, mrr_after, currency, "
        "churn_reason, subscription_ids FROM mrr_movement",
        "daily_metrics": "SELECT * FROM daily_metrics ORDER BY date",
        "customer_result": "SELECT * FROM customer_result ORDER BY customer_id",
        "cohort_month": "SELECT * FROM cohort_month",
        "segment_mrr": "SELECT * FROM segment_mrr",
        "customer_segment": "SELECT * FROM customer_segment",
        "committed_change": "SELECT * FROM committed_change",
    }
    with engine.connect() as connection:
        return {
            name: sorted(tuple(row) for row in connection.execute(text(sql)))
            for name, sql in queries.items()
        }


def _rebuild(engine: Engine, as_of: datetime, currency: str = "usd", tz: str = TZ) -> None:
    recompute_derived_tables(engine, currency=currency, tz=tz, as_of=as_of, workers=1)


def _update(
    engine: Engine, customers: Iterable[str], as_of: datetime, currency: str = "usd", tz: str = TZ
) -> Any:
    return update_derived_tables(engine, customers, currency=currency, tz=tz, as_of=as_of)


def _account(customers: int = 60, seed: int = 11) -> BillingAccount:
    return generate_account(seed=seed, customers=customers, start=START, end=END)


def _live(account: BillingAccount, *nicknames: str) -> list[dict[str, Any]]:
    """Active one-item USD subscriptions on these plans, oldest id first."""
    found = []
    for sub in sorted(account.subscriptions.values(), key=lambda s: s["id"]):
        items = sub["items"]["data"]
        if (
            sub["status"] == "active"
            and len(items) == 1
            and not sub["cancel_at_period_end"]
            and items[0]["price"].get("nickname") in nicknames
        ):
            found.append(sub)
    return found


def _price(account: BillingAccount, nickname: str) -> dict[str, Any]:
    return next(p for p in account.prices.values() if p.get("nickname") == nickname)


def _a_day_of_changes(account: BillingAccount) -> None:
    """Cancel now and at the period end, upgrade, add seats, sign a new customer up, then let
    three days pass (renewals, trials ending, dunning)."""
    t = END + timedelta(hours=2)
    monthly = _live(account, "starter_m", "pro_m")
    account.cancel(monthly[0], t, feedback="too_expensive")
    account.cancel(monthly[1], t, at_period_end=True)
    upgrade = monthly[2]
    account.change(upgrade, t + timedelta(minutes=5), price=_price(account, "pro_m"))
    seats = _live(account, "seats_m")[0]
    quantity = seats["items"]["data"][0]["quantity"]
    account.change(seats, t + timedelta(minutes=10), quantity=quantity + 3)
    newcomer = account.create_customer("Ada Newcomer", "ada@new.example", t + timedelta(minutes=12))
    account.subscribe(newcomer, [(_price(account, "starter_m"), 1)], t + timedelta(minutes=15))
    account.advance(END + timedelta(days=3, hours=4))


def test_update_after_a_sync_equals_a_full_rebuild(engine: Engine) -> None:
    account = _account()
    before = _objects(account.snapshot())
    _store(engine, before.values())
    _rebuild(engine, END)
    _a_day_of_changes(account)
    touched = _sync(engine, before, account)
    assert 5 <= len(touched) < 60
    as_of = account.now

    outcome = _update(engine, touched, as_of)

    assert outcome.full_reason is None
    assert outcome.customers >= len(touched)
    updated = _tables(engine)
    _rebuild(engine, as_of)
    assert updated == _tables(engine)
    assert updated["daily_metrics"][-1][0] == "2026-02-13"  # extended to the new last day


def test_twice_in_a_row_and_nothing_changed(engine: Engine) -> None:
    account = _account(seed=12)
    before = _objects(account.snapshot())
    _store(engine, before.values())
    _rebuild(engine, END)
    rebuilt = _tables(engine)
    outcome = _update(engine, [], END)
    assert (outcome.full_reason, outcome.customers, outcome.days) == (None, 0, 0)
    assert _tables(engine) == rebuilt

    _a_day_of_changes(account)
    touched = _sync(engine, before, account)
    first = _update(engine, sorted(touched)[: len(touched) // 2], account.now)
    second = _update(engine, sorted(touched)[len(touched) // 2 :], account.now)
    assert (first.full_reason, second.full_reason) == (None, None)
    updated = _tables(engine)
    _rebuild(engine, account.now)
    assert updated == _tables(engine)


def test_time_passing_without_a_sync(engine: Engine) -> None:
    """Trials end, scheduled cancellations and coupons run out, usage periods close: customers
    no sync touched change too, and are recomputed once their horizon has passed."""
    account = _account(seed=13)
    _store(engine, _objects(account.snapshot()).values())
    _rebuild(engine, END)
    later = END + timedelta(days=40)

    outcome = _update(engine, [], later)

    assert outcome.full_reason is None
    assert outcome.customers > 0
    updated = _tables(engine)
    _rebuild(engine, later)
    assert updated == _tables(engine)


def test_never_built_is_a_full_rebuild(engine: Engine) -> None:
    account = _account(customers=20, seed=14)
    _store(engine, _objects(account.snapshot()).values())

    outcome = _update(engine, ["cus_nobody"], END)

    assert outcome.full_reason == "the derived tables were never built"
    assert outcome.customers > 0
    updated = _tables(engine)
    _rebuild(engine, END)
    assert updated == _tables(engine)


@pytest.mark.parametrize(
    ("currency", "tz", "reason"),
    [
        ("eur", TZ, "the reporting currency changed from usd to eur"),
        ("usd", "America/New_York", f"the time zone changed from {TZ} to America/New_York"),
    ],
)
def test_another_currency_or_zone_is_a_full_rebuild(
    engine: Engine, currency: str, tz: str, reason: str
) -> None:
    account = _account(customers=20, seed=15)
    _store(engine, _objects(account.snapshot()).values())
    _rebuild(engine, END)

    outcome = _update(engine, [], END, currency=currency, tz=tz)

    assert outcome.full_reason == reason
    updated = _tables(engine)
    assert {row[1] for row in updated["daily_metrics"]} == {currency}
    _rebuild(engine, END, currency=currency, tz=tz)
    assert updated == _tables(engine)


def test_an_earlier_as_of_is_a_full_rebuild(engine: Engine) -> None:
    account = _account(customers=20, seed=16)
    _store(engine, _objects(account.snapshot()).values())
    _rebuild(engine, END)
    outcome = _update(engine, [], END - timedelta(days=2))
    assert outcome.full_reason == "as_of is earlier than the derived tables"


def test_ranges_of_customers_give_the_same_tables(sqlite_url: str) -> None:
    from stripe_kpi.store.engine import open_database

    engine = open_database(sqlite_url)
    try:
        account = _account(customers=80, seed=17)
        _store(engine, _objects(account.snapshot()).values())
        _rebuild(engine, END)
        alone = _tables(engine)
        recompute_derived_tables(engine, currency="usd", tz=TZ, as_of=END, workers=2)
        assert _tables(engine) == alone
        # A rate function of its own keeps the ranges in this process, one after the other.
        rate = lazy_ecb_rates()
        recompute_derived_tables(engine, currency="usd", tz=TZ, as_of=END, workers=2, rate=rate)
        assert _tables(engine) == alone
    finally:
        engine.dispose()


def test_customer_results_round_trip() -> None:
    result = CustomerResult(
        "cus_1",
        ((739000, 5000), (739031, 0)),
        ((739020, 5000), (739031, 0)),
        (
            Movement(739000, "cus_1", "new", 5000, 0, 5000, None, ("sub_1",)),
            Movement(739031, "cus_1", "churn", -5000, 5000, 0, "involuntary", ("sub_1", "sub_2")),
        ),
        (TrialOutcome("sub_1", 738999, True),),
    )
    assert decode_result("cus_1", encode_result(result)) == result


def test_the_tables_hold_what_the_metrics_layer_computes(engine: Engine) -> None:
    """The rows written in parts (per worker) are the metrics' own ``mrr_movement_rows`` and
    ``daily_metrics_rows`` of the whole account."""
    from stripe_kpi.metrics import daily_metrics_rows, mrr_movement_rows
    from stripe_kpi.store.partition import compute_account

    account = _account(customers=40, seed=18)
    _store(engine, _objects(account.snapshot()).values())
    _rebuild(engine, END)
    computed = compute_account(engine, currency="usd", tz=TZ, as_of=END, workers=1)
    movement_columns = (
        "date", "customer_id", "type", "amount", "mrr_before", "mrr_after", "currency",
        "churn_reason", "subscription_ids",
    )  # fmt: skip
    expected_movements = sorted(
        tuple(row[c] for c in movement_columns)
        for row in mrr_movement_rows(computed.movements(), "usd")
    )
    tables = _tables(engine)
    assert tables["mrr_movement"] == expected_movements
    with engine.connect() as connection:
        days = connection.execute(text("SELECT * FROM daily_metrics ORDER BY date"))
        assert [dict(row._mapping) for row in days] == daily_metrics_rows(computed)
    expected_cohorts = CohortLedger(computed.customers.values()).cells(computed.last_day)
    assert tables["cohort_month"] == sorted(
        (cohort.isoformat(), since, "usd", *figures) for cohort, since, *figures in expected_cohorts
    )
    assert len({row[0] for row in tables["cohort_month"]}) >= 12  # a cohort a month, or near
