"""What happens when a renewal payment fails: the account's "Manage failed payments" settings.

Stripe attempts an invoice about an hour after a renewal draft is created; on failure the
invoice stays ``open``, ``attempt_count`` grows, ``next_payment_attempt`` says when the next
retry is, and the subscription becomes ``past_due``. After the last retry the settings decide:
cancel the subscription (``cancellation_details.reason="payment_failed"``), mark it ``unpaid``, or
leave it ``past_due``; and the invoice is marked uncollectible or left open. A retry that
succeeds pays the invoice and the subscription is ``active`` again.

We model a custom retry schedule (days after the previous attempt) rather than Smart Retries,
whose timing is Stripe's machine-learned secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stripe_kpi.simulator.clock import DAY


@dataclass(frozen=True)
class DunningPolicy:
    """Retry schedule and what to do when retries run out."""

    retry_days: tuple[int, ...] = (3, 5, 7)
    subscription_end: Literal["cancel", "unpaid", "past_due"] = "cancel"
    mark_uncollectible: bool = True

    def next_attempt(self, attempt_count: int, at: int) -> int | None:
        """When to retry after the ``attempt_count``-th failed attempt (None: no more)."""
        if attempt_count - 1 < len(self.retry_days):
            return at + self.retry_days[attempt_count - 1] * DAY
        return None


@dataclass
class FailureWindow:
    """Payments attempted in ``[start, end)`` fail (card declined); ``end=None``: for good."""

    start: int
    end: int | None = None

    def declines(self, at: int) -> bool:
        return at >= self.start and (self.end is None or at < self.end)
