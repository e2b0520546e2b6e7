"""Shared fixtures: a fresh database on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
from hypothesis import settings
from sqlalchemy import Engine

from stripe_kpi.store.engine import open_database
from tests.pg_cluster import PgCluster, find_pg_bin, start_cluster
from tests.smtp_support import inbox  # noqa: F401  (the fixture, for every test module)

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    if find_pg_bin() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: install postgresql")
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL to an empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'stripe_kpi.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"t{next(_db_counter)}")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database, disposed after the test."""
    eng = open_database(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'stripe_kpi.db'}"


# Property tests draw the same examples on every run (``derandomize``), so CI's verdict on a
# commit is that commit's, not the luck of the draw. To explore new examples, run with
# HYPOTHESIS_PROFILE=explore (random draws, more of them): a failure found that way is a bug to
# fix, and its script worth a named test.
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
