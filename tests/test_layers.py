"""The layers of the package, as the folders show them, and what each may use.

    txlint.core       the IR and the rule API (what rules read)
    txlint.sql        SQL text to facts and IR; the only user of sqlglot
    txlint.frontends  Python and SQL files to IR
    txlint.project    settings files, the files of a project, its root and cache folder
    txlint.engine     the run: shards, workers, the result cache
    txlint.runtime    the runtime hook and its sources (and the Python front-end, to read the source of a write)
    txlint.cli        the command line and CI-gate features: the only layer that prints

A layer imports only from the layers listed for it (imports inside functions
count too); rules import only the IR and rule API.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED: dict[str, set[str]] = {
    "core": {"core", "rules"},  # the registry finds the rules by importing them
    "sql": {"core", "sql"},
    "frontends": {"core", "sql", "frontends"},
    "project": {"core", "sql", "project"},
    "engine": {"core", "sql", "frontends", "project", "engine", "fixes", "rules"},  # the result cache digests the rules' code; a finding gets its fix where it is judged
    "runtime": {"core", "sql", "frontends", "project", "runtime"},  # the source of a write a trace saw says what it computed
    "fixes": {"core", "fixes"},  # libcst edits of the code a finding points at; no rule, no engine
    "cli": {"core", "sql", "frontends", "project", "engine", "fixes", "cli", "server", "runtime"},  # `txlint server` starts the server; `txlint trace` replays logs through the runtime's analyser
    "server": {"core", "project", "engine", "fixes", "cli", "server"},  # an editor's ignore action writes what --add-ignore writes
}
MAX_LINES = 600


def modules() -> list[Path]:
    return sorted([*(ROOT / "txlint").rglob("*.py"), *(ROOT / "rules").glob("*.py")])


def layer_of(path: Path) -> str:
    relative = path.relative_to(ROOT).parts
    if relative[0] == "rules":
        return "rules"
    return relative[1].removesuffix(".py")


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def txlint_layers(names: set[str]) -> set[str]:
    return {name.split(".")[1] for name in names if name.startswith("txlint.") and name.count(".") >= 1}


@pytest.mark.parametrize("path", [p for p in modules() if layer_of(p) in ALLOWED], ids=lambda p: str(p.relative_to(ROOT)))
def test_a_layer_imports_only_the_layers_below_it(path: Path) -> None:
    layer = layer_of(path)
    used = txlint_layers(imported(path)) - {"__version__"}
    assert used <= ALLOWED[layer], f"{layer} may not import {sorted(used - ALLOWED[layer])}"


@pytest.mark.parametrize("path", sorted((ROOT / "rules").glob("*.py")), ids=lambda p: p.name)
def test_rules_import_only_the_ir_and_rule_api(path: Path) -> None:
    names = imported(path)
    assert txlint_layers(names) <= {"core"}
    assert not {n.split(".")[0] for n in names} & {"libcst", "sqlglot", "django", "sqlalchemy", "redis"}


def test_only_the_sql_package_imports_sqlglot() -> None:
    users = [p for p in modules() if any(n == "sqlglot" or n.startswith("sqlglot.") for n in imported(p))]
    assert users and all(p.relative_to(ROOT).parts[:2] == ("txlint", "sql") for p in users), users


def _prints(path: Path) -> list[int]:
    """Lines that write to the terminal: `print()`, `sys.stdout`/`sys.stderr`, `click.echo`."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print") or (isinstance(node, ast.Attribute) and node.attr in {"stdout", "stderr"} and isinstance(node.value, ast.Name) and node.value.id == "sys") or (isinstance(node, ast.Attribute) and node.attr in {"echo", "secho"} and isinstance(node.value, ast.Name) and node.value.id == "click"):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", [p for p in modules() if layer_of(p) != "cli"], ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_below_the_cli_prints(path: Path) -> None:
    assert _prints(path) == []


def test_the_checks_see_what_they_look_for() -> None:
    cli = ROOT / "txlint" / "cli" / "main.py"
    assert _prints(cli), "the CLI prints: the check must find that"
    assert "sql" in txlint_layers(imported(ROOT / "txlint" / "frontends" / "python" / "recognisers" / "sql_strings.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_too_long_to_read(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES
