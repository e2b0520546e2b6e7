"""The report's rows from the metrics layer's ``Computed`` (hand-built customer results), with
names and cancellation details from the database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from stripe_kpi.errors import InputError
from stripe_kpi.metrics import Computed, CustomerResult, Movement
from stripe_kpi.metrics.ledger import Ledger
from stripe_kpi.metrics.movements import TrialOutcome
from stripe_kpi.report.from_metrics import inputs_from_computed
from stripe_kpi.report.inputs import AtRiskRow
from stripe_kpi.report.summary import Movements, build_summary
from stripe_kpi.store.models import Customer, Subscription

PARIS = ZoneInfo("Europe/Paris")
D = date(2026, 11, 23)


def n(year: int, month: int, day: int) -> int:
    return date(year, month, day).toordinal()


def computed() -> Computed:
    """A: $50 since 1 Oct, +$20 expansion on D, $20 of it set to cancel (from 20 Nov).
    B: new $30 on 5 Nov after a converted trial, churns on D (voluntary).
    C: $40 since 1 Sep, past due since 10 Nov. D: $10 since 1 Aug, at risk 1–21 Nov only.
    E: new $5 on 1 Nov after a converted trial, at risk $5 since 15 Nov; another trial of E's
    ended unconverted on 12 Nov."""
    results = [
        CustomerResult(
            "cus_A",
            mrr=((n(2026, 10, 1), 5_000), (D.toordinal(), 7_000)),
            at_risk=((n(2026, 11, 20), 2_000),),
            movements=(
                Movement(n(2026, 10, 1), "cus_A", "new", 5_000, 0, 5_000, None, ("sub_A1",)),
                Movement(
                    D.toordinal(), "cus_A", "expansion", 2_000, 5_000, 7_000, None, ("sub_A2",)
                ),
            ),
            trials=(),
        ),
        CustomerResult(
            "cus_B",
            mrr=((n(2026, 11, 5), 3_000), (D.toordinal(), 0)),
            at_risk=(),
            movements=(
                Movement(n(2026, 11, 5), "cus_B", "new", 3_000, 0, 3_000, None, ("sub_B",)),
                Movement(
                    D.toordinal(), "cus_B", "churn", -3_000, 3_000, 0, "voluntary", ("sub_B",)
                ),
            ),
            trials=(TrialOutcome("sub_B", n(2026, 11, 5), True),),
        ),
        CustomerResult(
            "cus_C",
            mrr=((n(2026, 9, 1), 4_000),),
            at_risk=((n(2026, 11, 10), 4_000),),
            movements=(Movement(n(2026, 9, 1), "cus_C", "new", 4_000, 0, 4_000, None, ("sub_C",)),),
            trials=(),
        ),
        CustomerResult(
            "cus_D",
            mrr=((n(2026, 8, 1), 1_000),),
            at_risk=((n(2026, 11, 1), 1_000), (n(2026, 11, 22), 0)),
            movements=(Movement(n(2026, 8, 1), "cus_D", "new", 1_000, 0, 1_000, None, ("sub_D",)),),
            trials=(),
        ),
        CustomerResult(
            "cus_E",
            mrr=((n(2026, 11, 1), 500),),
            at_risk=((n(2026, 11, 15), 500),),
            movements=(Movement(n(2026, 11, 1), "cus_E", "new", 500, 0, 500, None, ("sub_E",)),),
            trials=(
                TrialOutcome("sub_E", n(2026, 11, 1), True),
                TrialOutcome("sub_E0", n(2026, 11, 12), False),
            ),
        ),
    ]
    return Computed(
        currency="usd",
        tz="Europe/Paris",
        as_of=datetime(2026, 11, 24, 6, 0, tzinfo=UTC),
        last_day=date(2026, 11, 24),
        customers={r.customer_id: r for r in results},
        ledger=Ledger(results),
    )


def subscription(sid: str, cid: str, status: str = "active", **extra: Any) -> Subscription:
    created = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    return Subscription(
        id=sid,
        customer_id=cid,
        status=status,
        currency="usd",
        created=created,
        start_date=created,
        raw="{}",
        **extra,
    )


def fill(engine: Engine) -> None:
    created = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    with Session(engine) as session:
        for cid, name, email in (
            ("cus_A", "Acme", "a@x.test"),
            ("cus_B", "<script>alert(1)</script>", "b@x.test"),
            ("cus_C", "Cee Corp", None),
            ("cus_E", None, "e@x.test"),
        ):
            session.add(Customer(id=cid, created=created, name=name, email=email, raw="{}"))
        session.add_all(
            [
                subscription("sub_A1", "cus_A"),
                subscription(
                    "sub_A2",
                    "cus_A",
                    cancel_at=int(datetime(2026, 12, 5, 12, tzinfo=PARIS).timestamp()),
                ),
                subscription(
                    "sub_B",
                    "cus_B",
                    "canceled",
                    ended_at=int(datetime(2026, 11, 23, 9, tzinfo=PARIS).timestamp()),
                    cancellation_feedback="unused",
                    cancellation_comment="<i>hi</i>",
                ),
                subscription("sub_C", "cus_C", "past_due"),
                subscription("sub_E", "cus_E"),  # no longer at risk now
            ]
        )
        session.commit()


def test_rows_from_computed(engine: Engine) -> None:
    fill(engine)
    rows = inputs_from_computed(engine, computed(), D)
    assert rows.currency == "usd"
    assert rows.days[-1].date == D
    assert (rows.days[-1].mrr, rows.days[-1].mrr_at_risk) == (12_500, 6_500)
    (churn,) = [m for m in rows.movements if m.type == "churn"]
    assert (churn.customer_name, churn.feedback, churn.comment) == (
        "<script>alert(1)</script>",
        "unused",
        "<i>hi</i>",
    )
    assert all(m.date >= date(2026, 11, 1) for m in rows.movements)
    assert list(rows.at_risk) == [
        AtRiskRow(
            "sub_A2", "cus_A", "cancel_scheduled", 2_000, "Acme", "a@x.test", date(2026, 12, 5)
        ),
        AtRiskRow("sub_C", "cus_C", "past_due", 4_000, "Cee Corp", None, None),
        AtRiskRow("", "cus_E", None, 500, None, "e@x.test", None),  # D's risk ended on the 22nd
    ]
    # The trials ended and converted each day: E's on 1 Nov, B's on 5 Nov, E's other on 12 Nov.
    trials = {r.date: (r.trials_ended, r.trials_converted) for r in rows.days if r.trials_ended}
    assert trials == {
        date(2026, 11, 1): (1, 1),
        date(2026, 11, 5): (1, 1),
        date(2026, 11, 12): (1, 0),
    }


def test_summary_from_computed(engine: Engine) -> None:
    fill(engine)
    summary = build_summary(inputs_from_computed(engine, computed(), D), D, timezone="Europe/Paris")
    # End of D: A 7,000 + C 4,000 + D 1,000 + E 500 = 12,500; the day before B's 3,000 and
    # A's 5,000 instead of 7,000: 13,500.
    assert (summary.mrr, summary.change_day) == (12_500, -1_000)
    # 31 Oct: A 5,000 + C 4,000 + D 1,000 = 10,000, 3 customers.
    assert (summary.mrr_month_start, summary.customers_month_start) == (10_000, 3)
    assert summary.mtd_movements == Movements(new=3_500, expansion=2_000, churn=-3_000)
    assert summary.mtd_movements.net == summary.change_mtd == 2_500
    assert summary.customer_churn_rate == Fraction(1, 3)
    assert summary.nrr == Fraction(9, 10)  # (10,000 + 2,000 − 3,000) / 10,000
    assert (summary.trials_converted, summary.trials_ended) == (2, 3)
    assert summary.mrr_at_risk == 6_500
    assert [line.mrr for line in summary.at_risk] == [4_000, 2_000, 500]


def test_a_day_after_the_computed_range_says_where_the_metrics_end(engine: Engine) -> None:
    for later in (date(2026, 11, 30), date(2030, 1, 1)):
        rows = inputs_from_computed(engine, computed(), later)
        assert rows.days[-1].date == date(2026, 11, 24)
        with pytest.raises(InputError, match=r"the computed metrics end on 2026-11-24"):
            build_summary(rows, later)
