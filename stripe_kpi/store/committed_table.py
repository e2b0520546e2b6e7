"""``committed_change``, each subscription's committed MRR change (METRICS.md §9; what the
numbers mean: :mod:`stripe_kpi.metrics.committed`), written with the other derived tables: whole
by a rebuild, per customer by an incremental update (their rows replaced), in the same
transaction. Computed at the tables' ``as_of``: a customer's commitments change only when a sync
touches them or their horizon passes (a trial's end, a scheduled cancellation), both of which
recompute them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, select

from stripe_kpi.metrics.committed import Commitment

COLUMNS = ("customer_id", "subscription_id", "kind", "date", "amount", "currency")


def committed_rows(found: Iterable[Commitment], currency: str) -> list[tuple[Any, ...]]:
    return [
        (c.customer_id, c.subscription_id, c.kind, date.fromordinal(c.day).isoformat(), c.amount,
         currency)
        for c in found
    ]  # fmt: skip


def replace_committed(
    connection: Connection, rows: Sequence[tuple[Any, ...]], customer_ids: Sequence[str] | None
) -> int:
    """Replace the rows of ``customer_ids`` (None: every row) with ``rows``."""
    from stripe_kpi.store.models import table
    from stripe_kpi.store.tables import insert  # tables imports this module

    committed = table("committed_change")
    if customer_ids is None:
        connection.execute(delete(committed))
    else:
        for start in range(0, len(customer_ids), 500):
            chunk = customer_ids[start : start + 500]
            connection.execute(delete(committed).where(committed.c.customer_id.in_(chunk)))
    return insert(connection, "committed_change", COLUMNS, rows)


def read_committed(connection: Connection) -> list[Commitment]:
    from stripe_kpi.store.models import table

    committed = table("committed_change")
    query = select(*(committed.c[c] for c in COLUMNS[:5]))
    return [
        Commitment(customer, sub, kind, date.fromisoformat(day).toordinal(), amount)
        for customer, sub, kind, day, amount in connection.execute(query)
    ]
