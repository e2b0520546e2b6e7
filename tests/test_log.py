"""Logs are data, and no secret ever reaches a log line."""

from __future__ import annotations

import io
import json

import structlog

from stripe_kpi.log import configure_logging


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging("auto", stream=stream)
    structlog.get_logger().info("page_synced", resource="invoices", rows=100)
    (line,) = _lines(stream)
    assert (line["event"], line["resource"], line["rows"], line["level"]) == (
        "page_synced",
        "invoices",
        100,
        "info",
    )


def test_secrets_are_redacted_everywhere() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    log = structlog.get_logger()
    log.info("request", api_key="sk_live_51SECRETSECRET", smtp_password="hunter2")
    log.info("retry", url="https://x/?k=rk_test_51SECRETSECRET", headers={"Authorization": "x"})
    log.warning("oops", detail="Invalid API Key provided: sk_test_51SECRETSECRET")
    log.info("auth", header="Bearer sk_test_51SECRETSECRET")
    text = stream.getvalue()
    assert "SECRETSECRET" not in text
    assert "hunter2" not in text
    assert text.count("[redacted]") == 6


def test_console_rendering_is_readable() -> None:
    stream = io.StringIO()
    configure_logging("console", stream=stream)
    structlog.get_logger().info("sync_done", objects=12)
    assert "sync_done" in stream.getvalue()
    assert "objects=12" in stream.getvalue()
