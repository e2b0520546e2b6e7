"""stripe_kpi: SaaS metrics from a Stripe account, kept in a local database."""

__version__ = "0.1.0"
