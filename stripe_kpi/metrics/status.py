"""When a subscription counts: its status over time, its trial, its end.

Stripe records a subscription's current status only. Status changes are known from the
``customer.subscription.*`` events we kept (each carries the whole subscription); a change older
than those is dated from the invoices, as described on :func:`status_steps`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stripe_kpi.metrics.records import Invoice, Subscription, SubscriptionSnapshot

#: Statuses whose MRR counts (METRICS.md §1). Everything else counts zero.
COUNTING = frozenset({"active", "past_due"})
_NEVER_STARTED = frozenset({"incomplete", "incomplete_expired"})
_UNPAID_INVOICE = frozenset({"open", "uncollectible"})


def status_steps(
    sub: Subscription, snapshots: Sequence[SubscriptionSnapshot], invoices: Sequence[Invoice]
) -> list[tuple[int, str]]:
    """The subscription's status as ``(from instant, status)`` steps, ascending.

    Before anything is known it was ``active`` (its trial is handled apart), unless it is still
    ``incomplete``/``incomplete_expired``: those never started. Each kept event states the status at
    its instant. When the status now differs from the last one known, the change is dated:

    - ``past_due``: when the first invoice of the current run of unpaid invoices was finalized;
    - ``unpaid``: when dunning gave up, i.e. the earliest ``marked_uncollectible_at`` of that run,
      else (the invoice was left open) when its first invoice was finalized: the earliest moment
      possible, since Stripe keeps no record of the transition itself;
    - ``paused``: at the trial end (a trial that ends without a payment method pauses);
    - ``active`` again after a non-counting status: when an invoice was next paid.

    A pause at the trial's end that is over (resumed, or canceled while paused) is read off the
    invoices before the first kept event (:func:`paused_after_trial`). A date never goes before
    the last known step.
    """
    ordered = sorted(snapshots, key=lambda s: (s.created, s.event_id))
    initial = sub.status if sub.status in _NEVER_STARTED else "active"
    if ordered:
        # The status before the first kept event: the one it changed from, or, when it changed
        # nothing, its own. A ``customer.subscription.deleted`` event (status canceled) lists no
        # previous attributes at all, so it says nothing about the status before it.
        first = ordered[0]
        if first.previous_status:
            initial = first.previous_status
        elif first.status and first.status != "canceled":
            initial = first.status
    steps = [(sub.start_date, initial)]
    pause = paused_after_trial(sub, invoices)
    if pause is not None:
        inferred = [(pause[0], "paused")]
        if pause[1] is not None:
            inferred.append((pause[1], "active"))
        # The kept events say the status from the first of them on; before it, the invoices.
        seen_from = ordered[0].created if ordered else None
        steps.extend(step for step in inferred if seen_from is None or step[0] < seen_from)
    steps.extend((s.created, s.status) for s in ordered if s.status)
    last_at, last = steps[-1]
    if sub.status != last and sub.status not in ("canceled", "trialing"):
        steps.append((max(last_at, _change_time(sub, last, last_at, invoices)), sub.status))
    return steps


#: Stripe creates the first invoice of a trial that converts at the trial's end ("When the trial
#: ends … we generate an invoice", docs.stripe.com/billing/subscriptions/trials/free-trials); a
#: first invoice created later than this after it means the subscription was paused meanwhile.
_TRIAL_INVOICE_DELAY = 3600


def paused_after_trial(
    sub: Subscription, invoices: Sequence[Invoice]
) -> tuple[int, int | None] | None:
    """``(trial end, resumed at)`` of a pause at the trial's end, read off the invoices; None when
    the subscription did not pause there (``resumed at`` None: still paused, or ended paused).

    A trial that ends without a payment method under ``missing_payment_method=pause`` becomes
    ``paused``: no invoice and no period until it resumes, when the resumption invoice starts a
    new cycle (docs.stripe.com/api/subscriptions/resume). Stripe keeps no record of the pause but
    its 30 days of events, so a subscription that outlived its trial but whose first invoice after
    it came later (or never) was paused in between: its MRR counts from that invoice on (METRICS.md
    §1: ``paused`` counts zero), and one canceled while paused never counted at all. Nothing is
    read when none of the subscription's invoices is known (nothing to read it from), nor while
    the subscription is stored ``trialing``: then the data predate the trial's end, and a trial is
    expected to convert, as before any pause (a later sync brings what happened).
    """
    trial = _trial_window(sub)
    if trial is None or sub.status == "trialing":
        return None
    if sub.ended_at is not None and sub.ended_at <= trial[1]:
        return None
    own = [i.created for i in invoices if i.subscription_id == sub.id]
    if not own:
        return None
    first = min((t for t in own if t >= trial[1]), default=None)
    if first is not None and first <= trial[1] + _TRIAL_INVOICE_DELAY:
        return None
    return trial[1], first


def _change_time(sub: Subscription, before: str, after_ts: int, invoices: Sequence[Invoice]) -> int:
    status = sub.status
    if status in ("past_due", "unpaid"):
        run = _unpaid_run(invoices)
        if not run:
            return after_ts
        if status == "unpaid":
            marked = [i.marked_uncollectible_at for i in run if i.marked_uncollectible_at]
            if marked:
                return min(marked)
        return run[0].finalized_at or run[0].created
    if status == "paused":
        return sub.trial_end or after_ts
    if status == "active" and before not in COUNTING:
        if before == "trialing" and sub.trial_end:
            return sub.trial_end
        paid = [i.paid_at for i in invoices if i.paid_at and i.paid_at >= after_ts]
        return min(paid) if paid else after_ts
    return after_ts


def _unpaid_run(invoices: Iterable[Invoice]) -> list[Invoice]:
    """The trailing run of finalized, unpaid invoices (oldest first)."""
    billed = sorted(
        (
            i
            for i in invoices
            if i.status not in (None, "draft", "void") and (i.amount_due or 0) > 0
        ),
        key=lambda i: (i.created, i.id),
    )
    run: list[Invoice] = []
    for invoice in reversed(billed):
        if invoice.status not in _UNPAID_INVOICE:
            break
        run.append(invoice)
    run.reverse()
    return run


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """When a subscription counts and when it is at risk, as step functions of time.

    ``counts``/``risk`` are ``(from instant, flag)`` steps, ascending, starting with ``False``.
    """

    status: tuple[tuple[int, str], ...]
    counts: tuple[tuple[int, bool], ...]
    risk: tuple[tuple[int, bool], ...]
    trial_ended_at: int | None

    def status_at(self, t: int) -> str:
        current = self.status[0][1]
        for at, status in self.status:
            if at > t:
                break
            current = status
        return current


def lifecycle(
    sub: Subscription, snapshots: Sequence[SubscriptionSnapshot], invoices: Sequence[Invoice]
) -> Lifecycle:
    """Combine status, trial window and end into when the subscription counts and is at risk.

    Counting: from ``start_date``, outside the trial ``[trial_start, trial_end)``, while the status
    counts, before ``ended_at``. At risk (METRICS.md §4, "MRR at risk"): counting and either
    past due, set to cancel (the cancellation was requested (``canceled_at``) and takes effect
    later: ``ended_at`` after it, or ``cancel_at_period_end``/``cancel_at`` still pending), or
    with its collection paused (:func:`paused_collection`).
    Past due is the status when known, and otherwise read off the invoices (see
    :func:`overdue_windows`): a subscription that was past due before it ended shows no status.
    """
    trial = _trial_window(sub)
    ended = sub.ended_at
    scheduled = _scheduled_cancel(sub)
    overdue = overdue_windows(invoices)
    paused = paused_collection(sub, snapshots, invoices)
    if not (snapshots or trial or scheduled or overdue or paused) and sub.status in (
        "active",
        "canceled",
    ):
        # The common life, in short: it counted from its start to its end, never at risk.
        start = sub.start_date
        counts = [(start - 1, False), (start, True)]
        if ended is not None:
            counts = [(start - 1, False)] if ended <= start else [*counts, (ended, False)]
        status = ((start, "active"),)
        return Lifecycle(status, tuple(counts), ((start - 1, False),), None)
    steps = status_steps(sub, snapshots, invoices)
    bounds = {at for at, _ in steps}
    for start, end in overdue:
        bounds.add(start)
        if end is not None:
            bounds.add(end)
    bounds.add(sub.start_date)
    if trial:
        bounds.update(trial)
    if ended is not None:
        bounds.add(ended)
    if scheduled:
        bounds.update(t for t in scheduled if t is not None)
    if paused:
        bounds.update(t for t in paused if t is not None)
    counts: list[tuple[int, bool]] = [(min(bounds) - 1, False)]
    risk: list[tuple[int, bool]] = [(min(bounds) - 1, False)]
    index, status = 0, steps[0][1]
    for t in sorted(bounds):
        while index < len(steps) and steps[index][0] <= t:
            status = steps[index][1]
            index += 1
        live = (
            t >= sub.start_date
            and not (trial and trial[0] <= t < trial[1])
            and status in COUNTING
            and (ended is None or t < ended)
        )
        if live != counts[-1][1]:
            counts.append((t, live))
        pending = (
            bool(scheduled) and scheduled[0] <= t and (scheduled[1] is None or t < scheduled[1])
        )
        late = any(start <= t and (end is None or t < end) for start, end in overdue)
        halted = bool(paused) and paused[0] <= t and (paused[1] is None or t < paused[1])
        at_risk = live and (status == "past_due" or pending or late or halted)
        if at_risk != risk[-1][1]:
            risk.append((t, at_risk))
    trial_ended_at = None
    if trial:
        trial_ended_at = trial[1] if ended is None or ended > trial[1] else ended
    return Lifecycle(tuple(steps), tuple(counts), tuple(risk), trial_ended_at)


#: A payment that succeeds within this long of finalization succeeded at its first attempt.
_FIRST_ATTEMPT = 3600


def overdue_windows(invoices: Iterable[Invoice]) -> list[tuple[int, int | None]]:
    """When the subscription's automatically collected invoices were finalized but unpaid.

    Stripe makes a subscription ``past_due`` when a renewal's first payment attempt (at
    finalization) fails, until the invoice is paid or voided. An invoice paid within the hour of
    its finalization was paid at the first attempt and never made it past due. ``send_invoice``
    invoices wait for their due date, which we do not read: they are left out.
    """
    windows: list[tuple[int, int | None]] = []
    for invoice in invoices:
        if invoice.collection_method == "send_invoice" or not invoice.amount_due:
            continue
        if invoice.status in (None, "draft"):
            continue
        start = invoice.finalized_at or invoice.created
        settled = invoice.paid_at if invoice.paid_at is not None else invoice.voided_at
        if settled is not None and settled <= start + _FIRST_ATTEMPT:
            continue
        if invoice.status == "paid" and settled is None:
            continue  # paid, time unknown: nothing to show
        windows.append((start, settled))
    return windows


#: What Stripe does with the invoices of a subscription whose collection is paused.
_PAUSED_INVOICE = {"void": "void", "mark_uncollectible": "uncollectible", "keep_as_draft": "draft"}


def paused_collection(
    sub: Subscription, snapshots: Sequence[SubscriptionSnapshot], invoices: Sequence[Invoice]
) -> tuple[int, int | None] | None:
    """``(since, until)`` of the collection pause in force now, or None.

    A paused subscription keeps its status and keeps counting (METRICS.md §1: Stripe's analytics
    and ChartMogul keep it too); only its MRR is at risk. Stripe records the pause on the
    subscription as it is now, not when it began, so the start is read as: the kept event that
    paused it (its ``previous_attributes`` name ``pause_collection``); else the first renewal of
    the latest run of renewals Stripe handled as the pause says (voided, marked uncollectible or
    left a draft) after the last event that showed collection running; else that event, or the
    subscription's start when there is none (paused at an unknown time, as a cancellation
    requested at an unknown time is dated). It lasts until ``resumes_at`` (None: until resumed).
    """
    behavior = sub.pause_collection_behavior
    if behavior is None or sub.ended_at is not None:
        return None
    since: int | None = None
    running: int | None = None  # the last kept instant collection was known to run
    for snapshot in sorted(snapshots, key=lambda s: (s.created, s.event_id)):
        if snapshot.collection_paused is False:
            since, running = None, snapshot.created
        elif snapshot.collection_paused and snapshot.collection_pause_changed and since is None:
            since = snapshot.created
    if since is None:
        handled = _PAUSED_INVOICE.get(behavior)
        renewals = sorted(
            (
                i
                for i in invoices
                if i.billing_reason == "subscription_cycle"
                and (running is None or i.created > running)
            ),
            key=lambda i: (i.created, i.id),
        )
        for invoice in renewals:  # the first of the trailing run of handled renewals
            if invoice.status != handled:
                since = None
            elif since is None:
                since = invoice.created
    if since is None:
        since = running if running is not None else sub.start_date
    until = sub.pause_collection_resumes_at
    if until is not None and until <= since:
        return None
    return since, until


def _trial_window(sub: Subscription) -> tuple[int, int] | None:
    if sub.trial_end is None:
        return None
    start = sub.trial_start if sub.trial_start is not None else sub.start_date
    return (start, sub.trial_end) if sub.trial_end > start else None


def _scheduled_cancel(sub: Subscription) -> tuple[int, int | None] | None:
    """``(requested, effective)`` of a pending cancellation, or None."""
    if sub.canceled_at is not None:
        pending = sub.ended_at is not None or sub.cancel_at_period_end or sub.cancel_at is not None
        return (sub.canceled_at, sub.ended_at) if pending else None
    if sub.ended_at is None and (sub.cancel_at_period_end or sub.cancel_at is not None):
        return sub.start_date, None  # requested at an unknown time: at risk since it started
    return None
