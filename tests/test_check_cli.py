"""`stripe-kpi check` end to end: the demo account (``generate_account``) synced over HTTP from the
simulator, on SQLite and on PostgreSQL, then checked through the CLI.

The demo account must reconcile: every subscription the metrics can compare with an invoice
agrees with it. Then two rows are made wrong on purpose (a seat count, a coupon the sync "missed")
and the check must name those two subscriptions, with the cause, and exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.models import table
from stripe_kpi.store.partition import compute_account, reconcile_account
from stripe_kpi.store.tables import rebuild_and_check
from stripe_kpi.sync import sync
from tests.sync_support import cli_env, fast_client

runner = CliRunner()
END = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_data() -> Any:
    account = generate_account(
        seed=7, customers=250, start=datetime(2024, 6, 1, tzinfo=UTC), end=END
    )
    return account.snapshot()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def synced(
    request: pytest.FixtureRequest, demo_data: Any, tmp_path_factory: pytest.TempPathFactory
) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('check') / 'kpi.db'}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database("check_demo")
    engine = open_database(url)
    with SimulatorServer(demo_data) as server, fast_client(server) as client:
        sync(engine, client, now=int(END.timestamp()), concurrency=2)
    engine.dispose()
    return url


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, synced: str, tmp_path) -> str:
    cli_env(monkeypatch, synced, END, tmp_path)
    return synced


@pytest.fixture
def engine(env: str) -> Iterator[Engine]:
    eng = open_database(env)
    yield eng
    eng.dispose()


def check_json() -> tuple[int, dict]:
    result = runner.invoke(app, ["check", "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_the_demo_account_has_cash_events_to_reconcile_around(demo_data: Any) -> None:
    """What the check must not be confused by is in the account it checks: one-off invoices
    (no subscription), credit notes, and a deleted customer (listed no more, history kept)."""
    objects = demo_data.objects
    assert [c for c in objects["customers"].values() if c.get("deleted")]
    assert len(objects["credit_notes"]) >= 3
    one_offs = [i for i in objects["invoices"].values() if i["parent"] is None]
    assert len(one_offs) >= 3


def test_the_demo_account_reconciles(env: str) -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()[-1]
    assert "subscriptions reconcile (100.0 % of the MRR compared)" in summary
    code, document = check_json()
    assert code == 0
    counts = document["summary"]
    assert counts["disagreeing"] == 0
    assert counts["share_reconciled"] == 1.0
    assert counts["reconciling"] + counts["not_comparable"] == counts["checked"] > 150
    # Not comparable: changed since the latest invoice, which only the next one will state (a
    # seat change prorated onto it, a yearly plan switched months ago). Few, and only those.
    odd = [s for s in document["subscriptions"] if s["outcome"] == "not_comparable"]
    assert {s["why"] for s in odd} <= {"changed_since_invoice", "change_undated"}
    assert len(odd) <= 0.05 * counts["checked"]
    assert counts["share_not_comparable"] < 0.1


def test_changes_dated_by_pending_prorations_older_than_the_events_are_compared(
    engine: Engine,
) -> None:
    """The demo's plan changes on yearly plans (``create_prorations``) leave prorations pending
    until the renewal, months after the events of the change are gone; the check restates the
    latest invoice by them and compares it: these subscriptions reconcile."""
    since = int(END.timestamp()) - 30 * 86_400
    with engine.connect() as connection:
        old = connection.execute(
            text(
                "SELECT DISTINCT subscription_id FROM pending_invoice_item "
                "WHERE proration AND period_start < :since ORDER BY subscription_id"
            ),
            {"since": since},
        ).scalars().all()  # fmt: skip
    assert len(old) >= 2
    _, document = check_json()
    outcomes = {s["subscription_id"]: s["outcome"] for s in document["subscriptions"]}
    assert {outcomes[sub] for sub in old if sub in outcomes} == {"reconciles"}


def test_the_checks_mrr_is_the_metrics_mrr(engine: Engine) -> None:
    """Summed over the subscriptions checked, the metrics' figure is the account's MRR now: the
    check reads the number a founder sees, not one of its own."""
    computed = compute_account(engine, currency="usd", tz="UTC", as_of=END)
    checks = reconcile_account(engine, currency="usd", as_of=END, workers=2)
    assert sum(c.mrr for c in checks) == computed.ledger.level("mrr", computed.last_day.toordinal())
    assert checks == reconcile_account(engine, currency="usd", as_of=END, workers=1)


def _candidates(engine: Engine) -> tuple[dict, dict]:
    """A reconciling monthly per-seat subscription without discounts whose latest invoice is in the
    events the database holds, and one with a 15 % coupon forever (FRIENDS15)."""
    _, document = check_json()
    good = {s["subscription_id"]: s for s in document["subscriptions"] if s["why"] is None}
    with engine.connect() as connection:
        since = connection.execute(text("SELECT min(created) FROM event")).scalar()
        seats = connection.execute(
            text(
                "SELECT s.id, i.id, i.quantity, p.unit_amount FROM subscription s "
                "JOIN subscription_item i ON i.subscription_id = s.id "
                "JOIN price p ON p.id = i.price_id "
                "JOIN invoice v ON v.id = s.latest_invoice_id "
                "WHERE p.billing_scheme = 'per_unit' AND p.recurring_interval = 'month' "
                "AND p.recurring_interval_count = 1 "
                "AND i.quantity >= 2 AND s.discount_ids = '[]' AND s.currency = 'usd' "
                "AND v.created > :since ORDER BY s.id"
            ),
            {"since": since + 86_400},
        ).all()
        coupons = connection.execute(
            text(
                "SELECT d.id, d.subscription_id FROM discount d "
                "WHERE d.coupon_id = 'FRIENDS15' AND d.subscription_id IS NOT NULL ORDER BY d.id"
            )
        ).all()
    seat = next(
        {"subscription": sub, "item": item, "quantity": quantity, "unit": unit}
        for sub, item, quantity, unit in seats
        if sub in good
    )
    coupon = next({"discount": d, "subscription": sub} for d, sub in coupons if sub in good)
    return seat, coupon


def test_a_mis_synced_subscription_is_named_with_its_cause(engine: Engine) -> None:
    seat, coupon = _candidates(engine)
    with engine.begin() as connection:
        row = connection.execute(
            text("SELECT * FROM discount WHERE id = :id"), {"id": coupon["discount"]}
        ).mappings().one()  # fmt: skip
        connection.execute(
            text("UPDATE subscription_item SET quantity = quantity + 3 WHERE id = :id"),
            {"id": seat["item"]},
        )
        connection.execute(text("DELETE FROM discount WHERE id = :id"), {"id": coupon["discount"]})
    try:
        result = runner.invoke(app, ["check"])
        code, document = check_json()
        # What a full sync runs instead: the check on the history its rebuild loaded, in workers.
        *_, rebuilt = rebuild_and_check(engine, currency="usd", tz="UTC", as_of=END, workers=2)
        separately = reconcile_account(engine, currency="usd", as_of=END, workers=1)
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE subscription_item SET quantity = :q WHERE id = :id"),
                {"q": seat["quantity"], "id": seat["item"]},
            )
            connection.execute(table("discount").insert().values(**row))
    assert result.exit_code == 1, result.output
    assert code == 1
    bad = {
        s["subscription_id"]: s for s in document["subscriptions"] if s["outcome"] == "disagrees"
    }
    assert set(bad) == {seat["subscription"], coupon["subscription"]}
    edited = bad[seat["subscription"]]
    unit = seat["unit"] / 100
    assert edited["why"] == "item_differs"
    assert edited["metrics_mrr"] == round((seat["quantity"] + 3) * unit, 2)  # the edited row
    assert edited["invoiced_mrr"] == round(seat["quantity"] * unit, 2)  # what Stripe billed
    assert bad[coupon["subscription"]]["why"] == "discount_not_synced"
    assert coupon["discount"] in bad[coupon["subscription"]]["detail"]
    # The text names the same subscriptions, with the same causes, and says so in its last line.
    for sub, found in bad.items():
        assert sub in result.stdout
        assert found["explanation"].split(":")[0] in result.stdout
        assert found["invoice_id"] in result.stdout
    assert result.stdout.strip().splitlines()[-1].endswith("2 disagree with their invoices")
    assert document["summary"]["disagreeing"] == 2
    assert rebuilt == separately
    assert {c.subscription_id for c in rebuilt if c.outcome == "disagrees"} == set(bad)


def test_check_on_an_empty_database_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: the database holds no Stripe data yet")


def test_the_text_lists_every_disagreement_and_the_first_not_comparable() -> None:
    from stripe_kpi.cli.render import NOT_COMPARABLE_SHOWN, check_lines

    def row(n: int, outcome: str) -> dict:
        return {"subscription_id": f"sub_{n:03d}", "customer_id": f"cus_{n:03d}",
                "outcome": outcome, "currency": "usd", "metrics_mrr": 10.0,
                "invoiced_mrr": 12.5, "invoice_id": f"in_{n:03d}", "why": "unknown",
                "explanation": "why", "detail": None}  # fmt: skip

    rows = [row(n, "disagrees") for n in range(30)]
    rows += [row(n, "not_comparable") for n in range(100, 125)]
    shown = check_lines({"subscriptions": rows})
    text_lines = [s for s in shown if isinstance(s, str)]
    assert sum(1 for s in text_lines if s.startswith("  sub_0")) == 30  # every disagreement
    assert sum(1 for s in text_lines if s.startswith("  sub_1")) == NOT_COMPARABLE_SHOWN == 20
    assert text_lines[-1] == "  … and 5 more (all of them: --json)"
    assert "  sub_000 (customer cus_000, invoice in_000): why" in text_lines
