"""A throwaway PostgreSQL cluster for the storage tests.

The tests start their own server on a free 127.0.0.1 port, so they need nothing set up. ``initdb``
refuses to run as root, so as root the cluster runs as the ``postgres`` user (``runuser``). Where no
PostgreSQL binaries exist the tests that need one are skipped with that reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def find_pg_bin() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgCluster:
    bin_dir: Path
    data_dir: Path
    port: int
    as_user: str | None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_cluster() -> PgCluster:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise FileNotFoundError("no PostgreSQL binaries (initdb, pg_ctl) on this machine")
    as_user = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="stripe_kpi_pg_"))
    data_dir = base / "data"
    if as_user:
        shutil.chown(base, user=as_user)
    cluster = PgCluster(bin_dir, data_dir, free_port(), as_user)
    cluster._run("initdb", "-D", str(data_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8")
    options = (
        f"-p {cluster.port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    cluster._run(
        "pg_ctl", "-D", str(data_dir), "-o", options, "-l", str(base / "log"), "-w", "start"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", cluster.port)) == 0:
                return cluster
        time.sleep(0.1)
    cluster.stop()
    raise RuntimeError("PostgreSQL did not start listening within 30 s")
