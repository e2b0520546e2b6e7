"""The database: engine, SQLite pragmas, and schema migrations.

SQLite is the embedded default: WAL so the report reads while the worker writes, a busy timeout so
two processes wait for each other instead of failing, foreign keys on (SQLite leaves them off).
PostgreSQL runs the same code given a ``postgresql+psycopg://`` URL. The schema is always brought to
the newest alembic revision on open, so an existing database upgrades in place.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel

from stripe_kpi.errors import StorageError
from stripe_kpi.private_files import create_owner_only

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "memory":  # in-memory databases cannot use WAL
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe under WAL, much faster commits
    finally:
        cursor.close()


def make_engine(url: str) -> Engine:
    """An engine with our pragmas; does not touch the schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        is_uri = parsed.query.get("uri") == "true"  # sqlite:///file:x.db?mode=ro&uri=true
        if database and database != ":memory:" and not is_uri:
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise StorageError(
                    f"DATABASE_URL points into {parent}, which does not exist: create the "
                    "folder or choose another path"
                )
            create_owner_only(Path(database).expanduser())  # customer data: 0600, not 0644
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def newest_file_revision() -> str:
    """The newest revision as its file names it (``NNNN_name.py`` holds revision ``NNNN_name``):
    read without importing alembic, which alone costs a read command about 0.15 s of its
    0.5 s budget. ``tests/test_storage.py`` checks it is alembic's own head."""
    return max(p.stem for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _stored_revision(engine: Engine) -> str | None:
    """The database's ``alembic_version``, read with one plain query (None: not there)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already: then one
    query, and alembic is not even imported)."""
    if _stored_revision(engine) == newest_file_revision():
        return
    from alembic import command
    from alembic.script import ScriptDirectory

    known = {revision.revision for revision in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    current = current_revision(engine)
    if current is not None and current not in known:
        raise StorageError(
            f"the database was written by a newer stripe_kpi (schema {current}): upgrade "
            "stripe_kpi, or point DATABASE_URL at another database"
        )
    if current != head_revision():
        command.upgrade(alembic_config(engine), "head")


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def open_database(url: str, *, migrate: bool = True) -> Engine:
    """Open (and by default migrate) the database, turning driver errors into one clear line."""
    engine = make_engine(url)
    try:
        if migrate:
            upgrade(engine)
        else:
            with engine.connect():
                pass
    except StorageError:
        engine.dispose()
        raise
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(storage_message(url, exc)) from None
    return engine


def storage_message(url: str, exc: BaseException) -> str:
    """One line for the usual database failures, saying what to do."""
    text = str(getattr(exc, "orig", exc)).lower()
    where = describe(url)
    if "locked" in text or "busy" in text:
        return f"{where} is locked by another process: wait for it to finish and run again"
    if "readonly" in text or "read-only" in text:
        return f"{where} is read-only: check the file's permissions"
    if "unable to open" in text:
        return f"cannot open {where}: check that the path exists and is writable"
    if "connection" in text or "could not connect" in text or "refused" in text:
        return f"cannot connect to {where}: is the database server running?"
    if "not a database" in text or "malformed" in text:
        return f"{where} is not a stripe_kpi database (or is corrupted): use another DATABASE_URL"
    return f"database error on {where}: {text.splitlines()[0] if text else exc.__class__.__name__}"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work commits together, or not at all; a database failure (locked,
    read-only, gone) becomes one ``StorageError`` line."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            url = engine.url.render_as_string(hide_password=False)
            raise StorageError(storage_message(url, exc)) from None
        except BaseException:
            session.rollback()
            raise


#: Child tables replaced whole when their parent is written: a row that Stripe no longer lists
#: (an item removed from a subscription, a line gone from a re-finalized draft) must disappear.
_CHILDREN = {
    "subscription": ("subscription_item", "subscription_id"),
    "invoice": ("invoice_line", "invoice_id"),
}


def upsert_rows(connection: Connection | Session, rows: dict[str, list[dict[str, Any]]]) -> int:
    """Insert or update rows by primary key, parents before children, in the caller's transaction.

    Idempotent: writing the same rows twice leaves the same database, which is what makes a sync
    killed at any instant safe to run again. Returns the number of rows written.
    """
    conn = connection.connection() if isinstance(connection, Session) else connection
    written = 0
    for name in sorted(rows, key=_table_order):
        batch = _dedupe(rows[name])
        if not batch:
            continue
        if name in _CHILDREN:
            _drop_stale_children(conn, name, batch, rows)
        sql, columns = _upsert_sql(conn.dialect.name, conn.dialect.paramstyle, name)
        try:  # mapping fills every column: pick them in C
            values = list(map(operator.itemgetter(*columns), batch))
        except KeyError:
            defaults = _defaults_of(name)
            values = [tuple(row.get(c, defaults.get(c)) for c in columns) for row in batch]
        # The driver's executemany with one prepared statement: SQLAlchemy's compiled
        # insert-many costs ten times more per row, and a backfill writes ~100 rows a page.
        conn.exec_driver_sql(sql, values)
        written += len(batch)
    if rows.get("pending_invoice_item") or rows.get("invoice_line"):
        _settle_pending_items(conn, rows)
    return written


def _settle_pending_items(conn: Connection, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Keep ``pending_invoice_item`` to the items no invoice has taken: a row written with its
    ``invoice`` (or deleted), or whose id a stored invoice line names, goes. Both ways, so the
    order in which the item and the invoice arrive (backfill pages, events) never matters."""
    tables = SQLModel.metadata.tables
    pending, lines = tables["pending_invoice_item"], tables["invoice_line"]
    taken = sorted(
        {r["invoice_item_id"] for r in rows.get("invoice_line", ()) if r.get("invoice_item_id")}
    )
    written = sorted({r["id"] for r in rows.get("pending_invoice_item", ())})
    for start in range(0, len(taken), 500):
        conn.execute(delete(pending).where(pending.c.id.in_(taken[start : start + 500])))
    for start in range(0, len(written), 500):
        chunk = written[start : start + 500]
        invoiced = select(lines.c.invoice_item_id).where(lines.c.invoice_item_id.in_(chunk))
        conn.execute(
            delete(pending).where(
                pending.c.id.in_(chunk),
                or_(
                    pending.c.invoice_id.is_not(None),
                    pending.c.deleted.is_(True),
                    pending.c.id.in_(invoiced),
                ),
            )
        )


@functools.cache
def _upsert_sql(dialect: str, paramstyle: str, name: str) -> tuple[str, tuple[str, ...]]:
    """``INSERT … ON CONFLICT (pk) DO UPDATE SET every other column``, SQLite and PostgreSQL
    alike, with the driver's own placeholders."""
    table = SQLModel.metadata.tables[name]
    columns = tuple(column.name for column in table.columns)
    keys = [column.name for column in table.primary_key.columns]
    quote = (
        sqlite.dialect().identifier_preparer.quote
        if dialect == "sqlite"
        else (postgresql.dialect().identifier_preparer.quote)
    )
    marker = "?" if paramstyle == "qmark" else "%s"
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in keys)
    sql = (
        f"INSERT INTO {quote(name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(marker for _ in columns)}) "
        f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {updates}"
    )
    return sql, columns


@functools.cache
def _defaults_of(name: str) -> dict[str, Any]:
    table = SQLModel.metadata.tables[name]
    return {
        c.name: c.default.arg
        for c in table.columns
        if c.default is not None and c.default.is_scalar
    }


def _table_order(name: str) -> int:
    from stripe_kpi.store.models import STRIPE_TABLES

    names = [model.__tablename__ for model in STRIPE_TABLES]
    return names.index(name) if name in names else len(names)


def _dedupe(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last row per id wins (an object can arrive twice in one batch, e.g. an expanded
    coupon on two subscriptions); PostgreSQL refuses one statement that updates a row twice."""
    if not batch or "id" not in batch[0]:
        return batch
    by_id = {row["id"]: row for row in batch}
    return list(by_id.values()) if len(by_id) != len(batch) else batch


def _drop_stale_children(
    conn: Connection, parent: str, parents: list[dict[str, Any]], rows: dict[str, list[dict]]
) -> None:
    child, foreign_key = _CHILDREN[parent]
    table = SQLModel.metadata.tables[child]
    keep = {row["id"] for row in rows.get(child, [])}
    parent_ids = [
        row["id"] for row in parents if parent != "invoice" or row.get("lines_complete", True)
    ]
    for start in range(0, len(parent_ids), 500):
        chunk = parent_ids[start : start + 500]
        stale = delete(table).where(table.c[foreign_key].in_(chunk))
        if keep:
            stale = stale.where(table.c.id.not_in(keep))
        conn.execute(stale)
