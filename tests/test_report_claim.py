"""One email per report day, however many senders: the ``report_claim`` row (``report.claim``).

Two senders of one day at the same instant (threads, and separate processes) against a real
SMTP server that takes its time to accept (so that without the claim both would be sending at
once); a stale claim (past its lease, or left by a process that died) taken over; a failed send
freeing the day; ``--force``; and a database from before the claim upgraded in place. On SQLite
and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, insert, select, text

from stripe_kpi.errors import DeliveryError
from stripe_kpi.report.claim import LEASE_SECONDS, Claim, Owner, Refusal, claim_day
from stripe_kpi.report.deliver import DeliveryOutcome, Envelope, already_sent, deliver_report
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.models import table
from tests.pg_cluster import free_port
from tests.smtp_support import Inbox
from tests.test_report_deliver import NOW, RECIPIENTS, SENDER, rendered, rows_of, target

DAY = "2026-11-23"  # the day small_summary() reports on
STAMP = int(NOW.timestamp())
ROOT = Path(__file__).resolve().parent.parent


class SlowInbox(Inbox):
    """A mail server that takes ``delay`` seconds to accept each message: a sender that did
    not claim the day would be sending meanwhile."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_inbox() -> Iterator[tuple[SlowInbox, int]]:
    handler = SlowInbox(0.5)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _send(engine: Engine, port: int, **extra: Any) -> DeliveryOutcome:
    return deliver_report(
        engine,
        rendered(),
        now=extra.pop("now", NOW),
        target=target(port),
        envelope=Envelope(SENDER, RECIPIENTS),
        sleep=lambda _seconds: None,
        **extra,
    )


def _claim_row(engine: Engine) -> dict[str, Any]:
    claims = table("report_claim")
    with engine.connect() as connection:
        (row,) = connection.execute(select(claims)).mappings().all()
    return dict(row)


def _plant_claim(engine: Engine, *, claimed_at: int, host: str, pid: int) -> None:
    """A ``sending`` claim as a sender that is (or was) sending the day leaves it."""
    with engine.begin() as connection:
        connection.execute(
            insert(table("report_claim")).values(
                report_date=DAY,
                state="sending",
                token="planted",
                host=host,
                pid=pid,
                claimed_at=claimed_at,
            )
        )


def test_two_threads_sending_one_day_at_once_send_one_email(
    engine: Engine, slow_inbox: tuple[SlowInbox, int]
) -> None:
    handler, port = slow_inbox
    start = threading.Barrier(2)
    outcomes: list[DeliveryOutcome] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            start.wait(timeout=10)
            outcomes.append(_send(engine, port))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(handler.envelopes) == 1
    statuses = sorted(o.status for o in outcomes)
    # The loser found the winner sending (or, on a slow machine, already done).
    assert statuses in (["sending_elsewhere", "sent"], ["already_sent", "sent"])
    claim = _claim_row(engine)
    (winner,) = [o for o in outcomes if o.status == "sent"]
    assert (claim["state"], claim["sent_at"], claim["delivery_id"]) == (
        "sent",
        STAMP,
        winner.delivery_id,
    )
    assert sorted(r.status for r in rows_of(engine)) == ["rendered", "sent"]


def test_two_processes_sending_one_day_at_once_send_one_email(
    db_url: str, slow_inbox: tuple[SlowInbox, int], tmp_path: Path
) -> None:
    handler, port = slow_inbox
    engine = open_database(db_url)  # migrated once, before the senders start
    go = tmp_path / "go"
    children = [_child(db_url, port, go, tmp_path) for _ in range(2)]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    go.touch()
    statuses = sorted(_finished(child) for child in children)
    assert statuses in (["sending_elsewhere", "sent"], ["already_sent", "sent"])
    assert len(handler.envelopes) == 1
    assert _claim_row(engine)["state"] == "sent"
    engine.dispose()


def test_a_sender_killed_after_claiming_leaves_the_day_to_the_next_run(
    db_url: str, slow_inbox: tuple[SlowInbox, int], tmp_path: Path
) -> None:
    """SIGKILL between the claim and the mail server: nothing sent, the claim names a dead
    process on this host, so the next run takes it over at once (no lease to wait out)."""
    handler, port = slow_inbox
    engine = open_database(db_url)
    go = tmp_path / "go"
    go.touch()
    dying = _child(db_url, port, go, tmp_path, "die")
    out, err = dying.communicate(timeout=60)
    assert dying.returncode == -signal.SIGKILL, err
    assert out.splitlines()[-1] == "ready"
    assert handler.envelopes == []
    left = _claim_row(engine)
    assert (left["state"], left["pid"], left["host"]) == (
        "sending",
        dying.pid,
        socket.gethostname(),
    )

    again = _send(engine, port)  # same instant: the lease has not passed, the process is gone
    assert again.status == "sent"
    assert len(handler.envelopes) == 1
    assert _claim_row(engine)["state"] == "sent"
    engine.dispose()


def _child(url: str, port: int, go: Path, folder: Path, *extra: str) -> subprocess.Popen[str]:
    report = folder / "report.pickle"
    if not report.exists():
        report.write_bytes(pickle.dumps(rendered()))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.claim_child", url, str(port), str(go), str(report), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _finished(child: subprocess.Popen[str]) -> str:
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    return out.strip().splitlines()[-1]  # after the log lines


# ---------------------------------------------------------------------------------------------
# stale claims
# ---------------------------------------------------------------------------------------------


def test_a_claim_is_honoured_for_its_lease_and_taken_over_after_it(
    engine: Engine, inbox: tuple[Inbox, int]
) -> None:
    """A live process (this one: pid alive) claimed the day 599 s ago: not sent, and the line
    says who is sending; at 600 s (LEASE_SECONDS) the claim is stale and taken over."""
    handler, port = inbox
    assert LEASE_SECONDS == 600
    host = socket.gethostname()
    _plant_claim(engine, claimed_at=STAMP - 599, host=host, pid=os.getpid())

    busy = _send(engine, port)
    assert busy.status == "sending_elsewhere"
    assert busy.describe() == (
        f"not sent: another process (pid {os.getpid()} on {host}) has been sending the report "
        f"for {DAY} since 05:50:01 UTC; if it dies, the next run sends"
    )  # NOW is 06:00:00 UTC; 599 s before is 05:50:01
    assert handler.envelopes == []
    assert not already_sent(engine, DAY)

    _plant_claim_at(engine, STAMP - 600)
    taken = _send(engine, port)
    assert taken.status == "sent"
    assert len(handler.envelopes) == 1
    claim = _claim_row(engine)
    assert (claim["state"], claim["pid"], claim["claimed_at"]) == ("sent", os.getpid(), STAMP)
    assert claim["token"] != "planted"


def _plant_claim_at(engine: Engine, claimed_at: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE report_claim SET claimed_at = :at WHERE report_date = :day"),
            {"at": claimed_at, "day": DAY},
        )


def test_a_fresh_claim_of_a_dead_process_on_this_host_is_taken_over(engine: Engine) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _plant_claim(engine, claimed_at=STAMP - 5, host=socket.gethostname(), pid=dead.pid)
    claim = claim_day(engine, DAY, now=STAMP)
    assert isinstance(claim, Claim)
    assert claim.took_over


def test_a_fresh_claim_from_another_host_waits_for_its_lease(engine: Engine) -> None:
    """A process elsewhere cannot be looked up: only the lease frees its claim."""
    _plant_claim(engine, claimed_at=STAMP - 5, host="elsewhere.example", pid=1)
    refused = claim_day(engine, DAY, now=STAMP)
    assert isinstance(refused, Refusal)
    assert (refused.state, refused.holder) == ("sending", Owner("elsewhere.example", 1))
    later = claim_day(engine, DAY, now=STAMP - 5 + LEASE_SECONDS, owner=Owner("here", 2))
    assert isinstance(later, Claim)
    assert later.took_over


def test_a_failed_send_frees_the_day_and_force_resends_a_sent_one(
    engine: Engine, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    with pytest.raises(DeliveryError):
        _send(engine, free_port())  # nothing listens: three refused connections
    assert _claim_row(engine)["state"] == "failed"
    assert not already_sent(engine, DAY)

    assert _send(engine, port).status == "sent"
    assert _send(engine, port).status == "already_sent"
    forced = _send(engine, port, force=True)
    assert forced.status == "sent"
    assert len(handler.envelopes) == 2
    assert _claim_row(engine)["delivery_id"] == forced.delivery_id


def test_force_does_not_send_beside_a_live_sender(engine: Engine, inbox: tuple[Inbox, int]) -> None:
    """``--force`` resends a day that was sent; it does not send a second copy while another
    process is sending the first."""
    handler, port = inbox
    _plant_claim(engine, claimed_at=STAMP - 1, host=socket.gethostname(), pid=os.getpid())
    assert _send(engine, port, force=True).status == "sending_elsewhere"
    assert handler.envelopes == []


# ---------------------------------------------------------------------------------------------
# upgrade
# ---------------------------------------------------------------------------------------------


def test_a_database_from_before_the_claim_keeps_its_sent_days(
    db_url: str, inbox: tuple[Inbox, int]
) -> None:
    """At revision 0006 (before the claim) one day was sent twice (a forced resend) and another
    only rendered: upgraded in place, the sent day has a ``sent`` claim naming its latest
    sending and is not sent again; the other has no claim."""
    from alembic import command

    from stripe_kpi.store.engine import alembic_config, make_engine

    handler, port = inbox
    old = make_engine(db_url)
    command.upgrade(alembic_config(old), "0006_schedules")
    sent = {"status": "sent", "subject": "s", "text_body": "t", "html_body": "h", "attempts": 1}
    with old.begin() as connection:
        deliveries = table("report_delivery")
        connection.execute(
            insert(deliveries),
            [
                {**sent, "report_date": DAY, "created_at": 100, "sent_at": 101},
                {**sent, "report_date": DAY, "created_at": 200, "sent_at": 201},
                {
                    **sent,
                    "report_date": "2026-11-22",
                    "created_at": 50,
                    "sent_at": None,
                    "status": "rendered",
                },
            ],
        )
        latest = connection.execute(
            select(deliveries.c.id).where(deliveries.c.created_at == 200)
        ).scalar_one()
    old.dispose()

    engine = open_database(db_url)
    claim = _claim_row(engine)
    assert (claim["report_date"], claim["state"], claim["sent_at"], claim["delivery_id"]) == (
        DAY,
        "sent",
        201,
        latest,
    )
    assert already_sent(engine, DAY)
    assert not already_sent(engine, "2026-11-22")
    assert _send(engine, port).status == "already_sent"
    assert handler.envelopes == []
    engine.dispose()
