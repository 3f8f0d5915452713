"""Shared fixtures: a throw-away project folder and two ways to run txlint on it.

`run_txlint` runs the click command in-process (fast, and an exception that
escapes the command fails the test with its traceback); `run_script` runs
the installed `txlint` console script as a subprocess, so the real entry
point is covered too. Both run in the project folder and return a `Run`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from txlint.cli.main import cli

# The lost update every test uses: TX101 on the `acct.save()` line (7, column 9),
# related to the unlocked `get` on line 5.
LOST_UPDATE = """\
from django.db import transaction

def withdraw(account_id, amount):
    with transaction.atomic():
        acct = Account.objects.get(pk=account_id)
        acct.balance -= amount
        acct.save()
"""
LOST_UPDATE_LINE = 7
LOST_UPDATE_COLUMN = 9
LOST_UPDATE_READ_LINE = 5

# The near miss: the same code with the row locked. No finding.
LOCKED_UPDATE = LOST_UPDATE.replace("Account.objects.get(", "Account.objects.select_for_update().get(")

# A file libcst cannot parse: TX000 on line 1.
BROKEN_PYTHON = "def withdraw(account_id, amount:\n    pass\n"

TXLINT_SCRIPT = Path(sys.executable).parent / "txlint"


@dataclass
class Run:
    """What one txlint invocation produced."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)

    def findings(self) -> list[tuple[str, str, int]]:
        """(code, path, line) of every finding; the run must have used `--format json`."""
        return [(f["code"], f["path"], f["line"]) for f in self.json()]

    def codes(self) -> list[str]:
        return [f["code"] for f in self.json()]


class Project:
    """A folder under tmp_path that is the working directory of the test."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str | bytes, content: str | bytes = LOST_UPDATE) -> Path:
        """Write a file (parents created); bytes are written as they are."""
        path = Path(os.fsdecode(os.path.join(os.fsencode(self.root), os.fsencode(relative))))
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def config(self, body: str, relative: str = "pyproject.toml") -> Path:
        """A `pyproject.toml` whose `[tool.txlint]` table is `body`."""
        return self.write(relative, "[tool.txlint]\n" + body)

    def mkdir(self, relative: str) -> Path:
        path = self.root / relative
        path.mkdir(parents=True, exist_ok=True)
        return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    # A CI runner's FORCE_COLOR (or a developer's NO_COLOR) must not colour the reports the tests read.
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return Project(root)


@pytest.fixture
def run_txlint(project: Project) -> Callable[..., Run]:
    """Run `txlint ARGS...` in-process with click's CliRunner, in the project folder."""

    def run(*args: str, input: str | bytes | None = None) -> Run:
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            # An exception escaping the command would be a traceback (or an
            # "internal error") for the user: fail with it.
            raise result.exception
        return Run(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def run_script(project: Project) -> Callable[..., Run]:
    """Run the installed `txlint` console script as a subprocess, in the project folder."""
    assert TXLINT_SCRIPT.exists(), f"console script not installed next to {sys.executable}"

    def run(*args: str, input: str | bytes | None = None, cwd: Path | None = None) -> Run:
        data = input.encode() if isinstance(input, str) else input
        completed = subprocess.run(
            [str(TXLINT_SCRIPT), *args],
            cwd=cwd or Path.cwd(),
            input=data if data is not None else b"",
            capture_output=True,
            timeout=300,
        )
        return Run(
            completed.returncode,
            completed.stdout.decode("utf-8", "replace"),
            completed.stderr.decode("utf-8", "replace"),
        )

    return run
