"""``stripe-kpi cohorts`` for three years, and what ``forecast`` and ``cmrr`` read, from the
stored tables of a large account.

    .venv/bin/python benchmarks/cohorts.py --reuse /tmp/m.db        # a metrics_recompute file

The derived tables are brought up to date first, at their own ``as_of`` (a database from before
``cohort_month`` and ``committed_change`` is rebuilt then: its time is printed apart). Then, in
this process, each repeat times what the commands do after that: ``cohort_month`` read from
three years before the last day and the ``--json`` document built and encoded (both metrics);
and the forecast's and CMRR's inputs (``daily_metrics`` from the first base month,
``committed_change``) read and the projection made. Target: < 1 s at 100,000 customers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _stored_tables import tables_current  # noqa: E402

from stripe_kpi.metrics.cohorts import cohorts_json  # noqa: E402
from stripe_kpi.metrics.forecast import first_day_read, forecast  # noqa: E402
from stripe_kpi.store.cohort_table import read_cohorts  # noqa: E402
from stripe_kpi.store.committed_table import read_committed  # noqa: E402
from stripe_kpi.store.engine import open_database  # noqa: E402
from stripe_kpi.store.readers import daily_ledger  # noqa: E402

CURRENCY, TZ = "usd", "UTC"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reuse", type=Path, help="a SQLite file (metrics_recompute --keep)")
    parser.add_argument("--database-url", help="or any database URL")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    engine = open_database(args.database_url or f"sqlite:///{args.reuse}")
    meta, seconds = tables_current(engine, currency=CURRENCY, tz=TZ)
    print(f"brought up to date: {seconds:.1f}s")
    last = date.fromisoformat(meta["last_day"])
    first = last.replace(year=last.year - 3, day=1)
    since = first_day_read(last)
    for _ in range(args.repeat):
        for metric in ("customers", "mrr"):
            t0 = time.monotonic()
            with engine.connect() as connection:
                found = read_cohorts(connection, first)
            text = json.dumps(cohorts_json(found, metric, currency=CURRENCY, tz=TZ, last=last))  # type: ignore[arg-type]
            cells = sum(len(c.months) for c in found)
            print(
                f"cohorts --metric {metric} from {first}: {len(found)} cohorts, {cells} cells, "
                f"{len(text):,} bytes of JSON: {time.monotonic() - t0:.3f}s"
            )
        t0 = time.monotonic()
        with engine.connect() as connection:
            ledger, committed = daily_ledger(connection, since), read_committed(connection)
        projected = forecast(ledger, last, committed, 3)
        print(
            f"forecast and CMRR inputs: {len(committed):,} commitments, next month "
            f"{float(projected.months[0].mrr_end) / 100:,.2f}: {time.monotonic() - t0:.3f}s"
        )


if __name__ == "__main__":
    main()
