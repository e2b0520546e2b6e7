"""Reading the segments for a period: the stored kinds from ``segment_mrr``, ``metadata:KEY``
from the customers that have the key, and each customer's segment movements.

``metadata:KEY`` cannot be kept per day for every key a merchant might use (any string, perhaps
one value per customer), so it is computed on read, from the stored tables only: each customer
with the key is their ``customer_result`` figures in the segment of their value; ``unknown`` is
the account (``daily_metrics``) less all of them. Exact, since customer-level segments split the
customers; the cost grows with the customers that have the key, not with the account.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, select

from stripe_kpi.metrics.segment_report import SegmentDays, days_from_changes
from stripe_kpi.metrics.segments import UNKNOWN, VALUES, customer_level_changes
from stripe_kpi.store.models import table
from stripe_kpi.store.rows import decode_result
from stripe_kpi.store.segments import Changes


def read_segments(
    connection: Connection, kind: str, first: date, last: date
) -> dict[str, SegmentDays]:
    """Every segment of ``kind`` with MRR or a movement in ``first``…``last``, or MRR before."""
    if kind.startswith("metadata:"):
        changes = _metadata_changes(connection, kind[len("metadata:") :])
        found = {}
        for (_, segment), by_day in changes.items():
            days = days_from_changes(by_day, first, last)
            if days is not None:
                found[segment] = days
        return found
    return _stored(connection, kind, first, last)


def _stored(connection: Connection, kind: str, first: date, last: date) -> dict[str, SegmentDays]:
    s = table("segment_mrr")
    low, high = first.isoformat(), last.isoformat()
    latest = (
        select(s.c.segment, func.max(s.c.date).label("date"))
        .where(s.c.kind == kind, s.c.date < low)
        .group_by(s.c.segment)
        .subquery()
    )
    start_query = select(s.c.segment, s.c.mrr, s.c.customers).join(
        latest, and_(s.c.segment == latest.c.segment, s.c.date == latest.c.date)
    )
    starts = {
        segment: (mrr, customers)
        for segment, mrr, customers in connection.execute(start_query.where(s.c.kind == kind))
    }
    days: dict[str, list] = {}
    query = (
        select(s.c.segment, s.c.date, *(s.c[c] for c in VALUES))
        .where(s.c.kind == kind, s.c.date >= low, s.c.date <= high)
        .order_by(s.c.segment, s.c.date)
    )
    for segment, iso, *values in connection.execute(query):
        days.setdefault(segment, []).append((date.fromisoformat(iso).toordinal(), *values))
    return {
        segment: SegmentDays(*starts.get(segment, (0, 0)), days.get(segment, []))
        for segment in sorted(starts.keys() | days.keys())
        if days.get(segment) or starts.get(segment, (0, 0)) != (0, 0)
    }


def _tagged(connection: Connection, key: str) -> dict[str, str]:
    """Customer id → their value of metadata ``key`` (customers that have it)."""
    customer = table("customer")
    needle = orjson.dumps(key).decode()  # the key as the stored JSON spells it
    query = select(customer.c.id, customer.c.metadata).where(
        customer.c.metadata.is_not(None), customer.c.metadata.contains(needle)
    )
    found = {}
    for customer_id, text in connection.execute(query):
        value = (orjson.loads(text) or {}).get(key)
        if value not in (None, ""):
            found[customer_id] = str(value)
    return found


def _results(connection: Connection, ids: list[str]) -> Iterator[tuple[str, str]]:
    result = table("customer_result")
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = select(result.c.customer_id, result.c.result).where(result.c.customer_id.in_(chunk))
        yield from connection.execute(query)


def _metadata_changes(connection: Connection, key: str) -> Changes:
    """Per value of metadata ``key``, the per-day changes of its customers; ``unknown`` the
    account's less theirs."""
    kind = f"metadata:{key}"
    tagged = _tagged(connection, key)
    changes: Changes = {}
    known: dict[int, list[int]] = {}
    for customer_id, text in _results(connection, sorted(tagged)):
        segment = tagged[customer_id]
        by_day = changes.setdefault((kind, segment), {})
        for _, _, day, *values in customer_level_changes(
            decode_result(customer_id, text), kind, segment
        ):
            for target in (by_day, known):
                row = target.setdefault(day, [0] * len(VALUES))
                for i, value in enumerate(values):
                    row[i] += value
    unknown: dict[int, list[int]] = {}
    for day, values in _account_changes(connection).items():
        theirs = known.get(day, [0] * len(VALUES))
        rest = [a - b for a, b in zip(values, theirs, strict=True)]
        if any(rest):
            unknown[day] = rest
    if unknown:
        changes[kind, UNKNOWN] = unknown
    return changes


def _account_changes(connection: Connection) -> dict[int, list[int]]:
    """``daily_metrics`` as per-day changes in :data:`~stripe_kpi.metrics.segments.VALUES`
    order (levels as differences from the day before)."""
    daily = table("daily_metrics")
    query = select(daily.c.date, *(daily.c[c] for c in VALUES)).order_by(daily.c.date)
    out: dict[int, list[int]] = {}
    previous = [0, 0]
    for iso, mrr, customers, *flows in connection.execute(query):
        out[date.fromisoformat(iso).toordinal()] = [
            mrr - previous[0],
            customers - previous[1],
            *flows,
        ]
        previous = [mrr, customers]
    return out


def segment_movements(
    connection: Connection, kind: str, first: date, last: date
) -> list[dict[str, Any]]:
    """Each customer's movements per segment of a stored kind (or ``metadata:KEY``) in
    ``first``…``last``: date, customer, segment, type, amount (minor units), by date, customer
    and segment. Read from ``customer_segment`` (metadata: from ``customer_result``)."""
    low, high = first.toordinal(), last.toordinal()
    rows: list[dict[str, Any]] = []
    if kind.startswith("metadata:"):
        tagged = _tagged(connection, kind[len("metadata:") :])
        result = table("customer_result")
        for customer_id, text in connection.execute(select(result.c.customer_id, result.c.result)):
            segment = tagged.get(customer_id, UNKNOWN)
            changes = customer_level_changes(decode_result(customer_id, text), kind, segment)
            rows.extend(_movement_rows(customer_id, changes, kind, low, high))
    else:
        stored = table("customer_segment")
        for customer_id, text in connection.execute(select(stored.c.customer_id, stored.c.changes)):
            rows.extend(_movement_rows(customer_id, orjson.loads(text), kind, low, high))
    rows.sort(key=lambda r: (r["date"], r["customer_id"], r["segment"], r["type"] != "fx"))
    return rows


def _movement_rows(
    customer_id: str, changes: Any, kind: str, low: int, high: int
) -> Iterator[dict[str, Any]]:
    for change_kind, segment, day, _mrr, _customers, *flows in changes:
        if change_kind != kind or not low <= day <= high:
            continue
        for name, amount in zip(VALUES[2:], flows, strict=True):
            if amount:
                yield {
                    "date": date.fromordinal(day).isoformat(),
                    "customer_id": customer_id,
                    "segment": segment,
                    "type": name,
                    "amount": amount,
                }
