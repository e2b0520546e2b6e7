"""The rows of `stripe-kpi movements`: each customer's MRR movements with who they are and, for a
churn, why and what they said. Money in major units, as in the ``--json`` document (METRICS.md
§5), so the JSON, the CSV and the table show the same figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from stripe_kpi.metrics import Movement
from stripe_kpi.metrics.report_json import money
from stripe_kpi.store.details import NO_DETAIL, cancellation_details, churn_detail, customer_names


def movement_rows(engine: Engine, moves: Sequence[Movement], ccy: str) -> list[dict[str, Any]]:
    """These movements (oldest first: as ``mrr_movement`` or ``Computed.movements`` give them),
    amounts in ``ccy``, joined with the customers' names and the churns' feedback."""
    with Session(engine) as session:
        people = customer_names(session, {m.customer_id for m in moves})
        details = cancellation_details(
            session, {s for m in moves if m.type == "churn" for s in m.subscription_ids}
        )
    rows = []
    for m in moves:
        name, email = people.get(m.customer_id, (None, None))
        detail = churn_detail(m.subscription_ids, details) if m.type == "churn" else NO_DETAIL
        rows.append(
            {
                "date": date.fromordinal(m.day).isoformat(),
                "customer_id": m.customer_id,
                "name": name,
                "email": email,
                "type": m.type,
                "amount": money(m.amount, ccy),
                "mrr_before": money(m.mrr_before, ccy),
                "mrr_after": money(m.mrr_after, ccy),
                "churn_reason": m.churn_reason,
                "cancellation_reason": detail.reason,
                "feedback": detail.feedback,
                "comment": detail.comment,
            }
        )
    return rows
