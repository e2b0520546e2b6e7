"""Cassettes: recorded HTTP of a sync against the simulator, replayed with no server at all.

Recorded by ``python scripts/record_cassettes.py``. Every request's URI is rewritten to the fixed
address ``CASSETTE_BASE`` (the simulator listens on a random port), and the ``Authorization``
header is dropped before anything is written: a cassette never holds a key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import vcr

CASSETTES = Path(__file__).parent.parent / "cassettes"
CASSETTE_BASE = "http://stripe-simulator.invalid"
#: The simulated account's present when the cassettes were recorded.
RECORDED_NOW = datetime(2026, 3, 31, tzinfo=UTC)
#: Headers worth nothing in a cassette, or worse (keys, request ids that change every run).
DROPPED_HEADERS = ["authorization", "user-agent", "x-stripe-client-user-agent", "idempotency-key"]


def _rewrite(local_base: str | None) -> Any:
    def before_record_request(request: Any) -> Any:
        if local_base:
            request.uri = request.uri.replace(local_base, CASSETTE_BASE)
        return request

    return before_record_request


def _strip_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in ("request-id", "date"):
            del headers[name]
    return response


def cassette_vcr(record: bool = False, local_base: str | None = None) -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode="all" if record else "none",
        match_on=["method", "scheme", "host", "port", "path", "query"],
        filter_headers=DROPPED_HEADERS,
        before_record_request=_rewrite(local_base),
        before_record_response=_strip_response,
        decode_compressed_response=True,
    )
