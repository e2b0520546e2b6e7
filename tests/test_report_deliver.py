"""Delivery through a real SMTP server (aiosmtpd on 127.0.0.1), the once-per-day rule, retries,
and the one-line errors."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from stripe_kpi.config import Settings
from stripe_kpi.errors import ConfigurationError, DeliveryError
from stripe_kpi.report.chart import render_chart
from stripe_kpi.report.daily import build_daily_report, render_all, report_day
from stripe_kpi.report.deliver import (
    Envelope,
    SmtpTarget,
    already_sent,
    deliver_report,
    send_message,
    smtp_from_settings,
)
from stripe_kpi.report.inputs import DayRow, MovementRow, ReportInputs
from stripe_kpi.report.render import chart_content_id
from stripe_kpi.services import send_daily_report
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.models import ReportDelivery
from tests.pg_cluster import free_port
from tests.smtp_support import Inbox
from tests.test_report_render import EXPECTED_TEXT, small_summary

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
SENDER = "reports@example.test"
RECIPIENTS = ("founder@example.test", "cofounder@example.test")


def settings_for(port: int, db_url: str = "sqlite://", **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "email_from": f"stripe_kpi <{SENDER}>",
        "email_to": "founder@example.test, Co Founder <cofounder@example.test>",
        "database_url": db_url,
        "timezone": "UTC",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def target(port: int, **extra: Any) -> SmtpTarget:
    return SmtpTarget("127.0.0.1", port, extra.pop("security", "none"), timeout=5, **extra)


def rows_of(engine: Engine) -> list[ReportDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(ReportDelivery).order_by(col(ReportDelivery.id))))


def rendered() -> Any:
    summary = small_summary()
    return render_all(summary, render_chart(summary.series, summary.currency))


def test_the_email_arrives_with_exact_headers_parts_chart_and_figures(
    sqlite_url: str, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    settings = settings_for(port, sqlite_url)
    engine = open_database(sqlite_url)
    try:
        target_, envelope = smtp_from_settings(settings)
        outcome = deliver_report(
            engine, rendered(), now=NOW, target=target_, envelope=envelope, sleep=_no_sleep
        )
        assert outcome.status == "sent"
        assert outcome.attempts == 1
        assert outcome.describe() == (
            "sent the report for 2026-11-23 to founder@example.test, cofounder@example.test"
        )
        (row,) = rows_of(engine)
    finally:
        engine.dispose()

    (envelope_received,) = handler.envelopes
    assert envelope_received.mail_from == SENDER
    assert envelope_received.rcpt_tos == list(RECIPIENTS)
    (message,) = handler.messages()
    assert message["From"] == SENDER
    assert message["To"] == "founder@example.test, cofounder@example.test"
    assert message["Subject"] == "MRR $12,345.67 (+$120.00) — Mon 23 Nov 2026"
    assert message["Date"] == "Tue, 24 Nov 2026 06:00:00 +0000"
    assert message["Message-ID"].endswith("@example.test>")

    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().replace("\r\n", "\n") == EXPECTED_TEXT
    html_content = html.get_content()
    cid = chart_content_id(small_summary())
    assert f'src="cid:{cid}"' in html_content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_content
    assert "<script" not in html_content
    (image,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == f"<{cid}>"
    assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")

    assert row.status == "sent"
    assert row.attempts == 1
    assert row.sent_at == int(NOW.timestamp())
    assert row.recipients == "founder@example.test, cofounder@example.test"
    assert row.subject == message["Subject"]
    assert row.text_body == EXPECTED_TEXT
    assert "data:image/png;base64," in row.html_body  # the stored copy keeps its chart


def test_once_per_day_unless_forced(engine: Engine, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    envelope = Envelope(SENDER, RECIPIENTS)
    send = {"target": target(port), "envelope": envelope, "now": NOW, "sleep": _no_sleep}

    first = deliver_report(engine, rendered(), **send)
    second = deliver_report(engine, rendered(), **send)
    assert (first.status, second.status) == ("sent", "already_sent")
    assert second.previously_sent_at == int(NOW.timestamp())
    assert "already sent" in second.describe()
    assert "--force" in second.describe()
    assert len(handler.envelopes) == 1

    forced = deliver_report(engine, rendered(), force=True, **send)
    assert forced.status == "sent"
    assert len(handler.envelopes) == 2

    rows = rows_of(engine)
    assert [r.status for r in rows] == ["sent", "rendered", "sent"]  # every render is kept
    assert rows[1].error == "not sent: this day was already sent; --force resends"
    assert already_sent(engine, "2026-11-23")
    assert not already_sent(engine, "2026-11-22")


def test_render_only_stores_without_sending(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    try:
        outcome = deliver_report(engine, rendered(), now=NOW, send=False)
        assert outcome.status == "rendered"
        (row,) = rows_of(engine)
        assert (row.status, row.attempts, row.recipients) == ("rendered", 0, None)
    finally:
        engine.dispose()


def test_refused_connection_is_retried_then_fails_with_one_line(sqlite_url: str) -> None:
    port = free_port()  # nothing listens there: every connection is refused
    sleeps: list[float] = []
    engine = open_database(sqlite_url)
    try:
        with pytest.raises(DeliveryError) as caught:
            deliver_report(
                engine,
                rendered(),
                now=NOW,
                target=target(port),
                envelope=Envelope(SENDER, RECIPIENTS),
                sleep=sleeps.append,
            )
        (row,) = rows_of(engine)
    finally:
        engine.dispose()
    message = caught.value.message
    assert "\n" not in message
    assert message.startswith(
        f"could not deliver the report through 127.0.0.1:{port} after 3 attempts: "
        "connection refused"
    )
    assert sleeps == [5.0, 10.0]  # backoff doubles; no sleep after the last attempt
    assert (row.status, row.attempts, row.error) == ("failed", 3, message)
    assert row.text_body == EXPECTED_TEXT  # the report is kept for a later send


def test_temporary_refusal_is_retried_and_then_sent() -> None:
    handler = Inbox(replies=["421 4.3.0 try again later"])
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    sleeps: list[float] = []
    try:
        used = send_message(
            rendered().message, target(port), Envelope(SENDER, RECIPIENTS), sleep=sleeps.append
        )
    finally:
        controller.stop()
    assert used == 2
    assert sleeps == [5.0]
    assert len(handler.envelopes) == 1


def test_permanent_refusal_is_not_retried() -> None:
    handler = Inbox(replies=["554 5.7.1 rejected as spam"])
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    sleeps: list[float] = []
    try:
        with pytest.raises(DeliveryError, match=r"refused the report: 554 5.7.1 rejected as spam"):
            send_message(
                rendered().message,
                target(port),
                Envelope(SENDER, RECIPIENTS),
                sleep=sleeps.append,
            )
    finally:
        controller.stop()
    assert sleeps == []


def test_starttls_or_login_not_offered_says_which_setting_to_change(
    inbox: tuple[Inbox, int],
) -> None:
    _, port = inbox
    with pytest.raises(DeliveryError, match="does not offer STARTTLS: set SMTP_SECURITY=ssl"):
        send_message(
            rendered().message,
            target(port, security="starttls"),
            Envelope(SENDER, RECIPIENTS),
            sleep=_no_sleep,
        )
    with pytest.raises(DeliveryError, match=r"does not offer login \(AUTH\)"):
        send_message(
            rendered().message,
            target(port, username="mailer", password="s3cret"),
            Envelope(SENDER, RECIPIENTS),
            sleep=_no_sleep,
        )


def test_missing_smtp_settings_are_named_in_one_line() -> None:
    bare = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError) as caught:
        smtp_from_settings(bare)
    assert caught.value.message == (
        "cannot send the report: SMTP_HOST, EMAIL_FROM, EMAIL_TO not set (put them in the "
        "environment or .env; .env.example lists them)"
    )
    half = settings_for(2525, smtp_username="mailer")
    with pytest.raises(ConfigurationError, match=r"SMTP_PASSWORD not set"):
        smtp_from_settings(half)
    with pytest.raises(ConfigurationError, match="EMAIL_TO has no email address"):
        smtp_from_settings(settings_for(2525, email_to="nobody"))


def test_smtp_settings_default_port_follows_security() -> None:
    for security, port in (("starttls", 587), ("ssl", 465), ("none", 25)):
        target_, _ = smtp_from_settings(settings_for(0, smtp_port=None, smtp_security=security))
        assert target_.port == port


def test_the_report_of_yesterday_in_the_zone_is_sent_once(
    sqlite_url: str, inbox: tuple[Inbox, int]
) -> None:
    """At 00:30 on 24 Nov in Tokyo it is still 23 Nov in UTC; yesterday there is the 23rd."""
    handler, port = inbox
    tokyo = settings_for(port, sqlite_url, timezone="Asia/Tokyo")
    now = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # 00:30 on the 24th in Tokyo
    assert report_day(now, "Asia/Tokyo") == date(2026, 11, 23)
    assert report_day(now, "America/New_York") == date(2026, 11, 22)

    day = report_day(now, tokyo.timezone)
    rows = ReportInputs(
        currency="jpy",
        days=[
            DayRow(date(2026, 11, 22), mrr=10_000, customers=2),
            DayRow(day, mrr=11_000, customers=3, new=1_000),
        ],
        movements=[MovementRow(day, "cus_1", "new", 1_000, 0, 1_000, "Kaisha KK")],
    )
    smtp, envelope = smtp_from_settings(tokyo)
    engine = open_database(sqlite_url)

    def send() -> Any:
        report = build_daily_report(rows, day, timezone=tokyo.timezone)
        rendered = render_all(report.summary, report.chart)
        return deliver_report(
            engine, rendered, now=now, target=smtp, envelope=envelope, sleep=_no_sleep
        )

    outcome = send()
    assert outcome.status == "sent"
    (message,) = handler.messages()
    assert message["Subject"] == "MRR ¥11,000 (+¥1,000) — Mon 23 Nov 2026"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert "+¥1,000  Kaisha KK" in text.get_content()

    again = send()
    assert again.status == "already_sent"
    assert len(handler.envelopes) == 1
    engine.dispose()


def test_send_daily_report_checks_smtp_settings_before_any_work(sqlite_url: str) -> None:
    """An empty database: computing anything would fail first with "no customers"."""
    bare = Settings(_env_file=None, database_url=sqlite_url)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="SMTP_HOST"):
        send_daily_report(bare, NOW)


# ---------------------------------------------------------------------------------------------
# TLS (needs the openssl command to make a throwaway certificate)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found: cannot make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _authenticate(
    _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_login(security: str, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    handler = Inbox()
    port = free_port()
    tls = _server_context(cert, key)
    # aiosmtpd counts only STARTTLS as TLS for auth_require_tls; implicit TLS is TLS too.
    options: dict[str, Any] = {
        "authenticator": _authenticate,
        "auth_require_tls": security == "starttls",
    }
    if security == "starttls":
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            tls_context=tls,
            require_starttls=True,
            **options,
        )
    else:
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, ssl_context=tls, **options
        )
    controller.start()
    client_context = ssl.create_default_context(cafile=str(cert))
    try:
        good = target(
            port,
            security=security,
            username="mailer",
            password="s3cret",
            ssl_context=client_context,
        )
        assert send_message(rendered().message, good, Envelope(SENDER, RECIPIENTS)) == 1
        bad = target(
            port,
            security=security,
            username="mailer",
            password="wrong",
            ssl_context=client_context,
        )
        with pytest.raises(DeliveryError, match="refused the login for SMTP_USERNAME=mailer"):
            send_message(rendered().message, bad, Envelope(SENDER, RECIPIENTS), sleep=_no_sleep)
    finally:
        controller.stop()
    assert len(handler.envelopes) == 1


def test_untrusted_certificate_fails_at_once_without_retry(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    handler = Inbox()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, ssl_context=_server_context(cert, key)
    )
    controller.start()
    sleeps: list[float] = []
    try:
        with pytest.raises(DeliveryError, match=r"TLS with 127\.0\.0\.1:\d+ failed"):
            send_message(
                rendered().message,
                target(port, security="ssl"),  # the system trust store does not know our cert
                Envelope(SENDER, RECIPIENTS),
                sleep=sleeps.append,
            )
    finally:
        controller.stop()
    assert sleeps == []


def _no_sleep(_seconds: float) -> None:
    return None
