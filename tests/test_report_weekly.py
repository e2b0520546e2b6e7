"""The Monday edition (``STRIPE_KPI_WEEKLY=monday``): the report of a Sunday also sums up its
week, Monday to Sunday. A small account synced through HTTP, worked by hand (USD, UTC):

  Ada  $50/month from 2 Nov 2026.
  Bob  $100/month from 3 Nov, cancelled at once on Tue 1 Dec              → churn −100, voluntary.
  Dee  $20/month from 20 Nov.
  Cy   $40/month from Mon 30 Nov (the week's first day, still November)  → new +40.
  Eve  $25/month from Fri 4 Dec                                           → new +25.

Report sent on Mon 7 Dec about Sun 6 Dec; its week is Mon 30 Nov – Sun 6 Dec. MRR at the end
of Sun 29 Nov: 50 + 100 + 20 = $170.00; at the end of 6 Dec: 50 + 20 + 40 + 25 = $135.00, so
−$35.00 = new +65.00 (40 + 25) + churn −100.00. Paying customers 3 → 4 (+1): two won, Bob lost.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from stripe_kpi.config import Settings
from stripe_kpi.report.from_metrics import report_window
from stripe_kpi.report.render import render_html
from stripe_kpi.report.weekly import WeekChurn, is_weekly_edition
from stripe_kpi.services import report_for
from stripe_kpi.simulator.billing import BillingAccount
from tests.sync_support import synced_sqlite

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday morning
SUNDAY = date(2026, 12, 6)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> str:
    acct = BillingAccount(start=datetime(2026, 11, 1, tzinfo=UTC), seed=5)
    prices = {
        amount: acct.create_price(unit_amount=amount, interval="month", product=f"P{amount}")
        for amount in (5000, 10000, 2000, 4000, 2500)
    }
    subs = {}
    for name, amount, when in (
        ("Ada", 5000, at(11, 2)),
        ("Bob", 10000, at(11, 3)),
        ("Dee", 2000, at(11, 20)),
        ("Cy <Cyrus>", 4000, at(11, 30)),
        ("Bob", 0, at(12, 1)),  # the cancellation, in its place in time
        ("Eve", 2500, at(12, 4)),
    ):
        if amount == 0:
            acct.cancel(subs[name], at=when, reason="cancellation_requested")
            continue
        customer = acct.create_customer(name=name, email=f"{name[:2].lower()}@x.test", at=when)
        subs[name] = acct.subscribe(customer, [(prices[amount], 1)], at=when)
    acct.advance(NOW)
    return synced_sqlite(acct, tmp_path_factory.mktemp("w"), NOW)


def _settings(url: str, weekly: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        currency="usd",
        timezone="UTC",
        weekly=weekly,
    )


WEEK_TEXT = """\
The week, Mon 30 Nov \u2013 Sun 6 Dec
  MRR change (since 29 Nov)          −$35.00
  MRR a week ago, now         $170.00 \u2192 $135.00
  New                                +$65.00
  Expansion                            $0.00
  Reactivation                         $0.00
  Contraction                          $0.00
  Churn                             −$100.00
  Net new MRR                        −$35.00
  Paying customers            3 \u2192 4 (+1)
  Customers won               2
  Churned this week (1)
      −$100.00  Bob <bo@x.test>, voluntary, Tue 1 Dec

"""


def test_the_report_of_a_sunday_sums_up_its_week(synced: str) -> None:
    daily = report_for(_settings(synced, "monday"), NOW)
    assert daily.summary.day == SUNDAY
    text = daily.text
    assert WEEK_TEXT in text
    # Right after the MRR block, before the day's movements; every line fits a phone's 60.
    assert text.index("  ARR") < text.index("The week,") < text.index("Movements")
    assert max(len(line) for line in WEEK_TEXT.splitlines()) <= 60
    assert daily.summary.week is not None
    assert (daily.summary.week.mrr_start, daily.summary.week.mrr_end) == (17_000, 13_500)


def test_the_week_is_not_in_other_reports(synced: str) -> None:
    """Off by default; and on, only the report of a Sunday carries it."""
    off = report_for(_settings(synced, "off"), NOW)
    assert off.summary.week is None
    assert "The week" not in off.text
    saturday = report_for(_settings(synced, "monday"), NOW, date(2026, 12, 5))
    assert saturday.summary.week is None
    assert "The week" not in saturday.text
    assert "The week" not in saturday.html_page


def test_the_weekly_html_escapes_names_and_keeps_the_600px_card(synced: str) -> None:
    summary = report_for(_settings(synced, "monday"), NOW).summary
    assert summary.week is not None
    week = summary.week
    hostile = WeekChurn(date(2026, 12, 1), "cus_x", "<script>x</script>", None, -10_000, None)
    html = render_html(replace(summary, week=replace(week, churned=(hostile,))), None)
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<script" not in html
    assert "Churned Tue 1 Dec &middot; Reason unknown" in html
    assert "The week <span" in html
    assert "Mon 30 Nov \u2013 Sun 6 Dec" in html
    assert '<table role="presentation" width="600"' in html


def test_the_weekly_edition_and_its_window() -> None:
    assert SUNDAY.weekday() == 6
    assert is_weekly_edition("monday", SUNDAY)
    assert not is_weekly_edition("monday", date(2026, 12, 5))
    assert not is_weekly_edition("off", SUNDAY)
    # The report of 6 Dec lists movements from 30 Nov (its week) although its month starts 1 Dec.
    assert report_window(SUNDAY, SUNDAY) == (date(2026, 11, 30), SUNDAY)
    assert report_window(date(2026, 12, 20), date(2026, 12, 25)) == (
        date(2026, 12, 1),
        date(2026, 12, 20),
    )


def test_stripe_kpi_weekly_is_a_setting() -> None:
    assert Settings(_env_file=None).weekly == "off"  # type: ignore[call-arg]
    assert Settings(_env_file=None, STRIPE_KPI_WEEKLY="Monday").weekly == "monday"  # type: ignore[call-arg]
