"""Source positions on demand.

Resolving libcst's `PositionProvider` for a whole module costs about twice
the parse itself (it regenerates the code of every node), and almost no
node the front-end looks at ends up in a finding. So the walker is handed
placeholder spans — unique per node, stable for the same node — and only
the spans of reported findings are resolved, with one position pass over
only the files that have findings.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from txlint.core.ftypes import Span


class LazyPositions:
    """Placeholder spans for the nodes of one module, resolved when a finding needs them."""

    def __init__(self, module: cst.Module) -> None:
        self._module = module
        self._nodes: list[cst.CSTNode] = []
        self._numbers: dict[int, int] = {}  # id(node) -> its number; `_nodes` keeps the nodes alive
        self._ranges: dict[cst.CSTNode, CodeRange] | None = None

    def span(self, node: cst.CSTNode) -> Span:
        """A placeholder for `node`'s span: negative line numbers number the nodes."""
        number = self._numbers.get(id(node))
        if number is None:
            number = self._numbers[id(node)] = len(self._nodes)
            self._nodes.append(node)
        return Span(-(number + 1), 0, -(number + 1), 0)

    def resolve(self, span: Span) -> Span:
        """The real span behind a placeholder (a real span is returned unchanged)."""
        if span.line >= 0:
            return span
        if self._ranges is None:
            self._ranges = dict(MetadataWrapper(self._module, unsafe_skip_copy=True).resolve(PositionProvider))
        found = self._ranges.get(self._nodes[-span.line - 1])
        if found is None:
            return Span(1, 1, 1, 1)
        return Span(found.start.line, found.start.column + 1, found.end.line, found.end.column + 1)
