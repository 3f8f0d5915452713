"""A graph as text, one line per block: what snapshot tests compare and a reader can check by eye.

    B3 then: Simple `x = 1`; Return `return x` -> B1
    B4 else: ... -> B6 [false]

Steps show the first line of their code; edges show their kind, the route
they admit and whether the route ends there.
"""

from __future__ import annotations

import libcst as cst

from txlint.frontends.python.flow.cfg import Edge, EdgeKind, Graph, Leave, Step

_EMPTY = cst.Module(body=[])
_WIDTH = 40


def render(graph: Graph) -> str:
    """Every block reachable from the entry, in the order analyses visit them."""
    lines = []
    for block_id in graph.order:
        block = graph.blocks[block_id]
        steps = "; ".join(_step(step) for step in block.steps)
        edges = ", ".join(_edge(edge) for edge in block.edges)
        lines.append(f"B{block.id} {block.label}: {steps or '-'}" + (f" -> {edges}" if edges else ""))
    return "\n".join(lines) + "\n"


def _step(step: Step) -> str:
    name = type(step).__name__
    if isinstance(step, Leave):
        return f"{name}{'!' if step.exception else ''}#{step.item}"
    node = step.node
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and name != "Define":
        return name
    text = _EMPTY.code_for_node(node).strip().splitlines()[0] if not isinstance(node, cst.With) else "with"
    if len(text) > _WIDTH:
        text = text[: _WIDTH - 3] + "..."
    return f"{name} `{text}`"


def _edge(edge: Edge) -> str:
    marks = []
    if edge.kind is not EdgeKind.NORMAL:
        marks.append(edge.kind.value)
    if edge.admits is not None:
        marks.append(f"on {edge.admits}")
    elif edge.routed:
        marks.append("on none")
    if edge.arrives:
        marks.append("arrives")
    if edge.escapes:
        marks.append("escapes")
    if edge.skips is not None:
        marks.append("skips")
    return f"B{edge.target}" + (f" [{', '.join(marks)}]" if marks else "")
