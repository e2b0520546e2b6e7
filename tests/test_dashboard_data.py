"""The dashboard's document from hand-written derived tables (SQLite and PostgreSQL): months
summed as ``metrics --by month`` sums them, the customers with the most MRR, their histories,
churn feedback, MRR at risk with its subscriptions, the "last month" rule, and the JSON that
cannot break out of its ``<script>``.

The account, three customers (USD, UTC):
- cus_a: new $50.00 on 30 Jan, expansion +$25.00 on 2 Feb (MRR $75.00), past due;
- cus_b: new $50.00 on 30 Jan, churns on 1 Feb (voluntary, feedback ``too_expensive``);
- cus_c: new $30.00 on 1 Feb.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import orjson
import pytest
from sqlalchemy import Engine

from stripe_kpi.dashboard import data, extras
from stripe_kpi.dashboard.document import dashboard_document, last_month
from stripe_kpi.dashboard.page import json_for_script, render_page
from stripe_kpi.errors import InputError
from stripe_kpi.store.engine import session_scope
from stripe_kpi.store.models import table
from stripe_kpi.store.rows import DAILY_COLUMNS, MOVEMENT_COLUMNS
from stripe_kpi.store.tables import insert

JAN30, JAN31, FEB1, FEB2 = (date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1),
                            date(2026, 2, 2))  # fmt: skip


def _day(day: date, mrr: int, customers: int, **flows: int) -> tuple:
    row = {"date": day.isoformat(), "currency": "usd", "mrr": mrr, "customers": customers}
    return tuple(row.get(c, flows.get(c, 0)) for c in DAILY_COLUMNS)


def _move(day: date, customer: str, kind: str, amount: int, before: int, reason=None) -> tuple:
    subs = json.dumps([f"sub_{customer[-1]}"])
    return (day.isoformat(), customer, kind, amount, before, before + amount, "usd", reason, subs)


def _result(mrr: list, at_risk: list, moves: list) -> str:
    return orjson.dumps([mrr, at_risk, moves, []]).decode()


@pytest.fixture
def account(engine: Engine) -> Engine:
    a, b, c, f = JAN30.toordinal(), FEB1.toordinal(), FEB1.toordinal(), FEB2.toordinal()
    with session_scope(engine) as session:
        connection = session.connection()
        insert(connection, "daily_metrics", DAILY_COLUMNS, [
            _day(JAN30, 10000, 2, new=10000),
            _day(JAN31, 10000, 2),
            _day(FEB1, 8000, 2, new=3000, churn=-5000, churned_voluntary=1,
                 churned_mrr_voluntary=5000),
            _day(FEB2, 10500, 2, expansion=2500, mrr_at_risk=7500),
        ])  # fmt: skip
        insert(connection, "mrr_movement", MOVEMENT_COLUMNS, [
            _move(JAN30, "cus_a", "new", 5000, 0),
            _move(JAN30, "cus_b", "new", 5000, 0),
            _move(FEB1, "cus_b", "churn", -5000, 5000, "voluntary"),
            _move(FEB1, "cus_c", "new", 3000, 0),
            _move(FEB2, "cus_a", "expansion", 2500, 5000),
        ])  # fmt: skip
        results = {
            "cus_a": _result([[a, 5000], [f, 7500]], [[f, 7500]],
                             [[a, "new", 5000, 0, 5000, None, ["sub_a"]],
                              [f, "expansion", 2500, 5000, 7500, None, ["sub_a"]]]),
            "cus_b": _result([[a, 5000], [b, 0]], [],
                             [[a, "new", 5000, 0, 5000, None, ["sub_b"]],
                              [b, "churn", -5000, 5000, 0, "voluntary", ["sub_b"]]]),
            "cus_c": _result([[c, 3000]], [], [[c, "new", 3000, 0, 3000, None, ["sub_c"]]]),
        }  # fmt: skip
        connection.execute(
            table("customer_result").insert(),
            [{"customer_id": k, "first_day": None, "horizon": None, "result": v}
             for k, v in results.items()],
        )  # fmt: skip
        names = {
            "cus_a": ("Ada </script><b>", "ada@example.com"),
            "cus_b": ("Bob", "bob@example.com"),
            "cus_c": (None, "carol@example.com"),
        }
        connection.execute(
            table("customer").insert(),
            [{"id": k, "created": 0, "name": n, "email": e, "deleted": False, "livemode": False,
              "raw": "{}"} for k, (n, e) in names.items()],
        )  # fmt: skip
        subs = {"sub_a": ("cus_a", "past_due", None, None), "sub_b": ("cus_b", "canceled",
                "cancellation_requested", "too_expensive"), "sub_c": ("cus_c", "active", None,
                None)}  # fmt: skip
        connection.execute(
            table("subscription").insert(),
            [{"id": k, "customer_id": cus, "status": status, "currency": "usd", "created": 0,
              "start_date": 0, "cancel_at_period_end": False, "livemode": False, "raw": "{}",
              "ended_at": 1 if status == "canceled" else None, "cancellation_reason": reason,
              "cancellation_feedback": feedback} for k, (cus, status, reason, feedback)
             in subs.items()],
        )  # fmt: skip
        # The cohorts: January's (cus_a, cus_b: 2 customers, $100.00 at the month's end; on 2
        # Feb one of them, $75.00) and February's (cus_c, $30.00).
        connection.execute(
            table("cohort_month").insert(),
            [
                {"cohort": cohort, "months_since": since, "currency": "usd",
                 "cohort_customers": size, "customers": customers, "mrr": mrr}
                for cohort, since, size, customers, mrr in (
                    ("2026-01-01", 0, 2, 2, 10000), ("2026-01-01", 1, 2, 1, 7500),
                    ("2026-02-01", 0, 1, 1, 3000),
                )
            ],
        )  # fmt: skip
        # Plans: cus_a and cus_c on Basic, cus_b on Pro (each row: that day's end, and its moves).
        connection.execute(
            table("segment_mrr").insert(),
            [
                {"kind": "plan", "segment": segment, "date": day.isoformat(), "currency": "usd",
                 "mrr": mrr, "customers": customers, "new": new, "expansion": expansion,
                 "contraction": 0, "churn": churn, "reactivation": 0, "fx": 0}
                for segment, day, mrr, customers, new, expansion, churn in (
                    ("Basic", JAN30, 5000, 1, 5000, 0, 0), ("Pro", JAN30, 5000, 1, 5000, 0, 0),
                    ("Pro", FEB1, 0, 0, 0, 0, -5000), ("Basic", FEB1, 8000, 2, 3000, 0, 0),
                    ("Basic", FEB2, 10500, 2, 0, 2500, 0),
                )
            ],
        )  # fmt: skip
    return engine


def test_mrr_by_segment_each_day_and_the_rest_as_other(
    account: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with account.connect() as connection:
        block = extras.segments_block(connection, JAN30, FEB2, "usd")
        monkeypatch.setattr(extras, "TOP_SEGMENTS", 1)
        top_one = extras.segments_block(connection, JAN31, FEB2, "usd")
    assert block is not None
    assert top_one is not None
    assert block["dates"] == ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"]
    # Basic: 50 (cus_a), held on 31 Jan, 50 + 30 (cus_c) = 80, then 80 + 25 = 105; Pro: 50 until
    # cus_b churns on 1 Feb. Each day they add up to daily_metrics' MRR (100, 100, 80, 105).
    assert block["kinds"]["plan"] == [
        {"name": "Basic", "mrr": [50.0, 50.0, 80.0, 105.0]},
        {"name": "Pro", "mrr": [50.0, 50.0, 0.0, 0.0]},
    ]
    assert block["kinds"]["country"] == block["kinds"]["currency"] == []  # no rows of theirs
    # From 31 Jan (Pro's 50 carried from before the period), one segment drawn: Pro is "other".
    assert top_one["kinds"]["plan"] == [
        {"name": "Basic", "mrr": [50.0, 80.0, 105.0]},
        {"name": "other", "mrr": [50.0, 0.0, 0.0]},
    ]


def test_months_are_summed_as_metrics_by_month_sums_them(account: Engine) -> None:
    with account.connect() as connection:
        months = data.by_month(data.read_days(connection, JAN30, FEB2))
    jan, feb = months
    # January: two new customers at $50.00 each, MRR $100.00 on 31 Jan.
    assert (jan["month"], jan["date"], jan["mrr"], jan["customers"]) == ("2026-01", "2026-01-31",
                                                                          10000, 2)  # fmt: skip
    assert (jan["new"], jan["net"]) == (10000, 10000)
    # February: +30.00 new, +25.00 expansion, −50.00 churn: net +5.00; MRR 80 + 25 = $105.00.
    assert (feb["mrr"], feb["new"], feb["expansion"], feb["churn"], feb["net"]) == (
        10500, 3000, 2500, -5000, 500)  # fmt: skip
    assert (feb["churned_voluntary"], feb["churned_mrr_voluntary"]) == (1, 5000)


def test_the_customers_with_the_most_mrr_are_their_movements_summed(account: Engine) -> None:
    with account.connect() as connection:
        # On 2 Feb: cus_a 50 + 25 = $75.00, cus_c $30.00, cus_b churned (0: not listed).
        assert data.top_customers(connection, FEB2, 10) == [("cus_a", 7500), ("cus_c", 3000)]
        # On 31 Jan: a tie at $50.00, by id; the limit cuts.
        assert data.top_customers(connection, JAN31, 1) == [("cus_a", 5000)]
        block = data.customers_block(connection, FEB2, "usd", limit=2)
    assert block["list"][1] == {"id": "cus_c", "name": None, "email": "carol@example.com",
                                "mrr": 30.0}  # fmt: skip
    assert block["histories"]["cus_a"] == {
        "mrr": [["2026-01-30", 50.0], ["2026-02-02", 75.0]],
        "movements": [["2026-01-30", "new", 50.0, 0.0, 50.0, None],
                      ["2026-02-02", "expansion", 25.0, 50.0, 75.0, None]],
    }  # fmt: skip


def test_search_and_one_customer_read_every_customer(account: Engine) -> None:
    with account.connect() as connection:
        found = data.search_customers(connection, "EXAMPLE.com", FEB2, "usd")
        assert [c["id"] for c in found] == ["cus_a", "cus_c", "cus_b"]  # 75, 30, 0
        assert [c["id"] for c in data.search_customers(connection, "bob", FEB2, "usd")] == ["cus_b"]
        # LIKE's wildcards are searched for as themselves.
        assert data.search_customers(connection, "%", FEB2, "usd") == []
        bob = data.one_customer(connection, "cus_b", FEB2, "usd")
        assert data.one_customer(connection, "cus_nobody", FEB2, "usd") is None
    assert bob is not None
    assert bob["mrr"] == 0
    assert bob["history"]["movements"][-1][1:3] == ["churn", -50.0]


def test_churn_feedback_and_mrr_at_risk(account: Engine) -> None:
    with account.connect() as connection:
        feedback = data.churn_feedback(connection, JAN30, FEB2)
        risk = data.at_risk_block(connection, FEB2, "usd", "UTC")
    assert feedback == [
        {"month": "2026-02", "feedback": "too_expensive", "reason": "voluntary", "count": 1}
    ]
    assert risk["customers"] == 1
    assert risk["rows"] == [
        {"id": "cus_a", "name": "Ada </script><b>", "email": "ada@example.com", "mrr": 75.0,
         "subscriptions": [{"id": "sub_a", "reason": "past_due", "cancels_on": None}]}
    ]  # fmt: skip


def test_the_document_headline_and_last_month(account: Engine) -> None:
    now = datetime(2026, 2, 2, 18, tzinfo=UTC)
    with account.connect() as connection:
        doc = dashboard_document(connection, currency="usd", tz="UTC", generated_at=now)
        with pytest.raises(InputError):
            dashboard_document(connection, currency="usd", tz="UTC", generated_at=now,
                               first=date(2025, 1, 1), last=date(2025, 12, 31))  # fmt: skip
    cards = {c["key"]: (c["value"], c["text"]) for c in doc["headline"]}
    assert cards == {
        "mrr": (105.0, "$105.00"),
        "arr": (1260.0, "$1,260.00"),  # 12 × 105
        "customers": (2, "2"),
        "arpu": (52.5, "$52.50"),  # 105 ÷ 2
        "mrr_at_risk": (75.0, "$75.00"),
    }
    # The period ends on 2 Feb: the last month that ended in it is January (from 30 Jan).
    assert (doc["last_month"]["from"], doc["last_month"]["to"]) == ("2026-01-30", "2026-01-31")
    moves = {m["type"]: m["text"] for m in doc["last_month"]["movements"]}
    assert moves["new"] == "+$100.00"
    assert moves["churn"] == "$0.00"
    january = {"cohort": "2026-01", "customers": 2, "starting_mrr": 100.0, "months": [
        {"months_since": 0, "customers": 2, "mrr": 100.0, "retention": 1.0, "partial": False},
        {"months_since": 1, "customers": 1, "mrr": 75.0, "retention": 0.5, "partial": True},
    ]}  # fmt: skip
    assert doc["cohorts"]["customers"]["cohorts"][0] == january
    assert [m["retention"] for m in doc["cohorts"]["mrr"]["cohorts"][0]["months"]] == [1.0, 0.75]
    assert [c["cohort"] for c in doc["cohorts"]["customers"]["cohorts"]] == ["2026-01", "2026-02"]
    # A period that ends in January: February's cohort and month are left out.
    with account.connect() as connection:
        upto = dashboard_document(connection, currency="usd", tz="UTC", generated_at=now,
                                  last=JAN31)  # fmt: skip
    assert upto["cohorts"]["customers"]["cohorts"] == [{**january, "months": january["months"][:1]}]
    assert [s["name"] for s in doc["segments"]["kinds"]["plan"]] == ["Basic", "Pro"]


def test_last_month_rule() -> None:
    assert last_month(date(2025, 1, 1), date(2026, 11, 19)) == (date(2026, 10, 1),
                                                                 date(2026, 10, 31))  # fmt: skip
    assert last_month(date(2025, 1, 1), date(2026, 10, 31)) == (date(2026, 10, 1),
                                                                 date(2026, 10, 31))  # fmt: skip
    # Inside one month: that month as far as the period goes.
    assert last_month(date(2026, 11, 3), date(2026, 11, 19)) == (date(2026, 11, 3),
                                                                  date(2026, 11, 19))  # fmt: skip


def test_json_in_the_page_cannot_end_its_script() -> None:
    text = json_for_script({"name": "</script><img src=x onerror=alert(1)>&\u2028"})
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert "\u2028" not in text
    assert json.loads(text) == {"name": "</script><img src=x onerror=alert(1)>&\u2028"}


def test_the_page_escapes_and_embeds_everything(account: Engine) -> None:
    now = datetime(2026, 2, 2, 18, tzinfo=UTC)
    with account.connect() as connection:
        html = render_page(
            dashboard_document(connection, currency="usd", tz="UTC", generated_at=now)
        )
    assert "Ada </script>" not in html
    assert "Ada \\u003c/script\\u003e" in html
    assert html.count("</script>") == 3  # the data, plotly.js and the page's own script
    assert "plotly.js v" in html
    # Nothing to fetch: no src= or href= to anywhere (the tabs link to #anchors).
    assert " src=" not in html.split('<script type="application/json"')[0]
