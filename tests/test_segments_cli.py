"""`stripe-kpi metrics --segment` and `movements --segment` end to end: simulated accounts synced
over HTTP, the derived tables built by the first read, the segments read from ``segment_mrr``.

METRICS.md example 25 on an account of its own; then every kind on one small account, figures
worked out by hand (USD reporting, UTC; each customer's MRR at 30 Jun):
  Ada  US, metadata segment=smb:        $50/month  plan starter_m, product Starter
  Bob  FR, metadata segment=enterprise: €100/month (a price without nickname: its id), Pro
  Cy   no address, no metadata:         $120/year  plan starter_y, product Starter → $10
  Dan  US, segment=smb: one subscription of $40 pro_m (Pro) + $20 seats_m (Seats), $15 off
       forever on the subscription → $45, split 15 × 40/60 = 10 off pro_m (→ 30.00) and
       15 × 20/60 = 5 off seats_m (→ 15.00).
Bob's MRR is €100 at the ECB rate of his period's start (X); everything else is USD.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.sync import sync
from tests.sync_support import cli_env, fast_client, synced_sqlite

runner = CliRunner()
NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def d(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


def _synced(acct: BillingAccount, path) -> str:
    acct.advance(NOW)
    return synced_sqlite(acct, path, NOW)


def _env(monkeypatch: pytest.MonkeyPatch, url: str, tmp_path) -> None:
    cli_env(monkeypatch, url, NOW, tmp_path)


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _doc(*args: str) -> dict:
    return json.loads(_run("metrics", "--json", *args))


def _by_segment(doc: dict) -> dict[str, dict]:
    return {entry["segment"]: entry["totals"] for entry in doc["segments"]}


# -- example 25 ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_25(tmp_path_factory: pytest.TempPathFactory) -> str:
    """$30/month plan A from 1 Feb, changed to $50/month plan B on 10 Mar (prorated)."""
    acct = BillingAccount(start=datetime(2026, 1, 1, tzinfo=UTC), seed=25)
    plan_a = acct.create_price(3000, "month", product="Basic", nickname="A")
    plan_b = acct.create_price(5000, "month", product="Plus", nickname="B")
    ada = acct.create_customer(name="Ada", email="ada@example.com", at=d(2, 1))
    sub = acct.subscribe(ada, [(plan_a, 1)], at=d(2, 1))
    acct.change(sub, at=d(3, 10), price=plan_b)
    return _synced(acct, tmp_path_factory.mktemp("e25"))


def test_example_25_plan_change_is_churn_in_one_plan_and_new_in_the_other(
    monkeypatch: pytest.MonkeyPatch, example_25: str, tmp_path
) -> None:
    _env(monkeypatch, example_25, tmp_path)
    account = _doc("--date", "2026-03-10")
    assert account["totals"]["movements"]["expansion"] == 20.0  # 50 − 30
    assert account["totals"]["mrr_end"] == 50.0
    doc = _doc("--segment", "plan", "--date", "2026-03-10")
    plans = _by_segment(doc)
    assert set(plans) == {"A", "B"}
    assert plans["A"]["movements"] == {
        "new": 0, "expansion": 0, "contraction": 0, "churn": -30.0, "reactivation": 0,
        "net": -30.0, "fx": 0,
    }  # fmt: skip
    assert plans["B"]["movements"]["new"] == 50.0
    assert plans["B"]["movements"]["net"] == 50.0
    assert (plans["A"]["mrr_start"], plans["A"]["mrr_end"]) == (30.0, 0)
    assert (plans["B"]["mrr_start"], plans["B"]["mrr_end"], plans["B"]["customers_end"]) == (
        0,
        50.0,
        1,
    )
    moved = json.loads(
        _run("movements", "--segment", "plan", "--from", "2026-03-01", "--to", "2026-03-31",
             "--json")
    )  # fmt: skip
    assert [(r["date"], r["segment"], r["type"], r["amount"]) for r in moved] == [
        ("2026-03-10", "A", "churn", -30.0),
        ("2026-03-10", "B", "new", 50.0),
    ]
    assert {r["name"] for r in moved} == {"Ada"}


def test_example_25_by_month_and_as_csv(
    monkeypatch: pytest.MonkeyPatch, example_25: str, tmp_path
) -> None:
    """February: A new +30; March: A churn −30, B new +50 (MRR at each month's end)."""
    _env(monkeypatch, example_25, tmp_path)
    doc = _doc("--segment", "plan", "--from", "2026-02-01", "--to", "2026-03-31", "--by", "month")
    series = {e["segment"]: [(p["date"], p["mrr"], p["customers"]) for p in e["series"]]
              for e in doc["segments"]}  # fmt: skip
    assert series == {
        "B": [("2026-02-28", 0, 0), ("2026-03-31", 50.0, 1)],
        "A": [("2026-02-28", 30.0, 1), ("2026-03-31", 0, 0)],
    }
    assert [e["segment"] for e in doc["segments"]] == ["B", "A"]  # largest MRR at the end first
    csv = _run(
        "metrics", "--segment", "plan", "--from", "2026-03-01", "--to", "2026-03-31",
        "--by", "month", "--csv",
    )  # fmt: skip
    assert csv.splitlines() == [
        "segment,date,mrr,customers,arpu,new,expansion,contraction,churn,reactivation,net,fx",
        "B,2026-03-31,50.0,1,50.0,50.0,0.0,0.0,0.0,0.0,50.0,0.0",
        "A,2026-03-31,0.0,0,,0.0,0.0,0.0,-30.0,0.0,-30.0,0.0",
    ]
    table = _run("metrics", "--segment", "plan", "--from", "2026-03-01", "--to", "2026-03-31")
    assert "MRR by plan" in table
    assert all(len(line) <= 80 for line in table.splitlines())


def test_a_bad_segment_is_one_line(monkeypatch: pytest.MonkeyPatch, example_25: str, tmp_path):
    _env(monkeypatch, example_25, tmp_path)
    result = runner.invoke(app, ["metrics", "--segment", "plans"])
    assert result.exit_code == 2
    assert "use plan, product, interval, currency, country or metadata:KEY" in result.output
    assert "Traceback" not in result.output


# -- every kind --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    acct = BillingAccount(start=datetime(2026, 1, 1, tzinfo=UTC), seed=26)
    starter_m = acct.create_price(5000, "month", product="Starter", nickname="starter_m")
    starter_y = acct.create_price(12000, "year", product="Starter", nickname="starter_y")
    pro_m = acct.create_price(4000, "month", product="Pro", nickname="pro_m")
    pro_eur = acct.create_price(10000, "month", currency="eur", product="Pro")
    seats_m = acct.create_price(2000, "month", product="Seats", nickname="seats_m")
    save = acct.create_coupon(amount_off=1500, currency="usd", duration="forever", id="SAVE15")
    ada = acct.create_customer("Ada", "ada@example.com", d(1, 3), country="US",
                               metadata={"segment": "smb"})  # fmt: skip
    acct.subscribe(ada, [(starter_m, 1)], d(1, 3))
    bob = acct.create_customer("Bob", "bob@example.com", d(1, 5), country="FR",
                               metadata={"segment": "enterprise"})  # fmt: skip
    acct.subscribe(bob, [(pro_eur, 1)], d(1, 5))
    cy = acct.create_customer("Cy", "cy@example.com", d(1, 7))
    acct.subscribe(cy, [(starter_y, 1)], d(1, 7))
    dan = acct.create_customer("Dan", "dan@example.com", d(1, 9), country="US",
                               metadata={"segment": "smb"})  # fmt: skip
    acct.subscribe(dan, [(pro_m, 1), (seats_m, 1)], d(1, 9), coupon=save)
    ids = {
        "pro_eur": pro_eur["id"],
        "Starter": starter_m["product"],
        "Pro": pro_m["product"],
        "Seats": seats_m["product"],
    }
    assert pro_eur["product"] == ids["Pro"]
    return _synced(acct, tmp_path_factory.mktemp("kinds")), ids


def _ends(doc: dict) -> dict[str, tuple[float, int]]:
    return {s: (t["mrr_end"], t["customers_end"]) for s, t in _by_segment(doc).items()}


def test_every_kind_splits_the_account_exactly(
    monkeypatch: pytest.MonkeyPatch, kinds: tuple[str, dict[str, str]], tmp_path
) -> None:
    url, ids = kinds
    _env(monkeypatch, url, tmp_path)
    account = _doc("--date", "2026-06-30")["totals"]
    x = round(account["mrr_end"] - 105.0, 2)  # Bob's €100 in USD: all the rest is 50 + 10 + 45
    assert 90 < x < 130  # €100 at an ECB rate between 0.9 and 1.3
    assert account["customers_end"] == 4
    every = ("plan", "product", "interval", "currency", "country", "metadata:segment")
    got = {kind: _ends(_doc("--segment", kind, "--date", "2026-06-30")) for kind in every}
    assert got["plan"] == {
        "starter_m": (50.0, 1), ids["pro_eur"]: (x, 1), "starter_y": (10.0, 1),
        "pro_m": (30.0, 1), "seats_m": (15.0, 1),
    }  # fmt: skip
    assert got["product"] == {
        ids["Starter"]: (60.0, 2),
        ids["Pro"]: (round(x + 30.0, 2), 2),
        ids["Seats"]: (15.0, 1),
    }
    assert got["interval"] == {"month": (round(95.0 + x, 2), 3), "year": (10.0, 1)}
    assert got["currency"] == {"usd": (105.0, 3), "eur": (x, 1)}
    assert got["country"] == {"US": (95.0, 2), "FR": (x, 1), "unknown": (10.0, 1)}
    assert got["metadata:segment"] == {"smb": (95.0, 2), "enterprise": (x, 1), "unknown": (10.0, 1)}
    for kind, segments in got.items():
        assert round(sum(mrr for mrr, _ in segments.values()), 2) == account["mrr_end"], kind
        assert sum(c for _, c in segments.values()) >= account["customers_end"]


def test_segment_movements_by_kind(
    monkeypatch: pytest.MonkeyPatch, kinds: tuple[str, dict[str, str]], tmp_path
) -> None:
    """Each customer's first day is a new movement in each of their segments: Dan's $45 is
    new +30 in pro_m and +15 in seats_m; in country and metadata it is his whole $45."""
    url, _ = kinds
    _env(monkeypatch, url, tmp_path)

    def moved(kind: str) -> list[tuple]:
        rows = json.loads(_run("movements", "--segment", kind, "--from", "2026-01-09",
                               "--to", "2026-01-09", "--json"))  # fmt: skip
        return [(r["customer_id"][:3], r["name"], r["segment"], r["type"], r["amount"])
                for r in rows]  # fmt: skip

    assert moved("plan") == [
        ("cus", "Dan", "pro_m", "new", 30.0),
        ("cus", "Dan", "seats_m", "new", 15.0),
    ]
    assert moved("country") == [("cus", "Dan", "US", "new", 45.0)]
    assert moved("metadata:segment") == [("cus", "Dan", "smb", "new", 45.0)]
    assert moved("currency") == [("cus", "Dan", "usd", "new", 45.0)]


def test_example_25_read_from_the_tables_on_each_database(db_url: str) -> None:
    """The same figures read straight from ``segment_mrr`` and ``customer_segment``, on SQLite
    and on PostgreSQL: A's $30 on 9 Mar becomes B's $50 on 10 Mar."""
    from datetime import date

    from stripe_kpi.store.current import bring_up_to_date
    from stripe_kpi.store.segment_reads import read_segments, segment_movements

    acct = BillingAccount(start=datetime(2026, 1, 1, tzinfo=UTC), seed=25)
    plan_a = acct.create_price(3000, "month", product="Basic", nickname="A")
    plan_b = acct.create_price(5000, "month", product="Plus", nickname="B")
    ada = acct.create_customer(name="Ada", email="ada@example.com", at=d(2, 1))
    sub = acct.subscribe(ada, [(plan_a, 1)], at=d(2, 1))
    acct.change(sub, at=d(3, 10), price=plan_b)
    acct.advance(NOW)
    engine = open_database(db_url)
    try:
        with SimulatorServer(acct.snapshot()) as server, fast_client(server) as client:
            sync(engine, client, now=int(NOW.timestamp()), concurrency=2)
        bring_up_to_date(engine, currency="usd", tz="UTC", as_of=NOW)
        with engine.connect() as connection:
            found = read_segments(connection, "plan", date(2026, 3, 10), date(2026, 3, 10))
            moved = segment_movements(connection, "plan", date(2026, 3, 1), date(2026, 3, 31))
            tagged = read_segments(connection, "country", date(2026, 3, 1), date(2026, 3, 31))
    finally:
        engine.dispose()
    march_10 = date(2026, 3, 10).toordinal()
    assert (found["A"].mrr_start, found["A"].customers_start) == (3000, 1)
    assert list(found["A"].days) == [(march_10, 0, 0, 0, 0, 0, -3000, 0, 0)]
    assert (found["B"].mrr_start, list(found["B"].days)) == (
        0,
        [(march_10, 5000, 1, 5000, 0, 0, 0, 0, 0)],
    )
    assert [(m["segment"], m["type"], m["amount"]) for m in moved] == [
        ("A", "churn", -3000),
        ("B", "new", 5000),
    ]
    # No address: the whole customer in ``unknown``, the account's own expansion on 10 Mar.
    assert list(tagged) == ["unknown"]
    assert list(tagged["unknown"].days) == [(march_10, 5000, 1, 0, 2000, 0, 0, 0, 0)]


def test_a_renamed_plan_is_renamed_by_the_next_incremental_sync(db_url: str) -> None:
    """A price's nickname names its plan segment: renaming it (``price.updated``) queues the
    customers on it, so the incremental sync leaves ``segment_mrr`` as a rebuild would, every
    day of their history under the new name."""
    from datetime import timedelta

    from sqlalchemy import text

    from stripe_kpi.store.current import bring_up_to_date
    from stripe_kpi.store.tables import recompute_derived_tables

    acct = BillingAccount(start=datetime(2026, 1, 1, tzinfo=UTC), seed=27)
    basic = acct.create_price(3000, "month", product="Basic", nickname="basic")
    other = acct.create_price(7000, "month", product="Other", nickname="other")
    for name, day, price in (("Ada", 3, basic), ("Bob", 4, basic), ("Cy", 5, other)):
        customer = acct.create_customer(name=name, email=f"{name}@example.com", at=d(1, day))
        acct.subscribe(customer, [(price, 1)], at=d(1, day))
    later = NOW + timedelta(days=2)
    engine = open_database(db_url)

    def segments() -> list[tuple]:
        with engine.connect() as connection:
            query = "SELECT * FROM segment_mrr WHERE kind = 'plan' ORDER BY segment, date"
            return [tuple(r) for r in connection.execute(text(query))]

    try:
        acct.advance(NOW)
        with SimulatorServer(acct.snapshot()) as server, fast_client(server) as client:
            sync(engine, client, now=int(NOW.timestamp()), concurrency=2)
        bring_up_to_date(engine, currency="usd", tz="UTC", as_of=NOW)
        assert {row[1] for row in segments()} == {"basic", "other"}
        acct.rename_price(basic, "Basic (legacy)", at=NOW + timedelta(days=1))
        acct.advance(later)
        with SimulatorServer(acct.snapshot()) as server, fast_client(server) as client:
            sync(engine, client, now=int(later.timestamp()), concurrency=2)
        update = bring_up_to_date(engine, currency="usd", tz="UTC", as_of=later)
        assert update is not None
        assert update.full_reason is None  # in place
        assert update.customers >= 2  # Ada and Bob, on the renamed price
        incremental = segments()
        assert {row[1] for row in incremental} == {"Basic (legacy)", "other"}
        recompute_derived_tables(engine, currency="usd", tz="UTC", as_of=later, workers=1)
        assert incremental == segments()
        first = next(row for row in incremental if row[1] == "Basic (legacy)")
        assert (first[2], first[4], first[5]) == ("2026-01-03", 3000, 1)  # Ada's first day
    finally:
        engine.dispose()
