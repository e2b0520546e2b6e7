"""Temporary: the old path of the derived tables' code, kept only so that ``cli``, ``demo``,
``metrics_command`` and ``sync_command`` import as they did until they import from
:mod:`stripe_kpi.store`. Delete this module then."""

from stripe_kpi.store.partition import compute_account
from stripe_kpi.store.tables import recompute_derived_tables
from stripe_kpi.store.update import DerivedTablesUpdate, update_derived_tables

__all__ = [
    "DerivedTablesUpdate",
    "compute_account",
    "recompute_derived_tables",
    "update_derived_tables",
]
