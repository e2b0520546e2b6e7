"""The metrics layer: pure functions from an account's billing history to its SaaS numbers.

Rows in (:func:`inputs_from_rows`), one computation (:func:`compute`), then readers: the KPIs of a
period (:func:`period_kpis`), a daily or monthly series (:func:`series`), cohorts
(:func:`cohorts`), churned customers with their feedback (:func:`churned_customers`), the
``--json`` document (:func:`metrics_json`) and the rows of the derived
tables (:func:`mrr_movement_rows`, :func:`daily_metrics_rows`). Nothing here does I/O or reads the
clock; see shared/METRICS.md for every definition.

The words the report shares with this layer (movement types, churn reasons, :class:`Movements`)
live in :mod:`~stripe_kpi.metrics.vocabulary`; each KPI's definition is one function of
:mod:`~stripe_kpi.metrics.kpis` (``arpu``, ``nrr``…) that the report calls as well.
"""

from stripe_kpi.metrics.cohorts import Cohort, cohorts
from stripe_kpi.metrics.computation import Computed, compute, compute_customers, horizons
from stripe_kpi.metrics.fx import ExchangeRateError, RateFn, ecb_rates
from stripe_kpi.metrics.inputs import COLUMNS, AccountHistory, inputs_from_rows
from stripe_kpi.metrics.kpis import (
    ChurnedCustomer,
    PeriodKpis,
    SeriesPoint,
    churned_customers,
    period_kpis,
    series,
)
from stripe_kpi.metrics.movements import CustomerResult, Movement
from stripe_kpi.metrics.report_json import daily_metrics_rows, metrics_json, mrr_movement_rows

__all__ = [
    "COLUMNS",
    "AccountHistory",
    "ChurnedCustomer",
    "Cohort",
    "Computed",
    "CustomerResult",
    "ExchangeRateError",
    "Movement",
    "PeriodKpis",
    "RateFn",
    "SeriesPoint",
    "churned_customers",
    "cohorts",
    "compute",
    "compute_customers",
    "daily_metrics_rows",
    "ecb_rates",
    "horizons",
    "inputs_from_rows",
    "metrics_json",
    "mrr_movement_rows",
    "period_kpis",
    "series",
]
