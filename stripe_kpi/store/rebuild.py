"""``stripe-kpi derive --full``: every derived table rebuilt from the raw rows, and what that
rebuild changed, for a founder who doubts a figure (or a table edited by hand, or restored from
an old backup).

The tables are first brought up to date as usual (what a sync left queued, a new day), then
read, rebuilt whole at the same ``as_of`` (:func:`.tables.recompute_derived_tables`, the
full sync's rebuild) and read again: so what differs is what was wrong, never a day that merely
passed. Rows are compared as multisets of their values (a surrogate ``id`` left out), each row
by a hash: a changed row counts once as rewritten and once as removed. On an account whose
tables were right the rebuild changes nothing and says so.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select

from stripe_kpi.errors import InputError
from stripe_kpi.log import get_logger
from stripe_kpi.store.current import bring_up_to_date
from stripe_kpi.store.models import table
from stripe_kpi.store.tables import read_meta, recompute_derived_tables

log = get_logger(__name__)

#: The derived tables a rebuild writes, in the order they are reported (those of them this
#: schema has: a table another part adds is compared once it is listed here).
DERIVED_TABLES = (
    "mrr_movement",
    "daily_metrics",
    "customer_result",
    "cohort_month",
    "committed_change",
    "segment_mrr",
    "customer_segment",
)

Step = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TableRepair:
    """One derived table after the rebuild: ``rows`` it holds, ``rewritten`` rows that were not
    there as the raw rows give them (missing, or wrong), ``removed`` rows that were there and
    should not have been (stale, or wrong)."""

    name: str
    rows: int
    rewritten: int
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.rewritten or self.removed)

    def describe(self) -> str:
        row = "row" if self.rewritten == 1 else "rows"
        return (
            f"{self.name}: {self.rewritten:,} {row} rewritten, {self.removed:,} removed "
            f"(now {self.rows:,})"
        )


@dataclass(frozen=True, slots=True)
class Rebuild:
    """What ``derive --full`` did: ``customers`` recomputed, ``movements`` and ``days``
    written, at ``as_of``, in ``seconds``; ``tables``: each derived table compared."""

    customers: int
    movements: int
    days: int
    as_of: datetime
    seconds: float
    tables: tuple[TableRepair, ...]

    @property
    def repaired(self) -> tuple[TableRepair, ...]:
        return tuple(t for t in self.tables if t.changed)

    def describe(self) -> list[str]:
        """What the command prints: one line of what was rebuilt, then one per table the
        rebuild changed, or that none needed it."""
        names = ", ".join(t.name for t in self.tables)
        lines = [
            f"rebuilt {names} from the raw rows as of "
            f"{self.as_of.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC: {self.customers:,} customers, "
            f"{self.movements:,} MRR movements, {self.days:,} days ({self.seconds:.1f}s)"
        ]
        if not self.repaired:
            lines.append("nothing to repair: every derived table already matched the raw rows")
        lines.extend(f"repaired {t.describe()}" for t in self.repaired)
        return lines


def rebuild_derived_tables(
    engine: Engine,
    *,
    currency: str,
    tz: str,
    as_of: datetime,
    step: Step | None = None,
) -> Rebuild:
    """Rebuild every derived table from the raw rows at ``as_of`` (or at the tables' own
    ``as_of`` when that is later: they never go back in time) and compare each with what it
    held. ``step`` hears each phase, for a progress display. Raises InputError on a database
    that holds no Stripe data."""
    say = step or (lambda _message: None)
    started = time.perf_counter()
    say("bringing the derived tables up to date")
    try:
        bring_up_to_date(engine, currency=currency, tz=tz, as_of=as_of)
    except InputError:
        raise
    except Exception as exc:  # a table broken past updating: the rebuild below replaces it
        log.warning("derive_update_failed", error=f"{exc.__class__.__name__}: {exc}")
    with engine.connect() as connection:
        meta = read_meta(connection)
        if meta is not None and meta.get("as_of", 0) > int(as_of.timestamp()):
            as_of = datetime.fromtimestamp(meta["as_of"], UTC)
        names = [n for n in DERIVED_TABLES if n in _schema_tables(connection)]
        say("reading the derived tables as they are")
        before = {name: _fingerprint(connection, name) for name in names}
    say("recomputing every customer from the raw rows")
    movements, days = recompute_derived_tables(engine, currency=currency, tz=tz, as_of=as_of)
    say("comparing the rebuilt tables with what they held")
    with engine.connect() as connection:
        after = {name: _fingerprint(connection, name) for name in names}
        customers = connection.execute(
            select(func.count()).select_from(table("customer_result"))
        ).scalar_one()
    repairs = tuple(
        TableRepair(
            name,
            rows=after[name].total(),
            rewritten=(after[name] - before[name]).total(),
            removed=(before[name] - after[name]).total(),
        )
        for name in names
    )
    rebuild = Rebuild(customers, movements, days, as_of, time.perf_counter() - started, repairs)
    log.info(
        "derived_tables_rebuilt",
        customers=customers,
        movements=movements,
        days=days,
        repaired={t.name: [t.rewritten, t.removed] for t in rebuild.repaired},
    )
    return rebuild


def _schema_tables(connection: Connection) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(connection).get_table_names())


def _fingerprint(connection: Connection, name: str) -> Counter[int]:
    """Each row of the table as a hash of its values (a surrogate ``id`` left out), counted:
    two fingerprints differ by exactly the rows that differ. Hashes, not rows, so a table of a
    few million rows costs a few hundred megabytes at most."""
    columns = [c for c in table(name).columns if not (c.primary_key and c.name == "id")]
    rows = connection.execute(select(*columns)).yield_per(50_000)
    return Counter(hash(tuple(row)) for row in rows)
