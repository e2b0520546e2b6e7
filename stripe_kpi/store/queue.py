"""``derive_queue``: the customers whose derived rows are owed, as data.

Recorded by each sync page in the transaction of its rows (:func:`queue_customers`), consumed
by deriving in the transaction of the derived rows (:func:`consume`): whatever instant a process
dies, the queue and the tables agree on what is left to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import uuid4

from sqlalchemy import Connection, exists, select

from stripe_kpi.store.engine import upsert_rows
from stripe_kpi.store.models import table

#: The queue's row that means "every customer": rebuild the derived tables whole.
EVERYTHING = "*"


def queue_customers(connection: Connection, customer_ids: Iterable[str], *, at: int) -> int:
    """Record, in the caller's transaction, that these customers' derived rows are owed.

    Every row gets a fresh token, so a derive that read an older one leaves this one queued.
    Sorted, so that two transactions queueing overlapping customers on PostgreSQL lock the rows
    in the same order (no deadlock). Returns the rows written."""
    token = uuid4().hex
    rows = [
        {"customer_id": customer_id, "token": token, "queued_at": at}
        for customer_id in sorted(set(customer_ids))
    ]
    return upsert_rows(connection, {"derive_queue": rows}) if rows else 0


def read_queue(connection: Connection) -> dict[str, str]:
    """What is queued: customer id (or :data:`EVERYTHING`) → its token."""
    queue = table("derive_queue")
    return {
        row[0]: row[1] for row in connection.execute(select(queue.c.customer_id, queue.c.token))
    }


def anything_queued(connection: Connection) -> bool:
    """Whether the queue holds any row (one indexed probe)."""
    return bool(connection.execute(select(exists(table("derive_queue").select()))).scalar())


def consume(connection: Connection, taken: Mapping[str, str]) -> None:
    """Delete, in the caller's transaction, the rows a derive read (same customer and token):
    one queued again since then has a new token and stays for the next derive."""
    if not taken:
        return
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = f"DELETE FROM derive_queue WHERE customer_id = {marker} AND token = {marker}"
    connection.exec_driver_sql(sql, sorted(taken.items()))
