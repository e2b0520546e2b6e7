"""What the segments read (METRICS.md §8), stored by the sync: a customer's ``address.country``
and ``metadata`` (filled from the raw JSON when a database from before upgrades), and the
simulator's customers that carry them (or not)."""

from __future__ import annotations

import json
import random
from collections import Counter

from sqlalchemy import text
from sqlmodel import Session

from stripe_kpi.metrics.inputs import inputs_from_rows
from stripe_kpi.simulator.customer_profiles import plan_profile
from stripe_kpi.simulator.server import SimulatorServer
from stripe_kpi.store.engine import open_database
from stripe_kpi.store.load import load
from stripe_kpi.sync import mapping
from stripe_kpi.sync.run import sync
from tests.sync_support import fast_client, small_account


def _customer(id_: str, address: dict | None, metadata: dict) -> dict:
    return {
        "id": id_,
        "object": "customer",
        "created": 1767225600,
        "email": None,
        "name": None,
        "currency": "usd",
        "address": address,
        "metadata": metadata,
        "livemode": False,
    }


ADDRESS = {"city": None, "country": "FR", "line1": None, "line2": None, "postal_code": None,
           "state": None}  # fmt: skip


def test_a_customer_row_keeps_the_country_and_the_metadata() -> None:
    with_both = mapping.customer_row(_customer("cus_1", ADDRESS, {"segment": "smb", "a": "1"}))
    assert with_both["address_country"] == "FR"
    assert json.loads(with_both["metadata"]) == {"a": "1", "segment": "smb"}
    neither = mapping.customer_row(_customer("cus_2", None, {}))
    assert (neither["address_country"], neither["metadata"]) == (None, None)
    no_country = mapping.customer_row(_customer("cus_3", {**ADDRESS, "country": None}, {}))
    assert no_country["address_country"] is None


def test_a_database_from_before_fills_them_from_the_raw_json(db_url: str) -> None:
    """0007 adds the two columns to a database at 0006 and fills them from ``raw``: the same
    values a sync writes (``customer_row``), so a later sync changes nothing."""
    from alembic import command

    from stripe_kpi.store.engine import alembic_config, make_engine

    old = make_engine(db_url)
    command.upgrade(alembic_config(old), "0006_schedules")
    payloads = [
        _customer("cus_1", ADDRESS, {"segment": "enterprise", "company": "Knuth Labs"}),
        _customer("cus_2", None, {}),
        _customer("cus_3", {**ADDRESS, "country": None}, {"segment": "smb"}),
    ]
    with Session(old) as session:
        for payload in payloads:
            row = mapping.customer_row(payload)
            session.execute(
                text(
                    "INSERT INTO customer (id, created, currency, deleted, livemode, raw) "
                    "VALUES (:id, :created, :currency, false, false, :raw)"
                ),
                row,
            )
        session.commit()
    old.dispose()
    engine = open_database(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, address_country, metadata FROM customer ORDER BY id")
            ).all()
        expected = [
            (row["id"], row["address_country"], row["metadata"])
            for row in map(mapping.customer_row, payloads)
        ]
        assert [tuple(r) for r in rows] == expected
        assert expected[0][1:] == ("FR", '{"company":"Knuth Labs","segment":"enterprise"}')
        assert expected[1][1:] == (None, None)
        assert expected[2][1:] == (None, '{"segment":"smb"}')
    finally:
        engine.dispose()


def test_profiles_give_countries_some_without_an_address_and_some_tags() -> None:
    """2,000 draws: about 6 % without an address, 40 % tagged, 3 smb to 1 enterprise."""
    draws = [plan_profile(random.Random(f"7:{i}:profile"), "usd") for i in range(2000)]
    countries = Counter(country for country, _ in draws)
    tags = Counter(meta.get("segment") for _, meta in draws)
    assert 60 <= countries[None] <= 180  # 2,000 × 6 % = 120
    assert countries["US"] > countries["CA"] > 0
    assert countries["AU"] > 0
    assert 650 <= tags["smb"] + tags["enterprise"] <= 950  # 2,000 × 40 % = 800
    assert tags["smb"] > 2 * tags["enterprise"]  # 600 to 200
    eur = {plan_profile(random.Random(f"7:{i}:profile"), "eur")[0] for i in range(300)}
    assert eur == {"DE", "FR", "NL", None}


def test_the_synced_customers_carry_country_and_metadata_to_the_metrics(tmp_path) -> None:
    """Through the simulator's HTTP API and a full sync: every customer the simulator serves has
    the country and metadata it was given, in the columns and in the records the metrics read."""
    account = small_account(customers=40, seed=7)
    engine = open_database(f"sqlite:///{tmp_path / 'sync.db'}")
    try:
        with SimulatorServer(account.snapshot()) as server, fast_client(server) as client:
            sync(engine, client, now=server.data.now, concurrency=2)
        served = {
            c["id"]: ((c.get("address") or {}).get("country"), c["metadata"])
            for c in account.customers.values()
        }
        with engine.connect() as connection:
            history = load(connection, None)
        got = {c.id: (c.country, dict(c.metadata)) for c in history.customers.values()}
        assert got == served
        assert any(country is None for country, _ in got.values())
        assert any("segment" in meta for _, meta in got.values())
        assert {country for country, _ in got.values()} >= {"US", None}
    finally:
        engine.dispose()


def test_inputs_read_the_nickname_and_the_customer_columns() -> None:
    history = inputs_from_rows(
        {
            "customer": [
                {"id": "cus_1", "created": 1, "address_country": "CA",
                 "metadata": '{"segment":"smb","company":"X"}'},
            ],
            "price": [
                {"id": "price_1", "currency": "usd", "type": "recurring", "unit_amount": 100,
                 "recurring_interval": "month", "recurring_interval_count": 1,
                 "product_id": "prod_1", "nickname": "Pro monthly"},
            ],
        }
    )  # fmt: skip
    customer = history.customers["cus_1"]
    assert (customer.country, customer.metadata) == ("CA", (("company", "X"), ("segment", "smb")))
    assert history.prices["price_1"].nickname == "Pro monthly"
