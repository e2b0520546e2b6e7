"""`stripe-kpi simulate serve`: a synthetic account whose present is now, served on 127.0.0.1.

It lives in the CLI, not in ``stripe_kpi/simulator/``, because it speaks the CLI's language (a
Rich console, ``ConfigurationError``), and the simulator imports nothing of stripe_kpi but
itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console

from stripe_kpi.errors import ConfigurationError
from stripe_kpi.simulator.saas import synthetic_account
from stripe_kpi.simulator.server import DEFAULT_API_KEY, SimulatorServer, serve_forever


def serve_synthetic(
    now: datetime,
    *,
    port: int,
    seed: int,
    customers: int,
    months: int,
    console: Console,
    **options: Any,
) -> None:
    with console.status(f"generating {customers:,} customers over {months} months…"):
        data = synthetic_account(seed, customers, months, now).snapshot()

    def announce(server: SimulatorServer) -> None:
        counts = ", ".join(
            f"{data.count(kind):,} {kind}" for kind in ("customers", "subscriptions", "invoices")
        )
        console.print(f"serving a simulated Stripe account ({counts}) at {server.url}")
        console.print(f"STRIPE_API_BASE={server.url}")
        console.print(f"STRIPE_API_KEY={DEFAULT_API_KEY}")
        console.print("Ctrl-C to stop")

    try:
        serve_forever(data, port=port, on_ready=announce, **options)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror}): choose another --port"
        ) from None
