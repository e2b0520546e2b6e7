"""One sync at a time per database, whoever starts it (cron, the worker, a founder at a terminal).

SQLite: an OS file lock beside the database file (released by the OS if the process dies, so a
``kill -9`` never leaves a stale lock). PostgreSQL: a session advisory lock, released likewise when
the connection drops.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

from stripe_kpi.errors import SyncConflictError
from stripe_kpi.private_files import OWNER_ONLY

_MESSAGE = (
    "another stripe-kpi sync is running on this database; wait for it to finish "
    "(cron and the worker must not both sync the same database)"
)


@contextmanager
def sync_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        lock = FileLock(str(Path(database).expanduser()) + ".sync-lock", timeout=0, mode=OWNER_ONLY)
        try:
            lock.acquire()
        except Timeout:
            raise SyncConflictError(_MESSAGE) from None
        try:
            yield
        finally:
            lock.release()
        return
    key = zlib.crc32(b"stripe_kpi.sync")
    with engine.connect() as connection:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        if not got:
            raise SyncConflictError(_MESSAGE)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.commit()
