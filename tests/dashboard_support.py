"""What the dashboard's tests share: a small simulated account stored as the sync stores it, with
two customers renamed to what an attacker would type, and a real headless Chromium.

A browser test that cannot find Chromium fails (it never skips): on a machine with apt and root
(CI's), Debian's ``chromium`` is installed here first when missing, as ``.ci/run`` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.store.engine import open_database, session_scope, upsert_rows
from stripe_kpi.sync import mapping
from stripe_kpi.sync.events import STORED_EVENTS

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 2, 10, 15, tzinfo=UTC)
XSS_NAME = "<img src=x onerror=alert(1)>"
SCRIPT_NAME = "</script><script>alert(2)</script>"
KINDS = (
    "customers", "products", "prices", "coupons", "tax_rates", "discounts", "subscriptions",
    "subscription_schedules", "invoices", "invoiceitems", "events",
)  # fmt: skip


def store_account(url: str, *, seed: int = 11, customers: int = 40) -> list[str]:
    """A simulated account stored in ``url`` (no derived tables yet); the two customers with
    the most invoices are renamed :data:`XSS_NAME` and :data:`SCRIPT_NAME`. Returns their ids."""
    data = generate_account(seed=seed, customers=customers, start=START, end=END).snapshot()
    rows: mapping.Rows = {}
    for kind in KINDS:
        for obj in data.objects.get(kind, {}).values():
            if kind == "events" and not obj["type"].startswith(STORED_EVENTS):
                continue
            mapping.merge_rows(rows, mapping.rows_for(obj))
    engine: Engine = open_database(url)
    try:
        with session_scope(engine) as session:
            upsert_rows(session, rows)
            busiest = session.connection().execute(
                text(
                    "SELECT customer_id FROM subscription WHERE status = 'active' "
                    "GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 2"
                )
            )
            renamed = [row[0] for row in busiest]
            for customer_id, name in zip(renamed, (XSS_NAME, SCRIPT_NAME), strict=True):
                session.connection().execute(
                    text("UPDATE customer SET name = :name WHERE id = :id"),
                    {"name": name, "id": customer_id},
                )
    finally:
        engine.dispose()
    return renamed


def chromium_executable() -> str:
    """Debian's Chromium, installed first when missing and apt can (CI runs as root)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)
        found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "Chromium is not installed: apt-get install chromium (the browser tests need it)"
        )
    return found


def screenshot_dirs(tmp: Path) -> list[Path]:
    """Where screenshots go: the test's temporary folder, and /tmp/notes/screens when it exists
    (the team's notes, looked at by a person)."""
    folders = [tmp]
    notes = Path("/tmp/notes/screens")
    if notes.is_dir():
        folders.append(notes)
    return folders
