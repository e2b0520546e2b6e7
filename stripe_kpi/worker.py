"""The long-running worker: sync every ``STRIPE_KPI_SYNC_INTERVAL_MINUTES``, and every day at
``STRIPE_KPI_REPORT_TIME`` in ``STRIPE_KPI_TIMEZONE`` sync once more and send the report.

Scheduler wiring is kept apart from the job bodies (STYLE.md habit 13): :func:`build_scheduler`
maps triggers to plain callables and can be inspected without running anything; the bodies
(:func:`run_sync`, :func:`run_report`) take ``settings`` and ``now`` and are called directly by
tests.

- **No overlap.** One single-thread executor, ``max_instances=1`` per job, and one lock shared by
  the job wrappers: a sync and a report never run at the same time (the report's own sync
  included), even if someone adds an executor later.
- **Missed runs coalesce.** A worker suspended for hours runs a job once on waking, not once per
  missed slot; the report is still sent up to ``REPORT_GRACE`` late (a late email beats none); a
  sync is skipped when the next one is due anyway. A worker started after today's report time
  sends yesterday's report at once if it was not sent yet (APScheduler's memory store does not
  remember runs missed while the process was down).
- **Stopping.** SIGTERM or SIGINT sets a stop flag and shuts the scheduler down, waiting for the
  running job; a second signal exits at once (a sync is safe to kill: every page commits with
  its checkpoint).
- **Logs are JSON lines**, APScheduler's own messages included (forwarded to structlog).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import undefined

from stripe_kpi.config import Settings
from stripe_kpi.errors import StripeKpiError, SyncInterrupted
from stripe_kpi.log import get_logger
from stripe_kpi.progress import logged_progress

log = get_logger("stripe_kpi.worker")

SYNC_JOB = "sync"
REPORT_JOB = "daily_report"
CATCH_UP_JOB = "daily_report_catch_up"
#: How late the morning report may still go out after a missed slot (suspended machine, a long
#: sync ahead of it in the queue).
REPORT_GRACE = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class WorkerJobs:
    """The callables the scheduler runs, without arguments (they close over settings)."""

    sync: Callable[[], object]
    report: Callable[[], object]


# ---------------------------------------------------------------------------------------------
# Job bodies
# ---------------------------------------------------------------------------------------------


def run_sync(
    settings: Settings,
    now: datetime,
    *,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Any:
    """One incremental sync (a full one when the sync decides so) and the derived tables after
    it, logged as JSON events (progress every few seconds, then ``sync_done``).

    Returns the ``SyncOutcome``, or ``None`` when the worker is stopping.
    """
    if stop is not None and stop.is_set():
        return None
    from stripe_kpi.services import sync_and_derive

    try:
        outcome = sync_and_derive(
            settings, now, progress=logged_progress("sync"), stop=stop, clock=clock
        )
    except SyncInterrupted:
        log.info("sync_stopped", detail="between pages; the next sync resumes")
        return None
    report, derived = outcome.sync, outcome.derived
    log.info(
        "sync_done",
        mode=report.mode,
        reason=report.full_reason,
        objects=report.total,
        events=report.events,
        requests=report.requests,
        seconds=round(report.seconds, 2),
        derived=None if derived is None else derived.how,
        derived_reason=None if derived is None else derived.reason,
        disagreeing=outcome.disagreeing,
    )
    path = settings.dashboard_path
    if path is not None and (derived is not None or not path.exists()):
        rewrite_dashboard(settings, now, path)
    return outcome


def rewrite_dashboard(settings: Settings, now: datetime, path: Path) -> None:
    """``STRIPE_KPI_DASHBOARD_PATH`` rewritten after a sync that changed the derived tables (or
    when the file is missing). A failure is logged, never fatal: the sync itself succeeded."""
    from stripe_kpi.services import write_dashboard

    try:
        write_dashboard(settings, now, path)
    except StripeKpiError as exc:
        log.warning("dashboard_failed", path=str(path), error=exc.message)
    else:
        log.info("dashboard_written", path=str(path))


def run_report(
    settings: Settings,
    now: datetime,
    *,
    stop: threading.Event | None = None,
    sync: Callable[..., Any] = run_sync,
    send: Callable[..., Any] | None = None,
) -> Any:
    """The morning job: sync, then send yesterday's report (``now`` decides which day).

    ``send`` defaults to :func:`~stripe_kpi.services.send_daily_report`. A failed sync does not
    cancel the report: the founder gets the numbers as last synced (the footer says when) rather
    than no email; the failure is logged.
    """
    try:
        sync(settings, now, stop=stop)
    except StripeKpiError as exc:
        log.warning("sync_before_report_failed", error=exc.message)
    if stop is not None and stop.is_set():
        return None
    if send is None:
        from stripe_kpi.services import send_daily_report as send
    outcome = send(settings, now)
    log.info(
        "report_done",
        report_date=outcome.report_date,
        status=outcome.status,
        attempts=outcome.attempts,
        delivery_id=outcome.delivery_id,
    )
    return outcome


def default_jobs(
    settings: Settings, stop: threading.Event, clock: Callable[[], datetime]
) -> WorkerJobs:
    """The production jobs: the clock is read here, when a job starts, and passed to its body."""
    return WorkerJobs(
        sync=lambda: run_sync(settings, clock(), stop=stop, clock=clock),
        report=lambda: run_report(settings, clock(), stop=stop),
    )


# ---------------------------------------------------------------------------------------------
# Wiring
# ---------------------------------------------------------------------------------------------


def build_scheduler(
    settings: Settings,
    jobs: WorkerJobs,
    *,
    now: datetime | None = None,
    report_due_now: bool = False,
    scheduler_class: type[BaseScheduler] = BackgroundScheduler,
) -> BaseScheduler:
    """A scheduler (not started) with the sync and report jobs.

    ``now``: when given, the first sync runs at that instant (a worker syncs as it starts);
    otherwise one interval after the scheduler starts. ``report_due_now`` adds a one-off report
    at ``now`` (see :func:`report_missed`). Nothing here reads the clock.
    """
    tz = settings.tz
    lock = threading.Lock()
    # Options are given per job (not as job_defaults) so that they can be read before start.
    scheduler = scheduler_class(
        timezone=tz, executors={"default": ThreadPoolExecutor(max_workers=1)}
    )
    interval = settings.sync_interval_minutes
    scheduler.add_job(
        _exclusive(lock, SYNC_JOB, jobs.sync),
        # An explicit start: the trigger would otherwise read the clock when it is built.
        IntervalTrigger(
            minutes=interval,
            timezone=tz,
            start_date=now + timedelta(minutes=interval) if now is not None else None,
        ),
        id=SYNC_JOB,
        name="sync",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=interval * 60,
        # APScheduler reads next_run_time=None as "paused"; `undefined` means "from the trigger".
        next_run_time=now if now is not None else undefined,
    )
    at = settings.report_time
    scheduler.add_job(
        _exclusive(lock, REPORT_JOB, jobs.report),
        CronTrigger(hour=at.hour, minute=at.minute, second=at.second, timezone=tz),
        id=REPORT_JOB,
        name="sync and daily report",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=int(REPORT_GRACE.total_seconds()),
    )
    if report_due_now and now is not None:
        scheduler.add_job(
            _exclusive(lock, CATCH_UP_JOB, jobs.report),
            "date",
            run_date=now,
            id=CATCH_UP_JOB,
            name="daily report missed while the worker was down",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(REPORT_GRACE.total_seconds()),
        )
    return scheduler


def _exclusive(lock: threading.Lock, name: str, body: Callable[[], object]) -> Callable[[], None]:
    """Run ``body`` under the shared lock; log its failure as one JSON event and keep the worker
    alive (an SMTP outage at 07:00 must not stop the hourly syncs)."""

    def job() -> None:
        with lock:
            try:
                body()
            except StripeKpiError as exc:
                log.error("job_failed", job=name, error=exc.message)
            except Exception:
                log.exception("job_crashed", job=name)

    job.__name__ = name
    job.__qualname__ = name
    return job


def report_missed(settings: Settings, now: datetime, sent: Callable[[str], bool]) -> bool:
    """Whether today's report slot has passed (in ``STRIPE_KPI_TIMEZONE``) without yesterday's
    report having been sent: then a worker starting now should send it at once."""
    local = now.astimezone(settings.tz)
    slot = datetime.combine(local.date(), settings.report_time, settings.tz)
    if local < slot:
        return False
    yesterday = (local.date() - timedelta(days=1)).isoformat()
    return not sent(yesterday)


def run_worker(
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    jobs: WorkerJobs | None = None,
    stop: threading.Event | None = None,
    install_signals: bool = True,
    poll_seconds: float = 1.0,
) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set): start the scheduler, wait, shut down
    waiting for the running job. Meant for the main thread (signal handlers live there).
    ``clock`` is the wall clock, read when the worker starts and when each job starts."""
    stop = stop or threading.Event()
    jobs = jobs or default_jobs(settings, stop, clock)
    now = clock()
    scheduler = build_scheduler(
        settings, jobs, now=now, report_due_now=report_missed(settings, now, _sent(settings))
    )
    with _apscheduler_logs_as_json(), _stop_on_signals(stop, enabled=install_signals):
        scheduler.start()
        log.info(
            "worker_started",
            timezone=settings.timezone,
            sync_every_minutes=settings.sync_interval_minutes,
            report_at=settings.report_time.isoformat(),
            next_runs={job.id: _iso(job.next_run_time) for job in scheduler.get_jobs()},
        )
        try:
            while not stop.wait(poll_seconds):
                pass
        finally:
            log.info("worker_stopping")
            scheduler.shutdown(wait=True)
            log.info("worker_stopped")


def _sent(settings: Settings) -> Callable[[str], bool]:
    def sent(report_date: str) -> bool:
        from stripe_kpi.services import report_sent

        return report_sent(settings, report_date)

    return sent


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@contextmanager
def _stop_on_signals(stop: threading.Event, *, enabled: bool) -> Iterator[None]:
    """SIGTERM/SIGINT: first one sets ``stop`` (graceful), a second exits at once."""
    if not enabled:
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            log.warning("worker_forced_exit", signal=signal.Signals(signum).name)
            os._exit(128 + signum)
        log.info("worker_signal", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _ToStructlog(logging.Handler):
    """Forward stdlib records (APScheduler's) to structlog, so the worker's stderr is JSON only."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            get_logger(record.name).log(record.levelno, record.getMessage(), logger=record.name)
        except Exception:  # a log line must never break a job
            self.handleError(record)


@contextmanager
def _apscheduler_logs_as_json() -> Iterator[None]:
    logger = logging.getLogger("apscheduler")
    handler = _ToStructlog(level=logging.INFO)
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
