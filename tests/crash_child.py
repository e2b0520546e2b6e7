"""``python -m tests.crash_child <stripe-kpi arguments>``: the command, killed by a real SIGKILL
just after one function returns (``CRASH_AT="module:function"``, its first call), with its
clock set to ``CRASH_NOW`` (ISO). The crash tests run it as a child process."""

from __future__ import annotations

import importlib
import os
import signal
import sys
from datetime import datetime
from typing import Any


def main() -> None:
    module_name, name = os.environ["CRASH_AT"].split(":")
    module = importlib.import_module(module_name)
    real = getattr(module, name)

    def dying(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(module, name, dying)
    import stripe_kpi.cli as cli

    now = datetime.fromisoformat(os.environ["CRASH_NOW"])
    cli._now = lambda: now  # type: ignore[assignment]
    sys.argv = ["stripe-kpi", *sys.argv[1:]]
    cli.app()


if __name__ == "__main__":
    main()
