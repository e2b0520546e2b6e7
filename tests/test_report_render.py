"""Rendering: exact text, escaped HTML, the MIME structure with its inline chart, the PNG."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from fractions import Fraction

from stripe_kpi.metrics.vocabulary import Movements
from stripe_kpi.report.chart import render_chart
from stripe_kpi.report.render import (
    chart_content_id,
    render_html,
    render_html_file,
    render_report,
    render_subject,
    render_text,
)
from stripe_kpi.report.summary import AtRiskLine, CustomerLine, DailySummary

D = date(2026, 11, 23)
XSS = "<script>alert(1)</script>"
HTML_COMMENT = "<b>Loved it</b> & left <img src=x onerror=alert(2)>"


def small_summary(**changes: object) -> DailySummary:
    """Worked by hand (USD, UTC):

    MRR 1,234,567 ($12,345.67); end of 22 Nov 1,222,567 → +$120.00 on the day; end of 31 Oct
    1,200,000 → +$345.67 month to date; end of 24 Oct 1,150,000 → +$845.67 over 30 days.
    The day: new 14,900 + expansion 5,000 − contraction 1,000 − churn 6,900 = +12,000.
    The month: 30,000 + 9,867 + 2,900 − 1,300 − 6,900 = +34,567.
    ARPU 1,234,567 / 42 = 29,394.45 → $293.94. Churn 2 of 40 = 5.0%.
    NRR (1,200,000 + 9,867 + 2,900 − 1,300 − 6,900) / 1,200,000 = 100.38% → 100.4%.
    """
    values: dict[str, object] = {
        "day": D,
        "currency": "usd",
        "timezone": "UTC",
        "mrr": 1_234_567,
        "mrr_previous_day": 1_222_567,
        "mrr_month_start": 1_200_000,
        "mrr_trailing_start": 1_150_000,
        "customers": 42,
        "customers_month_start": 40,
        "day_movements": Movements(new=14_900, expansion=5_000, contraction=-1_000, churn=-6_900),
        "mtd_movements": Movements(
            new=30_000, expansion=9_867, contraction=-1_300, churn=-6_900, reactivation=2_900
        ),
        "new_customers": (
            CustomerLine("cus_A", "Acme Analytics", "billing@acme.test", "new", 9_900),
            CustomerLine("cus_B", None, "solo@founder.test", "new", 5_000),
        ),
        "churned_customers": (
            CustomerLine(
                "cus_X",
                XSS,
                "x@evil.test",
                "churn",
                -4_000,
                "voluntary",
                "too_expensive",
                HTML_COMMENT,
            ),
            CustomerLine("cus_Y", "Globex GmbH", "ap@globex.test", "churn", -2_900, "involuntary"),
        ),
        "churned_mtd_voluntary": 1,
        "churned_mtd_involuntary": 1,
        "arpu": 29_394,
        "customer_churn_rate": Fraction(2, 40),
        "nrr": Fraction(1_204_567, 1_200_000),
        "trials_ended": 4,
        "trials_converted": 3,
        "mrr_at_risk": 19_900,
        "at_risk": (
            AtRiskLine(
                "sub_h", "cus_H", "Hooli", None, "cancel_scheduled", 10_000, date(2026, 11, 30)
            ),
            AtRiskLine("sub_i", "cus_I", "Initech", "it@initech.test", "past_due", 9_900),
        ),
        "series": tuple((D - timedelta(days=89 - i), 1_100_000 + i * 1_500) for i in range(90)),
        "synced_at": datetime(2026, 11, 24, 5, 58, tzinfo=UTC),
    }
    values.update(changes)
    return DailySummary(**values)  # type: ignore[arg-type]


EXPECTED_TEXT = """\
MRR $12,345.67 (+$120.00) — Mon 23 Nov 2026

MRR at the end of Mon 23 Nov 2026: $12,345.67
  on the day                        +$120.00
  month to date (since 1 Nov)       +$345.67
  last 30 days (since 24 Oct)       +$845.67
  ARR                            $148,148.04

Movements                             23 Nov   month to date
  New                               +$149.00        +$300.00
  Expansion                          +$50.00         +$98.67
  Reactivation                         $0.00         +$29.00
  Contraction                        −$10.00         −$13.00
  Churn                              −$69.00         −$69.00
  Net new MRR                       +$120.00        +$345.67

Customers
  Paying customers            42 (+2 this month)
  ARPU                        $293.94
  Customer churn (MTD)        5.0% (2 of 40 customers: 1 voluntary, 1 involuntary)
  NRR (MTD)                   100.4%
  Trial conversion (MTD)      75.0% (3 of 4 ended trials converted)

New customers on 23 Nov (2)
       +$99.00  Acme Analytics <billing@acme.test>
       +$50.00  solo@founder.test

Churned customers on 23 Nov (2)
       −$40.00  <script>alert(1)</script> <x@evil.test>, voluntary
                feedback: too expensive
                comment: “<b>Loved it</b> & left <img src=x onerror=alert(2)>”
       −$29.00  Globex GmbH <ap@globex.test>, involuntary

MRR at risk: $199.00 (2 subscriptions)
       $100.00  Hooli, cancels 30 Nov
        $99.00  Initech <it@initech.test>, past due

Figures in USD; days end at midnight UTC.
Data synced from Stripe on Tue 24 Nov 2026 at 05:58 (UTC).
"""


def test_subject() -> None:
    assert render_subject(small_summary()) == "MRR $12,345.67 (+$120.00) — Mon 23 Nov 2026"
    down = small_summary(mrr_previous_day=1_240_000)
    assert render_subject(down) == "MRR $12,345.67 (−$54.33) — Mon 23 Nov 2026"


def test_text_is_exact_and_stripe_strings_stay_plain() -> None:
    assert render_text(small_summary()) == EXPECTED_TEXT


def test_text_folds_line_breaks_so_a_comment_cannot_forge_report_lines() -> None:
    line = CustomerLine("cus_Z", "Evil\nMRR at risk: $0.00", None, "churn", -100, "voluntary")
    text = render_text(small_summary(churned_customers=(line,)))
    assert "Evil MRR at risk: $0.00, voluntary" in text
    assert "\nMRR at risk: $0.00" not in text


def test_html_escapes_every_stripe_string() -> None:
    html = render_html(small_summary(), "cid:chart")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Loved it&lt;/b&gt; &amp; left &lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script" not in html
    assert "<b>" not in html
    assert "<img src=x" not in html


def test_html_is_email_safe_inline_styles_tables_no_external_resources() -> None:
    html = render_html(small_summary(), "cid:chart")
    assert "<style" not in html
    assert "<link" not in html
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?https?:""", html)
    assert '<table role="presentation" width="600"' in html
    for figure in ("$12,345.67", "+$120.00", "+$345.67", "+$845.67", "$148,148.04", "$293.94"):
        assert figure in html
    assert "5.0%" in html
    assert "100.4%" in html
    assert "75.0%" in html


def test_a_quiet_day_reads_plainly() -> None:
    quiet = small_summary(
        new_customers=(),
        churned_customers=(),
        at_risk=(),
        mrr_at_risk=0,
        trials_ended=0,
        trials_converted=0,
    )
    html = render_html(quiet, None)
    assert "None on 23 Nov." in html
    assert "No past-due subscriptions and no scheduled cancellations." in html
    assert "<strong>n/a</strong> <span" in html
    assert "(no trial ended this month)" in html
    assert "<img" not in html
    text = render_text(quiet)
    assert "  Trial conversion (MTD)      n/a (no trial ended this month)\n" in text
    assert "New customers on 23 Nov (0)\n  none\n" in text
    assert "MRR at risk: $0.00\n\nFigures in USD" in text


def test_email_structure_text_then_html_with_the_chart_related() -> None:
    summary = small_summary()
    chart = render_chart(summary.series, summary.currency)
    assert chart is not None
    message = render_report(summary, chart)
    assert message.get_content_type() == "multipart/alternative"
    text_part, related = message.get_payload()  # type: ignore[misc]
    assert text_part.get_content_type() == "text/plain"
    assert text_part.get_content() == EXPECTED_TEXT
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == f"<{chart_content_id(summary)}>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == chart
    assert f'src="cid:{chart_content_id(summary)}"' in html_part.get_content()


def test_email_round_trips_through_bytes_and_is_deterministic() -> None:
    summary = small_summary()
    chart = render_chart(summary.series, summary.currency)
    first = render_report(summary, chart).as_bytes(policy=policy.SMTP)
    assert first == render_report(summary, chart).as_bytes(policy=policy.SMTP)
    parsed = message_from_bytes(first, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == render_subject(summary)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == EXPECTED_TEXT  # CRLF on the wire
    assert all(len(line) <= 998 for line in first.split(b"\r\n"))  # RFC 5322 line limit


def test_email_without_chart_has_no_image() -> None:
    message = render_report(small_summary(series=()), None)
    html_part = message.get_payload()[1]  # type: ignore[index]
    assert html_part.get_content_type() == "text/html"
    assert "<img" not in html_part.get_content()


def test_html_file_embeds_the_chart_as_a_data_uri() -> None:
    page = render_html_file(small_summary(), b"\x89PNG fake")
    assert 'src="data:image/png;base64,iVBORyBmYWtl"' in page
    assert "cid:" not in page


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        assert (
            zlib.crc32(kind + data)
            == struct.unpack(">I", png[at + 8 + length : at + 12 + length])[0]
        )
        chunks.append((kind, data))
        at += 12 + length
    return chunks


def test_chart_is_a_deterministic_png_without_metadata() -> None:
    series = small_summary().series
    png = render_chart(series, "usd")
    assert png is not None
    assert png == render_chart(series, "usd")
    chunks = _png_chunks(png)
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (1120, 440)  # 560×220 shown, drawn at 2× for sharp screens
    assert not [kind for kind, _ in chunks if kind in (b"tEXt", b"iTXt", b"zTXt", b"tIME")]
    other = render_chart((*series[:-1], (D, 2_000_000)), "usd")
    assert other != png


def test_chart_in_other_currencies_and_edge_cases() -> None:
    days = [D - timedelta(days=1), D]
    assert render_chart([(d, 100_000) for d in days], "jpy") is not None  # ¥ on the axis
    assert render_chart([(d, 0) for d in days], "eur") is not None  # an empty account
    assert render_chart([(D, 5_000)], "chf") is not None  # a single day
    assert render_chart([], "usd") is None
