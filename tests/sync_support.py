"""Shared pieces of the sync tests: a small simulated account, a fast client, and a dump of every
Stripe table so two databases can be compared row by row (raw JSON included)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.data import StripeData
from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.models import STRIPE_TABLES
from stripe_kpi.stripe_api import RetryPolicy, StripeApi, make_client

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 6, 30, tzinfo=UTC)

#: Retries that wait milliseconds, not seconds: the fault tests stay fast.
FAST_RETRY = RetryPolicy(max_attempts=12, max_elapsed=60, base_delay=0.001, max_delay=0.01)


def small_account(customers: int = 40, seed: int = 7) -> BillingAccount:
    """A synthetic account plus one subscription of 12 items whose invoices carry 12 lines (past
    the 10 a response embeds), so every sync test also pages ``/v1/invoices/{id}/lines`` and
    ``/v1/subscription_items``."""
    account = generate_account(seed=seed, customers=customers, start=START, end=END)
    many = account.create_customer(name="Many Items Ltd", email="ops@many.example")
    prices = [
        account.create_price(unit_amount=100 * (i + 1), interval="month", product=f"Add-on {i}")
        for i in range(12)
    ]
    account.subscribe(many, [(price, 1) for price in prices])
    return account


def fast_client(server: Any, **kwargs: Any) -> StripeApi:
    return make_client(server.api_key, server.url, rate_limit=10_000, retry=FAST_RETRY, **kwargs)


def dump(engine: Engine, *, events_since: int | None = None) -> dict[str, list[tuple]]:
    """Every row of every Stripe table, sorted by primary key."""
    out: dict[str, list[tuple]] = {}
    with Session(engine) as session:
        for model in STRIPE_TABLES:
            table = model.__table__  # type: ignore[attr-defined]
            query = select(table).order_by(*table.primary_key.columns)
            if model.__tablename__ == "event" and events_since is not None:
                query = query.where(table.c.created >= events_since)
            out[model.__tablename__] = [tuple(row) for row in session.execute(query)]
    return out


#: Fields Stripe changes without sending an event, so an event-driven copy cannot follow them
#: (a customer's ``next_invoice_sequence`` moves with every invoice; no ``customer.updated``).
#: None of them feeds a metric.
EVENTLESS_FIELDS = {"customer": ("next_invoice_sequence",)}


def without_eventless_fields(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    out = dict(tables)
    for table, fields in EVENTLESS_FIELDS.items():
        rows = []
        for row in tables[table]:
            raw = json.loads(row[-1])
            for name in fields:
                raw.pop(name, None)
            rows.append((*row[:-1], json.dumps(raw, sort_keys=True)))
        out[table] = rows
    return out


def line_count(data: StripeData) -> int:
    return sum(len(invoice["lines"]["data"]) for invoice in data.objects["invoices"].values())


def synced_rows(engine: Engine, since: int) -> dict[str, list[tuple]]:
    """What an incremental copy and a fresh full sync must agree on: every Stripe row, the
    events Stripe still returns (created at ``since`` or later), the eventless fields left out."""
    return without_eventless_fields(dump(engine, events_since=since))


def synced_sqlite(acct: BillingAccount, directory: Path, now: datetime) -> str:
    """The URL of a new SQLite database in ``directory`` holding ``acct`` as one sync over HTTP
    at ``now`` copies it: what the CLI tests' module fixtures run their commands on."""
    from stripe_kpi.sync import sync

    url = f"sqlite:///{directory / 'kpi.db'}"
    engine = open_database(url)
    try:
        with SimulatorServer(acct.snapshot()) as server, fast_client(server) as client:
            sync(engine, client, now=int(now.timestamp()), concurrency=2)
    finally:
        engine.dispose()
    return url


def cli_env(monkeypatch: pytest.MonkeyPatch, url: str, now: datetime, directory: Path) -> None:
    """A command run by the CLI tests reads ``url`` in USD and UTC at ``now``, from
    ``directory`` (so no ``.env`` of the checkout is read)."""
    monkeypatch.chdir(directory)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STRIPE_KPI_CURRENCY", "usd")
    monkeypatch.setenv("STRIPE_KPI_TIMEZONE", "UTC")
    monkeypatch.setattr("stripe_kpi.cli._now", lambda: now)
