"""Subscription schedules are copied: listed by a full sync, followed by the events pass.

Through HTTP against the simulator: a full sync stores each schedule with its phases; a month
later (a phase started, a schedule released, a new one created) an incremental sync applies the
``subscription_schedule.*`` events from their payloads and ends where a fresh full sync ends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from stripe_kpi.simulator.billing import BillingAccount, Phase
from stripe_kpi.simulator.clock import to_unix
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.models import table
from stripe_kpi.sync.lists import EVENT_RETENTION_SECONDS
from stripe_kpi.sync.run import sync
from tests.sync_support import fast_client, synced_rows


def on(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def schedules(engine) -> dict[str, dict]:
    with Session(engine) as session:
        rows = session.execute(select(table("subscription_schedule"))).mappings().all()
    return {row["id"]: dict(row) for row in rows}


def test_schedules_sync_fully_then_incrementally(tmp_path) -> None:
    account = BillingAccount(on(1, 1), seed=4)
    basic = account.create_price(3000, product="Basic")
    pro = account.create_price(5000, product="Pro")
    ada = account.create_customer("Ada", "ada@example.com", on(1, 1))
    ada_sub = account.subscribe(ada, [(basic, 1)], on(1, 1))
    grace = account.create_customer("Grace", "grace@example.com", on(1, 2))
    grace_sub = account.subscribe(grace, [(basic, 1)], on(1, 2))
    upgrade = account.create_schedule(
        ada_sub, [Phase(on(2, 1), [(pro, 2)])], end=on(5, 1), end_behavior="cancel", at=on(1, 10)
    )
    released = account.create_schedule(
        grace_sub, [Phase(on(3, 2), [(pro, 1)])], end=on(6, 2), at=on(1, 11)
    )
    account.create_customer("Edsger", None, on(1, 20))  # the newest event: the sync's cursor
    with SimulatorServer(account.snapshot()) as server:
        engine = open_database(f"sqlite:///{tmp_path / 'kpi.db'}")
        fresh = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
        with fast_client(server) as client:
            sync(engine, client, now=server.data.now, concurrency=2)
            row = schedules(engine)[upgrade["id"]]
            assert (row["customer_id"], row["subscription_id"]) == (ada["id"], ada_sub["id"])
            assert (row["status"], row["end_behavior"]) == ("active", "cancel")
            assert (row["current_phase_start"], row["current_phase_end"]) == (
                to_unix(on(1, 1)),
                to_unix(on(2, 1)),
            )
            phases = json.loads(row["phases"])
            assert [(p["start_date"], p["end_date"]) for p in phases] == [
                (to_unix(on(1, 1)), to_unix(on(2, 1))),
                (to_unix(on(2, 1)), to_unix(on(5, 1))),
            ]
            assert [(i["price"], i["quantity"]) for i in phases[1]["items"]] == [(pro["id"], 2)]

            # Weeks on: Ada's phase starts, Grace's schedule is released, Alan gets one.
            account.release_schedule(released, on(2, 3))
            alan = account.create_customer("Alan", "alan@example.com", on(2, 4))
            alan_sub = account.subscribe(alan, [(basic, 3)], on(2, 4))
            newest = account.create_schedule(
                alan_sub, [Phase(on(3, 4), [(basic, 5)])], end=on(4, 4), at=on(2, 5)
            )
            account.advance(on(2, 15))
            server.set_data(account.snapshot())
            server.reset_counts()
            report = sync(engine, client, now=server.data.now, concurrency=2)
            assert report.mode == "incremental"
            retrieved = [p for p in server.path_counts if p.count("/") == 3]
            assert retrieved == []  # every payload was the object as a retrieve shows it
            sync(fresh, client, now=server.data.now, concurrency=2)
        since = server.data.now - EVENT_RETENTION_SECONDS
        assert synced_rows(engine, since) == synced_rows(fresh, since)
        rows = schedules(engine)
        engine.dispose()
        fresh.dispose()
    assert (rows[upgrade["id"]]["current_phase_start"], rows[upgrade["id"]]["status"]) == (
        to_unix(on(2, 1)),
        "active",
    )
    grace_row = rows[released["id"]]
    assert (grace_row["status"], grace_row["released_at"]) == ("released", to_unix(on(2, 3)))
    assert grace_row["subscription_id"] == grace_sub["id"]  # from released_subscription
    assert rows[newest["id"]]["customer_id"] == alan["id"]
