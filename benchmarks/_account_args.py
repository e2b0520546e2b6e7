"""The command-line arguments that choose a benchmark's account, for the benchmarks that share
one (``_account_db.py``): apart from it, so a measuring subprocess that parses them does not
import the simulator."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_account_arguments(
    parser: argparse.ArgumentParser,
    *,
    customers: int,
    chunk: int,
    reuse_help: str = "a file metrics_recompute.py --keep wrote",
) -> None:
    parser.add_argument("--customers", type=int, default=customers)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=chunk)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="another database (default: SQLite in a temp dir)")
    parser.add_argument("--reuse", type=Path, help=reuse_help)


def account_url(args: argparse.Namespace, default: Path) -> str:
    """The database to use: the ``--reuse`` file, else ``--database-url``, else SQLite at
    ``default``."""
    if args.reuse:
        return f"sqlite:///{args.reuse.resolve()}"
    return args.database_url or f"sqlite:///{default}"
