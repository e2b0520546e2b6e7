"""The database: engine, pragmas and migrations (:mod:`.engine`), the tables (:mod:`.models`),
and the derived tables the metrics fill (:mod:`.tables`).

What the rest of the program calls here is re-exported: :func:`compute_account`,
:func:`recompute_derived_tables`, :func:`update_derived_tables` and :class:`DerivedTablesUpdate`.
They are imported on first use, so that code needing only the engine (the doctor, a report's
delivery) does not pay for importing the metrics.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stripe_kpi.store.partition import compute_account
    from stripe_kpi.store.tables import (
        DerivedTablesUpdate,
        recompute_derived_tables,
        update_derived_tables,
    )

__all__ = [
    "DerivedTablesUpdate",
    "compute_account",
    "recompute_derived_tables",
    "update_derived_tables",
]

_HOMES = {
    "DerivedTablesUpdate": "stripe_kpi.store.tables",
    "compute_account": "stripe_kpi.store.partition",
    "recompute_derived_tables": "stripe_kpi.store.tables",
    "update_derived_tables": "stripe_kpi.store.tables",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
