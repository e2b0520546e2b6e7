"""The report's extras (``report.extras``): MRR by plan (five and the rest), the newest cohorts'
retention rows, read from the stored tables. A small account synced through HTTP, worked by
hand (USD, UTC; every plan a monthly price with its nickname):

  c1 Starter $10 from 3 Aug 2026        c5 Agency $300 from 1 Oct
  c2 Team $50 from 10 Aug               c6 Solo $5 from 2 Nov
  c3 Pro $100 from 5 Sep                c8 Team $50 from 20 Nov, moved to Pro $100 on 2 Dec
  c4 Scale $200 from 6 Sep, cancelled   c7 Hobby $3 from 3 Dec
     at once on 15 Oct                  c9 Mini $1 from 4 Dec

Report of Sun 6 Dec (sent 7 Dec). MRR by plan at its end, and since the end of 30 Nov:
Agency 300 (0), Pro 100 + 100 = 200 (+100: c8), Team 50 (−50: c8 left), Starter 10, Solo 5;
the rest Hobby 3 + Mini 1 = 4 (+4), two plans; Scale has neither MRR nor a change: left out.
They add up to the account's 569 = 300 + 200 + 50 + 10 + 5 + 4.
Cohorts by month of first payment: Aug (c1, c2), Sep (c3, c4), Oct (c5), Nov (c6, c8), Dec (c7,
c9: the month in progress, not shown). The three newest shown: Sep 100 %, then 1 of 2 (c4
gone in Oct) = 50 % in Oct, Nov and Dec so far; Oct 100 % ×3; Nov 100 % ×2.
Outlook on 7 Dec: nothing set to end, scheduled or in trial, so CMRR = MRR = $569.00. The
forecast's three full months: Sep starts at 60 (c1, c2), gains 300 (c3, c4), loses 0; Oct
starts at 360, gains 300 (c5), loses 200 (c4): 5/9 of its start; Nov starts at 460, gains 55
(c6, c8), loses 0. Growth 655/3 a month, shrink rate (0 + 5/9 + 0)/3 = 5/27. End of Jan 2027
(next month): 569 + 218.333… − 569 × 5/27 (105.370…) = 681.963… → $681.96.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from stripe_kpi.config import Settings
from stripe_kpi.metrics.cohorts import Cohort, CohortMonth
from stripe_kpi.metrics.segment_report import SegmentDays
from stripe_kpi.report.extras import CohortLine, PlanLine, cohort_lines, plan_lines
from stripe_kpi.services import report_for
from stripe_kpi.simulator.billing import BillingAccount
from tests.sync_support import synced_sqlite

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
SUNDAY = date(2026, 12, 6)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> str:
    acct = BillingAccount(start=datetime(2026, 8, 1, tzinfo=UTC), seed=7)
    plans = {"Starter": 1000, "Team": 5000, "Pro": 10000, "Scale": 20000, "Agency": 30000}
    plans |= {"Solo": 500, "Hobby": 300, "Mini": 100}
    price = {
        name: acct.create_price(unit_amount=amount, interval="month", product=name, nickname=name)
        for name, amount in plans.items()
    }
    subs = {}
    for key, plan, when in (
        ("c1", "Starter", at(8, 3)),
        ("c2", "Team", at(8, 10)),
        ("c3", "Pro", at(9, 5)),
        ("c4", "Scale", at(9, 6)),
        ("c5", "Agency", at(10, 1)),
        ("c4", None, at(10, 15)),  # the cancellation, in its place in time
        ("c6", "Solo", at(11, 2)),
        ("c8", "Team", at(11, 20)),
        ("c8", "Pro", at(12, 2)),  # the plan change
        ("c7", "Hobby", at(12, 3)),
        ("c9", "Mini", at(12, 4)),
    ):
        if plan is None:
            acct.cancel(subs[key], at=when, reason="cancellation_requested")
        elif key in subs:
            acct.change(subs[key], at=when, price=price[plan])
        else:
            customer = acct.create_customer(name=key, email=f"{key}@x.test", at=when)
            subs[key] = acct.subscribe(customer, [(price[plan], 1)], at=when)
    acct.advance(NOW)
    return synced_sqlite(acct, tmp_path_factory.mktemp("x"), NOW)


EXTRAS_TEXT = """\
MRR by plan                              MRR      this month
  Agency                             $300.00           $0.00
  Pro                                $200.00        +$100.00
  Team                                $50.00         −$50.00
  Starter                             $10.00           $0.00
  Solo                                 $5.00           $0.00
  other plans (2)                      $4.00          +$4.00

Cohorts: customers still paying, by month since first
  Sep 2026 (2)      100%   50%   50%   50%
  Oct 2026 (1)      100%  100%  100%
  Nov 2026 (2)      100%  100%

Outlook
  Committed MRR today                $569.00
  Forecast, end of Jan 2027          $681.96 (projection)

Figures in USD"""


def test_the_report_shows_mrr_by_plan_and_the_newest_cohorts(synced: str) -> None:
    settings = Settings(_env_file=None, database_url=synced, currency="usd", timezone="UTC")  # type: ignore[call-arg]
    daily = report_for(settings, NOW)
    assert daily.summary.day == SUNDAY
    assert daily.summary.mrr == 56_900
    assert EXTRAS_TEXT in daily.text
    assert max(len(line) for line in EXTRAS_TEXT.splitlines()) <= 60  # a phone's width
    html = daily.html_page
    assert "MRR by plan</td>" in html
    assert ">other plans (2)<br>" in html
    assert "Sep 2026 (2)</td>" in html


def test_plan_lines_keep_five_plans_and_sum_the_rest() -> None:
    """Segments read for 1–6 Dec: (MRR, customers) at the end of 30 Nov, then days with a
    change. "late" changes on 7 Dec, after the report day: not counted."""
    d = date(2026, 12, 3).toordinal()
    segments = {
        name: SegmentDays(mrr, 1, [])
        for name, mrr in (("a", 600), ("b", 500), ("c", 400), ("d", 300), ("e", 200))
    }
    segments["f"] = SegmentDays(0, 0, [(d, 150, 1, 150, 0, 0, 0, 0, 0)])  # new on 3 Dec
    segments["g"] = SegmentDays(120, 2, [(d, 0, 0, 0, 0, 0, -120, 0, 0)])  # churned on 3 Dec
    segments["late"] = SegmentDays(0, 0, [(d + 4, 999, 1, 999, 0, 0, 0, 0, 0)])
    shown, rest = plan_lines(segments, date(2026, 12, 6))
    assert [line.plan for line in shown] == ["a", "b", "c", "d", "e"]
    # The rest: f 150 (+150) and g 0 (−120): MRR 150, change +30, one customer, two plans.
    assert rest == PlanLine("other plans", 150, 30, 1, plans=2)
    one_more = plan_lines({"a": SegmentDays(600, 1, []), "f": segments["f"]}, date(2026, 12, 6))
    assert one_more == ((PlanLine("a", 600, 0, 1), PlanLine("f", 150, 150, 1)), None)


def test_cohort_lines_are_the_newest_three_with_a_month_behind_them() -> None:
    def cohort(month: int, size: int, *customers: int) -> Cohort:
        months = tuple(CohortMonth(i, c, c * 1000) for i, c in enumerate(customers))
        return Cohort(date(2026, month, 1), size, months)

    found = [
        cohort(7, 4, 4, 3, 3, 2, 2, 2),
        cohort(8, 2, 2, 2, 1, 1, 1),
        cohort(9, 3, 3, 3, 3, 3),
        cohort(10, 4, 4, 2, 2),
        cohort(11, 1, 1, 1),
        cohort(12, 5, 5),  # the report's month: only its month 0
    ]
    lines = cohort_lines(found, date(2026, 12, 6))
    assert [line.month.month for line in lines] == [9, 10, 11]
    half = Fraction(1, 2)
    assert lines[1] == CohortLine(date(2026, 10, 1), 4, (Fraction(1), half, half))
    # On 6 Oct the October cohort is the month in progress; July's row stops at October.
    earlier = cohort_lines(found, date(2026, 10, 6), count=5, months=3)
    assert [line.month.month for line in earlier] == [7, 8, 9]
    assert earlier[0].shares == (Fraction(1), Fraction(3, 4), Fraction(3, 4))


def test_plan_names_are_escaped_in_html_and_cut_in_text() -> None:
    """A plan's name is the merchant's price nickname: escaped in the HTML; in the text cut to
    26 characters so its figures keep their columns."""
    from stripe_kpi.report.extras import ReportExtras
    from stripe_kpi.report.render import render_html, render_text
    from tests.test_report_render import small_summary

    long_name = "Enterprise annual plan (legacy, 2019 pricing)"
    extras = ReportExtras(
        plans=(PlanLine("<b>Pro</b>", 100_000, 5_000, 3), PlanLine(long_name, 20_000, 0, 1))
    )
    summary = small_summary(extras=extras)
    html = render_html(summary, None)
    assert "&lt;b&gt;Pro&lt;/b&gt;" in html
    assert "<b>Pro</b>" not in html
    assert long_name in html
    text = render_text(summary)
    assert "  <b>Pro</b>                       $1,000.00         +$50.00\n" in text
    assert "  Enterprise annual plan (l…         $200.00           $0.00\n" in text
