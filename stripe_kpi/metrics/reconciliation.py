"""The result of ``stripe-kpi check`` as values: counts, the share of MRR that reconciles, the
summary line, and the ``--json`` document (money in major units, as ``metrics --json``).

The share is of the MRR *compared*: reconciling ÷ (reconciling + disagreeing), each subscription
weighed as :mod:`.reconcile` says. What could not be compared is its own share of all the MRR
checked, so that neither figure hides the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from stripe_kpi.metrics.reconcile import Outcome, SubscriptionCheck
from stripe_kpi.metrics.report_json import fraction, money

__all__ = ["Reconciliation"]

_ORDER: dict[Outcome, int] = {"disagrees": 0, "not_comparable": 1, "reconciles": 2}


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Every subscription checked at ``as_of``; ``currency`` is the reporting currency."""

    currency: str
    as_of: datetime
    checks: tuple[SubscriptionCheck, ...]

    @classmethod
    def of(
        cls, checks: Iterable[SubscriptionCheck], *, currency: str, as_of: datetime
    ) -> Reconciliation:
        ordered = sorted(checks, key=lambda c: (_ORDER[c.outcome], c.subscription_id))
        return cls(currency.lower(), as_of, tuple(ordered))

    def having(self, outcome: Outcome) -> list[SubscriptionCheck]:
        return [c for c in self.checks if c.outcome == outcome]

    @property
    def disagreeing(self) -> int:
        return sum(1 for c in self.checks if c.outcome == "disagrees")

    @property
    def reconciles(self) -> bool:
        """Nothing disagrees (``check`` exits 0)."""
        return self.disagreeing == 0

    def _weight(self, *outcomes: Outcome) -> int:
        return sum(c.weight for c in self.checks if c.outcome in outcomes)

    @property
    def share_reconciled(self) -> Decimal | None:
        """Of the MRR compared, the share that reconciles (None: nothing compared)."""
        compared = self._weight("reconciles", "disagrees")
        return None if not compared else Decimal(self._weight("reconciles")) / compared

    @property
    def share_not_comparable(self) -> Decimal | None:
        """Of all the MRR checked, the share that could not be compared."""
        total = self._weight("reconciles", "disagrees", "not_comparable")
        return None if not total else Decimal(self._weight("not_comparable")) / total

    def summary(self) -> str:
        """One line: what reconciles, what disagrees, what could not be compared."""
        checked = len(self.checks)
        if not checked:
            return "no subscription is billed now: nothing to check"
        good = len(self.having("reconciles"))
        bad = self.disagreeing
        odd = len(self.having("not_comparable"))
        noun = "subscription" if checked == 1 else "subscriptions"
        share = _percent(self.share_reconciled)
        line = f"{good:,} of {checked:,} {noun} reconcile ({share} of the MRR compared)"
        if odd:
            line += f"; {odd:,} not comparable ({_percent(self.share_not_comparable)} of MRR)"
        if bad:
            line += (
                "; 1 disagrees with its invoice"
                if bad == 1
                else f"; {bad:,} disagree with their invoices"
            )
        return line

    def document(self) -> dict[str, Any]:
        """The ``stripe-kpi check --json`` document."""
        return {
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "summary": {
                "checked": len(self.checks),
                "reconciling": len(self.having("reconciles")),
                "disagreeing": self.disagreeing,
                "not_comparable": len(self.having("not_comparable")),
                "mrr": money(sum(c.mrr for c in self.checks), self.currency),
                "share_reconciled": fraction(self.share_reconciled),
                "share_not_comparable": fraction(self.share_not_comparable),
                "line": self.summary(),
            },
            "subscriptions": [_check_json(c) for c in self.checks],
        }


def _check_json(check: SubscriptionCheck) -> dict[str, Any]:
    ccy = check.currency
    difference = None
    if check.invoiced_mrr is not None:
        difference = money(check.metrics_mrr - check.invoiced_mrr, ccy)
    return {
        "subscription_id": check.subscription_id,
        "customer_id": check.customer_id,
        "outcome": check.outcome,
        "currency": ccy,
        "metrics_mrr": money(check.metrics_mrr, ccy),
        "invoiced_mrr": money(check.invoiced_mrr, ccy),
        "difference": difference,
        "invoice_id": check.invoice_id,
        "why": check.why,
        "explanation": check.explanation,
        "detail": check.detail,
    }


def _percent(share: Decimal | None) -> str:
    """Rounded down, so that 100.0 % means all of it."""
    if share is None:
        return "—"
    return f"{(share * 100).quantize(Decimal('0.1'), rounding=ROUND_FLOOR)} %"
