"""Walks one Python function in source order and turns it into a `txlint.core.ir.Unit`.

The walker knows Python (assignments, attribute mutation, loops, `with`,
data flow from one variable to the next); recognisers know libraries (what
`select_for_update()` or `transaction.atomic` mean). The walker asks each
recogniser in turn about calls, attributes and `with` items, and keeps the
abstract value of every local variable.

Data flow is intra-procedural and flow-insensitive across branches: both arms
of an `if` are walked one after the other, so a value bound in either arm is
known after it. That over-approximates reachability, which for the rules that
use it (a read feeding a write) errs on the side of the code as written.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import libcst as cst

from txlint.core.config import Config
from txlint.core.ftypes import Span
from txlint.core.index import ProjectIndex
from txlint.core.ir import (
    Assignment,
    Begin,
    Commit,
    Comparison,
    Condition,
    Delta,
    Dependency,
    Exit,
    Guard,
    Insert,
    Op,
    Read,
    ReadKind,
    Rollback,
    RowOrigin,
    RowRef,
    Transaction,
    Unit,
    Value,
    ValueKind,
    Write,
)
from txlint.frontends.python.imports import ImportTable, dotted_name
from txlint.frontends.python.literals import text_value
from txlint.frontends.python.paths import (
    PathTracker,
    States,
    held_on,
    holding,
    join,
    leaving_through,
)
from txlint.frontends.python.positions import LazyPositions
from txlint.frontends.python.values import (
    AbstractValue,
    Data,
    Handle,
    ModelClass,
    Pair,
    Parameter,
    Query,
    Record,
    Row,
    Rows,
)


class NotMine:
    """Returned by a recogniser that has nothing to say about a node."""


NOT_MINE = NotMine()


class Recogniser(Protocol):
    """Library knowledge plugged into the walker (one per library)."""

    def parameter(self, walker: FunctionWalker, param: cst.Param) -> AbstractValue | None | NotMine:
        """The value a parameter starts with, when this library can tell from its annotation or name."""
        ...

    def attribute(self, walker: FunctionWalker, node: cst.Attribute, base: AbstractValue | None) -> AbstractValue | None | NotMine: ...

    def attribute_assigned(self, walker: FunctionWalker, target: cst.Attribute, value: cst.BaseExpression) -> bool:
        """`owner.attr = value` that changes a library object's state (`conn.autocommit = True`)."""
        ...

    def call(
        self, walker: FunctionWalker, node: cst.Call, receiver: AbstractValue | None
    ) -> AbstractValue | None | NotMine: ...

    def opens_transaction(self, walker: FunctionWalker, expr: cst.BaseExpression) -> TxScope | None:
        """The transaction a `with` item or decorator opens, or None."""
        ...


@dataclass(frozen=True)
class TxScope:
    """A transaction opened by a `with` block or decorator, on one database (None: whatever the code uses)."""

    database: str | None = None
    handle: AbstractValue | None = None  # what `as name` binds, when the block yields a connection


@dataclass
class FileContext:
    """What every walker of one file shares."""

    path: str
    imports: ImportTable
    index: ProjectIndex
    config: Config
    positions: LazyPositions
    recognisers: Sequence[Recogniser] = ()
    constants: dict[str, str] = field(default_factory=dict)  # module-level `NAME = "text"` (SQL kept in constants)
    facts: dict[str, object] = field(default_factory=dict)  # module-level facts a recogniser gathered first, by recogniser

    def span(self, node: cst.CSTNode) -> Span:
        return self.positions.span(node)

    def class_name(self, node: cst.BaseExpression) -> str | None:
        """The model class `node` names, when the project index knows it as a model."""
        name = dotted_name(node)
        if name is None:
            return None
        simple = name.rsplit(".", 1)[-1]
        return simple if self.index.is_model(simple) else None


@dataclass
class _Pending:
    """Field changes made to an in-memory row and not yet saved."""

    assignments: dict[str, Assignment] = field(default_factory=dict)


class FunctionWalker:
    """Abstract interpretation of one function body, emitting IR ops."""

    def __init__(self, file: FileContext, func: cst.FunctionDef, class_name: str | None) -> None:
        self.file = file
        self.func = func
        self.unit = Unit(name=func.name.value, span=file.span(func))
        self.env: dict[str, AbstractValue | None] = {}
        self.pending: dict[RowRef, _Pending] = {}
        self._local: dict[RowRef, dict[str, Value]] = {}  # fields assigned in this function, saved or not
        self._tx_stack: list[tuple[int, str | None, str]] = []  # (transaction id, database alias, block/manual/auto)
        self._discarded: set[int] = set()
        self._conditions: list[Condition] = []
        self._unchecked_results: dict[str, int] = {}  # variable holding a write's result -> op index
        self._lazy: dict[str, tuple[Query, int | None]] = {}  # variable holding an unevaluated locking query
        self._tracked: dict[str, int] = {}  # a write whose row count a later `rowcount` may check, by key
        self._unchecked: list[int] = []  # writes whose row count can no longer be checked
        self.scratch: dict[str, object] = {}  # per-function state of recognisers (they are shared)
        self.imports = file.imports  # copied on the first import inside the function
        self.paths = PathTracker()
        self.class_name = class_name  # the class the function is a method of, if any
        self._holdable: set[int] = set()  # ops that took a lock (see `hold`)
        self._released: list[int] = []  # every `let_go`, in walking order (what a `finally` released)
        self._bind_parameters(class_name)
        if file.config.atomic_requests:
            self._open_transaction(func, TxScope())  # the request's own transaction (ATOMIC_REQUESTS)

    # -- public helpers for recognisers -------------------------------------------------
    @property
    def tx(self) -> int | None:
        return self._tx_stack[0][0] if self._tx_stack else None  # nested blocks are savepoints of the outermost

    def tx_for(self, database: str | None) -> int | None:
        """The transaction covering a query on `database` (a transaction on another alias does not)."""
        for tx_id, alias, _ in self._tx_stack:
            if alias is None or database is None or alias == database:
                return tx_id
        return None

    def span(self, node: cst.CSTNode) -> Span:
        return self.file.span(node)

    def emit(self, op: Op) -> int:
        if self._conditions:
            op = replace(op, conditions=tuple(self._conditions))
        self.unit.ops.append(op)
        index = len(self.unit.ops) - 1
        if isinstance(op, (Commit, Rollback)):
            self.paths.ended()
        elif self._opens_work(op):
            self.paths.opened(index)
        return index

    def _opens_work(self, op: Op) -> bool:
        """A write or lock inside a transaction the code opened by hand (not a `with` block that ends itself)."""
        if not self._tx_stack or self._tx_stack[0][2] == "block":
            return False
        return isinstance(op, (Write, Insert)) or (isinstance(op, Read) and op.lock is not None and op.evaluated)

    def exit_here(self, node: cst.CSTNode, kind: str, hands_over: bool = False) -> None:
        """Record a way out of the function and the uncommitted work that reaches it."""
        state = self.paths.first_open(self.paths.states)
        opened = self.unit.ops[state.open_since].span if state is not None and state.open_since is not None else None
        held = tuple(sorted(held_on(self.paths.states)))
        self.unit.ops.append(
            Exit(self.span(node), self.tx, kind=kind, open_since=opened, site=state.site if state else None, hands_over=hands_over, held=held)
        )

    # -- held locks: cache/distributed locks, which an exception does not release ------------
    def hold(self, index: int) -> None:
        """Op `index` took a lock: every path holds it from here on. A branch that tests the op's
        result (`if not r.set(k, v, nx=True): return`) holds it only where the result is truthy."""
        self._holdable.add(index)
        self.paths.acquired(index)

    def let_go(self, indices: Iterable[int]) -> None:
        """The locks taken by these ops are released here, on every path."""
        chosen = [i for i in indices if i in self._holdable]
        self._released.extend(chosen)
        self.paths.released(chosen)

    def _raise_exit(self, node: cst.CSTNode) -> None:
        """An exception raised while a lock is held leaves with it (for a transaction it would not)."""
        held = held_on(self.paths.states)
        if held:
            self.unit.ops.append(Exit(self.span(node), self.tx, kind="raise", held=tuple(sorted(held))))

    def _decided(self, test: cst.BaseExpression, condition: Condition) -> list[tuple[int, bool | None]]:
        """Locks whose acquisition result `test` tests: (op, whether a true test means held; None: unknown)."""
        mentioned = {d.row.read for d in condition.depends_on if d.row.origin is RowOrigin.READ and d.row.read in self._holdable}
        if not mentioned:
            return []
        core, positive = _truth_of(test)
        if isinstance(core, cst.Name):
            value = self.env.get(core.value)
            direct = {d.row.read for d in value.deps} if isinstance(value, Data) else set()
        else:
            direct = {i for i in mentioned if self.unit.ops[i].span == self.span(core)}
        return [(i, positive if i in direct and positive is not None else None) for i in sorted(mentioned)]

    def _assume(self, states: States, decided: list[tuple[int, bool | None]], test_true: bool) -> States:
        """The paths after the test came out `test_true`; a lock tested in a way not understood is
        taken as not held on either arm (no report rather than a wrong one)."""
        for index, positive in decided:
            states = holding(states, index, positive is not None and positive == test_true)
        return states

    def _settle_exits(self, start: int, end: int, on_return: set[int], on_raise: set[int]) -> None:
        """Exits in a `try` (ops start..end) whose locks its `finally` (or, for a raise, a handler) releases."""
        for position in range(start, end):
            op = self.unit.ops[position]
            if isinstance(op, Exit) and op.held:
                released = on_raise if op.kind == "raise" else on_return
                self.unit.ops[position] = replace(op, held=tuple(i for i in op.held if i not in released))

    def begin_manual(self, node: cst.CSTNode, database: str | None = None) -> None:
        """A transaction the code opens by hand and must end (`set_autocommit(False)`, `conn.begin()`)."""
        if not self._tx_stack:
            self._open_transaction(node, TxScope(database), kind="manual")
        self.emit(Begin(self.span(node), self.tx))

    def end_manual(self) -> None:
        """Autocommit again: the hand-opened transaction is over."""
        self._tx_stack = [entry for entry in self._tx_stack if entry[2] == "block"]

    def autobegin(self, node: cst.CSTNode) -> None:
        """A session's first statement opens a transaction that lasts until commit/rollback."""
        if not self._tx_stack:
            self._open_transaction(node, TxScope(), kind="auto")

    def flush_rows(self, node: cst.CSTNode, version_column: Callable[[str], str | None]) -> None:
        """A unit-of-work flush: every row changed in memory is written back (its changed columns only)."""
        for ref in list(self.pending):
            row = next((v for v in self.env.values() if isinstance(v, Row) and v.ref == ref), None)
            if row is None:
                continue
            assignments = self.take_pending(ref, None)
            if not assignments:
                continue
            version = version_column(row.table)
            guards = (Guard(version, "=", Value(ValueKind.DERIVED, frozenset({Dependency(ref, version)}))),) if version else ()
            self.emit(
                Write(self.span(node), self.tx, row.table, assignments, row=ref, guards=guards, result_checked=True if version else None)
            )

    def is_discarded(self, node: cst.CSTNode) -> bool:
        """True when `node` is a call whose result the code throws away (an expression statement)."""
        return id(node) in self._discarded

    def evaluate_query(self, query: Query, node: cst.CSTNode, row_var: str | None = None, kind: ReadKind = ReadKind.ROWS) -> int:
        """Run a lazy query here: emit its `Read`, return the op index."""
        return self.emit(
            Read(
                span=self.span(node),
                tx=self.tx_for(query.using),
                table=query.table,
                lock=query.lock,
                row_var=row_var,
                key=tuple(g.column for g in query.guards),
                guards=query.guards,
                kind=kind,
                lock_requires_transaction=query.lock_requires_transaction,
            )
        )

    def row_from_read(self, read: int, table: str, name: str = "") -> Row:
        return Row(RowRef(RowOrigin.READ, read, name), table)

    def take_pending(self, ref: RowRef, columns: Sequence[str] | None) -> tuple[Assignment, ...]:
        """The unsaved changes of a row (only `columns` when given), removing them."""
        pending = self.pending.get(ref)
        if pending is None:
            return ()
        names = list(pending.assignments) if columns is None else [c for c in columns if c in pending.assignments]
        return tuple(pending.assignments.pop(name) for name in names)

    def track_result(self, key: str, index: int) -> None:
        """A write's row count is available under `key` (a cursor) until the next statement there."""
        previous = self._tracked.pop(key, None)
        if previous is not None:
            self._unchecked.append(previous)
        self._tracked[key] = index

    def mark_checked(self, key: str) -> None:
        """The row count under `key` is read."""
        self._tracked.pop(key, None)

    def forget_pending(self, ref: RowRef) -> None:
        """The row is loaded again (`refresh_from_db()`, a rollback expiring it): unsaved changes are gone."""
        self.pending.pop(ref, None)
        self._local.pop(ref, None)

    def value_of(self, node: cst.BaseExpression) -> Value:
        """The IR value of an expression written to a column."""
        return replace(to_ir_value(self.eval(node)), expression=source_text(node))

    # -- parameters ----------------------------------------------------------------------
    def _bind_parameters(self, class_name: str | None) -> None:
        params = list(self.func.params.posonly_params) + list(self.func.params.params) + list(self.func.params.kwonly_params)
        for index, param in enumerate(params):
            name = param.name.value
            if index == 0 and class_name is not None and name in {"self", "cls"}:
                is_model = self.file.index.is_model(class_name)
                self.env[name] = Row(RowRef(RowOrigin.PARAMETER, None, name), class_name) if is_model and name == "self" else None
                continue
            known = next((v for r in self.file.recognisers if not isinstance(v := r.parameter(self, param), NotMine)), NOT_MINE)
            if not isinstance(known, NotMine):
                self.env[name] = known
                continue
            model = self.file.class_name(param.annotation.annotation) if param.annotation else None
            self.env[name] = Row(RowRef(RowOrigin.PARAMETER, None, name), model) if model else Parameter(name)

    # -- statements ----------------------------------------------------------------------
    def run(self) -> Unit:
        for decorator in self.func.decorators:
            scope = self._opens_transaction(decorator.decorator)
            if scope is not None:
                self._open_transaction(self.func, scope)
        self._body(self.func.body)
        if self.paths.states is not None:
            self.exit_here(_last_statement(self.func), "end")
        self._finish()
        return self.unit

    def _finish(self) -> None:
        """Facts only known at the end: write results never looked at, locking queries never run."""
        for index in [*self._unchecked_results.values(), *self._unchecked, *self._tracked.values()]:
            op = self.unit.ops[index]
            if isinstance(op, Write):
                self.unit.ops[index] = replace(op, result_checked=False)
        for query, tx in self._lazy.values():
            self.unit.ops.append(Read(query.span, tx, query.table, lock=query.lock, evaluated=False))

    def _open_transaction(self, node: cst.CSTNode, scope: TxScope, kind: str = "block") -> None:
        outer = next((tx_id for tx_id, alias, _ in self._tx_stack if alias == scope.database), None)
        if outer is None:
            outer = len(self.unit.transactions)
            self.unit.transactions.append(Transaction(outer, self.span(node)))
        self._tx_stack.append((outer, scope.database, kind))  # nested: a savepoint of the same transaction

    def _opens_transaction(self, expr: cst.BaseExpression) -> TxScope | None:
        for recogniser in self.file.recognisers:
            scope = recogniser.opens_transaction(self, expr)
            if scope is not None:
                return scope
        return None

    def _body(self, body: cst.BaseSuite | Sequence[cst.BaseStatement]) -> None:
        statements: Sequence[cst.BaseStatement | cst.BaseSmallStatement]
        if isinstance(body, (cst.SimpleStatementSuite, cst.IndentedBlock)):
            statements = body.body
        else:
            statements = body  # type: ignore[assignment]
        depth = len(self._conditions)
        for statement in statements:
            self._statement(statement)
        del self._conditions[depth:]  # early-exit conditions end with their block

    def _statement(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self._small(small)
        elif isinstance(node, cst.BaseSmallStatement):
            self._small(node)
        elif isinstance(node, cst.If):
            self._if(node)
        elif isinstance(node, (cst.For,)):
            self._for(node)
        elif isinstance(node, cst.While):
            condition = self._condition(node.test)
            decided = self._decided(node.test, condition)
            before = self.paths.states
            self.paths.enter_loop()
            self.paths.states = self._assume(before, decided, True)
            self._guarded(condition, node.body)
            self.paths.exit_loop(self._assume(before, decided, False))
            if node.orelse is not None:
                self._body(node.orelse.body)
        elif isinstance(node, (cst.Try, cst.TryStar)):
            self._try(node)
        elif isinstance(node, cst.With):
            self._with(node)
        elif isinstance(node, cst.Match):
            self.eval(node.subject)
            before, ends = self.paths.states, []
            for case in node.cases:
                self.paths.states = before
                self._walk_branch(case.body)
                ends.append(self.paths.states)
            self.paths.states = join(before, *ends)
        # Nested functions and classes are units of their own; they are not walked here.

    def _condition(self, test: cst.BaseExpression) -> Condition:
        value = self.eval(test)
        deps = value.deps if isinstance(value, Data) else frozenset({Dependency(value.ref, None)}) if isinstance(value, (Row, Record)) else frozenset()
        return Condition(self.span(test), deps, self._comparisons(test))

    def _comparisons(self, test: cst.BaseExpression) -> tuple[Comparison, ...]:
        """`row.c == expr` / `expr != row.c` at the top of a condition, with the other side's text."""
        if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
            return ()
        target = test.comparisons[0]
        op = {cst.Equal: "=", cst.NotEqual: "!=", cst.Is: "=", cst.IsNot: "!="}.get(type(target.operator))
        if op is None:
            return ()
        for field_side, other in ((test.left, target.comparator), (target.comparator, test.left)):
            if isinstance(field_side, cst.Attribute) and isinstance(field_side.value, cst.Name):
                owner = self.env.get(field_side.value.value)
                if isinstance(owner, Row):
                    return (Comparison(owner.ref, field_side.attr.value, op, source_text(other)),)
        return ()

    def _guarded(self, condition: Condition, body: cst.BaseSuite) -> None:
        self._conditions.append(condition)
        self._walk_branch(body)
        self._conditions.remove(condition)

    def _walk_branch(self, body: cst.BaseSuite) -> None:
        """Walk a block; when it always leaves the function or loop, what it did to the
        transaction and the unsaved rows does not carry over to the code after it."""
        if not _always_exits(body):
            self._body(body)
            return
        tx_stack = list(self._tx_stack)
        pending = {ref: _Pending(dict(p.assignments)) for ref, p in self.pending.items()}
        self._body(body)
        self._tx_stack, self.pending = tx_stack, pending

    def _if(self, node: cst.If) -> None:
        condition = self._condition(node.test)
        decided = self._decided(node.test, condition)
        before = self.paths.states
        env_before = dict(self.env)
        self.paths.states = self._assume(before, decided, True)
        self._guarded(condition, node.body)
        after_body, self.paths.states = self.paths.states, self._assume(before, decided, False)
        env_body, self.env = self.env, dict(env_before)  # the other branch does not see this one's bindings
        if node.orelse is not None:
            self._conditions.append(condition)
            if isinstance(node.orelse, cst.If):
                self._statement(node.orelse)
            else:
                self._walk_branch(node.orelse.body)
            self._conditions.remove(condition)
            self.paths.states = join(after_body, self.paths.states)
            else_exits = isinstance(node.orelse, cst.Else) and _always_exits(node.orelse.body)
            self.env = _merge_env(env_before, env_body, self.env, _always_exits(node.body), else_exits)
            return
        self.env = _merge_env(env_before, env_body, self.env, _always_exits(node.body), False)
        self.paths.states = join(after_body, leaving_through(self.paths.states, self.span(node)))
        if _always_exits(node.body):
            # `if <check>: return` guards everything after it in this block.
            self._conditions.append(condition)

    def _try(self, node: cst.Try | cst.TryStar) -> None:
        start = len(self.unit.ops)
        self.paths.enter_try()
        self._body(node.body)
        body_end = self.paths.states
        handler_entry = self.paths.exit_try()  # an exception can come from anywhere in the body
        body_ops, released_body = len(self.unit.ops), len(self._released)
        ends = []
        for handler in node.handlers:
            self.paths.states = handler_entry
            self._walk_branch(handler.body)
            ends.append(leaving_through(self.paths.states, self.span(handler)))  # a handler that swallows
        by_handlers = set(self._released[released_body:])
        self.paths.states = body_end
        if node.orelse is not None:
            self._body(node.orelse.body)
        self.paths.states = join(self.paths.states, *ends)
        end, released_end = len(self.unit.ops), len(self._released)
        if node.finalbody is not None:
            self._body(node.finalbody.body)
        by_finally = set(self._released[released_end:])
        if by_finally or by_handlers:
            self._settle_exits(start, body_ops, by_finally, by_finally | by_handlers)
            self._settle_exits(body_ops, end, by_finally, by_finally)

    def _for(self, node: cst.For) -> None:
        source = self.eval(node.iter)
        element: AbstractValue | None = None
        if isinstance(source, Query):
            read = self.evaluate_query(source, node.iter, _target_name(node.target))
            element = self.row_from_read(read, source.table, _target_name(node.target) or "")
        elif isinstance(source, Rows):
            element = self.row_from_read(source.read, source.table, _target_name(node.target) or "")
        elif isinstance(source, Data):
            element = source
        self._bind(node.target, element)
        before = self.paths.states
        self.paths.enter_loop()
        self._body(node.body)
        self.paths.exit_loop(before)
        if node.orelse is not None:
            self._body(node.orelse.body)

    def _with(self, node: cst.With) -> None:
        opened = 0
        for item in node.items:
            scope = self._opens_transaction(item.item)
            if scope is not None:
                self._open_transaction(item.item, scope)
                opened += 1
                if item.asname is not None and scope.handle is not None:
                    self._bind(item.asname.name, scope.handle)  # `with engine.begin() as conn:`
                continue
            value = self.eval(item.item)
            if item.asname is not None:
                self._bind(item.asname.name, value)
        self._body(node.body)
        for _ in range(opened):
            blocks = [i for i, entry in enumerate(self._tx_stack) if entry[2] == "block"]
            if blocks:
                del self._tx_stack[blocks[-1]]

    def _small(self, node: cst.BaseSmallStatement) -> None:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            if self.imports is self.file.imports:
                self.imports = self.imports.copy()
            self.imports.add(node)
        elif isinstance(node, cst.Expr):
            if isinstance(node.value, (cst.Call, cst.Await)):
                inner = node.value.expression if isinstance(node.value, cst.Await) else node.value
                self._discarded.add(id(inner))
            value = self.eval(node.value)
            if isinstance(value, Query) and value.lock is not None:
                self.emit(Read(value.span, self.tx, value.table, lock=value.lock, evaluated=False))
        elif isinstance(node, cst.Assign):
            value = self.eval(node.value)
            for target in node.targets:
                self._assign(target.target, value, node.value, node)
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            self._assign(node.target, self.eval(node.value), node.value, node)
        elif isinstance(node, cst.AugAssign):
            self._aug_assign(node)
        elif isinstance(node, cst.Return):
            value = self.eval(node.value) if node.value is not None else None
            if self.paths.states is not None:
                self.exit_here(node, "return", hands_over=_hands_over(value))
            self.paths.stop()
        elif isinstance(node, cst.Raise):
            if node.exc is not None:
                self.eval(node.exc)
            if self.paths.states is not None:
                self._raise_exit(node)
            self.paths.stop()
        elif isinstance(node, (cst.Break, cst.Continue)):
            self.paths.jump()

    def _assign(self, target: cst.BaseExpression, value: AbstractValue | None, source: cst.BaseExpression, node: cst.CSTNode) -> None:
        if isinstance(target, cst.Attribute):
            if any(r.attribute_assigned(self, target, source) for r in self.file.recognisers):
                return
            self._set_field(target, replace(to_ir_value(value), expression=source_text(source)), node)
        else:
            self._bind(target, value)

    def _aug_assign(self, node: cst.AugAssign) -> None:
        current = self.eval(node.target)
        change = self.eval(node.value)
        combined = merge_data(current, change)
        sign = {cst.AddAssign: "+", cst.SubtractAssign: "-"}.get(type(node.operator))
        column = _single_column(current)
        if sign and column and isinstance(combined, Data) and not combined.in_database:
            combined = Data(combined.deps, delta=Delta(column, sign, _literal_number(node.value)))
        if isinstance(node.target, cst.Attribute):
            self._set_field(node.target, to_ir_value(combined), node)
        elif isinstance(node.target, cst.Name):
            self.env[node.target.value] = combined

    def _set_field(self, target: cst.Attribute, value: Value, node: cst.CSTNode) -> None:
        owner = self.eval(target.value)
        ref = owner.ref if isinstance(owner, Row) else RowRef(RowOrigin.PARAMETER, None, owner.name) if isinstance(owner, Parameter) else None
        if ref is None:
            return
        pending = self.pending.setdefault(ref, _Pending())
        pending.assignments[target.attr.value] = Assignment(target.attr.value, value, self.span(node))
        self._local.setdefault(ref, {})[target.attr.value] = value

    def _bind(self, target: cst.BaseExpression, value: AbstractValue | None) -> None:
        if isinstance(target, cst.Name):
            if isinstance(value, Row) and value.ref.origin is RowOrigin.READ and not value.ref.name:
                value = Row(RowRef(value.ref.origin, value.ref.read, target.value), value.table)
            self.env[target.value] = value
            self._unchecked_results.pop(target.value, None)
            self._lazy.pop(target.value, None)
            if isinstance(value, Data) and value.result_of is not None:
                self._unchecked_results[target.value] = value.result_of
            elif isinstance(value, Query) and value.lock is not None:
                self._lazy[target.value] = (value, self.tx_for(value.using))
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            items = value.items if isinstance(value, Pair) and len(value.items) == len(elements) else None
            if isinstance(value, Record):
                items = tuple(value.item(position) for position in range(len(elements)))
            for position, element in enumerate(elements):
                item = items[position] if items is not None else (value if isinstance(value, Data) else None)
                self._bind(element, item)  # type: ignore[arg-type]

    # -- expressions ---------------------------------------------------------------------
    def eval(self, node: cst.BaseExpression) -> AbstractValue | None:
        """The abstract value of an expression; emits the IR ops its evaluation performs."""
        if isinstance(node, cst.Name):
            if node.value in {"True", "False", "None"}:
                return Data()
            if node.value in self.env:
                self._unchecked_results.pop(node.value, None)  # the result is looked at
                self._lazy.pop(node.value, None)  # the query is run or handed on
                return self.env[node.value]
            model = self.file.class_name(node)
            return ModelClass(model) if model else None
        if isinstance(node, cst.Attribute):
            return self._attribute(node)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.Await):
            return self.eval(node.expression)
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return Pair(tuple(self.eval(e.value) for e in node.elements))
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            return Data(text=text_value(node))
        return self._combine(node)

    def _combine(self, node: cst.BaseExpression) -> Data:
        """Any other expression: its value depends on everything it reads."""
        if isinstance(node, cst.BinaryOperation):
            return self._arithmetic(node)
        value: AbstractValue | None = Data()
        for child in _child_expressions(node):
            value = merge_data(value, self.eval(child))
        return value if isinstance(value, Data) else Data()

    def _arithmetic(self, node: cst.BinaryOperation) -> Data:
        """`x - y`; an in-database column minus/plus an amount becomes a `Delta`."""
        left, right = self.eval(node.left), self.eval(node.right)
        merged = merge_data(left, right)
        assert isinstance(merged, Data)
        sign = {cst.Subtract: "-", cst.Add: "+"}.get(type(node.operator))
        if sign and isinstance(left, Data) and left.column_ref and not (isinstance(right, Data) and right.column_ref):
            amount = _literal_number(node.right)
            return Data(merged.deps, in_database=True, delta=Delta(left.column_ref, sign, amount))
        if sign and not merged.in_database:
            # `row.f - x` computed in Python: an accumulating change of f (what lost updates lose).
            for side in (left, right) if sign == "+" else (left,):
                column = _single_column(side)
                if column is not None:
                    return Data(merged.deps, delta=Delta(column, sign, _literal_number(node.right)))
        return merged

    def _attribute(self, node: cst.Attribute) -> AbstractValue | None:
        base = self.eval(node.value)
        for recogniser in self.file.recognisers:
            result = recogniser.attribute(self, node, base)
            if not isinstance(result, NotMine):
                return result
        ref = base.ref if isinstance(base, Row) else RowRef(RowOrigin.PARAMETER, None, base.name) if isinstance(base, Parameter) else None
        if ref is None:
            return base if isinstance(base, Data) else None
        name = node.attr.value
        assigned = self._local.get(ref, {}).get(name)
        if assigned is not None:
            # Assigned earlier in this function (saved or not): its value is what was assigned, not what was read.
            return Data(assigned.depends_on)
        if not self._may_be_column(base, name):
            return Data()
        return Data(frozenset({Dependency(ref, name)}))

    def _may_be_column(self, base: AbstractValue, name: str) -> bool:
        """Class constants (`self.FROZEN`) are not read from the row; on a model whose fields the
        index knows, only those fields are."""
        if name.isupper() or name.startswith("__"):
            return False
        if isinstance(base, Row):
            known = self.file.index.columns_of(base.table)
            return not known or name in known or name in {"pk", "id"} or name.removesuffix("_id") in known
        return True

    def _call(self, node: cst.Call) -> AbstractValue | None:
        receiver = self.eval(node.func.value) if isinstance(node.func, cst.Attribute) else None
        for recogniser in self.file.recognisers:
            result = recogniser.call(self, node, receiver)
            if not isinstance(result, NotMine):
                return result
        value: AbstractValue | None = receiver if isinstance(receiver, Data) else Data()
        for arg in node.args:
            argument = self.eval(arg.value)
            if isinstance(argument, Query):  # list(qs), len(qs), bool(qs): the query runs here
                read = self.evaluate_query(argument, node)
                argument = Rows(read, argument.table)
                if _is_builtin_collection(node):
                    return argument
            value = merge_data(value, argument)
        return value

    def _subscript(self, node: cst.Subscript) -> AbstractValue | None:
        base = self.eval(node.value)
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                self.eval(element.slice.value)
        if isinstance(base, Query):
            read = self.evaluate_query(base, node)
            return self.row_from_read(read, base.table)
        if isinstance(base, Rows):
            return self.row_from_read(base.read, base.table)
        if isinstance(base, Record) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = node.slice[0].slice.value
            if isinstance(key, cst.Integer):
                return base.item(int(key.value))
            if isinstance(key, cst.SimpleString) and (name := text_value(key)) is not None:
                return base.item(name)
            return Data(frozenset({Dependency(base.ref, None)}))
        if isinstance(base, Pair):
            return None
        return base if isinstance(base, Data) else None


def to_ir_value(value: AbstractValue | None) -> Value:
    """How a value written to a column was computed, in IR terms."""
    if isinstance(value, Data):
        if value.in_database:
            return Value(ValueKind.IN_DATABASE, value.deps, value.delta)
        return Value(ValueKind.DERIVED if value.deps else ValueKind.INDEPENDENT, value.deps, value.delta if value.deps else None)
    if isinstance(value, (Row, Record)):
        return Value(ValueKind.DERIVED, frozenset({Dependency(value.ref, None)}))
    return Value(ValueKind.UNKNOWN)


def merge_data(left: AbstractValue | None, right: AbstractValue | None) -> AbstractValue | None:
    """The value of an expression combining `left` and `right` (arithmetic, calls)."""
    deps: set[Dependency] = set()
    in_database = False
    for side in (left, right):
        if isinstance(side, Data):
            deps |= side.deps
            in_database |= side.in_database
        elif isinstance(side, (Row, Record)):
            deps.add(Dependency(side.ref, None))
    return Data(frozenset(deps), in_database=in_database)


_UNBOUND = object()


def _merge_env(
    before: dict[str, AbstractValue | None], body: dict[str, AbstractValue | None], other: dict[str, AbstractValue | None], body_exits: bool, other_exits: bool
) -> dict[str, AbstractValue | None]:
    """Bindings after an `if`: a branch that always leaves contributes nothing; otherwise a name
    rebound in one branch only takes that branch's value, and the other branch's wins a tie."""
    if body_exits and not other_exits:
        return other
    if other_exits and not body_exits:
        return body
    merged = dict(other)
    for name, value in body.items():
        if name not in other or other[name] is before.get(name, _UNBOUND):
            merged[name] = value
    return merged


def _hands_over(value: AbstractValue | None) -> bool:
    """Returning a session/connection (also inside a tuple) passes its transaction to the caller."""
    if isinstance(value, Pair):
        return any(isinstance(item, Handle) for item in value.items)
    return isinstance(value, Handle)


def _last_statement(func: cst.FunctionDef) -> cst.CSTNode:
    body = func.body.body if isinstance(func.body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()
    return body[-1] if body else func


_EMPTY_MODULE = cst.Module(body=[])


def source_text(node: cst.CSTNode) -> str:
    """An expression's source without whitespace: equal texts are the same expression."""
    return "".join(_EMPTY_MODULE.code_for_node(node).split())


_FALSY = {"None", "False", "0"}
_TRUTHY = {"True", "1"}


def _truth_of(test: cst.BaseExpression) -> tuple[cst.BaseExpression, bool | None]:
    """The expression whose truth a test decides on, and whether a true test means it is truthy.

    `not x` → (x, False); `x is None` → (x, False); `x == 1` → (x, True) (a counter that
    reached 1 first); `x > 1` → (x, False); anything else → (test, True), or None when unknown.
    """
    positive: bool | None = True
    while True:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            positive, test = (None if positive is None else not positive), test.expression
        elif isinstance(test, cst.Await):
            test = test.expression
        elif isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            same = _comparison_keeps_truth(target.operator, target.comparator)
            positive = None if same is None or positive is None else positive == same
            test = test.left
        else:
            return test, positive


def _comparison_keeps_truth(operator: cst.BaseCompOp, other: cst.BaseExpression) -> bool | None:
    """Whether `x <op> literal` is true exactly when x is truthy (True), falsy (False), or neither (None)."""
    literal = other.value if isinstance(other, (cst.Name, cst.Integer)) else None
    if isinstance(operator, (cst.Is, cst.Equal)):
        return False if literal in _FALSY else True if literal in _TRUTHY else None
    if isinstance(operator, (cst.IsNot, cst.NotEqual)):
        return True if literal in _FALSY else False if literal in _TRUTHY else None
    if isinstance(operator, cst.GreaterThan):
        return False if literal == "1" else None
    if isinstance(operator, cst.LessThanEqual):
        return True if literal == "1" else None
    return None


def _always_exits(body: cst.BaseSuite) -> bool:
    """The block ends in `return`, `raise`, `continue` or `break`."""
    statements = body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()
    if not statements:
        return False
    last = statements[-1]
    smalls = last.body if isinstance(last, cst.SimpleStatementLine) else [last] if isinstance(last, cst.BaseSmallStatement) else []
    return any(isinstance(s, (cst.Return, cst.Raise, cst.Continue, cst.Break)) for s in smalls)


def _single_column(value: AbstractValue | None) -> str | None:
    """The column a value is, when it is exactly one column of one row (`row.f`)."""
    if isinstance(value, Data) and len(value.deps) == 1:
        return next(iter(value.deps)).column
    return None


def _literal_number(node: cst.BaseExpression) -> float | None:
    if isinstance(node, (cst.Integer, cst.Float)):
        return float(node.evaluated_value)
    return None


def _target_name(node: cst.BaseExpression) -> str | None:
    return node.value if isinstance(node, cst.Name) else None


def _is_builtin_collection(node: cst.Call) -> bool:
    return isinstance(node.func, cst.Name) and node.func.value in {"list", "tuple", "set", "sorted", "reversed"}


def _child_expressions(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    """Direct sub-expressions of `node` (through non-expression wrappers such as `Arg`), in source order."""
    for child in _children(node):
        if isinstance(child, cst.BaseExpression):
            yield child
        elif not isinstance(child, (cst.BaseStatement, cst.BaseSuite)):
            yield from _child_expressions(child)


# Nodes whose fields are declared in another order than their parts appear in the source.
_SOURCE_ORDER = {cst.IfExp: ("body", "test", "orelse"), cst.Arg: ("keyword", "value")}
_SKIPPED = (cst.BaseParenthesizableWhitespace, cst.LeftParen, cst.RightParen, cst.Comma, cst.Dot, cst.Colon)


def _children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node.children` without it: libcst computes that property by running a visitor over the
    node, which made it the walker's most expensive call. Whitespace and punctuation are skipped."""
    for name in _SOURCE_ORDER.get(type(node)) or _field_names(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            if not isinstance(value, _SKIPPED):
                yield value
        elif isinstance(value, (tuple, list)):
            for item in value:
                if isinstance(item, cst.CSTNode) and not isinstance(item, _SKIPPED):
                    yield item


@functools.cache
def _field_names(kind: type[cst.CSTNode]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind) if f.name not in {"lpar", "rpar"})
