"""structlog set-up: readable on a terminal, JSON lines otherwise (the worker, cron, CI).

Secrets never reach a log line: ``redact_secrets`` replaces anything shaped like a Stripe key or a
bearer token, and every value of a field whose name says it is secret, in every event. It runs last
before rendering, so no code path can bypass it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SECRET_FIELD = re.compile(r"(api_key|password|secret|token|authorization)", re.IGNORECASE)
SECRET_VALUE = re.compile(r"\b(sk|rk|pk)_(test|live)_[A-Za-z0-9]+|Bearer\s+[A-Za-z0-9_\-.]+")
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return SECRET_VALUE.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_FIELD.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    text = str(value)
    return SECRET_VALUE.sub(REDACTED, text) if SECRET_VALUE.search(text) else value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret fields and key-shaped strings in every event."""
    for key in list(event_dict):
        if SECRET_FIELD.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written, not when logging was configured: a
    test runner or a daemon may swap (and close) the stream it had at start-up."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(
    fmt: str = "auto", level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Configure once at start-up. ``auto`` picks console rendering on a terminal, JSON otherwise.

    Logs go to stderr, so ``--json`` output on stdout stays machine-readable.
    """
    stream = stream or _CurrentStderr()  # type: ignore[assignment]
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=stream.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
