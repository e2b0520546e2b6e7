"""The segment tables (METRICS.md §8), kept current with the other derived tables.

``segment_mrr``: per kind and segment, a row on each day where something of it changed: its MRR
and paying customers at the end of that day (levels: they hold until its next row) and that
day's movements (flows). ``customer_segment``: each customer's changes to the segments
(``metrics.segments.SegmentChange``, JSON), what an incremental update takes out again when it
recomputes the customer, as ``customer_result`` is for ``daily_metrics``: contributions are
additive, so old out and new in ends exactly where a rebuild would.

Only the stored kinds (plan, product, interval, currency, country) are kept; ``metadata:KEY``
is read from the customers that have the key (:mod:`.segment_reads`).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, select

from stripe_kpi.metrics import CustomerResult
from stripe_kpi.metrics.segments import VALUES
from stripe_kpi.store.models import table

SEGMENT_COLUMNS = ("kind", "segment", "date", "currency", *VALUES)
CUSTOMER_SEGMENT_COLUMNS = ("customer_id", "changes")
_WIDTH = len(VALUES)
_LEVELS = 2  # mrr, customers: the first two values

#: (kind, segment) → day ordinal → the values' changes (levels as differences, flows).
Changes = dict[tuple[str, str], dict[int, list[int]]]


#: (kind, segment) → its changes packed by day: ``day, *values`` after one another, ascending.
Packed = dict[tuple[str, str], array]


@dataclass(frozen=True, slots=True)
class SegmentRows:
    """Some customers' segment rows, built where they were computed (a worker process):
    ``customers`` are ``customer_segment`` rows, ``changes`` their summed changes, packed
    (a third of the memory of lists: a rebuild holds every part's at once)."""

    customers: list[tuple[str, str]]
    changes: Packed


def segment_rows(results: Iterable[CustomerResult]) -> SegmentRows:
    """The ``customer_segment`` rows of these results (computed with ``segments=True``) and
    their changes summed."""
    customers: list[tuple[str, str]] = []
    changes: Changes = {}
    for result in results:
        found = result.segments or ()
        customers.append((result.customer_id, orjson.dumps(found).decode()))
        _add(changes, found, 1)
    packed: Packed = {}
    for key, by_day in changes.items():
        flat = packed[key] = array("q")
        for day in sorted(by_day):
            flat.append(day)
            flat.extend(by_day[day])
    return SegmentRows(customers, packed)


def _unpack(flat: array) -> Iterator[tuple[int, Sequence[int]]]:
    step = 1 + _WIDTH
    for i in range(0, len(flat), step):
        yield flat[i], flat[i + 1 : i + step]


def _add(changes: Changes, found: Iterable[Sequence[Any]], sign: int) -> None:
    for kind, segment, day, *values in found:
        by_day = changes.get((kind, segment))
        if by_day is None:
            by_day = changes[kind, segment] = {}
        row = by_day.get(day)
        if row is None:
            by_day[day] = [sign * v for v in values]
        else:
            for i, value in enumerate(values):
                row[i] += sign * value


def customers_on_prices(connection: Connection, price_ids: Sequence[str]) -> set[str]:
    """The customers with a subscription item on one of these prices: a price's nickname names
    its items' plan segment, so a renamed price owes them a recompute (a sync queues them)."""
    if not price_ids:
        return set()
    item, subscription = table("subscription_item"), table("subscription")
    found: set[str] = set()
    for start in range(0, len(price_ids), 500):
        query = (
            select(subscription.c.customer_id)
            .join(item, item.c.subscription_id == subscription.c.id)
            .where(item.c.price_id.in_(price_ids[start : start + 500]))
            .distinct()
        )
        found.update(connection.execute(query).scalars())
    return found


def _merged(parts: Iterable[SegmentRows]) -> Changes:
    merged: Changes = {}
    for part in parts:
        for key, flat in part.changes.items():
            into = merged.setdefault(key, {})
            for day, values in _unpack(flat):
                row = into.get(day)
                if row is None:
                    into[day] = list(values)
                else:
                    for i, value in enumerate(values):
                        row[i] += value
    return merged


def _rows_of(key: tuple[str, str], by_day: Mapping[int, Sequence[int]], currency: str) -> list:
    """A segment's ``segment_mrr`` rows from its changes: levels run, days without any change
    left out."""
    kind, segment = key
    levels = [0] * _LEVELS
    rows = []
    for day in sorted(by_day):
        values = by_day[day]
        if not any(values):
            continue
        for i in range(_LEVELS):
            levels[i] += values[i]
        iso = date.fromordinal(day).isoformat()
        rows.append((kind, segment, iso, currency, *levels, *values[_LEVELS:]))
    return rows


def write_segment_tables(
    connection: Connection, parts: Iterable[SegmentRows | None], currency: str, insert: Any
) -> int:
    """Replace both tables with these parts' rows (a rebuild, in its transaction); ``insert``
    is ``tables.insert``. Returns the ``segment_mrr`` rows written."""
    given = [p for p in parts if p is not None]
    connection.execute(delete(table("segment_mrr")))
    connection.execute(delete(table("customer_segment")))
    for part in given:
        insert(connection, "customer_segment", CUSTOMER_SEGMENT_COLUMNS, part.customers)
    merged = _merged(given)
    rows = (row for key in sorted(merged) for row in _rows_of(key, merged[key], currency))
    return insert(connection, "segment_mrr", SEGMENT_COLUMNS, rows)


def update_segment_tables(
    connection: Connection,
    ids: Sequence[str],
    new: Mapping[str, CustomerResult],
    currency: str,
    insert: Any,
) -> int:
    """Take these customers' stored changes out of ``segment_mrr`` and put their new ones in
    (an incremental update, in its transaction); replace their ``customer_segment`` rows.
    Returns the ``segment_mrr`` rows written."""
    stored = table("customer_segment")
    delta: Changes = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = select(stored.c.changes).where(stored.c.customer_id.in_(chunk))
        for (text,) in connection.execute(query):
            _add(delta, orjson.loads(text), -1)
        connection.execute(delete(stored).where(stored.c.customer_id.in_(chunk)))
    fresh = segment_rows(new.values())
    for key, flat in fresh.changes.items():
        _add(delta, ((*key, day, *values) for day, values in _unpack(flat)), 1)
    insert(connection, "customer_segment", CUSTOMER_SEGMENT_COLUMNS, fresh.customers)
    written = 0
    for key in sorted(delta):
        if any(any(values) for values in delta[key].values()):
            written += _apply(connection, key, delta[key], currency, insert)
    return written


def _apply(
    connection: Connection,
    key: tuple[str, str],
    delta: Mapping[int, Sequence[int]],
    currency: str,
    insert: Any,
) -> int:
    """One segment's rows with ``delta`` applied: its stored rows read back as changes, the
    delta added, the rows that differ rewritten.

    Only the rows from the last one before the delta's first day are read: the levels before
    it stay as they are, and that row's own levels carry them in (a sync that cancels today
    reads a few rows, not the segment's three years: ``benchmarks/metrics_recompute.py``)."""
    segment_mrr = table("segment_mrr")
    where = and_(segment_mrr.c.kind == key[0], segment_mrr.c.segment == key[1])
    columns = [segment_mrr.c[c] for c in ("date", *VALUES)]
    changed = [day for day, values in delta.items() if any(values)]
    if not changed:
        return 0
    first = date.fromordinal(min(changed)).isoformat()
    base = connection.execute(
        select(func.max(segment_mrr.c.date)).where(where, segment_mrr.c.date < first)
    ).scalar()
    if base is not None:
        where = and_(where, segment_mrr.c.date >= base)
    stored: dict[str, tuple] = {}
    changes: dict[int, list[int]] = {}
    previous = [0] * _LEVELS
    for row in connection.execute(select(*columns).where(where).order_by(segment_mrr.c.date)):
        iso, values = row[0], list(row[1:])
        stored[iso] = tuple(values)
        levels = values[:_LEVELS]
        changes[date.fromisoformat(iso).toordinal()] = [
            *(a - b for a, b in zip(levels, previous, strict=True)),
            *values[_LEVELS:],
        ]
        previous = levels
    for day, values in delta.items():
        row = changes.setdefault(day, [0] * _WIDTH)
        for i, value in enumerate(values):
            row[i] += value
    wanted = {row[2]: row for row in _rows_of(key, changes, currency)}
    stale = [iso for iso, values in stored.items() if wanted.get(iso, (None,) * 4)[4:] != values]
    for start in range(0, len(stale), 500):
        dates = stale[start : start + 500]
        connection.execute(delete(segment_mrr).where(where, segment_mrr.c.date.in_(dates)))
    fresh = [row for iso, row in wanted.items() if stored.get(iso) != row[4:]]
    return insert(connection, "segment_mrr", SEGMENT_COLUMNS, fresh)
