"""Load the rows the metrics read, of every customer or of some.

Only the columns the metrics read are loaded (from covering indexes, see ``models.Invoice``), raw
JSON only where they need it; on SQLite the rows come straight from the driver's cursor
(SQLAlchemy's per-row processing made fetching the lines 40 % slower, at 100,000 customers and
1.4 million invoice lines: ``benchmarks/metrics_recompute.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, and_, or_, select, true

from stripe_kpi.metrics import AccountHistory, inputs_from_rows
from stripe_kpi.metrics.inputs import COLUMNS
from stripe_kpi.store.models import table

#: Rows fetched from the cursor at a time.
_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class Customers:
    """Which customers to load: the ``ids`` listed, or every id in ``[low, high)`` (None: open);
    with ``statuses``, only those with a subscription in one of these statuses."""

    ids: tuple[str, ...] | None = None
    low: str | None = None
    high: str | None = None
    statuses: tuple[str, ...] | None = None

    def where(self, column: Any) -> Any:
        if self.ids is not None:
            bounds = [column.in_(self.ids)]
        else:
            bounds = [column >= self.low] if self.low is not None else []
            if self.high is not None:
                bounds.append(column < self.high)
        if self.statuses is not None:
            subscription = table("subscription")
            having = replace(self, statuses=None).where(subscription.c.customer_id)
            bounds.append(
                column.in_(
                    select(subscription.c.customer_id).where(
                        having, subscription.c.status.in_(self.statuses)
                    )
                )
            )
        return and_(true(), *bounds)


def _query(name: str, customers: Customers | None) -> Any:
    """The columns the metrics read of one table (of some customers: the account-wide prices,
    coupons and tax rates are read whole)."""
    source = table(name)
    query = select(*(source.c[column] for column in COLUMNS[name]))
    if name == "event":
        query = query.where(source.c.type.like("customer.subscription.%"))
    if customers is None:
        return query
    subscription, invoice = table("subscription"), table("invoice")
    subs_of = select(subscription.c.id).where(customers.where(subscription.c.customer_id))
    if name == "customer":
        return query.where(customers.where(source.c.id))
    if name in ("subscription", "invoice", "pending_invoice_item", "subscription_schedule"):
        return query.where(customers.where(source.c.customer_id))
    if name == "subscription_item":
        return query.where(source.c.subscription_id.in_(subs_of))
    if name == "invoice_line":
        invoices_of = select(invoice.c.id).where(customers.where(invoice.c.customer_id))
        return query.where(source.c.invoice_id.in_(invoices_of))
    if name == "event":
        return query.where(source.c.object_id.in_(subs_of))
    if name == "discount":  # a discount is its customer's (Stripe never lends one to another)
        return query.where(
            or_(source.c.customer_id.is_(None), customers.where(source.c.customer_id))
        )
    return query


def _rows(connection: Connection, query: Any) -> Iterator[Sequence[Any]]:
    """The query's rows as value tuples, streamed. On SQLite straight from the driver's cursor:
    the metrics' adapter reads tuples and makes its own booleans, so SQLAlchemy's per-row
    processing is pure cost there. Elsewhere a server-side cursor streams them."""
    if connection.dialect.name != "sqlite":
        yield from connection.execute(query.execution_options(yield_per=_CHUNK))
        return
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        while batch := cursor.fetchmany(_CHUNK):
            yield from batch
    finally:
        cursor.close()


def load(connection: Connection, customers: Customers | None) -> AccountHistory:
    """The history of ``customers`` (None: of every customer), in the connection's transaction."""
    return inputs_from_rows({name: _rows(connection, _query(name, customers)) for name in COLUMNS})
