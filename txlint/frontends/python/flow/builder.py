"""Builds the control-flow graph of one function from its libcst tree.

One pass over the statements in source order, with a stack of the regions
the current point is in: loops (targets of `break`/`continue`), `try`
statements (whose handlers catch what the body raises) and exit regions
(`finally` bodies and `with` exits, which run whenever their region is left,
whatever the way). A `return`, `raise`, `break` or `continue` leaves through
every exit region between it and where it goes; each such region records
the routes that pass through it and gets one edge per route out of its exit.

Code after a `return`, `raise`, `break` or `continue` in the same suite is
dead and is not part of the graph. Nested functions and classes are units
of their own: only their definition (a name bound) is a step here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst

from txlint.frontends.python.flow.cfg import (
    RAISE,
    RETURN,
    Block,
    Case,
    Catch,
    Define,
    Edge,
    EdgeKind,
    End,
    Enter,
    ForBind,
    ForIter,
    Graph,
    Jump,
    Leave,
    Raise,
    Return,
    Route,
    RouteKind,
    Simple,
    Subject,
    Test,
)
from txlint.frontends.python.flow.regions import ExitRegion, Loop, Regions, TryRegion, reverse_postorder


class GraphBuilder(Regions):
    """Builds one function's graph; `never_returns` and `suppresses` bring knowledge of names
    (`sys.exit`, a module function annotated `NoReturn`; `contextlib.suppress`), `catches_all`
    which handler types catch every exception raised on purpose, `catches_database` which may catch
    an error a database call raises."""

    def __init__(
        self,
        func: cst.FunctionDef,
        never_returns: Callable[[cst.Call], bool],
        suppresses: Callable[[cst.BaseExpression], bool],
        catches_all: Callable[[cst.BaseExpression], bool],
        catches_database: Callable[[cst.BaseExpression], bool] = lambda kind: True,
    ) -> None:
        super().__init__()
        self.func = func
        self.never_returns = never_returns
        self.suppresses = suppresses
        self.catches_all = catches_all
        self.catches_database = catches_database

    def build(self) -> Graph:
        body = self.func.body
        self._suite(body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ())
        if self.current is not None:
            self._add(End, _last_statement(self.func))
            self._leave(RETURN)
        for block, target in self.implicit:
            if block.steps:
                block.edges.append(Edge(target.id, EdgeKind.EXCEPTION))
        graph = Graph(self.func, self.blocks, self.return_exit.id, self.raise_exit.id, regions=self.regions)
        graph.order = reverse_postorder(graph)
        return graph

    # -- statements -----------------------------------------------------------------------------
    def _suite(self, statements: Sequence[cst.CSTNode]) -> None:
        for statement in statements:
            if self.current is None:
                return  # dead code: nothing reaches it
            self._statement(statement)

    def _body(self, suite: cst.BaseSuite) -> None:
        self._suite(suite.body if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ())

    def _statement(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                if self.current is None:
                    return
                self._small(small)
        elif isinstance(node, cst.BaseSmallStatement):  # in a one-line suite: `if x: return`
            self._small(node)
        elif isinstance(node, cst.If):
            self._if(node)
        elif isinstance(node, cst.While):
            self._while(node)
        elif isinstance(node, cst.For):
            self._for(node)
        elif isinstance(node, (cst.Try, cst.TryStar)):
            self._try(node)
        elif isinstance(node, cst.With):
            self._with(node)
        elif isinstance(node, cst.Match):
            self._match(node)
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            self._add(Define, node)

    def _small(self, node: cst.BaseSmallStatement) -> None:
        if isinstance(node, cst.Return):
            self._add(Return, node)
            self._leave(RETURN)
        elif isinstance(node, cst.Raise):
            self._add(Raise, node)
            self._leave(RAISE)
        elif isinstance(node, (cst.Break, cst.Continue)):
            self._jump(node)
        elif isinstance(node, cst.Assert):
            self._assert(node)
        elif isinstance(node, cst.Expr) and self._ends_path(node.value):
            self._add(Raise, node)
            self._leave(RAISE)
        else:
            self._add(Simple, node)

    def _ends_path(self, value: cst.BaseExpression) -> bool:
        call = _call_of(value)
        return call is not None and self.never_returns(call)

    def _jump(self, node: cst.Break | cst.Continue) -> None:
        loop = next((f for f in reversed(self.frames) if isinstance(f, Loop)), None)
        target = None if loop is None else loop.after if isinstance(node, cst.Break) else loop.head
        self._add(Jump, node, target=target.id if target is not None else -1)
        if target is None:
            self.current = None  # `break` outside a loop: a syntax error CPython reports
            return
        self._leave(Route(RouteKind.JUMP, target.id))

    def _assert(self, node: cst.Assert) -> None:
        self._add(Test, node.test, owner=node)
        branch = self.current
        assert branch is not None
        passed, failed = self._block("assert passed"), self._block("assert failed")
        branch.edges += [Edge(passed.id, EdgeKind.TRUE), Edge(failed.id, EdgeKind.FALSE)]
        self.current = failed
        self._add(Raise, node, explicit=False)
        self._leave(RAISE, explicit=False)
        self.current = passed

    def _if(self, node: cst.If) -> None:
        self._add(Test, node.test, owner=node)
        branch = self.current
        assert branch is not None
        then = self._block("then")
        branch.edges.append(Edge(then.id, EdgeKind.TRUE))
        self.current = then
        self._body(node.body)
        ends = [self.current]
        if node.orelse is not None:
            other = self._block("elif" if isinstance(node.orelse, cst.If) else "else")
            branch.edges.append(Edge(other.id, EdgeKind.FALSE))
            self.current = other
            if isinstance(node.orelse, cst.If):
                self._if(node.orelse)
            else:
                self._body(node.orelse.body)
            ends.append(self.current)
        after = self._block("after if")
        if node.orelse is None:
            branch.edges.append(Edge(after.id, EdgeKind.FALSE, skips=node))
        for end in ends:
            if end is not None:
                end.edges.append(Edge(after.id))
        reached = node.orelse is None or any(end is not None for end in ends)
        self.current = after if reached else None

    def _while(self, node: cst.While) -> None:
        head = self._start("while")
        self._add(Test, node.test, owner=node)
        body, after = self._block("while body"), self._block("after while")
        otherwise = self._block("while else") if node.orelse is not None else after
        head.edges += [Edge(body.id, EdgeKind.TRUE), Edge(otherwise.id, EdgeKind.FALSE)]
        self._loop(head, body, after, node.body)
        self._orelse(node.orelse, otherwise, after)

    def _for(self, node: cst.For) -> None:
        self._add(ForIter, node)
        head = self._start("for")
        body, after = self._block("for body"), self._block("after for")
        otherwise = self._block("for else") if node.orelse is not None else after
        head.edges += [Edge(body.id, EdgeKind.NEXT), Edge(otherwise.id, EdgeKind.DONE)]
        self.current = body
        self._add(ForBind, node)
        self._loop(head, body, after, node.body)
        self._orelse(node.orelse, otherwise, after)

    def _loop(self, head: Block, body: Block, after: Block, suite: cst.BaseSuite) -> None:
        self.frames.append(Loop(head, after))
        if self.current is not body:
            self.current = body
        self._body(suite)
        self._goto(head)
        self.frames.pop()

    def _orelse(self, orelse: cst.Else | None, otherwise: Block, after: Block) -> None:
        if orelse is not None:
            self.current = otherwise
            self._body(orelse.body)
            self._goto(after)
        self.current = after

    def _try(self, node: cst.Try | cst.TryStar) -> None:
        final: ExitRegion | None = None
        if node.finalbody is not None:
            entry = self._block("finally")
            final = ExitRegion(entry, entry)
            self.frames.append(final)
        guard: TryRegion | None = None
        if node.handlers:
            guard = TryRegion(self._block("dispatch"), any(self.catches_all(h.type) if h.type else True for h in node.handlers))
            self.frames.append(guard)
        start = self._start("try")
        handler_entry = guard.dispatch if guard is not None else final.entry if final is not None else None
        if handler_entry is not None:
            self.regions.append((start.id, handler_entry.id))
        self._body(node.body)
        if guard is not None:
            self.frames.pop()
        ends: list[Block | None] = []
        if node.orelse is not None:
            self._start("try else")
            self._body(node.orelse.body)
        ends.append(self.current)
        if guard is not None:
            for handler in node.handlers:
                block = self._block("except")
                guard.dispatch.edges.append(Edge(block.id, arrives=True, database=handler.type is None or self.catches_database(handler.type)))
                self.current = block
                self._add(Catch, handler)
                self._body(handler.body)
                if self.current is not None:  # the handler swallows the exception
                    self._start("handled", skips=handler)
                ends.append(self.current)
            if not guard.catch_all:
                target, _ = self._hop(RAISE, len(self.frames), guard.explicit)
                guard.dispatch.edges.append(Edge(target.id, escapes=not guard.explicit))
        if final is None:
            after = self._block("after try")
            self._join(ends, after)
            return
        self._join(ends, final.entry)
        self.frames.pop()
        self.current = final.entry
        assert node.finalbody is not None
        self._body(node.finalbody.body)
        end = self.current
        after = self._block("after try")
        if end is not None:
            self._route_out(final, end, len(self.frames), after)
        self.current = after if end is not None and any(e is not None for e in ends) else None

    def _with(self, node: cst.With) -> None:
        exits: list[tuple[int, ExitRegion]] = []
        for index, item in enumerate(node.items):
            self._add(Enter, node, item=index)
            frame = ExitRegion(self._block("with exit"), self._block("with error"), suppress=self.suppresses(item.item))
            self.frames.append(frame)
            exits.append((index, frame))
            start = self._start("with body")
            if frame.suppress:
                self.regions.append((start.id, frame.error.id))
        self._body(node.body)
        for index, frame in reversed(exits):
            self.frames.pop()
            normal = self.current is not None
            self._goto(frame.entry)
            self.steps += 1
            frame.entry.steps.append(Leave(node, self.steps, index, exception=False))
            after = self._block("after with")
            self._route_out(frame, frame.entry, len(self.frames), after)
            if frame.raised:
                self.steps += 1
                frame.error.steps.append(Leave(node, self.steps, index, exception=True))
                if frame.suppress:
                    frame.error.edges.append(Edge(after.id, arrives=True))
                else:
                    target, _ = self._hop(RAISE, len(self.frames), frame.raised_explicitly)
                    frame.error.edges.append(Edge(target.id, escapes=not frame.raised_explicitly))
            self.current = after if normal or (frame.raised and frame.suppress) else None

    def _match(self, node: cst.Match) -> None:
        self._add(Subject, node)
        after = self._block("after match")
        for case in node.cases:
            self._add(Case, case, subject=node)
            trying = self.current
            assert trying is not None
            matched, following = self._block("case"), self._block("next case")
            trying.edges += [Edge(matched.id, EdgeKind.TRUE), Edge(following.id, EdgeKind.FALSE)]
            self.current = matched
            if case.guard is not None:
                self._add(Test, case.guard, owner=case)
                body = self._block("case body")
                matched.edges += [Edge(body.id, EdgeKind.TRUE), Edge(following.id, EdgeKind.FALSE)]
                self.current = body
            self._body(case.body)
            self._goto(after)
            self.current = following
        self._goto(after)
        self.current = after


def _call_of(node: cst.BaseExpression) -> cst.Call | None:
    if isinstance(node, cst.Await):
        node = node.expression
    return node if isinstance(node, cst.Call) else None


def _last_statement(func: cst.FunctionDef) -> cst.CSTNode:
    body = func.body.body if isinstance(func.body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()
    return body[-1] if body else func
