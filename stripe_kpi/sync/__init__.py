"""Keeping the database in step with Stripe: Stripe objects → rows (:mod:`.mapping`), what a
sync copies (:mod:`.lists`), the ``created`` windows of a backfill (:mod:`.windows`), the
backfill (:mod:`.backfill`) and its writer thread (:mod:`.writer`), the events pass
(:mod:`.events`), the checkpoints and run log (:mod:`.state`), one sync from start to end
(:mod:`.run`), and the one-sync-at-a-time lock (:mod:`.lock`).

Nothing here knows HTTP (:mod:`stripe_kpi.stripe_api`) or SQL beyond upserts and checkpoints
(:mod:`stripe_kpi.store`): it moves rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stripe_kpi.sync.run import SyncReport, sync

__all__ = ["SyncReport", "sync"]


def __getattr__(name: str) -> Any:
    """``sync`` and ``SyncReport`` loaded on first use: a command that only reads the database
    imports ``sync.state`` (is a backfill unfinished?) and should not pay for the Stripe SDK
    and HTTP stack that ``sync.run`` brings (about 0.1 s)."""
    if name in __all__:
        from stripe_kpi.sync import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
