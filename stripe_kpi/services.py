"""What each command does, as functions that take the settings and ``now`` and return values.

The CLI renders what these return, the worker logs it, the demo chains them; none of them
prints, and none reads the clock (``now`` comes from the caller, the one place that reads it).
Each opens the database it needs and closes it before returning.

- :func:`sync_and_derive` — one sync, then the derived tables brought up to date;
- :func:`metrics_document` — the ``--json`` document of METRICS.md §5 for a period;
- :func:`movements_for` — each customer's movements in a period, with names and feedback;
- :func:`cohorts_document` — ``stripe-kpi cohorts``: the monthly cohorts' triangle;
- :func:`forecast_document` — ``stripe-kpi forecast``: the MRR projection;
- :func:`report_for` / :func:`send_daily_report` — the daily summary, and its delivery;
- :func:`write_dashboard` / :func:`dashboard_server` — the dashboard, as a file or served;
- :func:`derive_now` — ``stripe-kpi derive [--full]``: the derived tables brought up to date,
  or rebuilt from the raw rows with what that repaired;
- :func:`check_account` — ``stripe-kpi check``: each subscription's MRR against its invoices
  (a full sync checks itself in :func:`derive_tables`, on the history its rebuild loaded);
- :func:`set_spend` / :func:`import_spend` / :func:`spend_list` — the spend CAC divides.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import structlog
from sqlalchemy import Connection, Engine

from stripe_kpi.config import Settings
from stripe_kpi.errors import InputError, StorageError
from stripe_kpi.metrics import Computed, Movement, metrics_json
from stripe_kpi.metrics.acquisition import new_customers_per_day, with_acquisition
from stripe_kpi.metrics.calendar import LocalCalendar
from stripe_kpi.metrics.cohorts import Cohort, CohortMetric, cohorts, cohorts_json
from stripe_kpi.metrics.committed import (
    CONVERSION_DAYS,
    Commitment,
    committed_mrr_on,
    conversion_window,
)
from stripe_kpi.metrics.forecast import Forecast, first_day_read, forecast, forecast_json
from stripe_kpi.metrics.kpis import Granularity, earliest_day_read
from stripe_kpi.metrics.ledger import Ledger
from stripe_kpi.metrics.reconciliation import Reconciliation
from stripe_kpi.metrics.report_json import money
from stripe_kpi.progress import Advance
from stripe_kpi.report.deliver import (
    ATTEMPTS,
    DeliveryOutcome,
    already_sent,
    deliver_report,
    smtp_from_settings,
)
from stripe_kpi.report.extras import Outlook, ReportExtras, cohort_lines, plan_lines
from stripe_kpi.report.from_metrics import inputs_from_computed, report_inputs, report_window
from stripe_kpi.report.inputs import ReportInputs
from stripe_kpi.report.movements import movement_rows
from stripe_kpi.report.summary import CHART_DAYS
from stripe_kpi.report.weekly import is_weekly_edition
from stripe_kpi.store.cohort_table import read_cohorts
from stripe_kpi.store.committed_table import read_committed
from stripe_kpi.store.current import bring_up_to_date, read_current
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.partition import compute_account, reconcile_account
from stripe_kpi.store.readers import at_risk_on, daily_ledger, stored_movements
from stripe_kpi.store.rebuild import Rebuild, Step, rebuild_derived_tables
from stripe_kpi.store.spend import (
    new_customers_by_day,
    spend_by_month,
    spend_rows,
    write_spend,
)
from stripe_kpi.store.spend_input import parse_csv, parse_entry
from stripe_kpi.sync.state import backfill_unfinished

if TYPE_CHECKING:  # imported where used: a read needs neither Stripe's SDK nor matplotlib
    from stripe_kpi.report.daily import DailyReport
    from stripe_kpi.sync import SyncReport

log = structlog.get_logger(__name__)
T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# sync
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DerivedUpdate:
    """How a sync brought ``mrr_movement``, ``daily_metrics`` and ``customer_result`` up to date:
    ``rebuilt`` whole (a full sync, or an update that had to fall back, ``reason`` says why), or
    ``updated`` in place for the ``customers`` the sync touched."""

    how: Literal["rebuilt", "updated"]
    movements: int
    days: int
    customers: int = 0
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """A sync and what followed it. ``derived`` is ``None`` when nothing changed, deriving was
    not asked for, or the account has no customers yet. ``disagreeing``: after a full sync, how
    many subscriptions disagree with their invoices (``stripe-kpi check``); None: not checked."""

    sync: SyncReport
    derived: DerivedUpdate | None = None
    disagreeing: int | None = None

    def describe(self) -> list[str]:
        """What `stripe-kpi sync` prints: the sync's line, the derived tables' line, and a
        warning when the check found subscriptions whose MRR disagrees with their invoices."""
        lines = [_sync_line(self.sync)]
        if self.derived is not None:
            lines.append(_derived_line(self.derived))
        if self.disagreeing:
            who = (
                "subscription disagrees with its"
                if self.disagreeing == 1
                else "subscriptions disagree with their"
            )
            lines.append(f"{self.disagreeing:,} {who} invoices: run stripe-kpi check")
        return lines


def _sync_line(report: SyncReport) -> str:
    if report.mode == "full":
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in report.objects.items() if n)
        return (
            f"in step: full sync ({report.full_reason}) copied {report.total:,} objects "
            f"({kinds or 'none'}) in {report.seconds:.1f}s"
        )
    if report.events == 0:
        return f"in step: nothing changed since the last sync ({report.seconds:.1f}s)"
    return f"in step: applied {report.events:,} events in {report.seconds:.1f}s"


def _derived_line(update: DerivedUpdate) -> str:
    tables = "(tables mrr_movement, daily_metrics)"
    if update.how == "rebuilt":
        why = f": {update.reason}" if update.reason else ""
        return (
            f"metrics: {update.movements:,} MRR movements over {update.days:,} days rebuilt "
            f"{tables}{why}"
        )
    customers = "customer" if update.customers == 1 else "customers"
    return (
        f"metrics: {update.customers:,} {customers} recomputed, {update.movements:,} MRR "
        f"movements and {update.days:,} days updated in place {tables}"
    )


def sync_and_derive(
    settings: Settings,
    now: datetime,
    *,
    full: bool = False,
    derive: bool = True,
    progress: Advance | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SyncOutcome:
    """One sync (``--full``: a backfill even when events would do), then the derived tables
    brought up to date: what this sync queued, and whatever an earlier one killed before it
    derived left in ``derive_queue``. ``clock`` stamps what the sync writes as it goes
    (checkpoints, the run's end); without it everything is stamped ``now``. Errors propagate as
    ``StripeKpiError``."""
    from stripe_kpi.stripe_api import client_from_settings
    from stripe_kpi.sync import sync

    with _database(settings) as engine:
        with client_from_settings(settings) as client:
            report = sync(
                engine,
                client,
                full=full,
                concurrency=settings.sync_concurrency,
                now=int(now.timestamp()),
                progress=progress,
                stop=stop,
                clock=None if clock is None else lambda: int(clock().timestamp()),
            )
        derived = checked = None
        if derive:
            with contextlib.suppress(InputError):  # no customers yet: nothing to derive
                derived, checked = derive_tables(engine, settings, report, now)
    disagreeing = None if checked is None else checked.disagreeing
    return SyncOutcome(report, derived, disagreeing)


def derive_tables(
    engine: Engine, settings: Settings, report: SyncReport, now: datetime
) -> tuple[DerivedUpdate | None, Reconciliation | None]:
    """The derived tables brought up to date after a sync (None: nothing was owed). A full sync
    queued a rebuild, which also checks the account (``stripe-kpi check``, on the history the
    rebuild loaded); an incremental one queued the customers it touched, recomputed in place
    (falling back to a rebuild when it must, and saying why)."""
    as_of = now.astimezone(UTC)
    update = bring_up_to_date(
        engine,
        currency=settings.currency,
        tz=settings.timezone,
        as_of=as_of,
        check=report.mode == "full",
    )
    if update is None:
        return None, None
    checked = None
    if update.checks is not None:
        checked = Reconciliation.of(update.checks, currency=settings.currency, as_of=as_of)
    if update.full_reason is not None:
        # A full sync's own rebuild needs no reason: the sync line said why it was full.
        reason = None if report.mode == "full" else update.full_reason
        rebuilt = DerivedUpdate("rebuilt", update.movements, update.days, reason=reason)
        return rebuilt, checked
    updated = DerivedUpdate("updated", update.movements, update.days, customers=update.customers)
    return updated, None


def tables_up_to_date(engine: Engine, settings: Settings, now: datetime) -> None:
    """Before a read: the derived tables brought up to date (what a killed sync left, a new
    day, a trial or coupon that came due), so a founder's SQL on them agrees with what the
    commands print. A read never fails for it: with no Stripe data yet there is nothing to
    derive, and when the database cannot be written (read-only, or a sync holding it past the
    busy timeout) the work stays queued for the next sync, said in the log. While a backfill is
    unfinished the tables wait for it: the account is only partly copied, and the sync that
    ends the backfill derives."""
    if backfill_unfinished(engine):
        return
    try:
        bring_up_to_date(
            engine, currency=settings.currency, tz=settings.timezone, as_of=now.astimezone(UTC)
        )
    except InputError:
        pass
    except StorageError as exc:
        log.warning("derive_deferred", reason=exc.message)


@dataclass(frozen=True, slots=True)
class DeriveOutcome:
    """What ``stripe-kpi derive`` did: a ``rebuild`` (``--full``), or an ``update`` of what was
    owed (None: nothing was)."""

    rebuild: Rebuild | None = None
    update: DerivedUpdate | None = None

    def describe(self) -> list[str]:
        if self.rebuild is not None:
            return self.rebuild.describe()
        if self.update is not None:
            return [_derived_line(self.update)]
        return ["the derived tables are up to date (nothing was owed); derive --full rebuilds them"]


def derive_now(
    settings: Settings, now: datetime, *, full: bool = False, step: Step | None = None
) -> DeriveOutcome:
    """``stripe-kpi derive``: the derived tables brought up to date from the raw rows already
    synced (no Stripe call); ``full``: rebuilt whole, and compared with what they held
    (:func:`.store.rebuild.rebuild_derived_tables`). Refused while a backfill is unfinished
    (the account is only partly copied); InputError on a database without Stripe data."""
    as_of = now.astimezone(UTC)
    with _database(settings) as engine:
        if backfill_unfinished(engine):
            raise InputError(
                "a backfill is unfinished (the account is only partly copied): run "
                "`stripe-kpi sync` to finish it; it derives the tables itself"
            )
        currency, tz = settings.currency, settings.timezone
        if full:
            rebuilt = rebuild_derived_tables(
                engine, currency=currency, tz=tz, as_of=as_of, step=step
            )
            return DeriveOutcome(rebuild=rebuilt)
        if step is not None:
            step("bringing the derived tables up to date")
        update = bring_up_to_date(engine, currency=currency, tz=tz, as_of=as_of)
    if update is None:
        return DeriveOutcome()
    if update.full_reason is not None:
        how = DerivedUpdate("rebuilt", update.movements, update.days, reason=update.full_reason)
        return DeriveOutcome(update=how)
    return DeriveOutcome(
        update=DerivedUpdate("updated", update.movements, update.days, customers=update.customers)
    )


# ---------------------------------------------------------------------------------------------
# metrics and movements
# ---------------------------------------------------------------------------------------------


@contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    """The founder's database, open for one service call and closed after it."""
    engine = open_database(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _recomputed(engine: Engine, settings: Settings, now: datetime) -> Computed:
    """The whole account computed from the raw rows: when the derived tables cannot be read."""
    as_of = now.astimezone(UTC)
    return compute_account(engine, currency=settings.currency, tz=settings.timezone, as_of=as_of)


def _stored(
    engine: Engine, settings: Settings, now: datetime, read: Callable[[Connection], T]
) -> T | None:
    """What ``read`` reads of the derived tables, once they are brought up to date; None when
    they cannot be current (a backfill unfinished, the database not writable, a sync committing
    meanwhile): the caller recomputes (:func:`_recomputed`)."""
    tables_up_to_date(engine, settings, now)
    as_of = now.astimezone(UTC)
    return read_current(
        engine, currency=settings.currency, tz=settings.timezone, as_of=as_of, read=read
    )


def metrics_document(
    settings: Settings, now: datetime, first: date, last: date, by: Granularity = "day"
) -> dict[str, Any]:
    """The ``stripe-kpi metrics --json`` document for ``first``…``last`` (METRICS.md §5): the
    KPIs over the ``daily_metrics`` rows they read (from the day before the period, or before
    LTV's three months), or over a recomputation."""
    # From the day before the period or LTV's months, or the 90 days CMRR's trials weigh with.
    since = min(earliest_day_read(first, last), last - timedelta(days=CONVERSION_DAYS))
    with _database(settings) as engine:
        stored = _stored(
            engine,
            settings,
            now,
            lambda c: (
                daily_ledger(c, since),
                new_customers_by_day(c, first, last),
                read_committed(c),
            ),
        )
        committed: list[Commitment] | None = None
        if stored is None:
            computed = _recomputed(engine, settings, now)
            new = new_customers_per_day(computed.movements(first, last))
        else:
            ledger, new, committed = stored
            computed = Computed.of_ledger(
                ledger, currency=settings.currency, tz=settings.timezone, as_of=now.astimezone(UTC)
            )
        spend = spend_by_month(engine, settings.currency)
    # Spend, CAC, LTV:CAC and payback (METRICS.md §9): the spend table and the new customers.
    document = with_acquisition(metrics_json(computed, first, last, by), spend, new)
    document["totals"]["cmrr"] = _cmrr(computed, committed, last)
    return document


def _cmrr(computed: Computed, committed: list[Commitment] | None, last: date) -> int | float | None:
    """CMRR at ``last`` in major units, from ``committed_change`` (``committed``) and the trial
    conversion of the 90 days to ``last``: only when ``last`` is the day the tables were
    computed for (``metrics.committed``: commitments are known as of now) and were read (not
    recomputed); None otherwise."""
    if committed is None or last != computed.last_day:
        return None
    return money(committed_mrr_on(computed.ledger, committed, last.toordinal()), computed.currency)


def movements_for(
    settings: Settings, now: datetime, first: date, last: date, kind: str | None = None
) -> list[dict[str, Any]]:
    """Each customer's movements in ``first``…``last`` (of one ``kind`` when given), with names
    and churn feedback: the ``mrr_movement`` rows of those days, or a recomputation's."""
    with _database(settings) as engine:
        moves = _stored(engine, settings, now, lambda c: stored_movements(c, first, last, kind))
        if moves is None:
            moves = [
                m
                for m in _recomputed(engine, settings, now).movements(first, last)
                if kind is None or m.type == kind
            ]
        return movement_rows(engine, moves, settings.currency.lower())


def cohort_list(settings: Settings, now: datetime, first: date | None = None) -> list[Cohort]:
    """The monthly cohorts as of ``now`` from ``first``'s month on (None: all), read from
    ``cohort_month`` (computed from the raw rows only when the tables cannot be current)."""
    with _database(settings) as engine:
        return _cohorts(engine, settings, now, first)


def _cohorts(engine: Engine, settings: Settings, now: datetime, first: date | None) -> list[Cohort]:
    found = _stored(engine, settings, now, lambda connection: read_cohorts(connection, first))
    if found is None:
        computed = _recomputed(engine, settings, now)
        found = cohorts(computed.customers.values(), computed.last_day)
        found = [c for c in found if first is None or c.month >= first.replace(day=1)]
    return found


def cohorts_document(
    settings: Settings, now: datetime, first: date | None, metric: CohortMetric
) -> dict[str, Any]:
    """The ``stripe-kpi cohorts --json`` document (``metrics.cohorts.cohorts_json``)."""
    found = cohort_list(settings, now, first)
    last = date.fromordinal(LocalCalendar(settings.timezone).day_of(int(now.timestamp())))
    return cohorts_json(
        found, metric, currency=settings.currency.lower(), tz=settings.timezone, last=last
    )


def _segment_kind(text: str) -> str:
    """A ``--segment`` value checked (InputError: one line, exit 2)."""
    from stripe_kpi.metrics.segments import parse_kind

    try:
        return parse_kind(text)
    except ValueError as exc:
        raise InputError(f"--segment: {exc}") from None


def segment_document(
    settings: Settings, now: datetime, kind: str, first: date, last: date, by: Granularity
) -> dict[str, Any]:
    """The ``metrics --segment KIND`` document (METRICS.md §8), read from ``segment_mrr`` (or,
    for ``metadata:KEY``, the customers with the key) once the tables are up to date."""
    from stripe_kpi.metrics.segment_report import segment_document as build
    from stripe_kpi.store.segment_reads import read_segments

    kind = _segment_kind(kind)
    with _database(settings) as engine:
        tables_up_to_date(engine, settings, now)
        with engine.connect() as connection:
            segments = read_segments(connection, kind, first, last)
    currency = settings.currency.lower()
    return build(kind, segments, first, last, by, currency=currency, tz=settings.timezone)


def segment_movements_for(
    settings: Settings, now: datetime, kind: str, first: date, last: date
) -> list[dict[str, Any]]:
    """Each customer's movements inside each segment of ``kind`` (``movements --segment``),
    money in major units, with the customer's name."""
    from sqlalchemy import select

    from stripe_kpi.metrics.report_json import money
    from stripe_kpi.store.models import table
    from stripe_kpi.store.segment_reads import segment_movements

    kind = _segment_kind(kind)
    with _database(settings) as engine:
        tables_up_to_date(engine, settings, now)
        with engine.connect() as connection:
            rows = segment_movements(connection, kind, first, last)
            customer = table("customer")
            ids = sorted({r["customer_id"] for r in rows})
            names: dict[str, str | None] = {}
            for start in range(0, len(ids), 500):
                query = select(customer.c.id, customer.c.name).where(
                    customer.c.id.in_(ids[start : start + 500])
                )
                names.update((i, n) for i, n in connection.execute(query))
    currency = settings.currency.lower()
    return [
        {**r, "name": names.get(r["customer_id"]), "amount": money(r["amount"], currency)}
        for r in rows
    ]


def forecast_for(settings: Settings, now: datetime, months: int = 3) -> Forecast:
    """The MRR projection of ``months`` months after the current one (``metrics.forecast``),
    from ``daily_metrics`` and ``committed_change``; from a recomputation, without the scheduled
    changes, when the tables cannot be read."""
    today = date.fromordinal(LocalCalendar(settings.timezone).day_of(int(now.timestamp())))
    since = first_day_read(today)
    with _database(settings) as engine:
        stored = _stored(
            engine,
            settings,
            now,
            lambda connection: (daily_ledger(connection, since), read_committed(connection)),
        )
        if stored is None:
            ledger, committed = _recomputed(engine, settings, now).ledger, []
        else:
            ledger, committed = stored
    return forecast(ledger, today, committed, months)


def forecast_document(settings: Settings, now: datetime, months: int = 3) -> dict[str, Any]:
    """The ``stripe-kpi forecast --json`` document (``metrics.forecast.forecast_json``)."""
    return forecast_json(forecast_for(settings, now, months), settings.currency.lower())


# ---------------------------------------------------------------------------------------------
# the daily report
# ---------------------------------------------------------------------------------------------


def report_for(settings: Settings, now: datetime, day: date | None = None) -> DailyReport:
    """The report of ``day`` (default: yesterday in ``STRIPE_KPI_TIMEZONE`` at ``now``), from the
    metrics computed as of ``now``."""
    with _database(settings) as engine:
        return _report(engine, settings, now, day)


def _report(engine: Engine, settings: Settings, now: datetime, day: date | None) -> DailyReport:
    from stripe_kpi.report.daily import build_daily_report, report_day

    day = day or report_day(now, settings.timezone)
    rows = _report_inputs(engine, settings, now, day)
    weekly = is_weekly_edition(settings.weekly, day)
    extras = _report_extras(engine, settings, now, day)
    return build_daily_report(rows, day, timezone=settings.timezone, weekly=weekly, extras=extras)


def _report_extras(engine: Engine, settings: Settings, now: datetime, day: date) -> ReportExtras:
    """The report's MRR by plan and cohorts' rows, read from ``segment_mrr`` and
    ``cohort_month`` (``report.extras``), as ``metrics --segment`` and ``cohorts`` read them
    (even when the report's own figures had to be recomputed: the extras never recompute the
    account). The tables were brought up to date by :func:`_report_inputs`, just before."""
    from stripe_kpi.store.segment_reads import read_segments

    with engine.connect() as connection:
        plans = read_segments(connection, "plan", day.replace(day=1), day)
        found = read_cohorts(connection)
        outlook = _report_outlook(connection, settings, now)
    shown, rest = plan_lines(plans, day)
    return ReportExtras(shown, rest, cohort_lines(found, day), outlook)


def _report_outlook(connection: Connection, settings: Settings, now: datetime) -> Outlook | None:
    """Committed MRR now and the forecast MRR at the end of next month (METRICS.md §9), as
    ``metrics`` (``cmrr``) and ``stripe-kpi forecast --months 1`` give them: both from
    ``daily_metrics`` and ``committed_change`` at the tables' day (commitments are known as of
    now, so the report shows today's, whatever day it reports on). None without MRR."""
    today = date.fromordinal(LocalCalendar(settings.timezone).day_of(int(now.timestamp())))
    day = today.toordinal()
    first, _ = conversion_window(day)
    ledger = daily_ledger(connection, min(first_day_read(today), date.fromordinal(first - 1)))
    if not ledger.level("mrr", day):
        return None
    committed = read_committed(connection)
    (next_month,) = forecast(ledger, today, committed, 1).months
    end = next_month.mrr_end
    return Outlook(
        cmrr=committed_mrr_on(ledger, committed, day),
        forecast_month=next_month.month,
        forecast_mrr=int(
            (Decimal(end.numerator) / end.denominator).quantize(Decimal(1), ROUND_HALF_UP)
        ),
    )


def _report_inputs(engine: Engine, settings: Settings, now: datetime, day: date) -> ReportInputs:
    """The report's rows of ``day``: ``daily_metrics`` for its chart's days, ``mrr_movement``
    for its month to date and the customers at risk at the end of ``day`` (the few whose
    at-risk days span it), or a recomputation's when the tables cannot be current."""
    as_of = now.astimezone(UTC)
    last_day = date.fromordinal(LocalCalendar(settings.timezone).day_of(int(as_of.timestamp())))
    first, last = report_window(day, last_day)
    since = last - timedelta(days=CHART_DAYS)

    def read(connection: Connection) -> tuple[Ledger, list[Movement], dict[str, int]]:
        return (
            daily_ledger(connection, since),
            stored_movements(connection, first, last),
            at_risk_on(connection, day),
        )

    stored = _stored(engine, settings, now, read)
    if stored is None:
        return inputs_from_computed(engine, _recomputed(engine, settings, now), day)
    ledger, movements, at_risk = stored
    account = Computed.of_ledger(
        ledger, currency=settings.currency, tz=settings.timezone, as_of=as_of
    )
    return report_inputs(engine, account, day, movements, at_risk)


def send_daily_report(
    settings: Settings,
    now: datetime,
    *,
    day: date | None = None,
    force: bool = False,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryOutcome:
    """Build, store and email the report of ``day`` (default: yesterday), once per day unless
    ``force``.

    SMTP settings are checked before any work, so a missing one is one ``ConfigurationError``
    line. A failed delivery raises ``DeliveryError`` after the retries; the report stays in
    ``report_delivery`` with status ``failed``.
    """
    from stripe_kpi.report.daily import render_all

    target, envelope = smtp_from_settings(settings)
    with _database(settings) as engine:
        report = _report(engine, settings, now, day)
        return deliver_report(
            engine,
            render_all(report.summary, report.chart),
            now=now,
            target=target,
            envelope=envelope,
            force=force,
            attempts=attempts,
            sleep=sleep,
        )


def report_sent(settings: Settings, report_date: str) -> bool:
    """Whether the report of ``report_date`` (ISO) was sent already (a worker starting late
    catches up only a day not sent)."""
    with _database(settings) as engine:
        return already_sent(engine, report_date)


# ---------------------------------------------------------------------------------------------
# the dashboard
# ---------------------------------------------------------------------------------------------


def dashboard_page(
    settings: Settings, now: datetime, first: date | None = None, last: date | None = None
) -> str:
    """`stripe-kpi dashboard`: the self-contained page of ``first``…``last`` (default: every day
    stored), read from the derived tables once they are brought up to date."""
    from stripe_kpi.dashboard.document import dashboard_document
    from stripe_kpi.dashboard.page import render_page

    with _database(settings) as engine:
        tables_up_to_date(engine, settings, now)
        with engine.connect() as connection:
            document = dashboard_document(
                connection,
                currency=settings.currency,
                tz=settings.timezone,
                generated_at=now,
                first=first,
                last=last,
            )
    return render_page(document)


def write_dashboard(
    settings: Settings,
    now: datetime,
    out: Path,
    first: date | None = None,
    last: date | None = None,
) -> Path:
    """The page written to ``out`` atomically and owner-only (it names customers)."""
    from stripe_kpi.private_files import replace_owner_only

    replace_owner_only(out, dashboard_page(settings, now, first, last))
    return out


def dashboard_server(
    settings: Settings, clock: Callable[[], datetime], *, host: str, port: int
) -> Any:
    """`stripe-kpi serve`: a ``DashboardServer`` (not started) on the founder's database,
    read-only; refuses an address beyond 127.0.0.1 without ``STRIPE_KPI_DASHBOARD_TOKEN``."""
    from stripe_kpi.dashboard.server import DashboardServer

    token = settings.dashboard_token
    return DashboardServer(
        database_url=settings.database_url,
        currency=settings.currency,
        tz=settings.timezone,
        clock=clock,
        host=host,
        port=port,
        token=None if token is None else token.get_secret_value(),
    )


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------


def check_account(settings: Settings, now: datetime) -> Reconciliation:
    """`stripe-kpi check`: every subscription Stripe bills at ``now``, its MRR as the metrics
    give it against what its latest invoice bills (``metrics.reconcile``)."""
    as_of = now.astimezone(UTC)
    with _database(settings) as engine:
        checks = reconcile_account(engine, currency=settings.currency, as_of=as_of)
    return Reconciliation.of(checks, currency=settings.currency, as_of=as_of)


# ---------------------------------------------------------------------------------------------
# spend (what CAC divides: METRICS.md §9)
# ---------------------------------------------------------------------------------------------


def _spend_json(month: str, amount: int, currency: str) -> dict[str, Any]:
    return {"month": month, "amount": money(amount, currency), "currency": currency}


def set_spend(settings: Settings, now: datetime, month: str, amount: str) -> dict[str, Any]:
    """`stripe-kpi spend set MONTH AMOUNT`: ``amount`` in major units of the reporting currency;
    returns the month as stored (amount in major units)."""
    entry = parse_entry(month, amount, settings.currency)
    with _database(settings) as engine:
        write_spend(engine, [entry], settings.currency, int(now.timestamp()))
    return _spend_json(entry.month, entry.amount, settings.currency)


def import_spend(settings: Settings, now: datetime, path: Path) -> list[dict[str, Any]]:
    """`stripe-kpi spend import FILE`: every row of the CSV file, or none (one ``InputError``
    naming the bad row's line)."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's export may start with a BOM
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise InputError(f"cannot read {path}: {reason}") from None
    entries = parse_csv(text, settings.currency, str(path))
    with _database(settings) as engine:
        write_spend(engine, entries, settings.currency, int(now.timestamp()))
    return [_spend_json(e.month, e.amount, settings.currency) for e in entries]


def spend_list(settings: Settings) -> list[dict[str, Any]]:
    """`stripe-kpi spend list`: every month entered, oldest first, amounts in major units of the
    currency each was entered in."""
    with _database(settings) as engine:
        rows = spend_rows(engine)
    return [_spend_json(r.month, r.amount, r.currency) for r in rows]
