"""Fixture files in the corpus's format: every labelled function's codes, exactly.

`# expect: TX101, TX108` on a `def` line: those codes, and no other, must be
reported inside the function; `# expect: clean`: nothing may be.

The files directly under `fixtures/` are one project; each folder under it is a project of its
own (rooted there), so that its models, helpers and call sites are the only evidence it has.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from txlint.core.config import Config
from txlint.core.registry import all_rules
from txlint.engine.runner import Engine

FIXTURES = Path(__file__).parent / "fixtures"
LABEL = re.compile(r"#\s*expect:\s*(?P<codes>[A-Za-z0-9_, ]+)")


def labelled_functions(path: Path) -> list[tuple[str, int, int, set[str]]]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            match = LABEL.search(lines[node.lineno - 1])
            if match:
                codes = {c.strip().upper() for c in match["codes"].split(",") if c.strip()} - {"CLEAN"}
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                found.append((node.name, start, node.end_lineno or node.lineno, codes))
    return found


SQL_LABEL = re.compile(r"--\s*expect:\s*(?P<codes>[A-Za-z0-9_, ]+)")


def labelled_blocks(path: Path) -> list[tuple[str, int, int, set[str]]]:
    """SQL: blocks separated by blank lines whose first line is `-- expect: ...`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, start = [], None
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip() and start is None:
            start = number
        elif not line.strip() and start is not None:
            match = SQL_LABEL.search(lines[start - 1])
            if match:
                codes = {c.strip().upper() for c in match["codes"].split(",") if c.strip()} - {"CLEAN"}
                found.append((f"block@{start}", start, number - 1, codes))
            start = None
    return found


def projects() -> list[tuple[Path, list[Path]]]:
    """The fixture projects: the top folder's files, then each folder's files (at any depth)."""
    found = [(FIXTURES, sorted(p for p in FIXTURES.iterdir() if p.suffix in {".py", ".sql"}))]
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        found.append((folder, sorted(p for p in folder.rglob("*") if p.suffix in {".py", ".sql"})))
    return found


def cases() -> list[object]:
    return [
        pytest.param(path, name, start, end, codes, id=f"{path.relative_to(FIXTURES)}::{name}")
        for _, files in projects()
        for path in files
        for name, start, end, codes in (labelled_functions(path) if path.suffix == ".py" else labelled_blocks(path))
    ]


@pytest.fixture(scope="module")
def findings_by_file() -> dict[Path, list[tuple[str, int]]]:
    by_file: dict[Path, list[tuple[str, int]]] = {}
    for root, files in projects():
        # The fixtures live under `tests/`: rooted at their own folder, they are judged like application code.
        result = Engine(Config(root=root), frozenset(all_rules())).check_files(files, [str(f) for f in files])
        assert not result.notices, result.notices
        for finding in result.findings:
            by_file.setdefault(Path(finding.path), []).append((finding.code, finding.line))
    return by_file


@pytest.mark.parametrize(("path", "name", "start", "end", "codes"), cases())
def test_fixture_function(findings_by_file: dict[Path, list[tuple[str, int]]], path: Path, name: str, start: int, end: int, codes: set[str]) -> None:
    found = {code for code, line in findings_by_file.get(path, []) if start <= line <= end}
    assert found == codes
