"""``metrics --segment plan`` for a year, read from the stored tables of a large account.

    .venv/bin/python benchmarks/segments.py --reuse /tmp/m.db            # a metrics_recompute file
    .venv/bin/python benchmarks/segments.py --reuse /tmp/m.db --kind country --repeat 5

The derived tables are brought up to date first (at their own ``as_of``: nothing to do when a
rebuild just wrote them), then, in this process, each repeat times what the command does after
that: ``segment_mrr`` read for the year (``store.segment_reads.read_segments``) and the document
built (``metrics.segment_report.segment_document``); then the JSON ``--json`` prints, timed
apart. Target: < 1 s at 100,000 customers.

What maintaining the segment tables adds to a full rebuild is measured with
``benchmarks/metrics_recompute.py --reuse`` on this branch against the same without them (the
rebuild's ``seconds``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _stored_tables import tables_current  # noqa: E402

from stripe_kpi.metrics.segment_report import segment_document  # noqa: E402
from stripe_kpi.store.engine import open_database  # noqa: E402
from stripe_kpi.store.segment_reads import read_segments  # noqa: E402

CURRENCY, TZ = "usd", "UTC"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reuse", type=Path, help="a SQLite file (metrics_recompute --keep)")
    parser.add_argument("--database-url", help="or any database URL")
    parser.add_argument("--kind", default="plan")
    parser.add_argument("--by", default="day", choices=("day", "month"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{args.reuse}"
    engine = open_database(url)
    meta, up_to_date = tables_current(engine, currency=CURRENCY, tz=TZ)
    last = date.fromisoformat(meta["last_day"])
    first = last - timedelta(days=364)
    timings = []
    for _ in range(args.repeat):
        t0 = time.monotonic()
        with engine.connect() as connection:
            segments = read_segments(connection, args.kind, first, last)
        document = segment_document(
            args.kind, segments, first, last, args.by, currency=CURRENCY, tz=TZ
        )
        timings.append(time.monotonic() - t0)
    t0 = time.monotonic()
    printed = orjson.dumps(document, option=orjson.OPT_INDENT_2)  # what --json prints
    encoding = time.monotonic() - t0
    engine.dispose()
    result = {
        "kind": args.kind,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "by": args.by,
        "segments": len(document["segments"]),
        "series_points": sum(len(s["series"]) for s in document["segments"]),
        "bring_up_to_date_seconds": round(up_to_date, 3),
        "read_and_build_seconds": [round(t, 3) for t in timings],
        "json_encoding_seconds": round(encoding, 3),
        "json_bytes": len(printed),
        "target_seconds": 1.0,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
