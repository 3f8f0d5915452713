"""Interprets one function over its control-flow graph and returns its `txlint.core.ir.Unit`.

The interpreter is one analysis for the solver (`flow.solver`): its state
(`state.State`) goes into a block, each step changes it (binding names,
evaluating expressions, which emits ops through the recognisers, opening
and leaving transactions), and leaves along each edge: a branch's two edges
know which way its test went (a lock whose take it tests is held on one of
them only), an exception edge carries the states of every point of its
block, edges out of `finally` and `with` exits let through only the paths on
the route they continue. Loops are interpreted until their states settle.

When every path is known, the exits are recorded (one `Exit` per `return`,
`raise` with a lock held, and the end, with the work still open and the
locks still held on the paths that reach it), and the facts that need all
paths are settled (`ops.OpTable`).
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from txlint.core.ir import (
    Commit,
    Condition,
    Exit,
    Insert,
    Op,
    Read,
    Rollback,
    RowOrigin,
    RowRef,
    Unit,
    Write,
)
from txlint.frontends.python.flow.cfg import (
    RAISE,
    RETURN,
    Block,
    Case,
    Catch,
    EdgeKind,
    End,
    Enter,
    ForBind,
    ForIter,
    Jump,
    Leave,
    Raise,
    Return,
    Route,
    RouteKind,
    Simple,
    Step,
    Subject,
    Test,
)
from txlint.frontends.python.flow.dominance import control_dependences
from txlint.frontends.python.flow.solver import Solution, solve
from txlint.frontends.python.imports import dotted_name
from txlint.frontends.python.interpret.branches import Branches, deps_of
from txlint.frontends.python.interpret.context import FileContext
from txlint.frontends.python.interpret.graphs import function_graph
from txlint.frontends.python.interpret.paths import (
    Leaving,
    Paths,
    PathState,
    first_open,
    held_on,
    leave,
    raising,
    released,
    skipping,
    through,
)
from txlint.frontends.python.interpret.state import Binding, State, TxKind
from txlint.frontends.python.interpret.values import UNKNOWN, Data, Handle, ModelClass, Pair, Parameter, Query, Row, Rows, Session, Value


class FunctionInterpreter(Branches):
    """Abstract interpretation of one function, emitting IR ops."""

    def __init__(self, file: FileContext, func: cst.FunctionDef, class_name: str | None) -> None:
        super().__init__(file, func, class_name, function_graph(file, func))
        self.decided: list[tuple[int, bool | None]] = []  # locks the current block's test decides
        self.tested: list[tuple[str, bool]] = []
        self.counted: tuple[frozenset[int], bool] | None = None

    def run(self) -> Unit:
        solution = solve(self.graph, self, self._initial())
        self._exits(solution)
        self._settle(solution)
        self.unit.ops = self.table.ops
        return self.unit

    # -- the solver's protocol ------------------------------------------------------------------
    def transfer(self, block: Block, state: State) -> Sequence[State | None]:
        self.decided, self.tested, self.counted = [], [], None
        if not block.steps:  # a join point, a loop head, a region's exit: nothing but the paths changes
            self.state = state
            return self._leave(block, state, state, [state.paths])
        self.state = state.copy()
        boundaries = [self.state.paths]
        before_database: set[int] = set()  # boundaries right before a step that is only a database call
        for step in block.steps:
            self.site = step.order
            self.table.start_step(id(step), block.id)
            self.let_go_in_step = set()
            emitted = len(self.table.ops)
            self._step(step, block)
            if self.let_go_in_step:
                # A release that raises has let the lock go all the same: it was no longer the
                # caller's (redis-py's `LockNotOwnedError`), or nothing is left to do but wait for
                # its TTL. An exception from this step leaves without it.
                boundaries[-1] = released(boundaries[-1], self.let_go_in_step)
            if isinstance(step, Leave) and step.exception:
                boundaries, before_database = [], set()  # the exception in flight left on the route out; one raised now comes after the exit ran
            elif _database_call(step, self.table.ops[emitted:]):
                before_database.add(len(boundaries) - 1)
            boundaries.append(self.state.paths)
        return self._leave(block, state, self.state, boundaries, before_database)

    def _leave(self, block: Block, start: State, end: State, boundaries: list[Paths], before_database: set[int] | None = None) -> list[State | None]:
        """The states along each edge out of `block`: an exception edge carries the paths of every
        point of the block, a branch's edges what its test decided, a route's edges the paths on it."""
        raised: State | None = None
        outs: list[State | None] = []
        for edge in block.edges:
            source = end
            if edge.kind is EdgeKind.EXCEPTION:
                if raised is None:
                    raised = start.join(end) if end is not start else start.with_paths(start.paths)
                    database = before_database or set()
                    raised.paths = raising(frozenset().union(*(b for i, b in enumerate(boundaries) if i not in database)))
                    raised.paths |= raising(frozenset().union(*(boundaries[i] for i in database)), database=True)
                source = raised
            paths = source.paths
            if edge.kind in (EdgeKind.TRUE, EdgeKind.FALSE) and (self.decided or self.tested or self.counted):
                paths = self._assume(paths, edge.kind is EdgeKind.TRUE)
            paths = through(paths, edge)
            if edge.skips is not None:
                paths = skipping(paths, self.span(edge.skips))
            outs.append(_along(source, paths))
        return outs

    def join(self, left: State, right: State) -> State:
        return left.join(right)

    def same(self, left: State, right: State) -> bool:
        return left.same(right)

    # -- the start ------------------------------------------------------------------------------
    def _initial(self) -> State:
        self._bind_parameters()
        for decorator in self.func.decorators:
            scope = self._opens_transaction(decorator.decorator)
            if scope is not None:
                self.open_transaction(self.func, scope.database, TxKind.BLOCK, scope.flushes)
        if self.file.config.atomic_requests:
            self.open_transaction(self.func, None, TxKind.BLOCK)  # the request's own transaction (ATOMIC_REQUESTS)
        return self.state

    def _bind_parameters(self) -> None:
        params = list(self.func.params.posonly_params) + list(self.func.params.params) + list(self.func.params.kwonly_params)
        for index, param in enumerate(params):
            name = param.name.value
            if index == 0 and self.class_name is not None and name in {"self", "cls"}:
                is_model = self.file.index.is_model(self.class_name)
                value: Value = UNKNOWN
                if is_model:  # `self` is a row of the model; `cls` of a classmethod is the model (`select(cls)`)
                    value = Row(RowRef(RowOrigin.PARAMETER, None, name), self.class_name) if name == "self" else ModelClass(self.class_name)
                if value is UNKNOWN and name == "self":  # the instance of a library's class (a model's manager)
                    value = next((v for r in self.file.recognisers if (v := r.parameter(self, param)) is not None), UNKNOWN)
            else:
                value = next((v for r in self.file.recognisers if (v := r.parameter(self, param)) is not None), UNKNOWN)
                if value is UNKNOWN:
                    model = annotated_model(self.file, param.annotation.annotation) if param.annotation else None
                    value = Row(RowRef(RowOrigin.PARAMETER, None, name), model) if model else Parameter(name)
            self.state.env[name] = Binding(value, 0)

    # -- steps ----------------------------------------------------------------------------------
    def _step(self, step: Step, block: Block) -> None:
        if isinstance(step, Simple):
            self._simple(step.node)
        elif isinstance(step, Test):
            condition = self._condition(step.node)
            if not isinstance(step.owner, cst.Assert):  # an assert states an expectation; it guards nothing
                self.conditions[block.id] = condition
            self.decided = self._decided(step.node, condition)
            self._tested(step.node)
        elif isinstance(step, Case):
            self._case(step, block)
        elif isinstance(step, Subject):
            self.state.elements[id(step.node)] = self.eval(step.node.subject)
        elif isinstance(step, ForIter):
            self._for_iter(step.node)
        elif isinstance(step, ForBind):
            element = self.state.elements.get(id(step.node), UNKNOWN)
            if isinstance(element, Row) and element.ref.origin is RowOrigin.READ and element.ref.read is not None:
                self._fresh_rows(element.ref.read)  # each round binds another instance
            self._bind(step.node.target, element)
        elif isinstance(step, Enter):
            self._enter(step.node, step.item)
        elif isinstance(step, Leave):
            self.leave_transaction(step.node.items[step.item].item, step.exception)
        elif isinstance(step, Catch):
            if step.node.name is not None:
                self._bind(step.node.name.name, UNKNOWN)
        elif isinstance(step, (Return, End)):
            self._return(step)
        elif isinstance(step, Raise):
            self._raise(step)
        elif isinstance(step, Jump) and step.target >= 0:
            self.state.paths = leave(self.state.paths, Leaving(Route(RouteKind.JUMP, step.target)))

    def _simple(self, node: cst.BaseSmallStatement) -> None:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            if self.imports is self.file.imports:
                self.imports = self.imports.copy()
            self.imports.add(node)
        elif isinstance(node, cst.Expr):
            inner = node.value.expression if isinstance(node.value, cst.Await) else node.value
            if isinstance(inner, cst.Call):
                self.discarded.add(id(inner))
            value = self.eval(node.value)
            if isinstance(value, Query) and value.lock is not None and not self._refines_held_query(inner):
                self.emit(Read(value.span, self.tx, value.table, lock=value.lock, evaluated=False))
        elif isinstance(node, cst.Assign):
            value = self.eval(node.value)
            for target in node.targets:
                self.assign(target.target, value, node.value, node)
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            self.assign(node.target, self.eval(node.value), node.value, node)
        elif isinstance(node, cst.AugAssign):
            self.aug_assign(node)
        elif isinstance(node, cst.Del):
            deleted = [e.value for e in node.target.elements] if isinstance(node.target, cst.Tuple) else [node.target]
            for item in deleted:
                if isinstance(item, cst.Subscript):  # `del obj.data[key]`
                    self._set_item(item, Data(), node)

    def _refines_held_query(self, expr: cst.BaseExpression) -> bool:
        """`qs.prefetch_related(...)` as a statement, where `qs` holds a locking query: the refinement
        is thrown away, and the query the variable holds is what runs (or not: judged where it is)."""
        while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            expr = expr.func.value
        if not isinstance(expr, cst.Name):
            return False
        held = self.lookup(expr.value)
        return isinstance(held, Query) and held.lock is not None

    def _for_iter(self, node: cst.For) -> None:
        source = self.eval(node.iter)
        name = node.target.value if isinstance(node.target, cst.Name) else None
        element: Value = UNKNOWN
        if isinstance(source, Query):
            read = self.evaluate_query(source, node.iter, name)
            element = self.row_from_read(read, source.table, name or "")
        elif isinstance(source, Rows):
            element = self.element_of(source, name or "")
        elif isinstance(source, Data):
            element = source
        self.state.elements[id(node)] = element

    def _enter(self, node: cst.With, index: int) -> None:
        item = node.items[index]
        scope = self._opens_transaction(item.item)
        if scope is not None:
            self.open_transaction(item.item, scope.database, TxKind.BLOCK, scope.flushes)
            if item.asname is not None and scope.handle is not None:
                self._bind(item.asname.name, scope.handle)  # `with engine.begin() as conn:`
            return
        value = self.eval(item.item)
        if isinstance(value, Session) and value.orm:
            self.closing.add(id(item.item))  # `with SessionLocal() as s:` closes the session when the block ends
        if item.asname is not None:
            self._bind(item.asname.name, value)

    def _case(self, step: Case, block: Block) -> None:
        subject = self.state.elements.get(id(step.subject), UNKNOWN)
        self.conditions[block.id] = Condition(self.span(step.node.pattern), deps_of(subject))
        for name in _captures(step.node.pattern):
            self.state.env[name] = Binding(UNKNOWN, self.site)

    def _return(self, step: Return | End) -> None:
        hands_over = False
        if isinstance(step, Return) and step.node.value is not None:
            value = self.eval(step.node.value)
            self.returned.append(value)
            hands_over = _hands_over(value)
        leaving = Leaving(RETURN, self.span(step.node), end=isinstance(step, End), hands_over=hands_over, tx=self.tx, order=step.order)
        self.state.paths = leave(self.state.paths, leaving)

    def _raise(self, step: Raise) -> None:
        node = step.node
        if isinstance(node, cst.Raise) and node.exc is not None:
            self.eval(node.exc)
        elif isinstance(node, cst.Expr):
            self.eval(node.value)
        span = self.span(node) if step.explicit else None
        self.state.paths = leave(self.state.paths, Leaving(RAISE, span, tx=self.tx, order=step.order))

    # -- the end --------------------------------------------------------------------------------
    def _exits(self, solution: Solution[State]) -> None:
        """One `Exit` per way out of the function, with what the paths leaving there carry."""
        groups: dict[Leaving, list[PathState]] = {}
        for exit_block, kind in ((self.graph.return_exit, RouteKind.RETURN), (self.graph.raise_exit, RouteKind.RAISE)):
            state = solution.entries.get(exit_block)
            for path in state.paths if state is not None else ():
                if path.leaving is not None and path.leaving.route.kind is kind and path.leaving.span is not None:
                    groups.setdefault(path.leaving, []).append(path)
        for leaving, paths in sorted(groups.items(), key=lambda item: item[0].order):
            self._exit(leaving, paths)

    def _exit(self, leaving: Leaving, paths: list[PathState]) -> None:
        assert leaving.span is not None
        held = tuple(sorted(held_on(paths)))
        if leaving.route.kind is RouteKind.RAISE:
            if held:  # an exception raised while a lock is held leaves with it (for a transaction it would not)
                self.table.append(Exit(leaving.span, leaving.tx, kind="raise", held=held))
            return
        first = first_open(paths)
        opened = self.table.ops[first.open_since].span if first is not None and first.open_since is not None else None
        self.table.append(
            Exit(
                leaving.span,
                leaving.tx,
                kind="end" if leaving.end else "return",
                open_since=opened,
                site=first.site if first is not None else None,
                hands_over=leaving.hands_over,
                held=held,
            )
        )

    def _settle(self, solution: Solution[State]) -> None:
        if self.table.emitted_in_blocks():
            self.table.settle_conditions(control_dependences(self.graph), self.conditions)
        remaining: set[int] = set()
        for exit_block in (self.graph.return_exit, self.graph.raise_exit):
            state = solution.entries.get(exit_block)
            for indices in state.results.values() if state is not None else ():
                remaining |= indices
        self.table.settle_results((self.bound_results | self.lost_results | remaining) - self.checked)
        self.table.never_run(query for span, query in self.lazy.items() if span not in self.lazy_used)


def _database_call(step: Step, ops: Sequence[Op]) -> bool:
    """A statement that is one call of a library's database method with plain arguments
    (`db.session.commit()`, `session.add(order)`, `cur.execute(sql, params)`), which emitted its op: what
    it can raise is the database's error."""
    if not (isinstance(step, Simple) and isinstance(step.node, cst.Expr) and any(isinstance(op, (Commit, Write, Insert, Read, Rollback)) for op in ops)):
        return False
    call = step.node.value.expression if isinstance(step.node.value, cst.Await) else step.node.value
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and all(isinstance(a.value, _PLAIN) for a in call.args)


_PLAIN = (cst.Name, cst.Attribute, cst.SimpleString, cst.Integer, cst.Float)


def _along(state: State, paths: Paths) -> State | None:
    """The state going along an edge that lets `paths` through (None: no path goes that way)."""
    if not paths:
        return None
    return state if paths is state.paths else state.with_paths(paths)


def _hands_over(value: Value) -> bool:
    """Returning a session/connection (also inside a tuple) passes its transaction to the caller."""
    if isinstance(value, Pair):
        return any(isinstance(item, Handle) for item in value.items)
    return isinstance(value, Handle)


def annotated_model(file: FileContext, annotation: cst.BaseExpression) -> str | None:
    """The model class an annotation names: `Account`, `"Account"`, `Account | None`,
    `Optional["Account"]`, `"Topic | None"` (one model and nothing but None beside it)."""
    if isinstance(annotation, cst.SimpleString):
        written = annotation.evaluated_value
        try:
            annotation = cst.parse_expression(written if isinstance(written, str) else "")
        except cst.ParserSyntaxError:
            return None
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        sides = [s for s in (annotation.left, annotation.right) if not (isinstance(s, cst.Name) and s.value == "None")]
        return annotated_model(file, sides[0]) if len(sides) == 1 else None
    if isinstance(annotation, cst.Subscript) and (dotted_name(annotation.value) or "").rsplit(".", 1)[-1] == "Optional" and len(annotation.slice) == 1:
        inner = annotation.slice[0].slice
        return annotated_model(file, inner.value) if isinstance(inner, cst.Index) else None
    return file.class_name(annotation)


def _captures(pattern: cst.CSTNode) -> list[str]:
    """The names a `case` pattern binds."""
    found = []
    stack = [pattern]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.MatchAs, cst.MatchStar)) and node.name is not None:
            found.append(node.name.value)
        elif isinstance(node, cst.MatchMapping) and node.rest is not None:
            found.append(node.rest.value)
        stack.extend(node.children)
    return found
