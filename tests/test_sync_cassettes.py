"""The sync replayed from recorded HTTP: no server, no network, and no key in any cassette."""

from __future__ import annotations

import re

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from stripe_kpi.store.models import Customer, Event, Invoice, InvoiceLine, Subscription
from stripe_kpi.stripe_api import make_client
from stripe_kpi.sync import sync
from tests.cassette_support import CASSETTE_BASE, CASSETTES, RECORDED_NOW, cassette_vcr


def _count(engine: Engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()[0]


def test_full_then_incremental_sync_from_the_cassette(engine: Engine) -> None:
    now = int(RECORDED_NOW.timestamp())
    with (
        cassette_vcr().use_cassette("sync_full_then_incremental.yaml") as cassette,
        make_client("sk_test_replayonly123", CASSETTE_BASE) as client,
    ):
        full = sync(engine, client, now=now, concurrency=1)
        again = sync(engine, client, now=now, concurrency=1)
        assert cassette.all_played
    # The account recorded by scripts/record_cassettes.py (seed 21, 12 customers, 300 days).
    assert (full.mode, again.mode, again.requests) == ("full", "incremental", 1)
    assert _count(engine, Customer) == 12
    assert _count(engine, Subscription) == 12
    assert _count(engine, Invoice) == 59
    assert _count(engine, InvoiceLine) == 63
    assert _count(engine, Event) == 13  # its customer.subscription.* events


def test_no_cassette_holds_a_key_or_an_authorization_header() -> None:
    secret = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9]+|Bearer |authorization", re.IGNORECASE)
    files = list(CASSETTES.glob("*.yaml"))
    assert files
    for path in files:
        assert not secret.search(path.read_text()), f"{path.name} holds a key or auth header"
