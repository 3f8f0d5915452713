"""Positions resolved one module-level statement at a time are the positions of the whole module."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from txlint.frontends import python as python_frontend
from txlint.frontends.python.positions import LazyPositions

REPO = Path(__file__).resolve().parent.parent

LAYOUTS = {
    "decorators and comments": (
        "# header\n\nimport os\n\n\n# about f\n@first  # one\n\n# between\n@second(\n    1,\n)\ndef f(a, b):\n"
        "    x = a; y = b\n    return (\n        x +\n        y\n    )\n    # trailing\n\n\nclass C(Base):\n"
        "    '''doc'''\n\n    @property\n    def g(self):\n        return self.x\n\n    z = 1\n"
    ),
    "simple statements sharing a line": "a = 1; b = 2\nc = 3\nif a:\n    def h():\n        return objects.get()\n",
    "windows line endings and tabs": "class K:\r\n\tdef m(self):\r\n\t\treturn 1\r\n\r\n\r\ndef n():\r\n\treturn [\r\n\t\t2]\r\n",
    "a backslash continuation": "x = 1 + \\\n    2\ndef f():\n    return x\n",
}


def _all_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(current.children)
    return found


def _compare(text: str) -> int:
    parsed = python_frontend.parse("example.py", text, ("get", "objects", "return"))
    if not isinstance(parsed, python_frontend.ParsedPython):
        return 0
    module = parsed.module
    whole = LazyPositions(module)
    targeted = parsed.positions
    pairs = []
    for statement in module.body:
        if isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            for member in statement.body.body:  # a method's nodes are resolved from the method alone
                targeted.within(statement, member if isinstance(member, cst.FunctionDef) else None)
                pairs += [(whole.span(node), targeted.span(node)) for node in _all_nodes(member)]
        targeted.within(statement)
        pairs += [(whole.span(node), targeted.span(node)) for node in _all_nodes(statement)]
    targeted.within(None)
    for expected, got in pairs:
        assert targeted.resolve(got) == whole.resolve(expected)
    assert not targeted._whole  # every node was resolved from its own statement
    return len(pairs)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_statement_alone_gives_the_positions_of_the_whole_module(layout: str) -> None:
    assert _compare(LAYOUTS[layout]) > 0


@pytest.mark.parametrize("path", sorted((REPO / "tests" / "fixtures").rglob("*.py")), ids=lambda p: p.name)
def test_the_fixtures_positions_are_the_same_either_way(path: Path) -> None:
    _compare(path.read_text())


def test_a_node_outside_any_known_statement_is_resolved_over_the_whole_module() -> None:
    text = "def f():\n    return Account.objects.get()\n"
    parsed = python_frontend.parse("example.py", text)
    assert isinstance(parsed, python_frontend.ParsedPython)
    node = parsed.module.body[0]
    assert isinstance(node, cst.FunctionDef)
    span = parsed.positions.resolve(parsed.positions.span(node.name))
    assert (span.line, span.column, span.end_column) == (1, 5, 6)
