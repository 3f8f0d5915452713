"""Which branches decide whether a block runs: control dependence over the graph.

Block Y depends on the branch at block X when one edge out of X leads to Y
on every path (Y post-dominates that edge's target) and another edge may
avoid it (Y does not post-dominate X). The code after `if c: return` depends
on `c`, the code after a plain `if c: ...` does not. Dependence is followed
transitively, so a block inside two nested `if`s depends on both tests.

Two kinds of dependence are followed through but not reported: on a block
that decides only by raising (a handler depends on the `try` body that may
raise, and through it on the tests around the `try`, but not on a test in
the body), and on a test later in a loop's body (it decides whether the
next round runs, not this one).

Exceptions that nobody raises on purpose are seen once per region: a
handler depends on the `try` statement having started (so on the tests
around it), not on each block of the body that might raise (nor on the
tests inside the body). Edges marked `escapes` (such exceptions, that no
handler is known to catch) are left out: otherwise every call in a `try`
would make the code after it depend on nothing before it.
"""

from __future__ import annotations

from txlint.frontends.python.flow.cfg import EdgeKind, Graph

_EXIT = -1


Polarity = bool | None  # the way the branch went for the block to run: its test true, false, or not told


def control_dependences(graph: Graph) -> dict[int, tuple[tuple[int, Polarity], ...]]:
    """For every reachable block, the branches that decide whether it runs, transitively, in
    visiting order, each with the way it went: blocks whose TRUE/FALSE (or NEXT/DONE) edges choose
    between running it and not."""
    successors = _successors(graph)
    deciding = _deciding_edges(graph)
    nodes = [*graph.order, _EXIT]
    bit = {node: 1 << position for position, node in enumerate(nodes)}
    everything = (1 << len(nodes)) - 1
    reaching = _reaching_exit(successors, nodes)
    pdom = {node: (bit[node] if node == _EXIT else everything) for node in nodes}
    changed = True
    while changed:
        changed = False
        for node in reversed(graph.order):
            if node not in reaching:
                continue
            meet = everything
            for successor in successors[node]:
                if successor in reaching:
                    meet &= pdom[successor]
            value = bit[node] | meet
            if value != pdom[node]:
                pdom[node], changed = value, True
    ipdom = {node: _immediate(node, pdom, nodes, bit) for node in nodes if node in reaching and node != _EXIT}
    rank = {node: position for position, node in enumerate(graph.order)}
    direct: dict[int, dict[int, tuple[bool, Polarity]]] = {node: {} for node in graph.order}  # node -> {branch: (decides, way)}
    for source in graph.order:
        if source not in reaching:
            continue
        for target in successors[source]:
            if target not in reaching or target == _EXIT or pdom[source] & bit[target]:
                continue
            way = deciding.get((source, target))
            decides = (source, target) in deciding
            runner: int | None = target
            while runner is not None and runner != ipdom.get(source) and runner != _EXIT:
                if rank[source] < rank[runner]:
                    before = direct[runner].get(source)
                    if before is None:
                        direct[runner][source] = (decides, way)
                    else:  # reached from both ways (or from an edge that tells none): not one way
                        direct[runner][source] = (before[0] or decides, before[1] if before[1] == way else None)
                runner = ipdom.get(runner)
    return {node: tuple(sorted(_closure(node, direct).items(), key=lambda item: rank[item[0]])) for node in graph.order}


_WAYS: dict[EdgeKind, bool] = {EdgeKind.TRUE: True, EdgeKind.NEXT: True, EdgeKind.FALSE: False, EdgeKind.DONE: False}


def _deciding_edges(graph: Graph) -> dict[tuple[int, int], Polarity]:
    """The edges that decide, with the way each goes (an edge that both branches take tells none)."""
    found: dict[tuple[int, int], Polarity] = {}
    for node in graph.order:
        for edge in graph.blocks[node].edges:
            way = _WAYS.get(edge.kind)
            if way is None:
                continue
            key = (node, edge.target)
            found[key] = way if key not in found or found[key] == way else None
    return found


def _successors(graph: Graph) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    exits = {graph.return_exit, graph.raise_exit}
    for node in graph.order:
        block = graph.blocks[node]
        found[node] = [_EXIT] if node in exits else [e.target for e in block.edges if not e.escapes and e.kind is not EdgeKind.EXCEPTION]
    for start, handler in graph.regions:
        if start in found and handler in graph.order:
            found[start].append(handler)
    found[_EXIT] = []
    return found


def _reaching_exit(successors: dict[int, list[int]], nodes: list[int]) -> set[int]:
    predecessors: dict[int, list[int]] = {node: [] for node in nodes}
    for node, targets in successors.items():
        for target in targets:
            if target in predecessors:
                predecessors[target].append(node)
    found, stack = {_EXIT}, [_EXIT]
    while stack:
        for node in predecessors[stack.pop()]:
            if node not in found:
                found.add(node)
                stack.append(node)
    return found


def _immediate(node: int, pdom: dict[int, int], nodes: list[int], bit: dict[int, int]) -> int | None:
    """The closest strict post-dominator: the one post-dominated by all the others."""
    strict = pdom[node] & ~bit[node]
    best, best_size = None, -1
    for candidate in nodes:
        if strict & bit[candidate]:
            size = pdom[candidate].bit_count()
            if size > best_size:
                best, best_size = candidate, size
    return best


def _closure(node: int, direct: dict[int, dict[int, tuple[bool, Polarity]]]) -> dict[int, Polarity]:
    """The deciding branches `node` depends on, through any chain of dependences, with the way each
    went (for a branch reached through another, the way that one's block depends on it)."""
    found: dict[int, Polarity] = {}
    seen: set[int] = set()
    stack = [node]
    while stack:
        for source, (decides, way) in direct.get(stack.pop(), {}).items():
            if decides:
                found[source] = way if source not in found or found[source] == way else None
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return found
