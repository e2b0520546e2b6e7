"""The records the metrics read, named after the columns of ``stripe_kpi/store/models.py``.

Frozen dataclasses, except the two kinds there are a million of (invoices and their lines), which
are ``NamedTuple``s: as immutable, but built several times faster. Only the columns the metrics
need are kept; JSON columns arrive parsed. :mod:`.inputs` builds them from database rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

__all__ = [
    "PENDING",
    "AccountHistory",
    "Coupon",
    "Customer",
    "Discount",
    "Invoice",
    "InvoiceLine",
    "Price",
    "SchedulePhase",
    "SnapshotItem",
    "Subscription",
    "SubscriptionItem",
    "SubscriptionSchedule",
    "SubscriptionSnapshot",
    "TaxRate",
    "Tier",
]


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier of a tiered price, amounts in minor units (``up_to`` None: the last tier)."""

    up_to: int | None
    unit_amount: Decimal
    flat_amount: Decimal


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    created: int
    currency: str | None = None
    email: str | None = None
    name: str | None = None
    deleted: bool = False
    #: ``address.country``, None without an address (the ``country`` segment, METRICS.md §8).
    country: str | None = None
    #: ``metadata``, sorted by key (the ``metadata:KEY`` segments).
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Price:
    id: str
    currency: str
    type: str = "recurring"
    billing_scheme: str = "per_unit"
    unit_amount: Decimal | None = None  # minor units, exact (``unit_amount_decimal``)
    tiers_mode: str | None = None
    tiers: tuple[Tier, ...] = ()
    transform_divide_by: int | None = None
    transform_round: str | None = None
    recurring_interval: str | None = None
    recurring_interval_count: int | None = None
    recurring_usage_type: str | None = None
    tax_behavior: str | None = None
    product_id: str | None = None
    #: The price's ``nickname`` (the ``plan`` segment; its id when it has none).
    nickname: str | None = None
    #: ``currency_options`` of a multi-currency price: (currency, unit amount, tiers).
    currency_options: tuple[tuple[str, Decimal | None, tuple[Tier, ...]], ...] = ()

    def currency_option(self, currency: str) -> tuple[Decimal | None, tuple[Tier, ...]] | None:
        """The unit amount and tiers this price charges in another currency, if it has them."""
        for ccy, unit, tiers in self.currency_options:
            if ccy == currency:
                return unit, tiers
        return None

    @property
    def metered(self) -> bool:
        return self.recurring_usage_type == "metered"


@dataclass(frozen=True, slots=True)
class Coupon:
    id: str
    duration: str  # forever | once | repeating
    percent_off: Decimal | None = None
    amount_off: int | None = None
    currency: str | None = None
    duration_in_months: int | None = None
    #: ``currency_options``: amount_off per other currency.
    amount_off_options: tuple[tuple[str, int], ...] = ()
    #: ``applies_to.products``; None: every product.
    applies_to_products: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class TaxRate:
    id: str
    percentage: Decimal
    inclusive: bool = False


@dataclass(frozen=True, slots=True)
class Discount:
    id: str
    start: int
    coupon_id: str | None = None
    customer_id: str | None = None
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    invoice_id: str | None = None
    end: int | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    customer_id: str
    status: str
    currency: str
    created: int
    start_date: int
    billing_cycle_anchor: int | None = None
    trial_start: int | None = None
    trial_end: int | None = None
    cancel_at: int | None = None
    cancel_at_period_end: bool = False
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_reason: str | None = None
    cancellation_feedback: str | None = None
    cancellation_comment: str | None = None
    latest_invoice_id: str | None = None
    discount_ids: tuple[str, ...] = ()
    default_tax_rate_ids: tuple[str, ...] = ()
    #: ``pause_collection`` now: its behavior (``void``, ``keep_as_draft``,
    #: ``mark_uncollectible``) and when collection resumes; None: not paused.
    pause_collection_behavior: str | None = None
    pause_collection_resumes_at: int | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionItem:
    id: str
    subscription_id: str
    price_id: str
    created: int
    current_period_start: int
    current_period_end: int
    quantity: int | None = None
    discount_ids: tuple[str, ...] = ()
    tax_rate_ids: tuple[str, ...] = ()
    deleted: bool = False


class Invoice(NamedTuple):
    """An invoice. A ``NamedTuple``, like :class:`InvoiceLine`: as immutable as a frozen
    dataclass, but built several times faster (a frozen dataclass sets every field through
    ``object.__setattr__``), which matters at a million rows."""

    id: str
    currency: str
    created: int
    customer_id: str | None = None
    subscription_id: str | None = None
    status: str | None = None
    billing_reason: str | None = None
    collection_method: str | None = None
    amount_due: int | None = None
    finalized_at: int | None = None
    paid_at: int | None = None
    voided_at: int | None = None
    marked_uncollectible_at: int | None = None
    lines_complete: bool = False


#: The ``invoice_id`` of a pending proration read as a line (:mod:`.inputs`): no invoice has
#: taken it yet, so no invoice is found under this id.
PENDING = ""


class InvoiceLine(NamedTuple):
    """One invoice line (a ``NamedTuple`` for speed, see :class:`Invoice`).

    A pending proration (an invoice item no invoice has taken yet) is read as a proration line
    of its subscription item whose ``invoice_id`` is :data:`PENDING`: it dates a change at the
    start of its period exactly as the line it will become (METRICS.md §1)."""

    id: str
    invoice_id: str
    amount: int  # before discounts; includes inclusive tax
    currency: str
    period_start: int
    period_end: int
    position: int = 0
    parent_type: str | None = None
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    proration: bool = False
    price_id: str | None = None
    quantity: int | None = None
    discount_amount: int = 0
    discount_amounts: tuple[tuple[str, int], ...] = ()
    tax_inclusive_amount: int = 0


@dataclass(frozen=True, slots=True)
class SnapshotItem:
    """A subscription item as a ``customer.subscription.*`` event showed it."""

    id: str
    price_id: str
    quantity: int | None
    created: int | None = None
    current_period_start: int | None = None
    discount_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubscriptionSnapshot:
    """The subscription at ``created``, from one ``customer.subscription.*`` event.

    ``previous_status`` is set when the event changed the status (``previous_attributes``).
    ``items_complete`` is false when Stripe truncated the embedded item list.
    """

    event_id: str
    created: int
    subscription_id: str
    status: str
    previous_status: str | None = None
    items: tuple[SnapshotItem, ...] = ()
    items_complete: bool = True
    discount_ids: tuple[str, ...] = ()
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    canceled_at: int | None = None
    #: Whether collection was paused at that instant (None: the payload did not say), and
    #: whether this event is the one that paused or resumed it (``previous_attributes``).
    collection_paused: bool | None = None
    collection_pause_changed: bool = False


@dataclass(frozen=True, slots=True)
class SchedulePhase:
    """One phase of a subscription schedule: what the subscription is from ``start_date`` on."""

    start_date: int
    end_date: int
    #: ``(price id, quantity)`` of each item of the phase.
    items: tuple[tuple[str, int | None], ...] = ()
    #: The coupon and discount ids its ``discounts`` name (the subscription's discounts during
    #: the phase); None when the phase does not say, or names one we cannot resolve (a
    #: promotion code alone): then it is taken to drop nothing.
    discounts: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionSchedule:
    """A subscription schedule (``subscription_id``: the managed or the released subscription)."""

    id: str
    customer_id: str
    status: str
    created: int
    subscription_id: str | None = None
    end_behavior: str | None = None
    current_phase_start: int | None = None
    canceled_at: int | None = None
    completed_at: int | None = None
    released_at: int | None = None
    phases: tuple[SchedulePhase, ...] = ()

    def started_phases(self) -> tuple[SchedulePhase, ...]:
        """The phases that have begun, as the schedule itself says (never a clock): none before
        it starts; while ``active`` those up to the current phase; once ``completed`` all; once
        released or canceled, those that began before it stopped."""
        if self.status == "completed":
            until: int | None = max((p.start_date for p in self.phases), default=None)
        elif self.status == "active":
            until = self.current_phase_start
        elif self.status == "released":
            until = self.released_at
        elif self.status == "canceled":
            until = self.canceled_at
        else:  # not_started
            until = None
        if until is None:
            return ()
        return tuple(p for p in self.phases if p.start_date <= until)


@dataclass(frozen=True, slots=True)
class AccountHistory:
    """Every record the metrics read, keyed by Stripe id."""

    customers: Mapping[str, Customer] = field(default_factory=dict)
    prices: Mapping[str, Price] = field(default_factory=dict)
    coupons: Mapping[str, Coupon] = field(default_factory=dict)
    tax_rates: Mapping[str, TaxRate] = field(default_factory=dict)
    discounts: Mapping[str, Discount] = field(default_factory=dict)
    subscriptions: Mapping[str, Subscription] = field(default_factory=dict)
    subscription_items: Mapping[str, SubscriptionItem] = field(default_factory=dict)
    invoices: Mapping[str, Invoice] = field(default_factory=dict)
    invoice_lines: Mapping[str, InvoiceLine] = field(default_factory=dict)
    snapshots: Mapping[str, SubscriptionSnapshot] = field(default_factory=dict)
    schedules: Mapping[str, SubscriptionSchedule] = field(default_factory=dict)
