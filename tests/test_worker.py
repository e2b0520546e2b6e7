"""The worker: triggers across daylight-saving changes (explicit datetimes, no waiting), jobs that
never overlap, the morning job's order, catching up a missed report, and a clean stop on SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from structlog.testing import capture_logs

from stripe_kpi.config import Settings
from stripe_kpi.errors import StripeAccessError
from stripe_kpi.worker import (
    CATCH_UP_JOB,
    REPORT_JOB,
    SYNC_JOB,
    WorkerJobs,
    build_scheduler,
    report_missed,
    run_report,
    run_worker,
)

PARIS = ZoneInfo("Europe/Paris")


@contextmanager
def all_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Capture every event, info included, whatever level another test (or the CLI) left
    structlog filtering at."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(**saved)


def paris_settings(**extra: Any) -> Settings:
    values: dict[str, Any] = {
        "timezone": "Europe/Paris",
        "report_time": clock_time(7, 0),
        "sync_interval_minutes": 60,
        "database_url": "sqlite://",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def idle_jobs() -> WorkerJobs:
    return WorkerJobs(sync=lambda: None, report=lambda: None)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fire_times(trigger: Any, now: datetime, count: int) -> list[datetime]:
    """The trigger's next ``count`` fire times after ``now``, as the scheduler chains them."""
    times, previous = [], None
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, now)
        times.append(previous)
        now = previous
    return times


def test_report_at_seven_local_on_both_sides_of_the_autumn_change() -> None:
    """Paris leaves summer time on 25 Oct 2026 (03:00 CEST → 02:00 CET): 07:00 local is 05:00Z
    before and 06:00Z after."""
    scheduler = build_scheduler(paris_settings(), idle_jobs())
    trigger = scheduler.get_job(REPORT_JOB).trigger
    times = fire_times(trigger, datetime(2026, 10, 23, 12, 0, tzinfo=PARIS), 4)
    assert [t.astimezone(UTC) for t in times] == [
        utc(2026, 10, 24, 5, 0),
        utc(2026, 10, 25, 6, 0),
        utc(2026, 10, 26, 6, 0),
        utc(2026, 10, 27, 6, 0),
    ]
    assert {t.astimezone(PARIS).time() for t in times} == {clock_time(7, 0)}


def test_report_at_seven_local_across_the_spring_change() -> None:
    """Summer time starts on 28 Mar 2027 (02:00 CET → 03:00 CEST): 06:00Z, then 05:00Z."""
    scheduler = build_scheduler(paris_settings(), idle_jobs())
    trigger = scheduler.get_job(REPORT_JOB).trigger
    times = fire_times(trigger, datetime(2027, 3, 27, 7, 30, tzinfo=PARIS), 2)
    assert [t.astimezone(UTC) for t in times] == [utc(2027, 3, 28, 5, 0), utc(2027, 3, 29, 5, 0)]


def test_report_time_inside_the_spring_gap_still_fires_that_day() -> None:
    scheduler = build_scheduler(paris_settings(report_time=clock_time(2, 30)), idle_jobs())
    trigger = scheduler.get_job(REPORT_JOB).trigger
    (first,) = fire_times(trigger, datetime(2027, 3, 27, 12, 0, tzinfo=PARIS), 1)
    assert first.astimezone(UTC) == utc(2027, 3, 28, 1, 30)  # 03:30 CEST: the day is not skipped


def test_sync_runs_at_start_then_every_interval_of_real_time_across_the_change() -> None:
    start = utc(2026, 10, 25, 0, 30)  # 02:30 CEST, half an hour before the clocks go back
    scheduler = build_scheduler(paris_settings(sync_interval_minutes=45), idle_jobs(), now=start)
    job = scheduler.get_job(SYNC_JOB)
    assert job.next_run_time == start  # a starting worker syncs at once
    times = [job.trigger.get_next_fire_time(start, start)]
    times.append(job.trigger.get_next_fire_time(times[0], times[0]))
    assert [t.astimezone(UTC) for t in times] == [utc(2026, 10, 25, 1, 15), utc(2026, 10, 25, 2)]


def test_jobs_coalesce_never_run_twice_at_once_and_share_one_thread() -> None:
    scheduler = build_scheduler(paris_settings(sync_interval_minutes=30), idle_jobs())
    sync, report = scheduler.get_job(SYNC_JOB), scheduler.get_job(REPORT_JOB)
    assert (sync.coalesce, sync.max_instances, sync.misfire_grace_time) == (True, 1, 1800)
    assert (report.coalesce, report.max_instances, report.misfire_grace_time) == (True, 1, 21600)
    assert isinstance(scheduler, BackgroundScheduler)
    assert scheduler._executors["default"]._pool._max_workers == 1  # one job at a time
    assert scheduler.get_job(CATCH_UP_JOB) is None


class Overlap:
    """Counts how many bodies run at once; each body takes ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0
        self.calls: list[str] = []

    def body(self, name: str) -> None:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.calls.append(f"{name}:start")
        time.sleep(self.seconds)
        with self.lock:
            self.active -= 1
            self.calls.append(f"{name}:end")


def test_sync_and_report_never_overlap_when_the_scheduler_runs_them() -> None:
    """A sync and a catch-up report due at the same instant, run by the scheduler's own executor
    with a slow sync: one after the other, the report's own sync included."""
    overlap = Overlap(0.15)
    settings = paris_settings()
    done = threading.Event()
    sent: list[datetime] = []

    def slow_sync(_settings: Settings, _now: datetime, stop: threading.Event | None = None) -> None:
        overlap.body("sync")

    def send(_settings: Settings, now: datetime) -> Any:
        overlap.body("send")
        sent.append(now)
        done.set()
        return _Outcome()

    now = datetime.now(UTC)
    jobs = WorkerJobs(
        sync=lambda: slow_sync(settings, now),
        report=lambda: run_report(settings, now, sync=slow_sync, send=send),
    )
    scheduler = build_scheduler(settings, jobs, now=now, report_due_now=True)
    scheduler.start()
    try:
        assert done.wait(5), "the report job did not run"
    finally:
        scheduler.shutdown(wait=True)
    assert overlap.most == 1
    # Three bodies, each whole before the next starts (which job goes first is the
    # scheduler's choice), and the report's own sync right before its send.
    pairs = list(zip(overlap.calls[::2], overlap.calls[1::2], strict=True))
    assert sorted(pairs) == [("send:start", "send:end")] + [("sync:start", "sync:end")] * 2
    assert overlap.calls[overlap.calls.index("send:start") - 1] == "sync:end"
    assert sent == [now]


def test_the_shared_lock_keeps_jobs_apart_even_on_other_threads() -> None:
    overlap = Overlap(0.05)
    jobs = WorkerJobs(sync=lambda: overlap.body("sync"), report=lambda: overlap.body("report"))
    scheduler = build_scheduler(paris_settings(), jobs)
    bodies = [scheduler.get_job(SYNC_JOB).func, scheduler.get_job(REPORT_JOB).func] * 3
    threads = [threading.Thread(target=body) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlap.most == 1
    assert len(overlap.calls) == 12


def test_a_failing_job_is_logged_and_the_worker_keeps_going() -> None:
    def fail() -> None:
        raise StripeAccessError("Stripe could not be reached")

    scheduler = build_scheduler(paris_settings(), WorkerJobs(sync=fail, report=fail))
    with all_logs() as logs:
        scheduler.get_job(SYNC_JOB).func()  # does not raise
    assert {
        "event": "job_failed",
        "job": "sync",
        "error": "Stripe could not be reached",
    }.items() <= (logs[-1].items())


class _Outcome:
    report_date = "2026-10-24"
    status = "sent"
    attempts = 1
    delivery_id = 1


def test_morning_job_syncs_first_then_reports_with_the_given_now() -> None:
    order: list[str] = []
    now = utc(2026, 10, 25, 6, 0)

    def sync(_settings: Settings, _now: datetime, stop: threading.Event | None = None) -> None:
        order.append("sync")

    def send(_settings: Settings, when: datetime) -> Any:
        order.append(f"send {when.isoformat()}")
        return _Outcome()

    run_report(paris_settings(), now, sync=sync, send=send)
    assert order == ["sync", "send 2026-10-25T06:00:00+00:00"]


def test_morning_job_reports_even_when_its_sync_fails() -> None:
    def sync(_settings: Settings, _now: datetime, stop: threading.Event | None = None) -> None:
        raise StripeAccessError("Stripe could not be reached")

    sent: list[datetime] = []

    def send(_settings: Settings, when: datetime) -> Any:
        sent.append(when)
        return _Outcome()

    with all_logs() as logs:
        run_report(paris_settings(), utc(2026, 10, 25, 6), sync=sync, send=send)
    assert sent == [utc(2026, 10, 25, 6)]
    assert logs[0]["event"] == "sync_before_report_failed"


def test_morning_job_stops_without_reporting_when_the_worker_is_stopping() -> None:
    stop = threading.Event()
    stop.set()

    def send(*_args: object) -> Any:
        raise AssertionError("must not send while stopping")

    assert run_report(paris_settings(), utc(2026, 10, 25, 6), stop=stop, send=send) is None


@pytest.mark.parametrize(
    ("now", "sent_days", "expected"),
    [
        (datetime(2026, 10, 25, 6, 59, tzinfo=PARIS), set(), False),  # before the slot
        (datetime(2026, 10, 25, 7, 0, tzinfo=PARIS), set(), True),
        (datetime(2026, 10, 25, 9, 0, tzinfo=PARIS), {"2026-10-24"}, False),  # already sent
        (utc(2026, 10, 25, 5, 30), set(), False),  # 06:30 CET: before 07:00 after the change
        (utc(2026, 10, 24, 5, 30), set(), True),  # 07:30 CEST the day before
    ],
)
def test_a_report_missed_while_the_worker_was_down_is_caught_up(
    now: datetime, sent_days: set[str], expected: bool
) -> None:
    assert report_missed(paris_settings(), now, sent_days.__contains__) is expected


def test_catch_up_report_is_scheduled_at_start_when_due() -> None:
    now = utc(2026, 10, 25, 8, 0)
    scheduler = build_scheduler(paris_settings(), idle_jobs(), now=now, report_due_now=True)
    catch_up = scheduler.get_job(CATCH_UP_JOB)
    assert catch_up.trigger.get_next_fire_time(None, now) == now


def test_sigterm_stops_the_worker_after_the_running_sync_finishes(tmp_path: Any) -> None:
    """SIGTERM during a sync: the worker waits for that sync, then stops; logs are JSON-ready
    events (APScheduler's own messages included); the signal handlers are put back."""
    started, finished = threading.Event(), threading.Event()

    def sync() -> None:
        started.set()
        time.sleep(0.3)
        finished.set()

    def terminate_when_sync_starts() -> None:
        assert started.wait(5)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    killer = threading.Thread(target=terminate_when_sync_starts)
    killer.start()
    settings = paris_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    with all_logs() as logs:
        run_worker(
            settings,
            jobs=WorkerJobs(sync=sync, report=lambda: None),
            clock=lambda: datetime(2026, 10, 25, 6, 0, tzinfo=PARIS),  # before the report slot
            poll_seconds=0.02,
        )
    killer.join()
    assert finished.is_set()  # shutdown waited for the running sync
    assert signal.getsignal(signal.SIGTERM) is before
    events = [entry["event"] for entry in logs]
    assert {"worker_started", "worker_signal", "worker_stopping"} <= set(events)
    assert events[-1] == "worker_stopped"
    assert 'Running job "sync (trigger: interval[1:00:00], next run at: ' in "".join(events)
    (started_log,) = [entry for entry in logs if entry["event"] == "worker_started"]
    assert set(started_log["next_runs"]) == {SYNC_JOB, REPORT_JOB}  # the real clock decides
    assert started_log["timezone"] == "Europe/Paris"
    assert started_log["report_at"] == "07:00:00"
