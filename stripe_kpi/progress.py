"""Progress of long work: a live Rich display on a terminal, a log line every few seconds
otherwise (cron mail and the worker's JSON logs should not fill with carriage returns)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog
from rich.console import Console
from rich.progress import Progress, TextColumn, TimeElapsedColumn

log = structlog.get_logger(__name__)


Advance = Callable[[str, int], None]


@contextmanager
def counting_progress(console: Console, title: str, every: float = 5.0) -> Iterator[Advance]:
    """Yield ``advance(kind, n)``: a live bar when ``console`` is a terminal, log events
    otherwise."""
    if console.is_terminal:
        with progress_bar(console, title) as advance:
            yield advance
    else:
        yield logged_progress(title, every)


@contextmanager
def progress_bar(console: Console, title: str) -> Iterator[Advance]:
    """Yield ``advance(kind, n)``: thread-safe, shows objects per kind and the rate of each."""
    counts: dict[str, int] = {}
    lock = threading.Lock()
    started = time.monotonic()
    with Progress(
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.completed:>9,.0f} objects"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, int] = {}

        def advance(kind: str, n: int) -> None:
            with lock:
                if kind not in tasks:
                    tasks[kind] = bar.add_task(f"{title} {kind}", total=None, rate="")
                counts[kind] = counts.get(kind, 0) + n
                elapsed = max(time.monotonic() - started, 1e-6)
                bar.update(tasks[kind], advance=n, rate=f"{counts[kind] / elapsed:,.0f}/s")

        yield advance


def logged_progress(title: str, every: float = 5.0) -> Advance:
    """``advance(kind, n)`` that logs ``{title}_progress`` (objects so far, per kind, rate) at
    most every ``every`` seconds: what cron mail and the worker's JSON logs should get."""
    counts: dict[str, int] = {}
    lock = threading.Lock()
    started = time.monotonic()
    last = [started]

    def advance_quietly(kind: str, n: int) -> None:
        with lock:
            counts[kind] = counts.get(kind, 0) + n
            now = time.monotonic()
            if now - last[0] >= every:
                last[0] = now
                total = sum(counts.values())
                log.info(
                    f"{title}_progress",
                    objects=total,
                    per_second=round(total / (now - started)),
                    **counts,
                )

    return advance_quietly
