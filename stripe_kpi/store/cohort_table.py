"""``cohort_month``, the monthly cohorts as a derived table (METRICS.md §4; the numbers and what
they mean: :mod:`stripe_kpi.metrics.cohorts`).

Written whole by a rebuild (:func:`write_cohorts`, from the parts' :class:`CohortLedger` changes)
and brought up to date in place by an incremental update (:func:`update_cohorts`: the stored
levels, less the recomputed customers' old contributions, plus their new ones, carried to the
new last day), in the transaction of the other derived tables. The table is small (a cohort per
month, a row per month since: about 700 rows for three years), so an update rewrites it whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, delete, select

from stripe_kpi.metrics import CustomerResult
from stripe_kpi.metrics.cohorts import Cohort, CohortLedger, cohorts_of
from stripe_kpi.store.models import table

COLUMNS = ("cohort", "months_since", "currency", "cohort_customers", "customers", "mrr")


def write_cohorts(connection: Connection, ledger: CohortLedger, last: date, currency: str) -> int:
    """Replace ``cohort_month`` with ``ledger``'s cells up to ``last``; returns the rows."""
    from stripe_kpi.store.tables import insert  # tables imports this module

    connection.execute(delete(table("cohort_month")))
    rows = [
        (cohort.isoformat(), since, currency, size, customers, mrr)
        for cohort, since, size, customers, mrr in ledger.cells(last)
    ]
    return insert(connection, "cohort_month", COLUMNS, rows)


def _stored(connection: Connection) -> list[tuple[date, int, int, int, int]]:
    cohort = table("cohort_month")
    query = select(
        cohort.c.cohort, cohort.c.months_since, cohort.c.cohort_customers, cohort.c.customers,
        cohort.c.mrr,
    )  # fmt: skip
    return [(date.fromisoformat(row[0]), *row[1:]) for row in connection.execute(query)]


def update_cohorts(
    connection: Connection,
    removed: Iterable[CustomerResult],
    added: Iterable[CustomerResult],
    last: date,
    currency: str,
) -> int:
    """``cohort_month`` with some customers recomputed: their ``removed`` (old) contributions
    out, their ``added`` (new) ones in, every cohort carried to ``last``'s month. Exactly what
    :func:`write_cohorts` would write for the whole account (contributions add up)."""
    ledger = CohortLedger.from_levels(_stored(connection))
    for result in removed:
        ledger.add(result, sign=-1)
    for result in added:
        ledger.add(result)
    return write_cohorts(connection, ledger, last, currency)


def read_cohorts(connection: Connection, first: date | None = None) -> list[Cohort]:
    """The stored cohorts, from ``first``'s month on (None: all of them)."""
    rows = _stored(connection)
    if first is not None:
        start = first.replace(day=1)
        rows = [row for row in rows if row[0] >= start]
    return cohorts_of(rows)
