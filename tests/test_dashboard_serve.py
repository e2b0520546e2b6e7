"""`stripe-kpi serve`: 127.0.0.1 by default; any other address refused without a token; with a
token, 401 without it and the page with it (bearer header, or ``?token=`` once and then its
cookie); read-only: the database is byte for byte the same after it served, and its
connection cannot write. Also `stripe-kpi dashboard` writes the file owner-only, and the
worker rewrites it after a sync that changed something."""

from __future__ import annotations

import hashlib
import http.client
import json
import sqlite3
import stat
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from stripe_kpi.cli import app
from stripe_kpi.config import Settings
from stripe_kpi.dashboard.server import DashboardServer
from stripe_kpi.errors import ConfigurationError
from stripe_kpi.services import dashboard_server, write_dashboard
from stripe_kpi.store.engine import open_database, session_scope
from stripe_kpi.store.tables import read_meta, write_meta
from tests.dashboard_support import END, XSS_NAME, store_account

TOKEN = "serve-test-token-abcdefghijkl"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stored account whose derived tables are built (writing the dashboard builds them)."""
    folder = tmp_path_factory.mktemp("serve")
    path = folder / "stripe_kpi.db"
    store_account(f"sqlite:///{path}", customers=12)
    settings = _settings(path)
    write_dashboard(settings, END, folder / "dashboard.html")
    return path


def _settings(path: Path, **extra: Any) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{path}", **extra)  # type: ignore[call-arg]


def _get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _fingerprint(path: Path) -> tuple[str, str]:
    """The file's bytes and every row of every table (through a read-only, immutable open)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        dump = hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()
    finally:
        db.close()
    return digest, dump


def test_any_address_but_localhost_needs_a_token(database: Path) -> None:
    with pytest.raises(ConfigurationError, match="STRIPE_KPI_DASHBOARD_TOKEN"):
        dashboard_server(_settings(database), lambda: END, host="0.0.0.0", port=0)
    result = CliRunner().invoke(
        app, ["serve", "--host", "0.0.0.0", "--port", "0"],
        env={"DATABASE_URL": f"sqlite:///{database}", "STRIPE_KPI_DASHBOARD_TOKEN": ""},
    )  # fmt: skip
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: serve --host 0.0.0.0 would show")


def test_a_short_token_is_refused() -> None:
    result = CliRunner().invoke(app, ["serve"], env={"STRIPE_KPI_DASHBOARD_TOKEN": "short"})
    assert result.exit_code != 0
    assert "STRIPE_KPI_DASHBOARD_TOKEN must be at least 16 characters" in result.stderr


def test_with_a_token_401_without_it_and_the_page_with_it(database: Path) -> None:
    before = _fingerprint(database)
    settings = _settings(database, dashboard_token=TOKEN)
    with dashboard_server(settings, lambda: END, host="127.0.0.1", port=0) as server:
        status, headers, body = _get(server.url, "/")
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert _get(server.url, "/", {"Authorization": "Bearer wrong-token-0123456789"})[0] == 401
        assert _get(server.url, f"/api/customers?q=a&token={TOKEN[:-1]}")[0] == 401
        status, headers, body = _get(server.url, "/", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        page = body.decode()
        assert "stripe_kpi dashboard" in page
        assert '"live":true' in page
        assert XSS_NAME not in page  # only as escaped JSON
        # ?token= sets an HttpOnly cookie and sends the browser to the bare address.
        status, headers, _ = _get(server.url, f"/?token={TOKEN}")
        assert status == 303
        assert headers["Location"] == "/"
        cookie = headers["Set-Cookie"].split(";")[0]
        assert "HttpOnly" in headers["Set-Cookie"]
        status, _, body = _get(server.url, "/api/customers?q=onerror", {"Cookie": cookie})
        assert status == 200
        found = json.loads(body)
        assert [c["name"] for c in found] == [XSS_NAME]
        status, _, body = _get(server.url, f"/api/customer?id={found[0]['id']}", {"Cookie": cookie})
        assert status == 200
        assert json.loads(body)["history"]["movements"]
        assert _get(server.url, "/api/customer?id=cus_none", {"Cookie": cookie})[0] == 404
        assert _get(server.url, "/elsewhere", {"Cookie": cookie})[0] == 404
    assert _fingerprint(database) == before


def test_the_server_cannot_write_to_the_database(database: Path) -> None:
    server = DashboardServer(
        database_url=f"sqlite:///{database}", currency="usd", tz="UTC", clock=lambda: END, port=0
    )
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with (
            server.engine.connect() as connection,
            pytest.raises(OperationalError, match="readonly"),
        ):
            connection.execute(text("DELETE FROM daily_metrics"))
    finally:
        server.close()


def test_dashboard_writes_the_file_owner_only(database: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.html"
    out.write_text("old")
    out.chmod(0o644)
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("stripe_kpi.cli._now", lambda: END)
        result = CliRunner().invoke(app, ["dashboard", "--out", str(out)], env=env)
        bad = CliRunner().invoke(app, ["dashboard", "--from", "2026-02-09", "--to", "2026-02-01"],
                                 env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {out}"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left beside it
    assert bad.exit_code != 0
    assert "--to 2026-02-01 is before --from 2026-02-09" in bad.stderr


def test_each_request_reads_the_tables_as_the_last_derive_left_them(
    database: Path, tmp_path: Path
) -> None:
    """The page is built again when a derive wrote the tables (their record in sync_state
    changed), and only then."""
    copy = tmp_path / "copy.db"
    copy.write_bytes(database.read_bytes())
    settings = _settings(copy)
    with dashboard_server(settings, lambda: END, host="127.0.0.1", port=0) as server:
        first = _get(server.url, "/")[2]
        assert _get(server.url, "/")[2] == first
        # A derive's write: a day's MRR and the tables' record, in one transaction.
        engine = open_database(f"sqlite:///{copy}")
        try:
            with session_scope(engine) as session:
                connection = session.connection()
                last = connection.execute(text("SELECT max(date) FROM daily_metrics")).scalar()
                connection.execute(
                    text("UPDATE daily_metrics SET mrr = 123456789 WHERE date = :d"), {"d": last}
                )
                meta = read_meta(connection)
                write_meta(connection, "usd", "UTC", meta["as_of"], date.fromisoformat(last))
        finally:
            engine.dispose()
        page = _get(server.url, "/")[2].decode()
    assert '<div class="value">$1,234,567.89</div>' in page


def test_the_page_is_built_ahead_of_the_first_request(database: Path) -> None:
    with dashboard_server(_settings(database), lambda: END, host="127.0.0.1", port=0) as server:
        for _ in range(600):  # the refresher builds it as the server starts (seconds at most)
            if server._cached is not None:
                break
            time.sleep(0.05)
        assert server._cached is not None
        assert _get(server.url, "/")[2] == server._cached[1]
