"""The layout of shared/DESIGN.md, checked: which part of the package may import which.

The pipeline reads left to right (stripe_api → sync → store → metrics; report; services; the
commands on top), and two rules matter most: the metrics are pure (no database, no network, no
SMTP, no clock), and the simulator stands alone (it is a fake Stripe, so it must not share code
with what it tests). Imports are read from the source, function-level ones included.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "stripe_kpi"

#: Modules everything may use: settings, the error tree, logging, progress reporting, and
#: owner-only files.
BASE = {"config", "errors", "log", "progress", "private_files"}
#: What each part may import, besides itself and BASE (DESIGN.md's "may import" column).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "config": {"errors"},
    "log": set(),
    "progress": set(),
    "private_files": {"errors"},
    "metrics": {"errors"},
    "stripe_api": BASE,
    "sync": BASE | {"stripe_api", "store"},
    "store": BASE | {"metrics"},
    "report": BASE | {"metrics", "store"},
    # The dashboard reads the derived tables and writes money as the report does.
    "dashboard": BASE | {"metrics", "store", "report"},
    "services": BASE | {"stripe_api", "sync", "store", "metrics", "report", "dashboard"},
    "worker": BASE | {"services"},
    "demo": BASE | {"services", "simulator"},
    # doctor diagnoses the key and the database themselves, so it opens them directly.
    "doctor": BASE | {"services", "stripe_api", "store"},
    # The metrics' vocabulary (the movement types --type accepts), nothing else of metrics/.
    "cli": BASE | {"services", "worker", "demo", "doctor", "simulator", "metrics"},
    "simulator": set(),
}
#: Third-party and standard modules that do I/O or read the clock: never in metrics/.
IO_MODULES = {
    "sqlalchemy", "sqlmodel", "alembic", "psycopg", "stripe", "requests", "urllib3", "http",
    "urllib", "socket", "ssl", "smtplib", "email", "apscheduler", "filelock", "structlog",
    "rich", "typer", "matplotlib", "jinja2", "currencyconverter", "time", "subprocess",
}  # fmt: skip


def _part(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _graph() -> dict[str, dict[str, set[str]]]:
    """part → imported part → the files that import it."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for name in _imports(path):
            if name.startswith("stripe_kpi."):
                graph[_part(path)][name.split(".")[1]].add(str(path.relative_to(PACKAGE)))
    return graph


def test_every_part_of_the_package_is_in_the_layout() -> None:
    parts = {_part(p) for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert parts == set(ALLOWED)


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_the_layout_allows(part: str) -> None:
    imported = _graph()[part]
    forbidden = {
        other: sorted(files)
        for other, files in imported.items()
        if other != part and other not in ALLOWED[part]
    }
    assert forbidden == {}


def test_the_metrics_import_nothing_that_does_io_or_reads_the_clock() -> None:
    offending = {}
    for path in (PACKAGE / "metrics").rglob("*.py"):
        bad = {n for n in _imports(path) if n.split(".")[0] in IO_MODULES}
        if bad:
            offending[str(path.relative_to(PACKAGE))] = sorted(bad)
    assert offending == {}


def test_the_metrics_never_call_the_clock() -> None:
    """``datetime.now()``, ``date.today()``, ``time.time()``…: ``as_of`` comes in instead."""
    clock = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}
    calls = []
    for path in (PACKAGE / "metrics").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in clock:
                calls.append(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.attr}")
    assert calls == []


def test_the_cli_takes_only_the_vocabulary_from_the_metrics() -> None:
    names = {
        name
        for path in (PACKAGE / "cli").rglob("*.py")
        for name in _imports(path)
        if name.startswith("stripe_kpi.metrics")
    }
    assert names <= {"stripe_kpi.metrics.vocabulary"}


def test_importing_the_metrics_loads_no_io_module() -> None:
    """What ``python -c "import stripe_kpi.metrics"`` loads, in a fresh interpreter."""
    probe = (
        "import sys; before = set(sys.modules); import stripe_kpi.metrics; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    roots = {name.split(".")[0] for name in loaded}
    assert roots & (IO_MODULES - {"time"}) == set()
    assert {n for n in loaded if n.startswith("stripe_kpi.")} <= {
        n for n in loaded if n.startswith(("stripe_kpi.metrics", "stripe_kpi.errors"))
    }
