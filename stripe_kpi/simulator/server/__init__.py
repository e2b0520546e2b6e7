"""A local HTTP server that speaks enough of the Stripe API for a read-only sync.

``SimulatorServer`` serves a ``StripeData`` (the simulated account) the way api.stripe.com would
serve a real one, so that the official ``stripe`` client, pointed at it with
``base_addresses={"api": server.url}``, works unchanged: Bearer or Basic authentication with test
keys, restricted keys with per-resource permissions, Stripe's error bodies, list paging with
cursors, ``created`` filters, ``expand[]`` (up to Stripe's four levels; the fields Stripe leaves
out unless expanded, such as a price's ``tiers``, are left out here too), the optional keys
Stripe leaves out when unset (absent, not ``null``: ``objects/omitted.py``), invoice lines and
subscription items beyond the ten embedded ones (``/v1/invoices/{id}/lines``,
``/v1/subscription_items``), the Events API. For reliability tests and benchmarks it can add
latency, a rate limit, random 429s, 500s and malformed bodies, from a seeded random generator so
a test sees the same faults every run.

It speaks one API version: the one the installed ``stripe`` package pins. A request's
``Stripe-Version`` header is accepted whatever it says and every response names the pinned
version in its own ``Stripe-Version`` header: the objects come from the billing engine in that
shape and are never converted.

The server is read-only: any method other than GET is refused with 405.

Modules: ``simulator_server`` (``SimulatorServer``, ``serve_forever``), ``api`` (request → reply:
authentication, knobs, routing), ``http`` (the sockets), ``lists`` (ordering and paging),
``params`` (what a list request may say), ``filters`` (per-endpoint filters), ``expand``
(``expand[]``), ``errors`` (Stripe's error bodies).
"""

from stripe_kpi.simulator.server.api import API_VERSION, PERMISSIONS, Knobs
from stripe_kpi.simulator.server.simulator_server import (
    DEFAULT_API_KEY,
    DEFAULT_PORT,
    SimulatorServer,
    serve_forever,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_API_KEY",
    "DEFAULT_PORT",
    "PERMISSIONS",
    "Knobs",
    "SimulatorServer",
    "serve_forever",
]
