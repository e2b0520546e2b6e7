"""The dashboard's figures, read from the derived tables as they are stored: one JSON-ready
document (money in major units, dates ISO, as ``metrics --json``), nothing recomputed.

- days: ``daily_metrics`` as it is (MRR, paying customers, ARPU, MRR at risk, per day);
- months: the same rows summed by calendar month, exactly as ``metrics --by month`` sums them
  (MRR and customers at the month's last day in the period, movements and churns summed);
- churn feedback: each churn movement's ``cancellation_details.feedback`` (``store.details``'s
  rule for which ending subscription speaks), counted by month;
- MRR at risk: each customer's at-risk MRR at the last day (``customer_result``) with the
  subscriptions that put it at risk and why (``store.details.risky_subscriptions``);
- customers: the :data:`TOP_CUSTOMERS` with the most MRR at the last day, their MRR history
  and movements (a customer's MRR at a day is the sum of their movements up to it, fx
  included: every movement is the change from the day before, from zero);
- cohorts and segments: from the stored tables of those features, when this database has them.

Every function takes an open connection and only reads, so ``serve`` can run them on a
read-only connection for every request.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Connection, func, inspect, or_, select
from sqlmodel import Session

from stripe_kpi.metrics.kpis import arpu
from stripe_kpi.metrics.report_json import money
from stripe_kpi.metrics.vocabulary import MOVEMENT_TYPES
from stripe_kpi.store.details import (
    NO_DETAIL,
    CancellationDetail,
    churn_detail,
    customer_names,
    risky_subscriptions,
)
from stripe_kpi.store.models import table

#: Customers whose histories the static file carries (``serve`` has every customer's): the
#: ones with the most MRR, enough for the accounts that matter and small enough that 100,000
#: customers still fit the file in its 8 MB.
TOP_CUSTOMERS = 500
#: At most this many rows of MRR at risk in the file (the largest first; the total is exact).
AT_RISK_ROWS = 2000
#: A search in ``serve`` returns at most this many customers.
SEARCH_LIMIT = 50
#: The ``daily_metrics`` columns read (by name: other features add columns of their own).
_DAY_COLUMNS = (
    "date", "mrr", "customers", "new", "expansion", "contraction", "churn", "reactivation", "fx",
    "churned_voluntary", "churned_involuntary", "churned_mrr_voluntary",
    "churned_mrr_involuntary", "mrr_at_risk",
)  # fmt: skip
_FLOWS = (*MOVEMENT_TYPES, "churned_voluntary", "churned_involuntary",
          "churned_mrr_voluntary", "churned_mrr_involuntary")  # fmt: skip
#: Stripe's ``cancellation_details.feedback`` left empty.
NO_FEEDBACK = "none given"
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Span:
    """The days the tables hold, ISO; None when ``daily_metrics`` is empty."""

    first: date
    last: date


def stored_span(connection: Connection) -> Span | None:
    """The first and last day of ``daily_metrics``."""
    dm = table("daily_metrics")
    first, last = connection.execute(select(func.min(dm.c.date), func.max(dm.c.date))).one()
    if first is None:
        return None
    return Span(date.fromisoformat(first), date.fromisoformat(last))


def read_days(connection: Connection, first: date, last: date) -> list[dict[str, Any]]:
    """``daily_metrics`` rows of ``first``…``last`` (minor units), oldest first."""
    dm = table("daily_metrics")
    query = (
        select(*(dm.c[name] for name in _DAY_COLUMNS))
        .where(dm.c.date >= first.isoformat(), dm.c.date <= last.isoformat())
        .order_by(dm.c.date)
    )
    return [dict(row) for row in connection.execute(query).mappings()]


def by_month(days: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Calendar months of ``days`` (minor units): MRR and customers at each month's last day,
    flows summed, ``net`` = new + expansion + contraction + churn + reactivation (METRICS.md §2,
    fx apart), as ``metrics --by month`` gives them."""
    months: dict[str, dict[str, Any]] = {}
    for row in days:
        key = row["date"][:7]
        month = months.get(key)
        if month is None:
            month = months[key] = {"month": key, **dict.fromkeys(_FLOWS, 0)}
        for column in _FLOWS:
            month[column] += row[column]
        month["date"] = row["date"]
        for column in ("mrr", "customers", "mrr_at_risk"):
            month[column] = row[column]
    for month in months.values():
        month["net"] = sum(month[kind] for kind in MOVEMENT_TYPES if kind != "fx")
    return list(months.values())


def churn_feedback(connection: Connection, first: date, last: date) -> list[dict[str, Any]]:
    """How many churned customers gave each feedback, by month (``month``, ``feedback``,
    ``reason`` voluntary/involuntary, ``count``), sorted by month then feedback."""
    mm = table("mrr_movement")
    query = select(mm.c.date, mm.c.churn_reason, mm.c.subscription_ids).where(
        mm.c.type == "churn", mm.c.date >= first.isoformat(), mm.c.date <= last.isoformat()
    )
    churns = [
        (day, reason, orjson.loads(ids or "[]")) for day, reason, ids in connection.execute(query)
    ]
    details = _ended_details(connection)
    counts: Counter[tuple[str, str, str]] = Counter()
    for day, reason, ids in churns:
        detail = churn_detail(ids, details) if ids else NO_DETAIL
        counts[(day[:7], detail.feedback or NO_FEEDBACK, reason or "voluntary")] += 1
    return [
        {"month": month, "feedback": feedback, "reason": reason, "count": n}
        for (month, feedback, reason), n in sorted(counts.items())
    ]


def _ended_details(connection: Connection) -> dict[str, CancellationDetail]:
    """``cancellation_details`` of every subscription that has some, in one read (the
    churns of three years name tens of thousands of subscriptions: one query beats a lookup
    by chunks of ids)."""
    sub = table("subscription")
    query = select(
        sub.c.id, sub.c.cancellation_reason, sub.c.cancellation_feedback, sub.c.cancellation_comment
    ).where(
        or_(
            sub.c.cancellation_reason.is_not(None),
            sub.c.cancellation_feedback.is_not(None),
            sub.c.cancellation_comment.is_not(None),
        ),
    )
    return {sid: CancellationDetail(*detail) for sid, *detail in connection.execute(query)}


def _level(series: Iterable[Sequence[int]], ordinal: int) -> int:
    """A step series ``[[day, value], …]`` (days as ordinals, ascending) at the end of a day."""
    value = 0
    for day, amount in series:
        if day > ordinal:
            break
        value = amount
    return value


def _results(connection: Connection, ids: Iterable[str]) -> dict[str, list[Any]]:
    """``customer_result.result`` decoded (``[mrr, at_risk, movements, trials]``) for ``ids``."""
    cr = table("customer_result")
    found: dict[str, list[Any]] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = select(cr.c.customer_id, cr.c.result).where(cr.c.customer_id.in_(chunk))
        for customer_id, text in connection.execute(query):
            found[customer_id] = orjson.loads(text)
    return found


def top_customers(connection: Connection, last: date, limit: int) -> list[tuple[str, int]]:
    """``(customer id, MRR at the end of last)`` of the ``limit`` paying customers with the most
    MRR, largest first (ties by id)."""
    mm = table("mrr_movement")
    mrr = func.sum(mm.c.amount).label("mrr")
    query = (
        select(mm.c.customer_id, mrr)
        .where(mm.c.date <= last.isoformat())
        .group_by(mm.c.customer_id)
        .having(func.sum(mm.c.amount) > 0)
        .order_by(mrr.desc(), mm.c.customer_id)
        .limit(limit)
    )
    return [(customer_id, int(value)) for customer_id, value in connection.execute(query)]


def customer_history(result: list[Any] | None, last: date, currency: str) -> dict[str, Any]:
    """One customer's MRR steps and movements up to ``last`` (major units), from their
    ``customer_result``: ``mrr`` as ``[[day, value], …]`` at each change, ``movements`` as
    ``[[day, type, amount, before, after, churn reason], …]``."""
    if result is None:
        return {"mrr": [], "movements": []}
    n = last.toordinal()
    steps, _, moves = result[0], result[1], result[2]
    return {
        "mrr": [
            [date.fromordinal(day).isoformat(), money(value, currency)]
            for day, value in steps
            if day <= n
        ],
        "movements": [
            [
                date.fromordinal(day).isoformat(),
                kind,
                money(amount, currency),
                money(before, currency),
                money(after, currency),
                reason,
            ]
            for day, kind, amount, before, after, reason, _subs in moves
            if day <= n
        ],
    }


def _person(
    customer_id: str, mrr: int, names: dict[str, tuple[str | None, str | None]], currency: str
) -> dict[str, Any]:
    name, email = names.get(customer_id, (None, None))
    return {"id": customer_id, "name": name, "email": email, "mrr": money(mrr, currency)}


def customers_block(
    connection: Connection, last: date, currency: str, *, limit: int = TOP_CUSTOMERS
) -> dict[str, Any]:
    """The customer list of the page: the ``limit`` with the most MRR and their histories."""
    top = top_customers(connection, last, limit)
    with Session(bind=connection) as session:
        names = customer_names(session, [customer_id for customer_id, _ in top])
    results = _results(connection, [customer_id for customer_id, _ in top])
    return {
        "limit": limit,
        "list": [_person(cid, mrr, names, currency) for cid, mrr in top],
        "histories": {cid: customer_history(results.get(cid), last, currency) for cid, _ in top},
    }


def search_customers(
    connection: Connection, text: str, last: date, currency: str, *, limit: int = SEARCH_LIMIT
) -> list[dict[str, Any]]:
    """Customers whose name, email or id contains ``text`` (any case), the most MRR first:
    what ``serve`` answers a search with, over every customer."""
    customer = table("customer")
    needle = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = select(customer.c.id, customer.c.name, customer.c.email).where(
        or_(
            func.lower(customer.c.name).like(needle, escape="\\"),
            func.lower(customer.c.email).like(needle, escape="\\"),
            func.lower(customer.c.id).like(needle, escape="\\"),
        )
    )
    found = {cid: (name, email) for cid, name, email in connection.execute(query)}
    results = _results(connection, found)
    n = last.toordinal()
    mrr = {cid: _level(results[cid][0], n) if cid in results else 0 for cid in found}
    ranked = sorted(found, key=lambda cid: (-mrr[cid], cid))[:limit]
    return [_person(cid, mrr[cid], found, currency) for cid in ranked]


def one_customer(
    connection: Connection, customer_id: str, last: date, currency: str
) -> dict[str, Any] | None:
    """One customer with their history (``serve``'s answer when a customer is opened); None
    when there is no such customer."""
    with Session(bind=connection) as session:
        names = customer_names(session, [customer_id])
    if customer_id not in names:
        return None
    result = _results(connection, [customer_id]).get(customer_id)
    mrr = _level(result[0], last.toordinal()) if result else 0
    return {**_person(customer_id, mrr, names, currency),
            "history": customer_history(result, last, currency)}  # fmt: skip


def at_risk_block(
    connection: Connection, last: date, currency: str, tz: str, *, limit: int = AT_RISK_ROWS
) -> dict[str, Any]:
    """Customers whose MRR is at risk at the end of ``last``, the largest first, each with the
    subscriptions that put it at risk (past due, set to cancel and when, collection paused).
    The subscriptions are as they are now (Stripe keeps no history of these flags)."""
    with Session(bind=connection) as session:
        risky = risky_subscriptions(session, ZoneInfo(tz), None)
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sub in risky:
        by_customer[sub.customer_id].append(
            {
                "id": sub.subscription_id,
                "reason": sub.reason,
                "cancels_on": None if sub.cancels_on is None else sub.cancels_on.isoformat(),
            }
        )
    results = _results(connection, by_customer)
    n = last.toordinal()
    values = {cid: _level(results[cid][1], n) for cid in by_customer if cid in results}
    ranked = sorted((cid for cid, v in values.items() if v > 0), key=lambda c: (-values[c], c))
    shown = ranked[:limit]
    with Session(bind=connection) as session:
        names = customer_names(session, shown)
    return {
        "customers": len(ranked),
        "shown": len(shown),
        "rows": [
            {**_person(cid, values[cid], names, currency), "subscriptions": by_customer[cid]}
            for cid in shown
        ],
    }


def has_table(connection: Connection, name: str) -> bool:
    """Whether this database has ``name`` (the cohort and segment tables come with their
    features' migrations)."""
    return inspect(connection).has_table(name)


def day_series(days: Sequence[dict[str, Any]], currency: str) -> dict[str, list[Any]]:
    """The daily rows as columns (smaller in the file than one object per day)."""
    return {
        "date": [row["date"] for row in days],
        "mrr": [money(row["mrr"], currency) for row in days],
        "customers": [row["customers"] for row in days],
        "arpu": [money(arpu(row["mrr"], row["customers"]), currency) for row in days],
        "mrr_at_risk": [money(row["mrr_at_risk"], currency) for row in days],
    }


def month_series(months: Sequence[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    """The months in major units (counts as they are)."""
    counts = ("customers", "churned_voluntary", "churned_involuntary")
    return [
        {
            key: value if key in ("month", "date") or key in counts else money(value, currency)
            for key, value in month.items()
        }
        for month in months
    ]
