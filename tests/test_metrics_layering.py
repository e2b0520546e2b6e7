"""DESIGN.md's first rule: nothing in ``metrics/`` does I/O or reads the clock.

The store, the sync, the Stripe client and the report may import the metrics layer, never the
other way round; a fresh interpreter that imports ``stripe_kpi.metrics`` must not load any of them,
nor a network or database library.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import stripe_kpi.metrics

METRICS = Path(stripe_kpi.metrics.__file__).parent
#: What an import of the metrics layer may pull in from the package itself.
ALLOWED_OWN = ("stripe_kpi", "stripe_kpi.errors", "stripe_kpi.metrics")
FORBIDDEN = ("smtplib", "socket", "sqlalchemy", "sqlmodel", "stripe", "requests", "apscheduler")
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def test_importing_the_metrics_layer_loads_no_io() -> None:
    code = "import sys, stripe_kpi.metrics; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    own = [m for m in loaded if m.startswith("stripe_kpi")]
    assert [
        m for m in own if m not in ALLOWED_OWN and not m.startswith("stripe_kpi.metrics.")
    ] == []
    assert [m for m in FORBIDDEN if m in loaded] == []


def test_the_metrics_layer_never_reads_the_clock() -> None:
    calls = []
    for path in sorted(METRICS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CLOCK_CALLS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"datetime", "date", "time"}
            ):
                calls.append(f"{path.name}:{node.lineno}")
    assert calls == []
