"""Keeping the database in step with Stripe: Stripe objects → rows (:mod:`.mapping`), the
``created`` windows of a backfill (:mod:`.windows`), the backfill and the events pass
(:mod:`.run`), and the one-sync-at-a-time lock (:mod:`.lock`)."""

from stripe_kpi.sync.run import SyncReport, sync

__all__ = ["SyncReport", "sync"]
