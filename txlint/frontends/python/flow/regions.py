"""The regions a point of a function is in while its graph is built, and how paths leave them.

A loop is the target of `break` and `continue`; a `try` with handlers
catches what its body raises; an exit region (a `finally` body, or a `with`
item's exit) runs on every way out of the code it covers. A `return`,
`raise`, `break` or `continue` leaves through every exit region between it
and where it goes: each region records the routes that pass through it,
and when its exit code is built it gets one edge per route, each admitting
only the paths on that route.

`Regions` holds the blocks built so far and the stack of regions; the graph
builder (`builder.GraphBuilder`) adds the statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from txlint.frontends.python.flow.cfg import RAISE, Block, Edge, EdgeKind, Graph, Route, RouteKind, Step


@dataclass(eq=False)
class Loop:
    head: Block  # where `continue` goes
    after: Block  # where `break` goes


@dataclass(eq=False)
class TryRegion:
    dispatch: Block  # tries the handlers in turn
    catch_all: bool
    explicit: bool = False  # something raises on purpose into it


@dataclass(eq=False)
class ExitRegion:
    """A region whose exit code runs on every way out: a `finally` body, or a `with` item's exit."""

    entry: Block  # where paths leaving normally (and returns and jumps) go
    error: Block  # where exceptions go (the same block for `finally`)
    suppress: bool = False  # a `with` that may swallow the exception (`contextlib.suppress`)
    routes: list[Route] = field(default_factory=list)
    raised: bool = False  # some exception reaches it
    raised_explicitly: bool = False

    def record(self, route: Route, explicit: bool) -> None:
        if route.kind is RouteKind.RAISE:
            self.raised = True
            self.raised_explicitly = self.raised_explicitly or explicit
        elif route not in self.routes:
            self.routes.append(route)


Frame = Loop | TryRegion | ExitRegion


class Regions:
    """The blocks of one function built so far, the current block, and the regions around it."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.frames: list[Frame] = []
        self.implicit: list[tuple[Block, Block]] = []  # (block, where its exceptions go)
        self.regions: list[tuple[int, int]] = []
        self.steps = 0
        entry = self._block("entry")
        self.return_exit = self._block("return exit")
        self.raise_exit = self._block("raise exit")
        self.current: Block | None = entry


    # -- blocks, steps, edges -----------------------------------------------------------------
    def _block(self, label: str) -> Block:
        block = Block(len(self.blocks), label)
        self.blocks.append(block)
        if self._catching():
            self.implicit.append((block, self._raise_target(explicit=False)))
        return block

    def _add(self, kind: type[Step], node: cst.CSTNode, **fields: object) -> Step | None:
        if self.current is None:
            return None
        self.steps += 1
        step = kind(node=node, order=self.steps, **fields)
        self.current.steps.append(step)
        return step

    def _goto(self, target: Block, kind: EdgeKind = EdgeKind.NORMAL, skips: cst.CSTNode | None = None) -> None:
        if self.current is not None:
            self.current.edges.append(Edge(target.id, kind, skips=skips))

    def _start(self, label: str, skips: cst.CSTNode | None = None) -> Block:
        """A new block that the current one falls through to."""
        block = self._block(label)
        self._goto(block, skips=skips)
        self.current = block
        return block

    # -- regions and routes ---------------------------------------------------------------------
    def _catching(self) -> bool:
        """Whether an exception raised here may be caught in this function (then every block has an
        exception edge; otherwise only what raises on purpose leaves through one)."""
        return any(isinstance(f, TryRegion) or (isinstance(f, ExitRegion) and (f.entry is f.error or f.suppress)) for f in self.frames)

    def _raise_target(self, explicit: bool, below: int | None = None) -> Block:
        """Where an exception raised inside the first `below` frames goes, recording its route."""
        for frame in reversed(self.frames[:below]):
            if isinstance(frame, TryRegion):
                frame.explicit = frame.explicit or explicit
                return frame.dispatch
            if isinstance(frame, ExitRegion):
                frame.record(RAISE, explicit)
                return frame.error
        return self.raise_exit

    def _hop(self, route: Route, below: int, explicit: bool = True) -> tuple[Block, bool]:
        """The next block on `route` for a path leaving the first `below` frames, and whether it is the
        route's end (a jump arriving at its loop)."""
        if route.kind is RouteKind.RAISE:
            return self._raise_target(explicit, below), False
        for frame in reversed(self.frames[:below]):
            if isinstance(frame, Loop) and route.kind is RouteKind.JUMP and route.target in (frame.head.id, frame.after.id):
                return self.blocks[route.target], True
            if isinstance(frame, ExitRegion):
                frame.record(route, explicit)
                return frame.entry, False
        return (self.return_exit, False) if route.kind is RouteKind.RETURN else (self.blocks[route.target or 0], True)

    def _leave(self, route: Route, explicit: bool = True) -> None:
        """The current path leaves on `route`; nothing after it in this suite runs."""
        if self.current is None:
            return
        target, arrived = self._hop(route, len(self.frames), explicit)
        self.current.edges.append(Edge(target.id, arrives=arrived))
        self.current = None

    def _route_out(self, frame: ExitRegion, source: Block, below: int, after: Block | None) -> None:
        """The edges out of an exit region's code, one per route that passes through it."""
        if after is not None:
            source.edges.append(Edge(after.id, routed=True))
        for route in frame.routes:
            target, arrived = self._hop(route, below)
            source.edges.append(Edge(target.id, admits=route, routed=True, arrives=arrived))
        if frame.raised and frame.entry is frame.error:
            target, _ = self._hop(RAISE, below, frame.raised_explicitly)
            source.edges.append(Edge(target.id, admits=RAISE, routed=True, escapes=not frame.raised_explicitly))

    def _join(self, ends: list[Block | None], target: Block) -> None:
        for end in ends:
            if end is not None:
                end.edges.append(Edge(target.id))
        self.current = target if any(end is not None for end in ends) else None


def reverse_postorder(graph: Graph) -> list[int]:
    """The blocks reachable from the entry in reverse postorder, successors taken in reverse edge
    order: a block comes after every block that reaches it without a back edge, and a `then`
    before its `else` (edges are listed in source order)."""
    seen: set[int] = set()
    post: list[int] = []
    stack: list[tuple[int, list[int]]] = [(0, [e.target for e in graph.blocks[0].edges])]
    seen.add(0)
    while stack:
        block, pending = stack[-1]
        if pending:
            successor = pending.pop()
            if successor not in seen:
                seen.add(successor)
                stack.append((successor, [e.target for e in graph.blocks[successor].edges]))
            continue
        stack.pop()
        post.append(block)
    return post[::-1]
