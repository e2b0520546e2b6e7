"""One day's report as values: which day it is about, its summary and chart, and every form it
is rendered in. Pure: the rows come in (``ComputedMetrics``), nothing is read or sent here.

The day reported on is, by default, yesterday in ``STRIPE_KPI_TIMEZONE``: the last day whose end
has passed for the founder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from stripe_kpi.report.chart import render_chart
from stripe_kpi.report.deliver import RenderedReport
from stripe_kpi.report.extras import ReportExtras
from stripe_kpi.report.inputs import ComputedMetrics
from stripe_kpi.report.render import render_html_file, render_report, render_text
from stripe_kpi.report.summary import DailySummary, build_summary


@dataclass(frozen=True, slots=True)
class DailyReport:
    """The summary of one day and its MRR chart (``None`` when there is no history to draw)."""

    summary: DailySummary
    chart: bytes | None

    @property
    def text(self) -> str:
        return render_text(self.summary)

    @property
    def html_page(self) -> str:
        return render_html_file(self.summary, self.chart)


def report_day(now: datetime, timezone: str) -> date:
    """Yesterday in ``timezone`` at the instant ``now`` (which must be aware): at 07:00 in Paris
    on the 25th that is the 24th, whatever the UTC date is."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def build_daily_report(
    rows: ComputedMetrics,
    day: date,
    *,
    timezone: str,
    weekly: bool = False,
    extras: ReportExtras | None = None,
) -> DailyReport:
    """The summary of ``day`` from the metrics' rows, and its chart; ``weekly``: the Monday
    edition (``report.weekly``); ``extras``: by plan, cohorts, outlook (``report.extras``)."""
    summary = build_summary(rows, day, timezone=timezone, weekly=weekly, extras=extras)
    return DailyReport(summary, render_chart(summary.series, summary.currency))


def render_all(summary: DailySummary, chart_png: bytes | None) -> RenderedReport:
    """Every form of one report: the email to send, the text, and the standalone page to keep."""
    return RenderedReport(
        report_date=summary.day.isoformat(),
        message=render_report(summary, chart_png),
        text=render_text(summary),
        html_page=render_html_file(summary, chart_png),
    )
