"""A forward data-flow solver over a `cfg.Graph`, for any analysis.

The analysis says what a block does to a state (one out-state per edge,
None where nothing flows) and how states meet (`join`); the solver keeps the
state at each block's entry, visits blocks in reverse postorder (so a block
is first visited after all blocks that reach it without a back edge, which
for structured code is source order) and visits a block again whenever its
entry state grows, until nothing changes: loops reach a fixpoint.

A block is visited at most `MAX_VISITS` times; a loop whose states keep
growing past that (a value rebuilt from itself, `x = (x, 1)`) keeps what it
has reached. Real loops settle in two or three rounds.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from txlint.frontends.python.flow.cfg import Block, Graph

MAX_VISITS = 24

S = TypeVar("S")


class Analysis(Protocol[S]):
    """What one analysis does at blocks and where paths meet."""

    def transfer(self, block: Block, state: S) -> Sequence[S | None]:
        """The states leaving `block` along each of its edges, in edge order."""
        ...

    def join(self, left: S, right: S) -> S:
        """The state where paths in `left` and `right` meet."""
        ...

    def same(self, left: S, right: S) -> bool:
        """Whether two states are equal (the fixpoint is reached)."""
        ...


class Solution(Generic[S]):
    """The state at the entry of every block some path reaches."""

    def __init__(self, entries: dict[int, S], visits: dict[int, int]) -> None:
        self.entries = entries
        self.visits = visits

    def reached(self, block: int) -> bool:
        return block in self.entries


def solve(graph: Graph, analysis: Analysis[S], initial: S) -> Solution[S]:
    """Run `analysis` from `initial` at the entry until the states settle."""
    rank = {block: position for position, block in enumerate(graph.order)}
    entries: dict[int, S] = {graph.entry.id: initial}
    visits: dict[int, int] = {}
    queue: list[tuple[int, int]] = [(rank[graph.entry.id], graph.entry.id)]
    queued = {graph.entry.id}
    while queue:
        _, block_id = heapq.heappop(queue)
        queued.discard(block_id)
        visits[block_id] = visits.get(block_id, 0) + 1
        block = graph.blocks[block_id]
        outs = analysis.transfer(block, entries[block_id])
        for edge, out in zip(block.edges, outs, strict=True):
            if out is None:
                continue
            target = edge.target
            before = entries.get(target)
            after = out if before is None else analysis.join(before, out)
            if before is not None and analysis.same(before, after):
                continue
            entries[target] = after
            if target not in queued and visits.get(target, 0) < MAX_VISITS and target in rank:
                heapq.heappush(queue, (rank[target], target))
                queued.add(target)
    return Solution(entries, visits)
