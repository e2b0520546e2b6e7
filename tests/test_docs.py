"""The docs cannot drift: every command has help and a row in the README, the README's two
first commands are the ones CI runs, and the code is ruff-clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stripe_kpi.cli import app

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(name, command) for every leaf command; groups are what have ``commands``."""
    found = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            found += _commands(command, f"{full} ")
        else:
            found.append((full, command))
    return found


COMMANDS = _commands(typer.main.get_command(app))  # type: ignore[arg-type]


def test_there_are_commands() -> None:
    assert {"doctor", "simulate serve"} <= {name for name, _ in COMMANDS}


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_has_help_and_a_readme_row(name: str, command: Any) -> None:
    assert command.help, f"`stripe-kpi {name}` has no help text"
    result = CliRunner().invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert f"| `stripe-kpi {name}" in README, f"`stripe-kpi {name}` is not in the README table"


def test_readme_first_screen_has_the_two_commands_and_ci_runs_the_second() -> None:
    first_screen = "\n".join(README.splitlines()[:25])
    blocks = re.findall(r"```sh\n(.+?)\n```", first_screen)
    assert len(blocks) == 2
    demo, tests = blocks
    assert demo.endswith("stripe-kpi demo")
    assert tests.endswith("pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run(
        [ruff, "check", "--quiet", str(ROOT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
