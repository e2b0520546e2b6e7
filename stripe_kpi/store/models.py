"""The database schema: one table per Stripe object kind, the sync state, and the derived tables.

Every Stripe row keeps the object's raw JSON (``raw``) beside a few typed columns: the typed
columns are what the metrics read (fast, indexed); the raw JSON means a new metric never needs a
re-download. Column names follow Stripe's field names where there is one, so a founder reading the
file with SQL recognises them. Timestamps are unix seconds (UTC), as Stripe gives them; money is
integer minor units of the row's ``currency``.

The schema is created and upgraded by alembic migrations (``stripe_kpi/store/migrations``), never by
``create_all`` on a user's database: a test checks that the migrations produce exactly these tables.

Over 400 lines on purpose: it is one schema, read against one set of migrations, and a founder
reading it to write SQL wants every table in one place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Table, Text
from sqlmodel import Field, SQLModel


def _raw() -> Any:
    return Field(sa_column=Column(Text, nullable=False))


def _json() -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=True))


def _ts(nullable: bool = True, index: bool = False) -> Any:
    """Unix seconds. BigInteger: PostgreSQL's INTEGER would overflow in 2038."""
    return Field(default=None, sa_column=Column(BigInteger, nullable=nullable, index=index))


def _money(nullable: bool = True, default: int | None = None) -> Any:
    """Minor units. BigInteger: a yearly enterprise invoice in a zero-decimal currency is large."""
    if default is None and not nullable:
        default = 0
    return Field(default=default, sa_column=Column(BigInteger, nullable=nullable))


def _parent(table: str) -> Any:
    """A child written in the same transaction as its parent (items with their subscription,
    lines with their invoice), so the foreign key can be enforced and cascade on delete."""
    return Field(
        sa_column=Column(
            Text, ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )


# ---------------------------------------------------------------------------------------------
# Stripe objects
# ---------------------------------------------------------------------------------------------


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    id: str = Field(primary_key=True)
    created: int = _ts(nullable=False)
    email: str | None = None
    name: str | None = None
    currency: str | None = None
    #: ``address.country`` (ISO 3166-1 alpha-2), None without an address: the ``country`` segment.
    address_country: str | None = None
    #: ``metadata`` as JSON (an object of strings): the ``metadata:KEY`` segments.
    metadata_: str | None = Field(default=None, sa_column=Column("metadata", Text, nullable=True))
    deleted: bool = False
    livemode: bool = False
    raw: str = _raw()


class Product(SQLModel, table=True):
    __tablename__ = "product"

    id: str = Field(primary_key=True)
    created: int = _ts(nullable=False)
    name: str | None = None
    active: bool = True
    deleted: bool = False
    raw: str = _raw()


class Price(SQLModel, table=True):
    """``recurring_*`` flatten ``price.recurring``; ``tiers`` and ``transform_quantity`` are JSON
    because a tiered price is only ever read whole."""

    __tablename__ = "price"

    id: str = Field(primary_key=True)
    created: int = _ts(nullable=False)
    product_id: str | None = Field(default=None, index=True)
    active: bool = True
    currency: str
    type: str  # one_time | recurring
    billing_scheme: str = "per_unit"  # per_unit | tiered
    unit_amount: int | None = _money()
    unit_amount_decimal: str | None = None  # Stripe's decimal string, exact
    tiers_mode: str | None = None  # graduated | volume
    tiers: str | None = _json()  # JSON list of {up_to, unit_amount_decimal, flat_amount_decimal}
    transform_quantity: str | None = _json()  # JSON {divide_by, round}
    recurring_interval: str | None = None  # day | week | month | year
    recurring_interval_count: int | None = None
    recurring_usage_type: str | None = None  # licensed | metered
    tax_behavior: str | None = None  # exclusive | inclusive | unspecified
    nickname: str | None = None
    deleted: bool = False
    raw: str = _raw()


class Coupon(SQLModel, table=True):
    __tablename__ = "coupon"

    id: str = Field(primary_key=True)
    created: int = _ts(nullable=False)
    name: str | None = None
    percent_off: str | None = None  # Stripe's number as exact decimal text ("33.33")
    amount_off: int | None = _money()
    currency: str | None = None
    duration: str  # forever | once | repeating
    duration_in_months: int | None = None
    deleted: bool = False
    raw: str = _raw()


class TaxRate(SQLModel, table=True):
    __tablename__ = "tax_rate"

    id: str = Field(primary_key=True)
    created: int = _ts(nullable=False)
    percentage: str  # exact decimal text
    inclusive: bool = False
    active: bool = True
    raw: str = _raw()


class Discount(SQLModel, table=True):
    """A coupon applied to a customer, a subscription, an item or an invoice, with its window
    (``start``, ``end``: a ``repeating`` coupon's discount ends; ``forever`` has no end).
    Discounts arrive embedded (expanded) in subscriptions and invoices."""

    __tablename__ = "discount"

    id: str = Field(primary_key=True)
    coupon_id: str | None = Field(default=None, index=True)
    customer_id: str | None = Field(default=None, index=True)
    subscription_id: str | None = Field(default=None, index=True)
    subscription_item_id: str | None = None
    invoice_id: str | None = None
    start: int = _ts(nullable=False)
    end: int | None = _ts()
    deleted: bool = False
    raw: str = _raw()


class Subscription(SQLModel, table=True):
    """``cancellation_*`` flatten ``cancellation_details``: the reason decides voluntary or
    involuntary churn, the feedback and comment appear in the report."""

    __tablename__ = "subscription"

    id: str = Field(primary_key=True)
    customer_id: str = Field(index=True)
    status: str
    currency: str
    created: int = _ts(nullable=False)
    start_date: int = _ts(nullable=False)
    billing_cycle_anchor: int | None = _ts()
    trial_start: int | None = _ts()
    trial_end: int | None = _ts()
    cancel_at: int | None = _ts()
    cancel_at_period_end: bool = False
    canceled_at: int | None = _ts()
    ended_at: int | None = _ts()
    cancellation_reason: str | None = None
    cancellation_feedback: str | None = None
    cancellation_comment: str | None = None
    collection_method: str | None = None
    #: ``pause_collection``: renewals go on, their invoices are voided (``void``), left as
    #: drafts (``keep_as_draft``) or marked uncollectible, until ``resumes_at`` (None: until
    #: resumed by hand). None: collection is not paused.
    pause_collection_behavior: str | None = None
    pause_collection_resumes_at: int | None = _ts()
    latest_invoice_id: str | None = None
    discount_ids: str | None = _json()  # JSON list of discount ids, in Stripe's order
    default_tax_rate_ids: str | None = _json()  # JSON list
    livemode: bool = False
    raw: str = _raw()


class SubscriptionSchedule(SQLModel, table=True):
    """A subscription's changes decided in advance, phase by phase.

    ``phases`` is Stripe's list as JSON: each phase's ``start_date``, ``end_date``, ``items``
    (``price``, ``quantity``), ``discounts`` and ``proration_behavior``, so the metrics can date a
    change that no invoice shows yet at its phase's start. ``subscription_id`` is the managed
    subscription, or the one it released (``released_subscription``): the phases that ran still
    date its past. ``current_phase_*`` is set while the schedule is ``active``.
    """

    __tablename__ = "subscription_schedule"

    id: str = Field(primary_key=True)
    customer_id: str = Field(index=True)
    subscription_id: str | None = Field(default=None, index=True)
    status: str
    end_behavior: str | None = None
    created: int = _ts(nullable=False)
    current_phase_start: int | None = _ts()
    current_phase_end: int | None = _ts()
    canceled_at: int | None = _ts()
    completed_at: int | None = _ts()
    released_at: int | None = _ts()
    phases: str | None = _json()  # JSON list, Stripe's phases
    livemode: bool = False
    raw: str = _raw()


class SubscriptionItem(SQLModel, table=True):
    """The item as it is now. Its history (past prices and quantities) comes from invoice lines."""

    __tablename__ = "subscription_item"

    id: str = Field(primary_key=True)
    subscription_id: str = _parent("subscription")
    price_id: str = Field(index=True)
    quantity: int | None = None
    created: int = _ts(nullable=False)
    current_period_start: int = _ts(nullable=False)
    current_period_end: int = _ts(nullable=False)
    discount_ids: str | None = _json()
    tax_rate_ids: str | None = _json()
    deleted: bool = False
    raw: str = _raw()


class Invoice(SQLModel, table=True):
    """``subscription_id`` comes from ``parent.subscription_details.subscription`` (API ≥ 2025).
    ``lines_complete`` is true once every line (past the 10 a list response embeds) is stored."""

    __tablename__ = "invoice"
    __table_args__ = (
        # Covers the columns the metrics read (``metrics.inputs.COLUMNS``), by customer: a row
        # with its raw JSON fills pages of its own, and reading an account's million invoices
        # (or one range of customers, in a worker) from this index is several times faster.
        Index(
            "ix_invoice_metrics",
            "customer_id",
            "id",
            "currency",
            "created",
            "subscription_id",
            "status",
            "billing_reason",
            "collection_method",
            "amount_due",
            "finalized_at",
            "paid_at",
            "voided_at",
            "marked_uncollectible_at",
            "lines_complete",
        ),
    )

    id: str = Field(primary_key=True)
    customer_id: str | None = Field(default=None, index=True)
    subscription_id: str | None = Field(default=None, index=True)
    status: str | None = None  # draft | open | paid | uncollectible | void
    billing_reason: str | None = None
    collection_method: str | None = None
    currency: str
    created: int = _ts(nullable=False, index=True)
    period_start: int | None = _ts()
    period_end: int | None = _ts()
    subtotal: int | None = _money()
    total: int | None = _money()
    total_excluding_tax: int | None = _money()
    amount_due: int | None = _money()
    amount_paid: int | None = _money()
    amount_remaining: int | None = _money()
    attempt_count: int | None = None
    next_payment_attempt: int | None = _ts()
    finalized_at: int | None = _ts()
    paid_at: int | None = _ts()
    voided_at: int | None = _ts()
    marked_uncollectible_at: int | None = _ts()
    lines_complete: bool = False
    livemode: bool = False
    raw: str = _raw()  # the invoice without its lines (they live in invoice_line)


class InvoiceLine(SQLModel, table=True):
    """One invoice line, flattened from the 2025+ shape: ``parent.type`` is
    ``subscription_item_details`` or ``invoice_item_details``; the price is under
    ``pricing.price_details.price``. ``discount_amount`` and the tax columns are sums over the
    line's ``discount_amounts`` and ``taxes``; ``discount_amounts`` keeps the per-discount split."""

    __tablename__ = "invoice_line"
    __table_args__ = (
        # Covers the columns the metrics read, by invoice (see ``Invoice``).
        Index(
            "ix_invoice_line_metrics",
            "invoice_id",
            "id",
            "amount",
            "currency",
            "period_start",
            "period_end",
            "position",
            "parent_type",
            "subscription_id",
            "subscription_item_id",
            "proration",
            "price_id",
            "quantity",
            "discount_amount",
            "discount_amounts",
            "tax_inclusive_amount",
        ),
    )

    id: str = Field(primary_key=True)
    invoice_id: str = _parent("invoice")
    position: int = 0  # order on the invoice, as Stripe lists it
    parent_type: str | None = None  # subscription_item_details | invoice_item_details
    subscription_id: str | None = Field(default=None, index=True)
    subscription_item_id: str | None = Field(default=None, index=True)
    # Indexed: a pending invoice item leaves ``pending_invoice_item`` once a line takes it.
    invoice_item_id: str | None = Field(default=None, index=True)
    proration: bool = False
    price_id: str | None = None
    quantity: int | None = None
    amount: int = _money(nullable=False)  # before discounts; includes inclusive tax
    currency: str
    period_start: int = _ts(nullable=False)
    period_end: int = _ts(nullable=False)
    discount_amount: int = 0
    discount_amounts: str | None = _json()  # JSON list of {"discount": id, "amount": int}
    tax_exclusive_amount: int = 0
    tax_inclusive_amount: int = 0
    description: str | None = None
    raw: str = _raw()


class PendingInvoiceItem(SQLModel, table=True):
    """An invoice item no invoice has taken yet (``GET /v1/invoiceitems?pending=true``): above
    all the prorations of a change made with ``proration_behavior=create_prorations``, which
    wait for the next renewal (on a yearly plan, up to a year). Its ``period_start`` is the
    instant of the change; once an invoice takes it, the invoice's line (``invoice_line.
    invoice_item_id``) replaces it and the row is deleted. ``subscription_id`` and
    ``subscription_item_id`` come from ``parent.subscription_details`` (None: a one-off item)."""

    __tablename__ = "pending_invoice_item"

    id: str = Field(primary_key=True)
    customer_id: str | None = Field(default=None, index=True)
    subscription_id: str | None = Field(default=None, index=True)
    subscription_item_id: str | None = None
    proration: bool = False
    price_id: str | None = None
    quantity: int | None = None
    amount: int = _money(nullable=False)
    currency: str
    date: int = _ts(nullable=False)  # when it was created (Stripe's name)
    period_start: int = _ts(nullable=False)
    period_end: int = _ts(nullable=False)
    discount_ids: str | None = _json()
    #: Set only in flight: a row written with an invoice (or deleted) is removed in the same
    #: transaction (``store.engine.upsert_rows``), so the table holds pending items alone.
    invoice_id: str | None = None
    deleted: bool = False
    livemode: bool = False
    raw: str = _raw()


class Event(SQLModel, table=True):
    """Events of the last 30 days (Stripe's retention): the incremental sync's input, and the only
    record of status changes (past_due → unpaid) that no invoice shows."""

    __tablename__ = "event"

    id: str = Field(primary_key=True)
    type: str = Field(index=True)
    created: int = _ts(nullable=False, index=True)
    object_id: str | None = Field(default=None, index=True)
    object_type: str | None = None
    api_version: str | None = None
    raw: str = _raw()


# ---------------------------------------------------------------------------------------------
# Sync state
# ---------------------------------------------------------------------------------------------


class SyncState(SQLModel, table=True):
    """A checkpoint, stored in the same transaction as the rows it vouches for.

    ``key`` names what it covers: ``events`` (the Events API cursor), or
    ``backfill:<kind>:<window>`` for a window of a backfill; ``value`` is JSON (the last id
    paged, the window's bounds, done)."""

    __tablename__ = "sync_state"

    key: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: int = _ts(nullable=False)


class SyncRun(SQLModel, table=True):
    """One line per sync: when, what kind, how it ended. ``doctor`` and the report read it."""

    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: int = _ts(nullable=False)
    finished_at: int | None = _ts()
    mode: str  # full | incremental
    status: str  # running | ok | failed
    objects: int = 0
    requests: int = 0
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# Derived tables (rebuilt from the above by the metrics layer; documented in the README)
# ---------------------------------------------------------------------------------------------


class MrrMovement(SQLModel, table=True):
    """One customer's MRR change on one day (``STRIPE_KPI_TIMEZONE``), in the reporting currency's
    minor units. ``type`` is new | expansion | contraction | churn | reactivation | fx."""

    __tablename__ = "mrr_movement"
    __table_args__ = (Index("ix_mrr_movement_date_type", "date", "type"),)

    id: int | None = Field(default=None, primary_key=True)
    date: str = Field(index=True)  # YYYY-MM-DD
    customer_id: str = Field(index=True)
    type: str
    amount: int = _money(nullable=False)  # signed
    mrr_before: int = _money(nullable=False)
    mrr_after: int = _money(nullable=False)
    currency: str
    churn_reason: str | None = None  # voluntary | involuntary (churn only)
    subscription_ids: str | None = _json()  # JSON list of the subscriptions that moved


class DailyMetrics(SQLModel, table=True):
    """The account's numbers at the end of each day, in the reporting currency's minor units."""

    __tablename__ = "daily_metrics"

    date: str = Field(primary_key=True)  # YYYY-MM-DD
    currency: str
    mrr: int = _money(nullable=False)
    customers: int = 0
    new: int = _money(nullable=False)
    expansion: int = _money(nullable=False)
    contraction: int = _money(nullable=False)
    churn: int = _money(nullable=False)
    reactivation: int = _money(nullable=False)
    fx: int = _money(nullable=False)
    churned_voluntary: int = 0
    churned_involuntary: int = 0
    churned_mrr_voluntary: int = _money(nullable=False)
    churned_mrr_involuntary: int = _money(nullable=False)
    mrr_at_risk: int = _money(nullable=False)
    trials_ended: int = 0  # trials that ended that day (trial conversion's denominator)
    trials_converted: int = 0  # of those, the ones whose customer started paying


class CohortMonthRow(SQLModel, table=True):
    """Monthly cohorts (METRICS.md §4): the customers whose first paid day fell in ``cohort``'s
    month (``cohort_customers``), and ``months_since`` months later (0: that month) how many of
    them were paying and their MRR, at the end of that month (the month in progress: at the
    last day of ``daily_metrics``). Reporting currency's minor units; kept current with the
    other derived tables (``metrics.cohorts``)."""

    __tablename__ = "cohort_month"

    cohort: str = Field(primary_key=True)  # YYYY-MM-01
    months_since: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    currency: str
    cohort_customers: int = 0
    customers: int = 0
    mrr: int = _money(nullable=False)


class CommittedChangeRow(SQLModel, table=True):
    """What each subscription is committed to change, as the last derive found it (METRICS.md §9,
    ``metrics.committed``): ``kind`` ending | scheduled | trial, the local ``date`` it lands and
    the signed MRR ``amount`` (reporting minor units; a trial's is its MRR once converted,
    unweighted). What ``cmrr`` and ``stripe-kpi forecast`` read."""

    __tablename__ = "committed_change"

    customer_id: str = Field(primary_key=True)
    subscription_id: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    date: str = Field(primary_key=True)  # YYYY-MM-DD
    amount: int = _money(nullable=False)
    currency: str


class CustomerResultRow(SQLModel, table=True):
    """One customer's computed figures as the derived tables last counted them.

    An incremental update (a sync touched a few customers) takes each touched customer's old
    figures out of ``daily_metrics`` and adds the new ones; across processes there is no
    computation left in memory to take them from, so they are kept here. ``result`` is compact
    JSON: ``[mrr, at_risk, movements, trials]`` with days as ordinals (see ``store.rows``).
    ``first_day`` is the first day the customer counts in ``daily_metrics``; ``horizon`` the first
    instant after the computation's ``as_of`` at which these figures could change with no sync
    (a trial or a coupon ending, a scheduled cancellation): past it, the customer is recomputed.
    ``at_risk_from`` … ``at_risk_until`` (days, the end excluded; ``9999-12-31`` while still at
    risk; both None when never) bound the days the customer had MRR at risk, so the report reads
    only the few customers at risk on its day (``ix_customer_result_at_risk``).
    """

    __tablename__ = "customer_result"
    __table_args__ = (Index("ix_customer_result_at_risk", "at_risk_until", "at_risk_from"),)

    customer_id: str = Field(primary_key=True)
    first_day: str | None = Field(default=None, index=True)  # YYYY-MM-DD
    horizon: int | None = _ts(index=True)
    result: str = Field(sa_column=Column(Text, nullable=False))
    at_risk_from: str | None = None  # YYYY-MM-DD
    at_risk_until: str | None = None  # YYYY-MM-DD, excluded


class SegmentMrr(SQLModel, table=True):
    """MRR split by segment (METRICS.md §8): per ``kind`` (plan, product, interval, currency,
    country) and ``segment``, a row on each day where something of it changed — MRR and paying
    customers at the end of that day (they hold until the segment's next row) and that day's
    movements, §2 applied inside the segment. Reporting currency's minor units."""

    __tablename__ = "segment_mrr"

    kind: str = Field(primary_key=True)
    segment: str = Field(primary_key=True)
    date: str = Field(primary_key=True)  # YYYY-MM-DD
    currency: str
    mrr: int = _money(nullable=False)
    customers: int = 0
    new: int = _money(nullable=False)
    expansion: int = _money(nullable=False)
    contraction: int = _money(nullable=False)
    churn: int = _money(nullable=False)
    reactivation: int = _money(nullable=False)
    fx: int = _money(nullable=False)


class CustomerSegment(SQLModel, table=True):
    """One customer's changes to ``segment_mrr`` as it last counted them (JSON list of
    ``[kind, segment, day ordinal, mrr, customers, new, expansion, contraction, churn,
    reactivation, fx]``): what an incremental update takes out again, as ``customer_result``."""

    __tablename__ = "customer_segment"

    customer_id: str = Field(primary_key=True)
    changes: str = Field(sa_column=Column(Text, nullable=False))


class DeriveQueue(SQLModel, table=True):
    """Work the derived tables still owe, written in the transaction of the rows that caused it.

    A sync page records the customers it touched (``*``: every customer, a rebuild, which a
    backfill page or an upgrade records); deriving deletes the rows it did in the transaction
    that writes the derived rows. So a process killed between the two leaves the work here for
    the next sync or read to finish (``store.current``). ``token`` is new at every write: a row
    re-queued while a derive ran (its data newer than what the derive loaded) keeps its new
    token and survives the derive's delete, which names the tokens it read."""

    __tablename__ = "derive_queue"

    customer_id: str = Field(primary_key=True)
    token: str
    queued_at: int = _ts(nullable=False)


class ReportDelivery(SQLModel, table=True):
    """Every daily summary rendered, with its delivery status: a report is never lost, and the
    once-per-day rule reads ``status == "sent"`` for ``report_date``."""

    __tablename__ = "report_delivery"

    id: int | None = Field(default=None, primary_key=True)
    report_date: str = Field(index=True)  # YYYY-MM-DD, the day the summary is about
    created_at: int = _ts(nullable=False)
    status: str  # rendered | sent | failed
    recipients: str | None = None
    subject: str
    text_body: str = Field(sa_column=Column(Text, nullable=False))
    html_body: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = 0
    sent_at: int | None = _ts()
    error: str | None = None


class ReportClaim(SQLModel, table=True):
    """One row per report day: who is sending it, or that it was sent (``report.claim``).

    Before a process sends a day's report it takes the day's row (an INSERT that fails on the
    key, or an UPDATE guarded by the state it read), so two ``report --send`` at the same
    instant send one email. ``state``: ``sending`` (``token``, ``host`` and ``pid`` say who,
    ``claimed_at`` since when: a claim older than the lease, or whose process died, is taken
    over), ``sent`` (``sent_at``, ``delivery_id`` of the ``report_delivery`` row) or
    ``failed`` (the sender gave up; the next run sends)."""

    __tablename__ = "report_claim"

    report_date: str = Field(primary_key=True)  # YYYY-MM-DD, as report_delivery.report_date
    state: str  # sending | sent | failed
    token: str
    host: str
    pid: int
    claimed_at: int = _ts(nullable=False)
    sent_at: int | None = _ts()
    delivery_id: int | None = None


# ---------------------------------------------------------------------------------------------
# What the founder enters (no sync touches it)
# ---------------------------------------------------------------------------------------------


class Spend(SQLModel, table=True):
    """Sales and marketing spend of one month, as the founder entered it (``stripe-kpi spend``):
    what CAC divides (METRICS.md §9). ``amount`` in minor units of ``currency``, the reporting
    currency at the time it was entered; ``updated_at`` when it was last set (unix seconds)."""

    __tablename__ = "spend"

    month: str = Field(primary_key=True)  # YYYY-MM
    amount: int = _money(nullable=False)
    currency: str
    updated_at: int = _ts(nullable=False)


#: Stripe object tables, in the order a backfill fills them (parents first).
STRIPE_TABLES: tuple[type[SQLModel], ...] = (
    Customer,
    Product,
    Price,
    Coupon,
    TaxRate,
    Discount,
    Subscription,
    SubscriptionItem,
    SubscriptionSchedule,
    Invoice,
    InvoiceLine,
    PendingInvoiceItem,
    Event,
)


def table(name: str) -> Table:
    """The table of that name: the derived tables' code reads and writes by name, in SQL."""
    return SQLModel.metadata.tables[name]
