"""Turn a :class:`DailySummary` into an email, an HTML page or terminal text. Pure: no clock, no
network, no randomness, so a test can pin every string (STYLE.md habit 14).

The email is ``multipart/alternative``: a plain-text part, then ``multipart/related`` holding the
HTML part and the chart PNG, which the HTML shows through ``cid:``. From, To, Date and Message-ID
are the sender's business (:mod:`stripe_kpi.report.deliver`): they need the settings and a clock.

Every string that comes from Stripe (names, emails, feedback, comments) reaches the HTML only
through Jinja2's autoescape; the text part gets it plain, with line breaks folded so a comment
cannot forge lines of the report.
"""

from __future__ import annotations

import base64
import textwrap
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from stripe_kpi.metrics.vocabulary import Movements, MovementType
from stripe_kpi.report.chart import CHART_HEIGHT_PX, CHART_WIDTH_PX
from stripe_kpi.report.extras import PlanLine, ReportExtras
from stripe_kpi.report.formatting import (
    format_day,
    format_money,
    format_rate,
    format_short_day,
    format_signed_money,
)
from stripe_kpi.report.summary import AtRiskLine, CustomerLine, DailySummary
from stripe_kpi.report.weekly import WeekSummary

TEMPLATES = Path(__file__).parent / "templates"
#: A comment longer than this is cut: the email is a summary, the dashboard has the rest.
MAX_COMMENT_CHARS = 300

#: Stripe's ``cancellation_details.feedback`` values, as a founder would say them.
FEEDBACK_LABELS = {
    "customer_service": "customer service",
    "low_quality": "quality was lower than expected",
    "missing_features": "missing features",
    "other": "other reason",
    "switched_service": "switched to another service",
    "too_complex": "too complex",
    "too_expensive": "too expensive",
    "unused": "not using it enough",
}

_MOVEMENT_LABELS: tuple[tuple[MovementType, str], ...] = (
    ("new", "New"),
    ("expansion", "Expansion"),
    ("reactivation", "Reactivation"),
    ("contraction", "Contraction"),
    ("churn", "Churn"),
)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["ljust"] = lambda value, width: str(value).ljust(width)
    env.filters["rjust"] = lambda value, width: str(value).rjust(width)
    env.filters["wrap"] = _wrap
    return env


def _wrap(text: str, indent: int, width: int = 78) -> str:
    """Fill a long line (a customer's comment) to ``width``, every line indented: mail readers
    that do not wrap plain text show it whole."""
    pad = " " * indent
    return textwrap.fill(
        text, width=width, initial_indent=pad, subsequent_indent=pad, break_on_hyphens=False
    )


_ENV = _environment()


def render_subject(summary: DailySummary) -> str:
    """``MRR $12,345.67 (+$120.00) — Mon 23 Nov 2026``: the figure and its change fit in an
    inbox list on a phone."""
    mrr = format_money(summary.mrr, summary.currency)
    change = format_signed_money(summary.change_day, summary.currency)
    return f"MRR {mrr} ({change}) — {format_day(summary.day)}"


def chart_content_id(summary: DailySummary) -> str:
    """The chart's Content-ID, without angle brackets. Derived from the day, not random, so the
    same summary renders the same message; ``.invalid`` keeps it out of any real domain."""
    return f"mrr-chart.{summary.day:%Y%m%d}@stripe-kpi.invalid"


def render_text(summary: DailySummary) -> str:
    """The plain-text report: the email's text part, and what ``stripe-kpi report`` prints."""
    return _ENV.get_template("report.txt").render(**_view(summary, chart_src=None))


def render_html(summary: DailySummary, chart_src: str | None) -> str:
    """The HTML report; ``chart_src`` is a ``cid:`` URL in an email, a ``data:`` URI in a file,
    ``None`` for no chart."""
    return _ENV.get_template("report.html").render(**_view(summary, chart_src=chart_src))


def render_html_file(summary: DailySummary, chart_png: bytes | None) -> str:
    """A standalone HTML page (``report --html PATH``): the chart embedded as a ``data:`` URI so
    the one file opens anywhere."""
    src = None
    if chart_png is not None:
        src = "data:image/png;base64," + base64.b64encode(chart_png).decode("ascii")
    return render_html(summary, src)


def render_report(summary: DailySummary, chart_png: bytes | None) -> EmailMessage:
    """The email without its envelope headers: Subject, a text part, an HTML part and the chart
    as an inline related image (``Content-ID`` referenced by the HTML's ``cid:``).

    Deterministic to the byte: MIME boundaries are derived from the day instead of random
    (``=_`` cannot occur in quoted-printable or base64 bodies, so they cannot collide), and both
    text parts are quoted-printable, 7-bit clean for any relay.
    """
    message = EmailMessage()
    message["Subject"] = render_subject(summary)
    message.set_content(render_text(summary), charset="utf-8", cte="quoted-printable")
    cid = chart_content_id(summary)
    html = render_html(summary, f"cid:{cid}" if chart_png is not None else None)
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    message.set_boundary(f"=_stripe-kpi.alternative.{summary.day.isoformat()}")
    if chart_png is not None:
        html_part = message.get_payload()[1]  # type: ignore[index]
        html_part.add_related(
            chart_png,
            maintype="image",
            subtype="png",
            cid=f"<{cid}>",
            disposition="inline",
            filename="mrr-90-days.png",
        )
        html_part.set_boundary(f"=_stripe-kpi.related.{summary.day.isoformat()}")
    return message


# ---------------------------------------------------------------------------------------------
# The view: every figure formatted once, for both templates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figure:
    """A formatted amount and its tone: ``up`` (green), ``down`` (red) or ``flat``."""

    text: str
    tone: str


def _tone(amount: int) -> str:
    return "up" if amount > 0 else "down" if amount < 0 else "flat"


def _view(summary: DailySummary, chart_src: str | None) -> dict[str, Any]:
    ccy = summary.currency

    def money(amount: int) -> str:
        return format_money(amount, ccy)

    def change(amount: int) -> Figure:
        return Figure(format_signed_money(amount, ccy), _tone(amount))

    customers_change = summary.customers - summary.customers_month_start
    return {
        "subject": render_subject(summary),
        "preheader": _preheader(summary),
        "day_long": format_day(summary.day),
        "day_short": format_short_day(summary.day),
        "month_start": format_short_day(summary.month_start),
        "trailing_start": format_short_day(summary.trailing_start),
        "currency_code": ccy.upper(),
        "timezone": summary.timezone,
        "mrr": money(summary.mrr),
        "arr": money(summary.arr),
        "change_day": change(summary.change_day),
        "change_mtd": change(summary.change_mtd),
        "change_trailing": change(summary.change_trailing),
        "movements": _movement_rows(summary.day_movements, summary.mtd_movements, ccy),
        "net_day": change(summary.day_movements.net),
        "net_mtd": change(summary.mtd_movements.net),
        "show_fx": bool(summary.day_movements.fx or summary.mtd_movements.fx),
        "fx_day": change(summary.day_movements.fx),
        "fx_mtd": change(summary.mtd_movements.fx),
        "customers": f"{summary.customers:,}",
        "customers_change": f"{customers_change:+,}".replace("-", "\u2212")
        if customers_change
        else "no change",
        "arpu": money(summary.arpu) if summary.arpu is not None else "n/a",
        "churn_rate": format_rate(summary.customer_churn_rate),
        "churn_detail": _churn_detail(summary),
        "nrr": format_rate(summary.nrr),
        "trial_rate": format_rate(summary.trial_conversion),
        "trial_detail": (
            f"{summary.trials_converted} of {_plural(summary.trials_ended, 'ended trial')} "
            "converted"
            if summary.trials_ended
            else "no trial ended this month"
        ),
        "at_risk_color": "#9a6700" if summary.mrr_at_risk else "#57606a",  # amber only if any
        "new_customers": [_customer(line, ccy) for line in summary.new_customers],
        "churned_customers": [_customer(line, ccy) for line in summary.churned_customers],
        "mrr_at_risk": money(summary.mrr_at_risk),
        "at_risk": [_risk(line, ccy) for line in summary.at_risk],
        "at_risk_count": _plural(len(summary.at_risk), "subscription"),
        "synced_at": _synced(summary),
        "chart_src": chart_src,
        "chart_width": CHART_WIDTH_PX,
        "chart_height": CHART_HEIGHT_PX,
        "chart_alt": _chart_alt(summary),
        "week": _week(summary.week, ccy) if summary.week is not None else None,
        "extras": _extras(summary.extras, ccy) if summary.extras is not None else None,
    }


#: A plan's name is cut to this in the text part, so its figures stay in their columns.
PLAN_NAME_CHARS = 26


def _extras(extras: ReportExtras, ccy: str) -> dict[str, Any]:
    """MRR by plan, the cohorts' rows and the outlook, formatted (``report.extras``)."""

    def plan(line: PlanLine) -> dict[str, Any]:
        name = _one_line(line.plan)
        if line.plans > 1:
            name = f"{name} ({line.plans})"
        short = name if len(name) <= PLAN_NAME_CHARS else name[: PLAN_NAME_CHARS - 1] + "…"
        return {
            "name": name,
            "short": short,
            "mrr": format_money(line.mrr, ccy),
            "change": Figure(format_signed_money(line.change, ccy), _tone(line.change)),
            "customers": _plural(line.customers, "customer"),
        }

    plans = [plan(line) for line in extras.plans]
    if extras.rest is not None:
        plans.append(plan(extras.rest))
    outlook = None
    if extras.outlook is not None:
        o = extras.outlook
        outlook = {
            "cmrr": format_money(o.cmrr, ccy) if o.cmrr is not None else None,
            "forecast": format_money(o.forecast_mrr, ccy) if o.forecast_mrr is not None else None,
            "forecast_month": f"{o.forecast_month:%b %Y}" if o.forecast_month else None,
        }
    return {
        "plans": plans,
        "cohorts": [
            {
                "label": f"{c.month:%b %Y} ({c.size:,})",
                "shares": [format_rate(s, places=0) for s in c.shares],
            }
            for c in extras.cohorts
        ],
        "outlook": outlook,
    }


def _week(week: WeekSummary, ccy: str) -> dict[str, Any]:
    """The Monday edition's section: the week's MRR change, its movements and who churned."""
    moved = week.movements
    customers = week.customers_end - week.customers_start
    return {
        "range": f"{format_day(week.first)[:3]} {format_short_day(week.first)} \u2013 "
        f"{format_day(week.last)[:3]} {format_short_day(week.last)}",
        "since": format_short_day(week.first - timedelta(days=1)),
        "change": Figure(format_signed_money(week.change, ccy), _tone(week.change)),
        "mrr_start": format_money(week.mrr_start, ccy),
        "mrr_end": format_money(week.mrr_end, ccy),
        "movements": [
            {"label": label, "amount": Figure(format_signed_money(v, ccy), _tone(v))}
            for field, label in _MOVEMENT_LABELS
            for v in (getattr(moved, field),)
        ],
        "net": Figure(format_signed_money(moved.net, ccy), _tone(moved.net)),
        "fx": Figure(format_signed_money(moved.fx, ccy), _tone(moved.fx)) if moved.fx else None,
        "customers": f"{week.customers_start:,} \u2192 {week.customers_end:,}",
        "customers_detail": f"{customers:+,}".replace("-", "\u2212") if customers else "no change",
        "won": week.customers_won,
        "churned": [
            {
                "name": _one_line(c.display_name),
                "email": _one_line(c.email) if c.email and c.name else None,
                "amount": Figure(format_signed_money(c.amount, ccy), _tone(c.amount)),
                "reason": c.churn_reason or "reason unknown",
                "day": format_day(c.day)[:3] + " " + format_short_day(c.day),
            }
            for c in week.churned
        ],
    }


def _movement_rows(day: Movements, mtd: Movements, ccy: str) -> list[dict[str, Any]]:
    rows = []
    for field, label in _MOVEMENT_LABELS:
        d, m = getattr(day, field), getattr(mtd, field)
        rows.append(
            {
                "label": label,
                "day": Figure(format_signed_money(d, ccy), _tone(d)),
                "mtd": Figure(format_signed_money(m, ccy), _tone(m)),
            }
        )
    return rows


def _churn_detail(summary: DailySummary) -> str:
    return (
        f"{summary.churned_mtd:,} of {_plural(summary.customers_month_start, 'customer')}: "
        f"{summary.churned_mtd_voluntary} voluntary, {summary.churned_mtd_involuntary} involuntary"
    )


def _customer(line: CustomerLine, ccy: str) -> dict[str, Any]:
    feedback = None
    if line.feedback:
        feedback = FEEDBACK_LABELS.get(line.feedback, _one_line(line.feedback).replace("_", " "))
    return {
        "name": _one_line(line.display_name),
        "email": _one_line(line.email) if line.email and line.name else None,
        "amount": Figure(format_signed_money(line.amount, ccy), _tone(line.amount)),
        "reactivated": line.movement == "reactivation",
        "reason": line.churn_reason,
        "feedback": feedback,
        "comment": _clip(_one_line(line.comment)) if line.comment else None,
    }


def _risk(line: AtRiskLine, ccy: str) -> dict[str, Any]:
    if line.reason == "past_due":
        why = "past due"
    elif line.reason == "collection_paused":
        why = "collection paused"
    elif line.reason is None:
        why = "at risk"
    elif line.cancels_on is not None:
        why = f"cancels {format_short_day(line.cancels_on)}"
    else:
        why = "set to cancel"
    return {
        "name": _one_line(line.display_name),
        "email": _one_line(line.email) if line.email and line.name else None,
        "amount": format_money(line.mrr, ccy) if line.mrr is not None else "—",
        "why": why,
    }


def _one_line(text: str | None) -> str:
    """Fold every run of whitespace (newlines included) into one space."""
    return " ".join((text or "").split())


def _clip(text: str) -> str:
    if len(text) <= MAX_COMMENT_CHARS:
        return text
    return text[: MAX_COMMENT_CHARS - 1].rstrip() + "…"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _preheader(summary: DailySummary) -> str:
    """The line an inbox shows under the subject (the Monday edition's starts with the week)."""
    parts = [
        f"{_plural(len(summary.new_customers), 'new customer')}",
        f"{len(summary.churned_customers):,} churned",
        f"{format_money(summary.mrr_at_risk, summary.currency)} at risk",
    ]
    if summary.week is not None:
        week = format_signed_money(summary.week.change, summary.currency)
        parts.insert(0, f"the week {week}")
    return " · ".join(parts)


def _synced(summary: DailySummary) -> str | None:
    if summary.synced_at is None:
        return None
    local = summary.synced_at.astimezone(ZoneInfo(summary.timezone))
    return f"{format_day(local.date())} at {local:%H:%M}"


def _chart_alt(summary: DailySummary) -> str:
    if not summary.series:
        return ""
    first_day, first = summary.series[0]
    return (
        f"MRR from {format_short_day(first_day)} to {format_short_day(summary.day)}: "
        f"{format_money(first, summary.currency)} to {format_money(summary.mrr, summary.currency)}"
    )
