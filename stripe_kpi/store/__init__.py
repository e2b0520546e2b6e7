"""The database: engine, pragmas and migrations (:mod:`.engine`), the tables (:mod:`.models`),
and the derived tables the metrics fill.

``stripe_kpi.metrics`` is pure; this package is the one place that feeds it from SQL
(:mod:`.load`, by ranges of customers: :mod:`.partition`) and stores what it returns
(:mod:`.rows`). A full sync rebuilds every derived table (:mod:`.tables`); an incremental one
recomputes the customers it touched and updates the tables in place (:mod:`.update`), ending
exactly where a rebuild would. Both keep the cycle collector paused from the first row to the last
write: the heap holds millions of objects that cannot form cycles, and every collection would walk
them all.

The names the rest of the program calls are re-exported here: :func:`compute_account`,
:func:`recompute_derived_tables`, :func:`update_derived_tables` and :class:`DerivedTablesUpdate`.
They are imported on first use, so that code needing only the engine (the doctor, a report's
delivery) does not pay for importing the metrics.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stripe_kpi.store.partition import compute_account
    from stripe_kpi.store.tables import recompute_derived_tables
    from stripe_kpi.store.update import DerivedTablesUpdate, update_derived_tables

__all__ = [
    "DerivedTablesUpdate",
    "compute_account",
    "recompute_derived_tables",
    "update_derived_tables",
]

_HOMES = {
    "DerivedTablesUpdate": "stripe_kpi.store.update",
    "compute_account": "stripe_kpi.store.partition",
    "recompute_derived_tables": "stripe_kpi.store.tables",
    "update_derived_tables": "stripe_kpi.store.update",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
