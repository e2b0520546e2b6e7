"""What `stripe-kpi simulate serve` and `stripe-kpi demo` need from the simulator: a synthetic
account whose present is now, served on 127.0.0.1.

It lives outside ``stripe_kpi/simulator/`` because it speaks the CLI's language (a Rich console,
``ConfigurationError``), and the simulator imports nothing of stripe_kpi but itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from stripe_kpi.errors import ConfigurationError
from stripe_kpi.simulator.billing import BillingAccount
from stripe_kpi.simulator.saas import generate_account
from stripe_kpi.simulator.server import DEFAULT_API_KEY, SimulatorServer, serve_forever


def synthetic_account(
    seed: int, customers: int, months: int, now: datetime | None = None
) -> BillingAccount:
    """An account that ends *now* (whole seconds), so a sync with the real clock sees its events
    as recent, exactly as with a real Stripe account."""
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    return generate_account(
        seed=seed, customers=customers, start=end - timedelta(days=round(months * 30.44)), end=end
    )


def serve_synthetic(
    *,
    port: int,
    seed: int,
    customers: int,
    months: int,
    console: Console,
    **options: Any,
) -> None:
    with console.status(f"generating {customers:,} customers over {months} months…"):
        data = synthetic_account(seed, customers, months).snapshot()

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
