"""Source positions on demand.

Resolving libcst's `PositionProvider` for a whole module costs about twice
the parse itself (it regenerates the code of every node), and almost no
node the front-end looks at ends up in a finding. So the walker is handed
placeholder spans — unique per node, stable for the same node — and only
the spans of reported findings (and of atomic writers, which other files'
findings name) are resolved.

Resolving regenerates only the statement the node is in: a method of a
module-level class, else the module-level statement. The analysis says which
function it is interpreting (`within`), and CPython's parser said on which
line each statement starts (`StatementLines`). libcst gives a statement the
comment and blank lines before it (`leading_lines`), so its code starts that
many lines earlier; from there, generating its code alone (a method's with
its class body's indentation) gives the positions generating the whole
module would. A node whose statement is not known, or a module whose
statements do not match the lines given, is resolved over the whole module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from txlint.core.ftypes import Span


@dataclass(frozen=True)
class StatementLines:
    """Where the statements libcst reads start, decorators included: `module[i]` for
    `module.body[i]`, `members[i]` for the statements of the body of `module.body[i]` when it is
    a class."""

    module: tuple[int, ...] = ()
    members: dict[int, tuple[int, ...]] = field(default_factory=dict)


Place = tuple[int, int | None]  # a module-level statement's index, and a member's of its class body


class LazyPositions:
    """Placeholder spans for the nodes of one module, resolved when a finding needs them."""

    def __init__(self, module: cst.Module, lines: StatementLines | None = None) -> None:
        self._module = module
        self._nodes: list[cst.CSTNode] = []
        self._numbers: dict[int, int] = {}  # id(node) -> its number; `_nodes` keeps the nodes alive
        self._place_of: dict[int, Place] = {}  # a node's number -> the statement it is in
        self._lines = lines if lines is not None and len(lines.module) == len(module.body) else None
        self._within: Place | None = None
        self._index_of: dict[int, int] | None = None  # id(module-level statement) -> its index
        self._ranges: dict[cst.CSTNode, CodeRange] = {}
        self._generated: set[Place] = set()  # statements whose positions are in `_ranges`
        self._whole = False

    def within(self, statement: cst.BaseStatement | None, function: cst.FunctionDef | None = None) -> None:
        """The module-level statement the nodes handed out next are in, and the function in it
        being interpreted (None: not known)."""
        self._within = None
        if statement is None or self._lines is None:
            return
        if self._index_of is None:
            self._index_of = {id(s): i for i, s in enumerate(self._module.body)}
        index = self._index_of.get(id(statement))
        if index is None:
            return
        member = None
        members = self._lines.members.get(index)
        if function is not None and members is not None and isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            body = statement.body.body
            if len(body) == len(members):
                member = next((i for i, s in enumerate(body) if s is function), None)
        self._within = (index, member)

    def span(self, node: cst.CSTNode) -> Span:
        """A placeholder for `node`'s span: negative line numbers number the nodes."""
        number = self._numbers.get(id(node))
        if number is None:
            number = self._numbers[id(node)] = len(self._nodes)
            self._nodes.append(node)
            if self._within is not None:
                self._place_of[number] = self._within
        return Span(-(number + 1), 0, -(number + 1), 0)

    def resolve(self, span: Span) -> Span:
        """The real span behind a placeholder (a real span is returned unchanged)."""
        if span.line >= 0:
            return span
        number = -span.line - 1
        node = self._nodes[number]
        if node not in self._ranges:
            place = self._place_of.get(number)
            if place is None or not self._generate(place):
                self._generate_all()
        found = self._ranges.get(node)
        if found is None:
            return Span(1, 1, 1, 1)
        return Span(found.start.line, found.start.column + 1, found.end.line, found.end.column + 1)

    def _generate(self, place: Place) -> bool:
        """The positions of the nodes of one statement; False when they cannot be had alone."""
        if place in self._generated or self._whole:
            return True
        assert self._lines is not None
        index, member = place
        statement: cst.BaseStatement = self._module.body[index]
        indent: list[str] = []
        first = self._lines.module[index]
        if member is not None:
            block = cast(cst.IndentedBlock, cast(cst.ClassDef, statement).body)
            statement, first = block.body[member], self._lines.members[index][member]
            indent = [self._module.default_indent if block.indent is None else block.indent]
        provider = PositionProvider()
        state = PositionProvidingCodegenState(
            default_indent=self._module.default_indent,
            default_newline=self._module.default_newline,
            provider=provider,
            indent_tokens=indent,
            line=first - len(cast(cst.SimpleStatementLine | cst.BaseCompoundStatement, statement).leading_lines),
        )
        try:
            statement._codegen(state)
        except Exception:  # noqa: BLE001 - libcst's internals moved: the whole module's positions, as its API gives them
            return False
        self._ranges.update(cast(dict[cst.CSTNode, CodeRange], provider._computed))
        self._generated.add(place)
        return True

    def _generate_all(self) -> None:
        if not self._whole:
            self._ranges.update(MetadataWrapper(self._module, unsafe_skip_copy=True).resolve(PositionProvider))
            self._whole = True
