"""Loading the report's rows from the stored tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from stripe_kpi.report.inputs import AtRiskRow, TrialRow
from stripe_kpi.report.load import load_report_inputs
from stripe_kpi.report.summary import build_summary
from stripe_kpi.store.models import (
    Customer,
    DailyMetrics,
    MrrMovement,
    Subscription,
    SubscriptionItem,
    SyncRun,
)

PARIS = ZoneInfo("Europe/Paris")
D = date(2026, 11, 23)


def ts(*args: int, tz: Any = PARIS) -> int:
    return int(datetime(*args, tzinfo=tz).timestamp())


def customer(cid: str, name: str | None, email: str | None = None) -> Customer:
    return Customer(id=cid, created=ts(2026, 1, 1), name=name, email=email, raw="{}")


def subscription(sid: str, cid: str, status: str = "active", **extra: Any) -> Subscription:
    return Subscription(
        id=sid,
        customer_id=cid,
        status=status,
        currency="usd",
        created=ts(2026, 1, 1),
        start_date=ts(2026, 1, 1),
        raw="{}",
        **extra,
    )


def movement(day: str, cid: str, kind: str, amount: int, after: int, subs: list[str], **extra: Any):
    return MrrMovement(
        date=day,
        customer_id=cid,
        type=kind,
        amount=amount,
        mrr_before=after - amount,
        mrr_after=after,
        currency="usd",
        subscription_ids=json.dumps(subs),
        **extra,
    )


def metrics(day: str, mrr: int, customers: int, **extra: Any) -> DailyMetrics:
    zero = dict.fromkeys(
        ("new", "expansion", "contraction", "churn", "reactivation", "fx", "mrr_at_risk"), 0
    )
    zero.update(extra)
    return DailyMetrics(date=day, currency="usd", mrr=mrr, customers=customers, **zero)


def fill(engine: Engine) -> None:
    with Session(engine) as session:
        session.add_all(
            [
                customer("cus_N", "Newco", "n@x.test"),
                customer("cus_C", "Gone Ltd", "c@x.test"),
                customer("cus_P", "Pastdue Inc"),
                customer("cus_S", None, "s@x.test"),
                customer("cus_M", "Multi"),
                customer("cus_T", "Trialist"),
                customer("cus_U", "Tyre kicker"),
                metrics("2026-08-01", 5_000, 1, new=5_000),  # before the window: carried
                metrics("2026-10-31", 20_000, 4),
                metrics("2026-11-22", 25_000, 5),
                metrics("2026-11-23", 27_000, 5, new=4_000, churn=-2_000, mrr_at_risk=9_000),
                movement("2026-10-30", "cus_old", "churn", -1_000, 0, ["sub_old"]),
                movement("2026-11-01", "cus_M", "new", 1_000, 1_000, ["sub_M1"]),
                movement("2026-11-02", "cus_M", "expansion", 500, 1_500, ["sub_M2"]),
                movement("2026-11-10", "cus_P", "new", 3_000, 3_000, ["sub_P"]),
                movement("2026-11-12", "cus_S", "new", 5_000, 5_000, ["sub_S"]),
                movement("2026-11-15", "cus_T", "new", 4_000, 4_000, ["sub_T"]),
                movement("2026-11-23", "cus_N", "new", 4_000, 4_000, ["sub_N"]),
                movement(
                    "2026-11-23", "cus_C", "churn", -2_000, 0, ["sub_C"], churn_reason="voluntary"
                ),
                subscription(
                    "sub_C",
                    "cus_C",
                    "canceled",
                    ended_at=ts(2026, 11, 23, 9),
                    cancellation_reason="cancellation_requested",
                    cancellation_feedback="too_expensive",
                    cancellation_comment="<b>bye</b>",
                ),
                subscription("sub_N", "cus_N"),
                subscription("sub_P", "cus_P", "past_due"),
                subscription("sub_S", "cus_S", cancel_at_period_end=True),
                subscription("sub_M1", "cus_M"),
                subscription("sub_M2", "cus_M", cancel_at=ts(2026, 12, 5, 12)),
                subscription("sub_T", "cus_T", trial_end=ts(2026, 11, 15, 10)),
                subscription(
                    "sub_U",
                    "cus_U",
                    "canceled",
                    trial_end=ts(2026, 11, 20, 10),
                    ended_at=ts(2026, 11, 20, 10),
                ),
                subscription("sub_OLD", "cus_T", "canceled", trial_end=ts(2026, 10, 20)),
                # A trial ending at 00:30 on 1 Dec in Paris is 23:30 on 30 Nov in UTC: December.
                subscription("sub_DEC", "cus_U", "trialing", trial_end=ts(2026, 11, 30, 23, 30)),
                SyncRun(started_at=100, finished_at=ts(2026, 11, 24, 6, 58), mode="x", status="ok"),
                SyncRun(started_at=200, finished_at=ts(2026, 11, 24, 7), mode="x", status="failed"),
            ]
        )
        session.flush()
        session.add(
            SubscriptionItem(
                id="si_S",
                subscription_id="sub_S",
                price_id="price_1",
                created=ts(2026, 1, 1),
                current_period_start=ts(2026, 11, 1),
                # The period ends at 23:30 UTC on 30 Nov: 00:30 on 1 Dec in Paris.
                current_period_end=ts(2026, 11, 30, 23, 30, tz=UTC),
                raw="{}",
            )
        )
        session.commit()


def test_rows_from_the_stored_tables(engine: Engine) -> None:
    fill(engine)
    rows = load_report_inputs(engine, D, currency="eur", timezone="Europe/Paris")
    assert rows.currency == "usd"  # the stored figures' currency wins over the setting
    assert [d.date.isoformat() for d in rows.days] == [
        "2026-08-01",
        "2026-10-31",
        "2026-11-22",
        "2026-11-23",
    ]
    assert rows.days[-1].mrr_at_risk == 9_000
    assert {m.date for m in rows.movements} >= {date(2026, 11, 1), D}
    assert all(m.date.month == 11 for m in rows.movements)  # October's churn is not read
    (churn,) = [m for m in rows.movements if m.type == "churn"]
    assert (churn.customer_name, churn.customer_email, churn.churn_reason) == (
        "Gone Ltd",
        "c@x.test",
        "voluntary",
    )
    assert (churn.feedback, churn.comment) == ("too_expensive", "<b>bye</b>")
    assert list(rows.at_risk) == [
        # Two counting subscriptions: the customer's MRR cannot be given to one of them.
        AtRiskRow("sub_M2", "cus_M", "cancel_scheduled", None, "Multi", None, date(2026, 12, 5)),
        AtRiskRow("sub_P", "cus_P", "past_due", 3_000, "Pastdue Inc", None, None),
        AtRiskRow("sub_S", "cus_S", "cancel_scheduled", 5_000, None, "s@x.test", date(2026, 12, 1)),
    ]
    assert list(rows.trials) == [
        TrialRow("sub_T", "cus_T", date(2026, 11, 15), converted=True),
        TrialRow("sub_U", "cus_U", date(2026, 11, 20), converted=False),
    ]
    assert rows.synced_at == datetime(2026, 11, 24, 5, 58, tzinfo=UTC)  # the last *ok* sync


def test_summary_from_the_stored_tables(engine: Engine) -> None:
    fill(engine)
    rows = load_report_inputs(engine, D, currency="usd", timezone="Europe/Paris")
    summary = build_summary(rows, D, timezone="Europe/Paris")
    assert (summary.mrr, summary.change_day, summary.change_mtd) == (27_000, 2_000, 7_000)
    assert summary.mrr_trailing_start == 5_000  # 24 Oct carries 1 Aug forward
    assert summary.customer_churn_rate == Fraction(1, 4)
    assert summary.trial_conversion == Fraction(1, 2)
    assert summary.mrr_at_risk == 9_000
    assert [c.display_name for c in summary.new_customers] == ["Newco"]
    assert [c.display_name for c in summary.churned_customers] == ["Gone Ltd"]


def test_an_empty_database_loads_empty_rows(engine: Engine) -> None:
    rows = load_report_inputs(engine, D, currency="usd", timezone="UTC")
    assert (list(rows.days), list(rows.movements), list(rows.at_risk)) == ([], [], [])
    assert rows.currency == "usd"
    assert rows.synced_at is None
