"""A fixed, hand-written summary for looking at the report without an account.

``scripts/screenshot_report.sh`` renders it so a person (or a reviewer) can check the HTML in a
browser: it has every section filled, a hostile customer name, HTML in a comment, a long comment,
a reactivation, both churn reasons and an unknown at-risk amount, i.e. the cases a real account
shows only now and then.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from stripe_kpi.metrics.vocabulary import Movements
from stripe_kpi.report.summary import AtRiskLine, CustomerLine, DailySummary


def sample_summary(day: date = date(2026, 11, 23), currency: str = "usd") -> DailySummary:
    """A growing account of 42 customers at the end of ``day``; deterministic."""
    start = day - timedelta(days=89)
    history = [
        (start + timedelta(days=i), 1_050_000 + i * 2_150 - (30_000 if 40 <= i < 47 else 0))
        for i in range(89)
    ]
    series = (*history, (day, 1_234_567))
    return DailySummary(
        day=day,
        currency=currency,
        timezone="Europe/Paris",
        mrr=1_234_567,
        mrr_previous_day=1_222_567,
        mrr_month_start=1_200_000,
        mrr_trailing_start=1_150_000,
        customers=42,
        customers_month_start=40,
        day_movements=Movements(new=14_900, expansion=5_000, contraction=-2_900, churn=-5_000),
        mtd_movements=Movements(
            new=44_700, expansion=9_867, contraction=-2_900, churn=-20_000, reactivation=2_900
        ),
        new_customers=(
            CustomerLine("cus_A1", "Acme Analytics", "billing@acme.test", "new", 9_900),
            CustomerLine("cus_B2", None, "solo@founder.test", "reactivation", 5_000),
        ),
        churned_customers=(
            CustomerLine(
                "cus_X9",
                "<script>alert(1)</script>",
                "x@evil.test",
                "churn",
                -4_000,
                churn_reason="voluntary",
                feedback="too_expensive",
                comment="<b>Loved it</b> but the <a href='https://evil.test'>price</a> doubled. "
                "We will be back when we raise our round; until then, thank you for the "
                "support & the quick answers.",
            ),
            CustomerLine(
                "cus_Y8",
                "Globex GmbH",
                "ap@globex.test",
                "churn",
                -1_000,
                churn_reason="involuntary",
            ),
        ),
        churned_mtd_voluntary=2,
        churned_mtd_involuntary=1,
        arpu=29_394,
        customer_churn_rate=Fraction(3, 40),
        nrr=Fraction(1_189_867, 1_200_000),
        trials_ended=4,
        trials_converted=3,
        mrr_at_risk=19_900,
        at_risk=(
            AtRiskLine("sub_1", "cus_C3", "Initech", "it@initech.test", "past_due", 9_900),
            AtRiskLine(
                "sub_2",
                "cus_D4",
                "Hooli",
                None,
                "cancel_scheduled",
                10_000,
                cancels_on=day + timedelta(days=7),
            ),
            AtRiskLine("sub_3", "cus_E5", "Umbrella Corp", None, "past_due", None),
        ),
        series=series,
        synced_at=datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
        + timedelta(hours=5, minutes=58),
    )
