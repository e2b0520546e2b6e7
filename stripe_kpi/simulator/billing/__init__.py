"""The simulated Stripe Billing engine: ``BillingAccount`` and what it is made of.

Layers, each a subclass of the one before: ``ledger.Ledger`` (state, the clock's queue, invoice
lines and invoices) → ``payments.Payments`` (finalize, charge, dunning) → ``renewals.Renewals``
(what time does to a subscription) → ``changes.Changes`` (scripted changes) →
``pauses.Pauses`` (paused payment collection) → ``adjustments.Adjustments`` (one-off
invoices, credit notes, deleted customers) → ``schedules.Schedules`` (subscription schedules,
their phases) → ``trials.Trials`` (trials that end without a payment method, resuming a paused
subscription) → ``account.BillingAccount`` (creation, snapshot). ``invoices`` holds the invoice
arithmetic, ``dunning`` the account's failed-payment settings (``DunningPolicy``, a
``BillingAccount`` argument).
"""

from stripe_kpi.simulator.billing.account import BillingAccount
from stripe_kpi.simulator.billing.dunning import DunningPolicy
from stripe_kpi.simulator.billing.schedules import Phase

__all__ = ["BillingAccount", "DunningPolicy", "Phase"]
