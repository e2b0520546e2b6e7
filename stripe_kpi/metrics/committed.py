"""Committed MRR (METRICS.md §9): MRR, less what is set to end, plus what scheduled changes will
add or take, plus the trials in progress weighted by how trials have converted lately.

CMRR is a statement about *now*: whether a subscription is set to cancel, which schedule
phase comes next and which trials are running are known from the subscriptions and schedules
as the last sync found them, and Stripe keeps no history of them past 30 days of events (a
``cancel_at_period_end`` set in March and withdrawn in April leaves no trace in June). So the
commitments are computed at the derived tables' ``as_of`` and CMRR is given for that day (the
day of the read) only; for a period that ends earlier it is ``null``, never a guess.

Per subscription, each commitment (:class:`Commitment`) is a signed MRR change in reporting
minor units and the local day it lands:

- ``ending``: a subscription that counts and is set to end (``cancel_at``, or
  ``cancel_at_period_end``: the end of its current period; or a schedule with
  ``end_behavior=cancel``: its last phase's end): minus its MRR now.
- ``scheduled``: each phase of its active (or not yet started) schedule that starts later and
  before any ending: the change of the items' list MRR (price × quantity, normalised) from the
  items before it to the phase's. Discounts are taken to carry over (a phase's own coupon is
  not synced), metered items count in neither (their MRR is their usage). CMRR counts each
  subscription's next phase only (§9); the forecast lands every phase in its month.
  Stripe's ``pending_update`` (changes waiting for a payment, ``payment_behavior=
  pending_if_incomplete``) is not synced, so it adds nothing.
- ``trial``: a subscription ``trialing`` now whose trial ends later (and that is not set to
  end by then): the MRR its items will have at the trial's end, unweighted; the reader weights
  the sum with the trial conversion of the last 90 days (:func:`committed_mrr`).

Amounts in another currency are converted at the rate of ``as_of``'s UTC day (the rates of the
future are not known).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal, NamedTuple

from stripe_kpi.metrics.calendar import LocalCalendar, utc_date
from stripe_kpi.metrics.catalog import Catalog
from stripe_kpi.metrics.computation import _Index
from stripe_kpi.metrics.fx import Converter, RateFn
from stripe_kpi.metrics.history import components_as_of, components_at, items_in_force
from stripe_kpi.metrics.item_states import SubscriptionRecords
from stripe_kpi.metrics.kpis import trial_conversion
from stripe_kpi.metrics.ledger import Ledger
from stripe_kpi.metrics.money import ZERO, monthly, price_amount
from stripe_kpi.metrics.movements import subscription_value
from stripe_kpi.metrics.records import AccountHistory, SubscriptionSchedule

CommitmentKind = Literal["ending", "scheduled", "trial"]
#: The window of the trial conversion that weights the trials in progress.
CONVERSION_DAYS = 90
_LIVE_SCHEDULES = ("active", "not_started")


class Commitment(NamedTuple):
    """One subscription's committed change: ``amount`` (reporting minor units, signed) on the
    local ``day`` (ordinal) it lands. A row of ``committed_change``."""

    customer_id: str
    subscription_id: str
    kind: CommitmentKind
    day: int
    amount: int


def commitments(
    history: AccountHistory,
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    rate: RateFn,
    customer_ids: Collection[str] | None = None,
) -> list[Commitment]:
    """The commitments of every subscription of ``history`` (or of ``customer_ids``') at
    ``as_of``, by customer, subscription, day (see the module)."""
    until = int(as_of.timestamp())
    wanted = None if customer_ids is None else set(customer_ids)
    schedules: dict[str, SubscriptionSchedule] = {}
    for schedule in history.schedules.values():
        if schedule.subscription_id and schedule.status in _LIVE_SCHEDULES:
            schedules[schedule.subscription_id] = schedule
    candidates = {
        sub.id
        for sub in history.subscriptions.values()
        if (wanted is None or sub.customer_id in wanted)
        and (sub.ended_at is None or sub.ended_at > until)
        and (
            sub.cancel_at_period_end
            or sub.cancel_at is not None
            or sub.status == "trialing"
            or sub.id in schedules
        )
    }
    if not candidates:
        return []
    reporting = currency.lower()
    catalog = Catalog(history)
    calendar = LocalCalendar(tz)
    conv = Converter(reporting, rate)
    index = _Index(history, candidates)
    found: list[Commitment] = []
    for sub_id in sorted(candidates):
        records = index.records(sub_id)
        found.extend(
            _of_subscription(records, schedules.get(sub_id), catalog, conv, calendar, until)
        )
    found.sort(key=lambda c: (c.customer_id, c.subscription_id, c.day, c.kind))
    return found


def _ending(
    records: SubscriptionRecords, schedule: SubscriptionSchedule | None, until: int
) -> int | None:
    """When a subscription set to end ends (None: it is not set to end)."""
    sub = records.subscription
    if sub.cancel_at is not None and sub.cancel_at > until:
        return sub.cancel_at
    if sub.cancel_at_period_end:
        ends = [i.current_period_end for i in records.items if not i.deleted]
        period_end = max(ends, default=None)
        if period_end is not None and period_end > until:
            return period_end
    if schedule is not None and schedule.end_behavior == "cancel" and schedule.phases:
        last = max(p.end_date for p in schedule.phases)
        if last > until:
            return last
    return None


def _of_subscription(
    records: SubscriptionRecords,
    schedule: SubscriptionSchedule | None,
    catalog: Catalog,
    conv: Converter,
    calendar: LocalCalendar,
    until: int,
) -> list[Commitment]:
    sub = records.subscription
    reporting = conv.currency
    rate_day = None if sub.currency == reporting else utc_date(until)
    end = _ending(records, schedule, until)

    def commitment(kind: CommitmentKind, at: int, amount: int) -> Commitment:
        return Commitment(sub.customer_id, sub.id, kind, calendar.day_of(at), amount)

    found = []
    now = subscription_value(components_as_of(records, catalog, reporting, until), conv)
    if end is not None and now:
        found.append(commitment("ending", end, -now))
    items, linked = items_in_force(records, catalog, reporting, until)
    trial_end = sub.trial_end
    in_trial = sub.status == "trialing" and trial_end is not None and trial_end > until
    if in_trial and items and (end is None or end > trial_end):
        after = components_at(trial_end, items, sub, catalog, reporting, linked)
        value = subscription_value(after, conv)
        if value:
            found.append(commitment("trial", trial_end, value))
    if schedule is not None:
        previous = sum((i.monthly_gross for i in items.values() if not i.metered), ZERO)
        for phase in sorted(schedule.phases, key=lambda p: p.start_date):
            if phase.start_date <= until or (
                schedule.current_phase_start is not None
                and phase.start_date <= schedule.current_phase_start
            ):
                continue
            if end is not None and phase.start_date >= end:
                break
            value = _list_monthly(phase.items, catalog, sub.currency)
            change = conv.minor(value - previous, sub.currency, rate_day)
            if change:
                found.append(commitment("scheduled", phase.start_date, change))
            previous = value
    return found


def _list_monthly(
    items: Iterable[tuple[str, int | None]], catalog: Catalog, currency: str
) -> Decimal:
    """A phase's licensed items at their prices, per month, in the subscription's currency."""
    total = ZERO
    for price_id, quantity in items:
        price = catalog.prices.get(price_id)
        if price is None or price.metered or price.recurring_interval is None:
            continue
        amount = price_amount(price, quantity, currency)
        total += monthly(amount, price.recurring_interval, price.recurring_interval_count or 1)
    return total


def conversion_window(day: int) -> tuple[int, int]:
    """The days (ordinals, inclusive) whose ended trials weight CMRR at ``day``: the last 90."""
    return day - CONVERSION_DAYS + 1, day


def committed_mrr_on(ledger: Ledger, rows: Iterable[Commitment], day: int) -> int:
    """:func:`committed_mrr` at the end of ``day`` with its MRR and the trial conversion of the
    90 days to it read off the account's ``ledger``: what ``metrics``' ``cmrr`` and the report's
    outlook both show."""
    first, _ = conversion_window(day)
    conversion = trial_conversion(
        ledger.flow("trials_converted", first, day), ledger.flow("trials_ended", first, day)
    )
    return committed_mrr(ledger.level("mrr", day), rows, conversion, day)


def committed_mrr(
    mrr: int, rows: Iterable[Commitment], conversion: Fraction | None, day: int
) -> int:
    """CMRR at the end of ``day`` (the day the commitments were computed for), reporting minor
    units: ``mrr`` + every ending + each subscription's next scheduled change + the trials that
    end after ``day`` × ``conversion`` (the last 90 days' trial conversion; None, no trial
    ended then: the trials add nothing), rounded half up once."""
    ending = trials = 0
    nearest: dict[str, tuple[int, int]] = {}
    for row in rows:
        if row.day <= day and row.kind == "trial":
            continue
        if row.kind == "ending":
            ending += row.amount
        elif row.kind == "trial":
            trials += row.amount
        else:
            seen = nearest.get(row.subscription_id)
            if seen is None or row.day < seen[0]:
                nearest[row.subscription_id] = (row.day, row.amount)
    scheduled = sum(amount for _, amount in nearest.values())
    weighted = 0
    if conversion is not None and trials:
        exact = Decimal(trials) * conversion.numerator / conversion.denominator
        weighted = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return mrr + ending + scheduled + weighted
