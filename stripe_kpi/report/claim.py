"""One sender per report day: the ``report_claim`` row taken before the email goes out.

Two ``report --send`` for the same day at the same instant (cron and the worker, or a founder
running it by hand while the worker catches up) must send one email. Checking "was it sent?"
and then sending leaves a window in which both see "no"; so the day is *claimed* in the
database first, atomically on SQLite and PostgreSQL alike:

- no row yet: an INSERT, which fails on the primary key when another process inserted first
  (PostgreSQL makes the second INSERT wait for the first to commit, SQLite's write lock
  serialises them): the loser reads the winner's row and goes on as below;
- a row: an UPDATE guarded by the ``token`` read (compare and swap): of two processes that
  read the same row, the second finds the token changed and updates nothing.

The winner sends and marks the row ``sent``; a failed send marks it ``failed`` (the next run
sends). A process that dies while sending leaves ``sending``: the claim is taken over once
its lease (:data:`LEASE_SECONDS`) has passed, or at once when it names a process on this host
that no longer exists. So a crashed claim is retried later, never lost. A process that dies
after the mail server accepted the message and before it marked the row sends the day twice
(the takeover cannot know): at least once, as SMTP itself promises.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import uuid4

from sqlalchemy import Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from stripe_kpi.errors import StorageError
from stripe_kpi.log import get_logger
from stripe_kpi.store.engine import storage_message
from stripe_kpi.store.models import table

log = get_logger(__name__)

#: How long a ``sending`` claim is honoured before another process takes it over. A send is
#: at most three attempts with 5 s and 10 s between them and a 30 s timeout per SMTP step
#: (``deliver.send_message``): well under 10 minutes, while a crashed sender's day is retried
#: at the next run after that (the worker's next hour, cron's next try).
LEASE_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Owner:
    """Who claims: the host and the process (a dead process on this host frees its claim)."""

    host: str
    pid: int

    @classmethod
    def this_process(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid())


@dataclass(frozen=True, slots=True)
class Claim:
    """The day is ours to send; ``token`` identifies this claim in the row."""

    report_date: str
    token: str
    took_over: bool = False  # the row was a stale or dead process's ``sending`` claim


@dataclass(frozen=True, slots=True)
class Refusal:
    """The day is not ours: ``sent`` already (``sent_at``), or another process is ``sending``
    it (``holder``, since ``claimed_at``)."""

    report_date: str
    state: Literal["sent", "sending"]
    sent_at: int | None = None
    holder: Owner | None = None
    claimed_at: int | None = None

    def describe(self) -> str:
        """Why not sent, as the end of a line that starts with "not sent: "."""
        if self.state == "sent":
            return "this day was already sent; --force resends"
        assert self.holder is not None
        assert self.claimed_at is not None
        since = datetime.fromtimestamp(self.claimed_at, UTC).strftime("%H:%M:%S UTC")
        return (
            f"another process (pid {self.holder.pid} on {self.holder.host}) has been sending "
            f"the report for {self.report_date} since {since}; if it dies, the next run sends"
        )


def process_alive(owner: Owner) -> bool:
    """Whether the process that holds a claim may still be running. Only a process on this
    host can be looked up (signal 0 delivers nothing, it only checks); elsewhere, the lease
    decides."""
    if owner.host != socket.gethostname() or owner.pid == os.getpid():
        return True
    if owner.pid <= 0:
        return False
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def claim_day(
    engine: Engine,
    report_date: str,
    *,
    now: int,
    force: bool = False,
    owner: Owner | None = None,
    lease: int = LEASE_SECONDS,
    alive: Callable[[Owner], bool] = process_alive,
) -> Claim | Refusal:
    """Claim ``report_date`` for sending at ``now`` (unix seconds), or say why not.

    A day ``sent`` before is refused unless ``force``. A live ``sending`` claim is refused
    even with ``force`` (that process is sending the email right now); a stale one (older than
    ``lease`` seconds, or whose process on this host died) is taken over."""
    owner = owner or Owner.this_process()
    token = uuid4().hex
    claims = table("report_claim")
    mine = {"state": "sending", "token": token, "host": owner.host, "pid": owner.pid}
    for _ in range(3):  # an INSERT lost to a concurrent one is decided on the row it wrote
        try:
            with engine.begin() as connection:
                row = connection.execute(
                    select(claims).where(claims.c.report_date == report_date)
                ).first()
                if row is None:
                    connection.execute(
                        insert(claims).values(report_date=report_date, claimed_at=now, **mine)
                    )
                    return Claim(report_date, token)
                refusal = _refusal(row, report_date, now, force, lease, alive)
                if refusal is not None:
                    return refusal
                taken = connection.execute(
                    update(claims)
                    .where(claims.c.report_date == report_date)
                    .where(claims.c.token == row.token)
                    .where(claims.c.state == row.state)
                    .values(claimed_at=now, **mine)
                )
                if taken.rowcount == 1:
                    took_over = row.state == "sending"
                    if took_over:
                        log.warning(
                            "report_claim_taken_over",
                            report_date=report_date,
                            host=row.host,
                            pid=row.pid,
                            claimed_at=row.claimed_at,
                        )
                    return Claim(report_date, token, took_over=took_over)
        except IntegrityError:
            continue
        except SQLAlchemyError as exc:
            raise StorageError(storage_message(_url(engine), exc)) from None
        # The row changed between our read and our update: read it again.
    raise StorageError(
        f"could not claim the report for {report_date}: the report_claim row kept changing "
        "(several senders at once?); run again"
    )


def _refusal(
    row: Row[Any],
    report_date: str,
    now: int,
    force: bool,
    lease: int,
    alive: Callable[[Owner], bool],
) -> Refusal | None:
    state, sent_at, claimed_at = row.state, row.sent_at, row.claimed_at
    if state == "sending":
        holder = Owner(row.host, row.pid)
        if now - claimed_at < lease and alive(holder):
            return Refusal(report_date, "sending", holder=holder, claimed_at=claimed_at)
    if sent_at is not None and not force:
        return Refusal(report_date, "sent", sent_at=sent_at)
    return None


def settle_claim(
    engine: Engine,
    claim: Claim,
    *,
    sent_at: int | None,
    delivery_id: int,
) -> bool:
    """Record how the claimed send ended: ``sent`` (with ``sent_at``) or, ``sent_at`` None,
    ``failed`` (the next run sends; a day sent before keeps its ``sent_at``). False when the
    claim was taken over meanwhile (this send outlived its lease): the row is left to its new
    holder."""
    claims = table("report_claim")
    values: dict[str, object] = {"state": "failed"}
    if sent_at is not None:
        values = {"state": "sent", "sent_at": sent_at, "delivery_id": delivery_id}
    try:
        with engine.begin() as connection:
            done = connection.execute(
                update(claims)
                .where(claims.c.report_date == claim.report_date)
                .where(claims.c.token == claim.token)
                .values(**values)
            )
    except SQLAlchemyError as exc:
        raise StorageError(storage_message(_url(engine), exc)) from None
    if done.rowcount != 1:
        log.warning("report_claim_lost", report_date=claim.report_date, delivery_id=delivery_id)
        return False
    return True


def sent_at(engine: Engine, report_date: str) -> int | None:
    """When the report of ``report_date`` was last sent (unix seconds), or None: never."""
    claims = table("report_claim")
    try:
        with engine.connect() as connection:
            return connection.execute(
                select(claims.c.sent_at).where(claims.c.report_date == report_date)
            ).scalar()
    except SQLAlchemyError as exc:
        raise StorageError(storage_message(_url(engine), exc)) from None


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)
