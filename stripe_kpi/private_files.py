"""Files that hold customer data are the founder's alone: created owner-only (0600).

The SQLite database, its ``-wal`` and ``-shm`` files, the sync's lock file and every report written
to disk carry customer names and emails. With the usual umask (022) they would be created
world-readable (0644); like ssh with its keys and gh with its tokens, we create them readable by
their owner only. SQLite creates ``-wal`` and ``-shm`` with the permissions of the database file
("the journal ... is created with the same permissions as the original database", sqlite.org/src
unix VFS ``findCreateFileMode``), so an owner-only database gives owner-only companions.

Files that already exist are not re-created; :func:`exposed` tells ``doctor`` which of them others
can read, so it can warn instead of changing a founder's choice behind their back.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from stripe_kpi.errors import StorageError

OWNER_ONLY = 0o600
#: Beside a SQLite database: the WAL, its index, and the sync's lock (``sync/lock.py``).
COMPANIONS = ("-wal", "-shm", ".sync-lock")


def create_owner_only(path: Path) -> None:
    """Create ``path`` empty and owner-only unless it exists (an empty file is a valid SQLite
    database, so the engine can open it as if it had created it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    except FileExistsError:
        return
    os.close(fd)


def write_owner_only(path: Path, text: str) -> None:
    """Write a report: a new file is owner-only; an existing one is replaced and made owner-only
    too (it is the same customer data, rewritten)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), OWNER_ONLY)
            handle.write(text)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror}") from None


def readable_by_others(path: Path) -> bool:
    """Whether the group or everyone may read ``path`` (False when it does not exist)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def exposed(database: Path) -> list[Path]:
    """The database file and its companions that others may read, in that order."""
    candidates = [database, *(Path(f"{database}{suffix}") for suffix in COMPANIONS)]
    return [path for path in candidates if readable_by_others(path)]


def replace_owner_only(path: Path, text: str) -> None:
    """Write a file that others may be reading (the dashboard a browser has open, that the worker
    rewrites after a sync): the text goes to an owner-only file beside it, then takes its name
    in one rename, so a reader sees the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), OWNER_ONLY)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise StorageError(f"cannot write {path}: {exc.strerror}") from None
