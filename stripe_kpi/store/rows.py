"""The derived tables' rows, as tuples in their columns' order: ``mrr_movement`` and
``daily_metrics`` (documented in the README, so a founder can query them with SQL), and
``customer_result``, each customer's figures as those tables count them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from stripe_kpi.metrics import CustomerResult, Movement
from stripe_kpi.metrics.cohorts import CohortChanges, CohortLedger
from stripe_kpi.metrics.ledger import COLUMNS as LEDGER_COLUMNS
from stripe_kpi.metrics.ledger import Ledger
from stripe_kpi.metrics.movements import TrialOutcome
from stripe_kpi.metrics.reconcile import SubscriptionCheck
from stripe_kpi.store.models import table
from stripe_kpi.store.segments import SegmentRows, segment_rows

MOVEMENT_COLUMNS = (
    "date", "customer_id", "type", "amount", "mrr_before", "mrr_after", "currency",
    "churn_reason", "subscription_ids",
)  # fmt: skip
RESULT_COLUMNS = ("customer_id", "first_day", "horizon", "result", "at_risk_from", "at_risk_until")
#: ``customer_result.at_risk_until`` of a customer still at risk at the end of their figures.
STILL_AT_RISK = "9999-12-31"


#: ``json.dumps`` of one string, without the encoder's per-call set-up.
_quote = json.encoder.encode_basestring_ascii


#: ``daily_metrics`` value columns, all of them :data:`ledger.COLUMNS`, in the ledger's order.
DAILY = tuple(c for c in LEDGER_COLUMNS if c in table("daily_metrics").c)
DAILY_COLUMNS = ("date", "currency", *DAILY)


#: What ``metrics.horizons`` returns: per customer, the first instant past the computation at which
#: their figures could change by themselves (None: nothing lies ahead).
Horizons = dict[str, int | None]


@dataclass(frozen=True, slots=True)
class DerivedRows:
    """The derived-table rows of some customers, ready to insert: built where they were computed
    (a worker process), so that the process that writes only sorts and inserts. ``changes`` is
    their ledger, per day (see ``Ledger.changes``). ``checks``: when the rebuild also checks the
    account (a full sync does), those customers' subscriptions against their invoices, checked
    on the history already loaded for the rows. ``cohorts``: their ``cohort_month`` changes
    (``CohortLedger.changes``); ``committed``: their ``committed_change`` rows."""

    movements: list[tuple[Any, ...]]
    results: list[tuple[Any, ...]]
    changes: dict[int, tuple[int, ...]]
    checks: list[SubscriptionCheck] | None = None
    cohorts: CohortChanges = field(default_factory=dict)
    #: Their ``customer_segment`` rows and segment changes (``store.segments``).
    segments: SegmentRows | None = None
    committed: list[tuple[Any, ...]] = field(default_factory=list)


def derived_rows(
    results: Mapping[str, CustomerResult], ahead: Horizons, currency: str
) -> DerivedRows:
    movements = movement_rows((m for r in results.values() for m in r.movements), currency)
    return DerivedRows(
        list(movements),
        [result_row(r, ahead.get(r.customer_id)) for r in results.values()],
        Ledger(results.values()).changes(),
        cohorts=CohortLedger(results.values()).changes(),
        segments=segment_rows(results.values()),
    )


def movement_rows(movements: Iterable[Movement], currency: str) -> Iterator[tuple[Any, ...]]:
    """``mrr_movement`` rows, as ``metrics.mrr_movement_rows`` writes them, as tuples."""
    iso: dict[int, str] = {}
    for m in movements:
        day = iso.get(m.day)
        if day is None:
            day = iso[m.day] = date.fromordinal(m.day).isoformat()
        ids = "[" + ", ".join(map(_quote, m.subscription_ids)) + "]"  # json.dumps(list(ids))
        yield (
            day, m.customer_id, m.type, m.amount, m.mrr_before, m.mrr_after, currency,
            m.churn_reason, ids,
        )  # fmt: skip


def result_row(result: CustomerResult, horizon: int | None) -> tuple[Any, ...]:
    days = [
        *(d for d, _ in result.mrr[:1]),
        *(d for d, _ in result.at_risk[:1]),
        *(m.day for m in result.movements[:1]),
        *(t.day for t in result.trials),
    ]
    first = date.fromordinal(min(days)).isoformat() if days else None
    return (result.customer_id, first, horizon, encode_result(result), *at_risk_days(result))


def at_risk_days(result: CustomerResult) -> tuple[str | None, str | None]:
    """``customer_result.at_risk_from`` and ``at_risk_until``: the first day the customer ended
    with MRR at risk, and the day after the last (:data:`STILL_AT_RISK` when the figures end at
    risk); (None, None) when never. Days in between may have none: the bounds only narrow
    which customers a reader decodes."""
    first = until = None
    for day, value in result.at_risk:
        if value > 0:
            if first is None:
                first = day
            until = None
        elif first is not None and until is None:
            until = day
    if first is None:
        return None, None
    end = STILL_AT_RISK if until is None else date.fromordinal(until).isoformat()
    return date.fromordinal(first).isoformat(), end


def encode_result(result: CustomerResult) -> str:
    """``customer_result.result``: ``[mrr, at_risk, movements, trials]``, days as ordinals,
    movements as ``[day, type, amount, before, after, churn reason, subscription ids]``, trials
    as ``[subscription id, day, converted]``."""
    return orjson.dumps(
        [
            result.mrr,
            result.at_risk,
            [
                [
                    m.day,
                    m.type,
                    m.amount,
                    m.mrr_before,
                    m.mrr_after,
                    m.churn_reason,
                    m.subscription_ids,
                ]
                for m in result.movements
            ],
            [[t.subscription_id, t.day, t.converted] for t in result.trials],
        ]
    ).decode()


def decode_result(customer_id: str, text: str) -> CustomerResult:
    """The inverse of :func:`encode_result`."""
    mrr, at_risk, movements, trials = orjson.loads(text)
    return CustomerResult(
        customer_id,
        tuple((day, value) for day, value in mrr),
        tuple((day, value) for day, value in at_risk),
        tuple(
            Movement(day, customer_id, kind, amount, before, after, reason, tuple(subs))
            for day, kind, amount, before, after, reason, subs in movements
        ),
        tuple(TrialOutcome(sub, day, converted) for sub, day, converted in trials),
    )
