"""Record the sync cassettes from the simulator: `python scripts/record_cassettes.py`.

Re-record after changing what the sync requests; the replay test fails on any request the
cassette does not hold. No key is ever written (see tests/cassette_support.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from tests.cassette_support import (
    CASSETTES,
    RECORDED_NOW,
    cassette_vcr,
)


def main() -> None:
    import tempfile
    from datetime import timedelta

    from stripe_kpi.simulator.saas import generate_account
    from stripe_kpi.simulator.server import SimulatorServer
    from stripe_kpi.store.engine import open_database
    from stripe_kpi.stripe_api import make_client
    from stripe_kpi.sync import sync

    account = generate_account(
        seed=21, customers=12, start=RECORDED_NOW - timedelta(days=300), end=RECORDED_NOW
    )
    CASSETTES.mkdir(exist_ok=True)
    (CASSETTES / "sync_full_then_incremental.yaml").unlink(missing_ok=True)  # "all" appends
    with SimulatorServer(account.snapshot()) as server, tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{tmp}/record.db")
        recorder = cassette_vcr(record=True, local_base=server.url)
        with (
            make_client(server.api_key, server.url) as client,
            recorder.use_cassette("sync_full_then_incremental.yaml"),
        ):
            sync(engine, client, now=int(RECORDED_NOW.timestamp()), concurrency=1)
            sync(engine, client, now=int(RECORDED_NOW.timestamp()), concurrency=1)
        engine.dispose()
    print(f"recorded into {CASSETTES}")


if __name__ == "__main__":
    main()
