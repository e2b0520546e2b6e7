"""The ``spend`` table: sales and marketing spend per month, as the founder enters it
(``stripe-kpi spend set|import|list``), and what CAC reads beside it (METRICS.md §9).

Spend is the founder's own data, not Stripe's: no sync writes or deletes it, and each command
writes all its months in one transaction (an import with a bad row writes none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, func, select

from stripe_kpi.store.engine import session_scope
from stripe_kpi.store.models import table
from stripe_kpi.store.spend_input import SpendEntry


@dataclass(frozen=True, slots=True)
class SpendRow:
    """A month's entry as stored: ``amount`` in minor units of ``currency`` (the reporting
    currency when it was entered)."""

    month: str
    amount: int
    currency: str
    updated_at: int


def write_spend(engine: Engine, entries: Sequence[SpendEntry], currency: str, now: int) -> None:
    """Set each entry's month to its amount (a month entered again is replaced), all in one
    transaction."""
    spend = table("spend")
    months = [entry.month for entry in entries]
    with session_scope(engine) as session:
        session.execute(spend.delete().where(spend.c.month.in_(months)))
        session.execute(
            spend.insert(),
            [
                {"month": e.month, "amount": e.amount, "currency": currency, "updated_at": now}
                for e in entries
            ],
        )


def spend_rows(engine: Engine) -> list[SpendRow]:
    """Every month entered, oldest first."""
    spend = table("spend")
    with engine.connect() as connection:
        rows = connection.execute(select(spend).order_by(spend.c.month)).all()
    return [SpendRow(r.month, r.amount, r.currency, r.updated_at) for r in rows]


def spend_by_month(engine: Engine, currency: str) -> dict[str, int]:
    """``YYYY-MM`` → amount in minor units, for the months entered in ``currency``: a month
    entered while another reporting currency was set is not spend in this one (it counts as
    not entered, so CAC is null rather than a figure in mixed currencies)."""
    return {row.month: row.amount for row in spend_rows(engine) if row.currency == currency}


def new_customers_by_day(
    connection: Connection, first: date, last: date
) -> dict[date, tuple[int, int]]:
    """Day → (customers with a ``new`` movement that day, the MRR they started with), from
    ``mrr_movement`` (minor units; days without any left out): what CAC divides by. One query
    on the ``(date, type)`` index."""
    movement = table("mrr_movement")
    query = (
        select(movement.c.date, func.count(), func.sum(movement.c.amount))
        .where(movement.c.type == "new")
        .where(movement.c.date >= first.isoformat(), movement.c.date <= last.isoformat())
        .group_by(movement.c.date)
    )
    rows = connection.execute(query).all()
    return {date.fromisoformat(day): (int(n), int(amount)) for day, n, amount in rows}
