"""A Python file as fixers read it: libcst's tree, where each node is, its parents, what its imports bind.

Fixers find the code a finding points at by position (a finding's line and
column are where a node starts) and write their repair as text edits at the
positions of the nodes they replace, so the rest of the file is untouched.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, ParentNodeProvider, PositionProvider

from txlint.core.ftypes import Edit

# What a fixer may ask of the project: the declared fields of a model, by class name (empty: unknown).
FieldsOf = Callable[[str], frozenset[str]]


def _no_fields(model: str) -> frozenset[str]:
    return frozenset()


def _imports(tree: ast.Module) -> dict[str, str]:
    """What the module's top-level imports bind: `import a.b as c` -> c: a.b, `from a import b` -> b: a.b."""
    bound: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            for alias in statement.names:
                bound[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
    return bound


@dataclass
class Source:
    """A parsed file and where each of its nodes is."""

    module: cst.Module
    positions: dict[cst.CSTNode, CodeRange]
    parents: dict[cst.CSTNode, cst.CSTNode]
    imports: dict[str, str]  # a name the module binds by importing -> what it imports (`transaction` -> `django.db.transaction`)
    lines: list[str]
    fields_of: FieldsOf = field(default=_no_fields)

    @classmethod
    def parse(cls, text: str, fields_of: FieldsOf = _no_fields) -> Source | None:
        try:
            wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
            resolved = wrapper.resolve_many([PositionProvider, ParentNodeProvider])
            positions = cast("dict[cst.CSTNode, CodeRange]", dict(resolved[PositionProvider]))
            parents = cast("dict[cst.CSTNode, cst.CSTNode]", dict(resolved[ParentNodeProvider]))
            imports = _imports(ast.parse(text))
        except Exception:  # noqa: BLE001 - syntax errors and libcst's internal errors alike: no fix
            return None
        return cls(wrapper.module, positions, parents, imports, text.split("\n"), fields_of)

    def calls_at(self, line: int, column: int) -> list[cst.Call]:
        """The calls starting at (line, column), 1-based, outermost first."""
        found = [
            node
            for node, where in self.positions.items()
            if isinstance(node, cst.Call) and where.start.line == line and where.start.column == column - 1
        ]
        return sorted(found, key=lambda node: -self._length(node))

    def _length(self, node: cst.CSTNode) -> int:
        where = self.positions[node]
        return (where.end.line - where.start.line) * 100_000 + where.end.column - where.start.column

    def one_line(self, node: cst.CSTNode) -> bool:
        """Whether the node is on one line: its code can be written back without an indentation to keep."""
        where = self.positions[node]
        return where.start.line == where.end.line

    def replace(self, node: cst.CSTNode, new: cst.CSTNode) -> Edit:
        where = self.positions[node]
        return Edit(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1, self.module.code_for_node(new))

    def statement_of(self, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
        current: cst.CSTNode | None = node
        while current is not None and not isinstance(current, cst.SimpleStatementLine):
            current = self.parents.get(current)
        return current

    def holds(self, outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
        """Whether `inner` is `outer` or inside it."""
        current: cst.CSTNode | None = inner
        while current is not None:
            if current is outer:
                return True
            current = self.parents.get(current)
        return False

    def enclosing(self, node: cst.CSTNode, kind: type[cst.CSTNode]) -> cst.CSTNode | None:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, kind):
            current = self.parents.get(current)
        return current

    def named(self, node: cst.CSTNode, *qualified: str) -> bool:
        """Whether `node` (a name or `a.b.c`) refers to one of `qualified` through the module's imports
        (`transaction.atomic` after `from django.db import transaction`). Module-level imports only:
        a name rebound inside a function is not followed, and then no fix is offered."""
        parts: list[str] = []
        current: cst.CSTNode = node
        while isinstance(current, cst.Attribute):
            parts.insert(0, current.attr.value)
            current = current.value
        if not isinstance(current, cst.Name) or current.value not in self.imports:
            return False
        return ".".join([self.imports[current.value], *parts]) in qualified

    def remove_line(self, statement: cst.SimpleStatementLine) -> Edit | None:
        """Delete a statement on lines of its own (`pass` where it is its block's only statement);
        None when the line holds a comment, which the deletion would lose."""
        block = self.parents.get(statement)
        if not isinstance(block, (cst.IndentedBlock, cst.Module)) or statement.trailing_whitespace.comment is not None:
            return None
        where = self.positions[statement]
        if len(block.body) == 1 and isinstance(block, cst.IndentedBlock):
            indent = self.lines[where.start.line - 1][: where.start.column]
            return Edit(where.start.line, 1, where.end.line + 1, 1, f"{indent}pass\n")
        return Edit(where.start.line, 1, where.end.line + 1, 1, "")
