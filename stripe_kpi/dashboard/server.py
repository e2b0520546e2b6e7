"""`stripe-kpi serve`: the dashboard's pages from a small local server, read-only.

- Every request reads the derived tables as they are at that moment (what the worker last
  wrote; the page is rebuilt whenever their record in ``sync_state`` changed), through a
  connection that cannot write: SQLite opened ``mode=ro``, PostgreSQL with
  ``default_transaction_read_only``. Nothing is derived on a request and no migration runs, so
  the server can sit beside a running worker and never takes a write lock.
- It listens on 127.0.0.1. Any other address (a LAN, a container's 0.0.0.0) needs
  ``STRIPE_KPI_DASHBOARD_TOKEN``: each request then carries it as ``Authorization: Bearer …``,
  or once as ``?token=…``, which sets an HttpOnly cookie and redirects to the bare address (so
  the token does not stay in the address bar or the history). Tokens are compared with
  ``hmac.compare_digest`` (constant time). Without it, 401.
- The page is built ahead: at start and within :data:`REFRESH_SECONDS` of each derive, by a
  thread of its own, so a request is answered from a page already built (a request that comes
  before it is ready waits for it: never a page older than the tables).
- Searches and customer histories come from ``/api/customers?q=`` and ``/api/customer?id=``
  (JSON), so the page served lists every customer, not the top few the static file holds.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from stripe_kpi.dashboard import data
from stripe_kpi.dashboard.document import dashboard_document
from stripe_kpi.dashboard.page import render_page
from stripe_kpi.errors import ConfigurationError, InputError, StorageError, StripeKpiError
from stripe_kpi.log import get_logger
from stripe_kpi.store.engine import storage_message
from stripe_kpi.store.tables import read_meta

log = get_logger("stripe_kpi.dashboard.server")

#: Addresses that only this machine reaches: no token needed there.
#: How often the server looks whether a derive wrote the tables (and builds the page if so).
REFRESH_SECONDS = 5.0
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
COOKIE = "stripe_kpi_token"
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def read_only_engine(url: str) -> Engine:
    """An engine on the founder's database that cannot write to it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("uri") == "true":
            raise ConfigurationError("stripe-kpi serve needs DATABASE_URL to name a database file")
        path = Path(database).expanduser().resolve()
        if not path.is_file():
            raise StorageError(f"{path} does not exist: run stripe-kpi sync first")
        return create_engine(
            f"sqlite:///file:{path}?mode=ro&uri=true", connect_args={"timeout": 10}
        )
    return create_engine(
        url, pool_pre_ping=True, connect_args={"options": "-c default_transaction_read_only=on"}
    )


class DashboardServer:
    """The server, not yet started: :meth:`serve_forever` runs it in the calling thread,
    ``with`` runs it in a thread of its own (tests, benchmarks) and stops it on leaving."""

    def __init__(
        self,
        *,
        database_url: str,
        currency: str,
        tz: str,
        clock: Callable[[], datetime],
        host: str = "127.0.0.1",
        port: int = 8050,
        token: str | None = None,
    ) -> None:
        if host not in LOCAL_HOSTS and not token:
            raise ConfigurationError(
                f"serve --host {host} would show your customers to anyone who reaches it: set "
                "STRIPE_KPI_DASHBOARD_TOKEN (16+ random characters), or serve on 127.0.0.1"
            )
        self.engine = read_only_engine(database_url)
        self._url = database_url
        self.currency, self.tz, self.clock, self.token = currency.lower(), tz, clock, token
        handler = type("Handler", (_Handler,), {"app": self})
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            self.engine.dispose()
            raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        #: (the tables' record, the page built from them): see :meth:`page`.
        self._cached: tuple[str, bytes] | None = None
        self._building = threading.Lock()
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"

    def serve_forever(self) -> None:
        self._start_refresher()
        try:
            self.httpd.serve_forever()
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join()
        self.httpd.server_close()
        self.engine.dispose()

    def __enter__(self) -> DashboardServer:
        self._start_refresher()
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        if self._thread is not None:
            self._thread.join()
        self.close()

    def _start_refresher(self, every: float = REFRESH_SECONDS) -> None:
        """A thread that builds the page ahead of the next request: at start, and whenever
        the tables' record changed since (checked every ``every`` seconds, one indexed read),
        so the request after a sync is answered from a page already built."""

        def refresh() -> None:
            while not self._stop.is_set():
                try:
                    self.page()
                except StripeKpiError as exc:  # no tables yet, a locked file: the next turn
                    log.debug("dashboard_refresh_failed", error=exc.message)
                self._stop.wait(every)

        self._refresher = threading.Thread(target=refresh, name="dashboard-refresh", daemon=True)
        self._refresher.start()

    # -- what a request reads ---------------------------------------------------------------

    def _read(self, work: Callable[[Any], Any]) -> Any:
        try:
            with self.engine.connect() as connection:
                return work(connection)
        except SQLAlchemyError as exc:
            raise StorageError(storage_message(self._url, exc)) from None

    def page(self) -> bytes:
        """The page of the tables as they are now. Every writer of the derived tables writes
        their record in ``sync_state`` in the same transaction (``store.tables.write_meta``, a
        new ``generation`` each time), so a request that finds the record unchanged since the
        page was built gets the same page without reading the rest again (at 100,000 customers
        the reads take most of a second); a changed record, or one that changed while the page
        was built, means a new page."""
        return self._read(self._page)

    def _page(self, connection: Any) -> bytes:
        before = read_meta(connection)
        key = json.dumps(before, sort_keys=True)
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1]
        with self._building:  # one build at a time; a request waiting for it gets its page
            cached = self._cached
            if cached is not None and cached[0] == key:
                return cached[1]
            document = dashboard_document(
                connection, currency=self.currency, tz=self.tz, generated_at=self.clock(),
                live=True,
            )  # fmt: skip
            html = render_page(document).encode()
            if read_meta(connection) == before:
                self._cached = (key, html)
        return html

    def _last(self, connection: Any) -> Any:
        span = data.stored_span(connection)
        if span is None:
            raise InputError("the derived tables are empty: run stripe-kpi sync first")
        return span.last

    def search(self, text: str) -> list[dict[str, Any]]:
        return self._read(
            lambda c: (
                data.search_customers(c, text, self._last(c), self.currency)
                if text
                else data.customers_block(c, self._last(c), self.currency, limit=data.SEARCH_LIMIT)[
                    "list"
                ]
            )
        )

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        return self._read(lambda c: data.one_customer(c, customer_id, self._last(c), self.currency))

    def authorized(self, header: str | None, cookie: str | None, query: str | None) -> bool:
        if not self.token:
            return True
        expected = self.token.encode()
        offered = [
            header.removeprefix("Bearer ").strip()
            if header and header.startswith("Bearer ")
            else None,
            cookie,
            query,
        ]
        # Every candidate is compared, each in constant time.
        matches = [hmac.compare_digest(o.encode(), expected) for o in offered if o is not None]
        return any(matches)


class _Handler(BaseHTTPRequestHandler):
    app: DashboardServer
    server_version = "stripe-kpi"
    sys_version = ""

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_POST(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, "text/plain", b"read-only\n", head=False)

    do_PUT = do_DELETE = do_PATCH = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("dashboard_request", line=format % args)

    def _answer(self, *, head: bool) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        offered = query.get("token", [None])[0]
        if not self.app.authorized(self.headers.get("Authorization"), self._cookie(), offered):
            self._send(
                HTTPStatus.UNAUTHORIZED,
                "text/plain",
                b"401: this dashboard needs its token (Authorization: Bearer ..., or ?token=...)\n",
                head=head,
                extra={"WWW-Authenticate": 'Bearer realm="stripe-kpi"'},
            )
            return
        if offered is not None and self.app.token:
            # Keep the token in an HttpOnly cookie, out of the address bar and the history.
            cookie = f"{COOKIE}={offered}; HttpOnly; SameSite=Strict; Path=/"
            self._send(
                HTTPStatus.SEE_OTHER,
                "text/plain",
                b"",
                head=head,
                extra={"Location": parts.path or "/", "Set-Cookie": cookie},
            )
            return
        try:
            self._route(parts.path, query, head=head)
        except StripeKpiError as exc:
            body = f"{exc.message}\n".encode()
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", body, head=head)
        except Exception as exc:  # one line in the log, never a traceback to the browser
            log.error("dashboard_failed", error=f"{exc.__class__.__name__}: {exc}")
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain", b"error\n", head=head)

    def _route(self, path: str, query: dict[str, list[str]], *, head: bool) -> None:
        if path in ("/", "/index.html"):
            html = self.app.page()
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", html, head=head)
        elif path == "/api/customers":
            found = self.app.search(query.get("q", [""])[0].strip()[:200])
            self._json(found, head=head)
        elif path == "/api/customer":
            customer = self.app.customer(query.get("id", [""])[0])
            if customer is None:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no such customer\n", head=head)
            else:
                self._json(customer, head=head)
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n", head=head)

    def _cookie(self) -> str | None:
        try:
            jar = SimpleCookie(self.headers.get("Cookie") or "")
        except CookieError:
            return None
        morsel = jar.get(COOKIE)
        return None if morsel is None else morsel.value

    def _json(self, value: Any, *, head: bool) -> None:
        body = json.dumps(value, ensure_ascii=False).encode()
        self._send(HTTPStatus.OK, "application/json", body, head=head)

    def _send(
        self,
        status: HTTPStatus,
        kind: str,
        body: bytes,
        *,
        head: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)
