"""Files holding customer names and emails are created owner-only (0600), whatever the umask,
and `doctor` warns about an existing database others can read."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.errors import StorageError
from stripe_kpi.private_files import write_owner_only
from stripe_kpi.store.engine import open_database
from stripe_kpi.sync.lock import sync_lock

runner = CliRunner()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """022, the common default, under which a plain create would give 0644."""
    for name in ("STRIPE_API_KEY", "STRIPE_API_BASE", "DATABASE_URL", "SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_database_and_its_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "kpi.db"
    engine = open_database(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:  # keep a connection open: -wal and -shm exist
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.commit()
            wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
            assert wal.exists()
            assert shm.exists()
            assert (_mode(database), _mode(wal), _mode(shm)) == (0o600, 0o600, 0o600)
    finally:
        engine.dispose()


def test_the_sync_lock_file_is_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "kpi.db"
    engine = open_database(f"sqlite:///{database}")
    try:
        with sync_lock(engine):
            assert _mode(Path(f"{database}.sync-lock")) == 0o600
    finally:
        engine.dispose()


def test_a_report_file_is_written_owner_only_even_over_a_readable_one(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text("old", encoding="utf-8")
    report.chmod(0o644)
    write_owner_only(report, "<p>Ada Lovelace</p>")
    assert (report.read_text(encoding="utf-8"), _mode(report)) == ("<p>Ada Lovelace</p>", 0o600)


def test_a_report_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"^cannot write .*nowhere/report.html: No such file"):
        write_owner_only(tmp_path / "nowhere" / "report.html", "x")


def test_doctor_warns_when_others_can_read_the_database(tmp_path: Path) -> None:
    first = runner.invoke(app, ["doctor"])
    assert "file permissions" not in first.stdout  # it created the file itself: 0600
    (tmp_path / "stripe_kpi.db").chmod(0o644)
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if "file permissions" in x)
    assert line == (
        "! file permissions: others can read stripe_kpi.db (customer names and emails): "
        "run chmod 600 on it"
    )
