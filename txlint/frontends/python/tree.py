"""Walking libcst trees fast: a node's parts without `node.children`.

libcst computes `children` by running a visitor over the node, which made it
the most expensive call of the interpreter; the dataclass fields give the same
parts, in source order, for a fraction of the cost. Whitespace and punctuation
are skipped: nothing here looks at them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator

import libcst as cst

# Nodes whose fields are declared in another order than their parts appear in the source.
_SOURCE_ORDER: dict[type[cst.CSTNode], tuple[str, ...]] = {cst.IfExp: ("body", "test", "orelse"), cst.Arg: ("keyword", "value")}
_SKIPPED = (cst.BaseParenthesizableWhitespace, cst.LeftParen, cst.RightParen, cst.Comma, cst.Dot, cst.Colon)


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The parts of `node` in source order (whitespace and punctuation skipped)."""
    for name in _SOURCE_ORDER.get(type(node)) or _field_names(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            if not isinstance(value, _SKIPPED):
                yield value
        elif isinstance(value, (tuple, list)):
            for item in value:
                if isinstance(item, cst.CSTNode) and not isinstance(item, _SKIPPED):
                    yield item


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under `node` (not itself), depth first."""
    stack = list(children(node))
    stack.reverse()
    while stack:
        current = stack.pop()
        yield current
        parts = list(children(current))
        parts.reverse()
        stack.extend(parts)


@functools.cache
def _field_names(kind: type[cst.CSTNode]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind) if f.name not in {"lpar", "rpar"})
