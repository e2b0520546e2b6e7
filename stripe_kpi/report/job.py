"""The report's job bodies: what `stripe-kpi report` and the worker's morning job run.

They take ``now`` instead of reading the clock (STYLE.md habit 13), so a test says "it is 07:00
in Paris on 25 October" by passing a datetime. The day reported on is, by default, yesterday in
``STRIPE_KPI_TIMEZONE``: the last day whose end has passed for the founder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from stripe_kpi.config import Settings
from stripe_kpi.report.chart import render_chart
from stripe_kpi.report.deliver import (
    ATTEMPTS,
    DeliveryOutcome,
    RenderedReport,
    deliver_report,
    smtp_from_settings,
)
from stripe_kpi.report.inputs import ComputedMetrics
from stripe_kpi.report.load import load_report_inputs
from stripe_kpi.report.render import render_html_file, render_report, render_text
from stripe_kpi.report.summary import DailySummary, build_summary
from stripe_kpi.store.engine import open_database

#: Where the summary's rows come from: the stored derived tables by default; the metrics layer
#: can pass a function that computes them in memory instead.
LoadInputs = Callable[[Engine, date, Settings], ComputedMetrics]


def load_from_tables(engine: Engine, day: date, settings: Settings) -> ComputedMetrics:
    return load_report_inputs(engine, day, currency=settings.currency, timezone=settings.timezone)


def report_day(now: datetime, timezone: str) -> date:
    """Yesterday in ``timezone`` at the instant ``now`` (which must be aware): at 07:00 in Paris
    on the 25th that is the 24th, whatever the UTC date is."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def build_daily_summary(
    engine: Engine, settings: Settings, day: date, *, load: LoadInputs = load_from_tables
) -> tuple[DailySummary, bytes | None]:
    """The summary of ``day`` and its chart (``None`` when there is no history to draw)."""
    summary = build_summary(load(engine, day, settings), day, timezone=settings.timezone)
    return summary, render_chart(summary.series, summary.currency)


def render_all(summary: DailySummary, chart_png: bytes | None) -> RenderedReport:
    """Every form of one report: the email to send, the text, and the standalone page to keep."""
    return RenderedReport(
        report_date=summary.day.isoformat(),
        message=render_report(summary, chart_png),
        text=render_text(summary),
        html_page=render_html_file(summary, chart_png),
    )


def send_daily_report(
    settings: Settings,
    now: datetime,
    *,
    day: date | None = None,
    force: bool = False,
    send: bool = True,
    engine: Engine | None = None,
    load: LoadInputs = load_from_tables,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryOutcome:
    """Build, store and (unless ``send=False``) email the report for ``day`` (default: yesterday
    in ``STRIPE_KPI_TIMEZONE`` at ``now``), once per day unless ``force``.

    SMTP settings are checked before any work, so a missing one is one ``ConfigurationError``
    line. A failed delivery raises ``DeliveryError`` after the retries; the report stays in
    ``report_delivery`` with status ``failed``.
    """
    target = envelope = None
    if send:
        target, envelope = smtp_from_settings(settings)
    day = day or report_day(now, settings.timezone)
    own_engine = engine is None
    engine = engine or open_database(settings.database_url)
    try:
        summary, chart = build_daily_summary(engine, settings, day, load=load)
        return deliver_report(
            engine,
            render_all(summary, chart),
            now=now,
            target=target,
            envelope=envelope,
            send=send,
            force=force,
            attempts=attempts,
            sleep=sleep,
        )
    finally:
        if own_engine:
            engine.dispose()
