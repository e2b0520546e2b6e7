"""Keeping the database in step with Stripe: Stripe objects → rows (:mod:`.mapping`), what a
sync copies (:mod:`.lists`), the ``created`` windows of a backfill (:mod:`.windows`), the
backfill (:mod:`.backfill`) and its writer thread (:mod:`.writer`), the events pass
(:mod:`.events`), the checkpoints and run log (:mod:`.state`), one sync from start to end
(:mod:`.run`), and the one-sync-at-a-time lock (:mod:`.lock`).

Nothing here knows HTTP (:mod:`stripe_kpi.stripe_api`) or SQL beyond upserts and checkpoints
(:mod:`stripe_kpi.store`): it moves rows.
"""

from stripe_kpi.sync.run import SyncReport, sync

__all__ = ["SyncReport", "sync"]
