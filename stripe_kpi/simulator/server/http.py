"""The socket side of the simulator: a threaded HTTP/1.1 server and its clean shutdown.

One thread per connection, so a request sleeping out its simulated latency never holds up the
others; HTTP/1.1 keep-alive, because the official client (``requests``) reuses connections and a
sync opens few of them; a listen backlog deep enough for a hundred clients connecting at once.
Stopping ends the connections still open (the clients' keep-alive sockets) so that every handler
thread can be joined: nothing outlives the server, and tests stay clean under ``-W error``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class HTTPReply:
    status: int
    headers: dict[str, str]
    body: bytes


#: (method, request target with query string, request headers) → reply
App = Callable[[str, str, Mapping[str, str]], HTTPReply]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-kpi-simulator"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        reply = self.server.app(self.command, self.path, self.headers)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the simulator prints nothing; callers count requests through the server."""


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # joined on close, see ``stop`` below
    block_on_close = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def end_open_connections(self) -> None:
        with self._open_lock:
            still_open = list(self._open)
        for conn in still_open:
            with suppress(OSError):  # already closed by its handler
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is not news; stay silent as Stripe would."""


def serve_in_thread(host: str, port: int, app: App) -> tuple[tuple[str, int], Callable[[], None]]:
    """Bind now (so the port is known), serve on a thread; return the address and a stopper."""
    server = _Server((host, port), app)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="stripe-simulator"
    )
    thread.daemon = True
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.end_open_connections()
        server.server_close()  # joins the handler threads
        thread.join()

    bound_host, bound_port = server.server_address[:2]
    return (str(bound_host), int(bound_port)), stop
