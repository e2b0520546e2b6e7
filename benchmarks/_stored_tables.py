"""The derived tables of a reused benchmark database, brought up to date at the instant they
were computed for: what the benchmarks that time a reader (``cohorts.py``, ``segments.py``)
start from, so what they time is the read, not a derive."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from stripe_kpi.store.current import bring_up_to_date
from stripe_kpi.store.tables import read_meta


def tables_current(engine: Engine, *, currency: str, tz: str) -> tuple[dict[str, Any], float]:
    """The tables' record (``as_of``, ``last_day``…) once they are current, and the seconds that
    took (a migration that queued a rebuild makes it a rebuild). Exits when they were never
    built."""
    with engine.connect() as connection:
        meta = read_meta(connection)
    if meta is None:
        raise SystemExit("the derived tables were never built: run metrics_recompute first")
    t0 = time.monotonic()
    bring_up_to_date(
        engine, currency=currency, tz=tz, as_of=datetime.fromtimestamp(meta["as_of"], UTC)
    )
    seconds = time.monotonic() - t0
    with engine.connect() as connection:
        current = read_meta(connection)
    assert current is not None
    return current, seconds
