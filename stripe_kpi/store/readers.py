"""What the readers (``metrics``, ``movements``, ``report``) read of the derived tables: a window
of ``daily_metrics`` as a ledger, the ``mrr_movement`` rows of a date range, and the MRR at risk
of the few customers at risk on a day. Each takes an open connection; callers run them through
``current.read_current``, which says whether the tables are current and consistent.

These read only the rows a question needs, so a read costs the same on 100 customers as on
100,000 (``benchmarks/readers.py``); the figures are exactly those a recomputation gives, since
the tables are what a rebuild writes (``tests/test_readers_properties.py``).
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Connection, select

from stripe_kpi.metrics import Movement
from stripe_kpi.metrics.ledger import COLUMNS as LEDGER_COLUMNS
from stripe_kpi.metrics.ledger import Ledger
from stripe_kpi.store.models import table
from stripe_kpi.store.rows import decode_result


def daily_ledger(connection: Connection, since: date | None = None) -> Ledger:
    """The account's ledger from ``daily_metrics``, its rows from ``since`` on (all of them
    when None): levels and flows read on ``since`` and after are the account's
    (``Ledger.from_daily_rows``)."""
    daily = table("daily_metrics")
    query = select(daily.c.date, *(daily.c[c] for c in LEDGER_COLUMNS)).order_by(daily.c.date)
    if since is not None:
        query = query.where(daily.c.date >= since.isoformat())
    rows = connection.execute(query)
    return Ledger.from_daily_rows((date.fromisoformat(r[0]).toordinal(), r[1:]) for r in rows)


def stored_movements(
    connection: Connection, first: date, last: date, kind: str | None = None
) -> list[Movement]:
    """The ``mrr_movement`` rows of ``first``…``last`` (of one ``kind`` when given), ordered as
    ``Computed.movements`` orders them: by day and customer, a day's fx row before the
    movement it goes with (sorted here: a PostgreSQL collation may order ids otherwise)."""
    movement = table("mrr_movement")
    columns = ("date", "customer_id", "type", "amount", "mrr_before", "mrr_after")
    query = select(
        *(movement.c[c] for c in columns), movement.c.churn_reason, movement.c.subscription_ids
    ).where(movement.c.date >= first.isoformat(), movement.c.date <= last.isoformat())
    if kind is not None:
        query = query.where(movement.c.type == kind)
    ordinal: dict[str, int] = {}
    found = []
    for iso, customer, kind_, amount, before, after, reason, subs in connection.execute(query):
        day = ordinal.get(iso)
        if day is None:
            day = ordinal[iso] = date.fromisoformat(iso).toordinal()
        ids = tuple(json.loads(subs)) if subs else ()
        found.append(Movement(day, customer, kind_, amount, before, after, reason, ids))
    found.sort(key=lambda m: (m.day, m.customer_id, m.type != "fx"))
    return found


def at_risk_on(connection: Connection, day: date) -> dict[str, int]:
    """Each customer's MRR at risk at the end of ``day`` (only those with some): the customers
    whose at-risk days span ``day`` (``customer_result.at_risk_from``/``at_risk_until``, an
    indexed range), their figures decoded."""
    result = table("customer_result")
    iso = day.isoformat()
    query = select(result.c.customer_id, result.c.result).where(
        result.c.at_risk_until > iso, result.c.at_risk_from <= iso
    )
    n, values = day.toordinal(), {}
    for customer_id, text in connection.execute(query):
        value = 0
        for changed, amount in decode_result(customer_id, text).at_risk:
            if changed > n:
                break
            value = amount
        if value > 0:
            values[customer_id] = value
    return dict(sorted(values.items()))
