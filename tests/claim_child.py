"""``python -m tests.claim_child DB_URL SMTP_PORT START_FILE REPORT_PICKLE [die]``: one sender of
a rendered report (pickled by the test: rendering here would import matplotlib in every child),
as a separate process. It prints ``ready``, waits until START_FILE exists (so that two children
send at the same instant), then delivers and prints the outcome's status; with ``die``, it is
killed by a real SIGKILL just after it claimed the day, before any connection to the mail
server."""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stripe_kpi.report.deliver as deliver
from stripe_kpi.store.engine import open_database

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def main() -> None:
    url, port, start = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    report = pickle.loads(Path(sys.argv[4]).read_bytes())
    if sys.argv[5:] == ["die"]:
        real = deliver.claim_day

        def dying(*args: Any, **kwargs: Any) -> Any:
            real(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)

        deliver.claim_day = dying  # type: ignore[assignment]
    engine = open_database(url)
    print("ready", flush=True)
    while not start.exists():
        time.sleep(0.005)
    outcome = deliver.deliver_report(
        engine,
        report,
        now=NOW,
        target=deliver.SmtpTarget("127.0.0.1", port, "none", timeout=10),
        envelope=deliver.Envelope("reports@example.test", ("founder@example.test",)),
        sleep=lambda _seconds: None,
    )
    engine.dispose()
    print(outcome.status, flush=True)


if __name__ == "__main__":
    main()
