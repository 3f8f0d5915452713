"""Stored routine bodies to IR: one unit per routine, read as the sequence of statements it runs.

What is sound, decided here (where it is not, txlint stays silent rather than guess):

- A PostgreSQL function (PL/pgSQL or `LANGUAGE sql`) always runs inside its
  caller's transaction: its statements are one transaction, a row it locks
  stays locked until the caller ends it, and the caller owns the commit (so
  TX104 does not apply). A PostgreSQL procedure or `DO` block also runs as one
  transaction, until a `COMMIT`/`ROLLBACK` inside it ends that one and starts
  the next.
- A MySQL procedure, function or event runs in its caller's session. Without
  `START TRANSACTION` in the body, which transaction its statements share is
  the caller's business (like a Python helper whose callers are unknown: a
  read and a write of the body still form one sequence, and a lock is taken to
  be held by it). `START TRANSACTION ... COMMIT` in the body is a transaction
  the routine owns: a path that leaves it open after a write or a lock is
  TX104.
- Variables carry where their value came from: `SELECT c INTO v ... WHERE
  id = p` makes `v` a value read from column `c` of that row; `v := v - x`
  and `SET v = v - x` keep that; parameters, literals and `RETURNING ... INTO`
  values are inputs. So `UPDATE ... SET c = v - x WHERE id = p` is a write
  computed from the read (TX101 when the read took no lock).
- IF/ELSIF/ELSE and CASE are decisions: what runs under them carries the
  condition and the reads it tests (TX102), `EXISTS (SELECT ...)` in a
  condition is a read; a RAISE/RETURN/LEAVE in a branch guards what comes
  after the branch. A loop body is read once.
- A row count is looked at when `FOUND`, `ROW_COUNT` or a variable from `GET
  DIAGNOSTICS` is tested or returned after a write; a conditional write
  followed by another write without that is TX108.
- No unit at all (silence): triggers, bodies that were not read, bodies with
  dynamic SQL, CALLs or cursors (they may lock or write anything). Where the
  paths out of a branch meet with different transactions open (one arm
  commits or rolls back, another does not), what follows is not analysed:
  which transaction it runs in depends on the path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from txlint.core.ftypes import Span
from txlint.core.ir import (
    Begin,
    Commit,
    Condition,
    Dependency,
    Exit,
    ExitKind,
    Insert,
    LockMode,
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
from txlint.sql import facts as sqlfacts
from txlint.sql import to_ir
from txlint.sql.routine_facts import (
    AssignStep,
    BranchStep,
    ExitStep,
    LoopStep,
    OpaqueStep,
    Routine,
    SqlStep,
    Step,
    Test,
    TransactionStep,
    VariableRef,
)

SpanOf = Callable[[sqlfacts.Statement], Span]
LinesSpan = Callable[[int, int], Span]  # the span of whole lines, from the first to the last character written


@dataclass(frozen=True)
class _Var:
    """What a variable holds: a value, and for a record variable the row a read produced."""

    value: Value
    row: RowRef | None = None


@dataclass
class _Path:
    """The state of one path through the body."""

    variables: dict[str, _Var] = field(default_factory=dict)
    tx: int | None = None
    open_since: Span | None = None  # first write or lock in a transaction the routine itself began
    conditions: tuple[Condition, ...] = ()
    ended: bool = False  # the path has left the routine (or, inside a loop, the iteration)

    def fork(self) -> _Path:
        return _Path(dict(self.variables), self.tx, self.open_since, self.conditions, self.ended)


class _Unsure(Exception):
    """The body does something whose effect cannot be told: no unit."""


def routine_unit(routine: Routine, span: Span, span_of: SpanOf, lines_span: LinesSpan) -> Unit | None:
    """The unit of one routine's body, or None where analysing it would be a guess."""
    if routine.body is None or routine.kind == "trigger" or routine.grammar == "other":
        return None
    walker = _Walker(routine, span, span_of, lines_span)
    try:
        walker.walk()
    except _Unsure:
        return None
    return walker.unit


class _Walker:
    def __init__(self, routine: Routine, span: Span, span_of: SpanOf, lines_span: LinesSpan) -> None:
        self.routine = routine
        self.span_of = span_of
        self._lines = lines_span
        self.postgres = routine.grammar in ("plpgsql", "sql")
        self.unit = Unit(f"{routine.kind} {routine.name}", span, params=routine.params)
        self.versions = 0
        self.pending: int | None = None  # the last write whose row count nobody has looked at yet
        self.checked: set[int] = set()
        self.followed: set[int] = set()  # writes followed by another write before their row count was looked at
        self.carriers: dict[str, int] = {}  # variables filled by a write's RETURNING: using them looks at its result
        self.table_locks: dict[tuple[int | None, str], LockMode] = {}
        self.stopped = False  # paths met with different transactions open: nothing after is analysed

    @property
    def ops(self) -> list[Op]:
        return self.unit.ops

    def walk(self) -> None:
        path = _Path()
        if self.postgres:  # always inside a transaction (the caller's, or the CALL's/DO's own)
            path.tx = self._new_transaction(self.unit.span)
        assert self.routine.body is not None
        self._steps(self.routine.body, path)
        if not path.ended and not self.stopped:
            self._exit(path, Span.point(self.unit.span.end_line), "end")
        self.unit.ops[:] = [self._with_row_count(index, op) for index, op in enumerate(self.ops)]

    def _new_transaction(self, span: Span) -> int:
        tx = len(self.unit.transactions)
        self.unit.transactions.append(Transaction(tx, span))
        return tx

    def _with_row_count(self, index: int, op: Op) -> Op:
        if not isinstance(op, Write):
            return op
        checked = True if index in self.checked else False if index in self.followed else None
        return replace(op, result_checked=checked)

    # ---- steps

    def _steps(self, steps: tuple[Step, ...], path: _Path) -> None:
        for step in steps:
            if path.ended or self.stopped:
                return  # unreachable after a RETURN/RAISE/LEAVE on this path
            self._step(step, path)

    def _step(self, step: Step, path: _Path) -> None:
        if isinstance(step, OpaqueStep):
            raise _Unsure(step.what)
        if isinstance(step, SqlStep):
            self._sql(step, path)
        elif isinstance(step, AssignStep):
            self._assign(step, path)
        elif isinstance(step, BranchStep):
            self._branch(step, path)
        elif isinstance(step, LoopStep):
            self._loop(step, path)
        elif isinstance(step, ExitStep):
            if step.row_count:
                self._row_count_seen()
            for ref in step.uses:
                self._value(ref, path)
            if step.action == "return":
                self._exit(path, self._lines(step.line, step.end_line), "return")
            path.ended = True
        elif isinstance(step, TransactionStep):
            self._transaction(step, path)

    def _sql(self, step: SqlStep, path: _Path, row_var: str | None = None) -> int | None:
        """Emit the statement's operation; fill its INTO variables; return the op's index."""
        statement = step.statement
        span = self.span_of(statement)
        if step.row_count:
            self._row_count_seen()
        if statement.kind == "lock_table" and statement.lock in ("exclusive", "share"):
            for table in statement.lock_tables:
                self.table_locks[(path.tx, table)] = LockMode.EXCLUSIVE if statement.lock == "exclusive" else LockMode.SHARE
            self._work(path, span)
            return None
        op = to_ir.statement_op(statement, span, path.tx, self._resolver(step, path))
        index: int | None = None
        if op is not None:
            op = replace(op, conditions=path.conditions)
            if isinstance(op, Read):
                lock = op.lock or self.table_locks.get((path.tx, op.table))
                op = replace(op, lock=lock, row_var=row_var)
            index = len(self.ops)
            self.ops.append(op)
            self._track_row_count(op, index)
            if isinstance(op, (Write, Insert)) or (isinstance(op, Read) and op.lock is not None):
                self._work(path, span)
        self._fill(step, path, op, index)
        return index

    def _fill(self, step: SqlStep, path: _Path, op: Op | None, index: int | None) -> None:
        """The variables of `SELECT ... INTO`: each holds the column it was filled from, of the row read."""
        if not step.into:
            return
        statement = step.statement
        if not isinstance(op, Read) or index is None or step.returning:
            uses = frozenset(dep for key, ref in step.variables for dep in self._value(ref, path).depends_on)
            for target in step.into:
                self._set(path, target, _Var(Value(ValueKind.DERIVED if uses else ValueKind.INDEPENDENT, uses)))
                if isinstance(op, Write) and index is not None:
                    self.carriers[target.name] = index
            return
        row = RowRef(RowOrigin.READ, index, step.into[0].name)
        columns = [c for c in statement.columns if c != "*"]
        if len(step.into) == 1 and ("*" in statement.columns or len(columns) > 1):
            self.ops[index] = replace(op, row_var=row.name)  # a record: messages name it
            self._set(path, step.into[0], _Var(Value(ValueKind.DERIVED, frozenset({Dependency(row, None)})), row))
        elif len(step.into) == 1:
            column = columns[0] if columns else None
            self._set(path, step.into[0], _Var(Value(ValueKind.DERIVED, frozenset({Dependency(row, column)}))))
        elif len(columns) == len(step.into) and "*" not in statement.columns:
            for target, column in zip(step.into, columns, strict=True):
                self._set(path, target, _Var(Value(ValueKind.DERIVED, frozenset({Dependency(row, column)}))))
        else:
            for target in step.into:
                self._set(path, target, _Var(Value(ValueKind.UNKNOWN)))

    def _assign(self, step: AssignStep, path: _Path) -> None:
        if step.row_count:
            self._row_count_seen()
        if step.unknown:
            self._set(path, step.target, _Var(Value(ValueKind.UNKNOWN)))
            return
        dependencies = frozenset(dep for ref in step.uses for dep in self._value(ref, path).depends_on)
        unknown = any(self._value(ref, path).kind is ValueKind.UNKNOWN for ref in step.uses)
        kind = ValueKind.DERIVED if dependencies else ValueKind.UNKNOWN if unknown else ValueKind.INDEPENDENT
        self._set(path, step.target, _Var(Value(kind, dependencies)))

    def _set(self, path: _Path, target: VariableRef, var: _Var) -> None:
        self.carriers.pop(target.name, None)
        self.versions += 1
        name = target.name if target.field is None else f"{target.name}.{target.field}"
        path.variables[name] = _Var(replace(var.value, expression=f"${name}#{self.versions}"), var.row)

    def _value(self, ref: VariableRef, path: _Path) -> Value:
        """What a use of a variable stands for: an input (a parameter, a variable never filled), or what filled it."""
        if ref.name in self.carriers:  # `RETURNING * INTO r` then `IF r IS NULL`, `RETURN r`: the write's result is looked at
            self._looked_at(self.carriers.pop(ref.name))
        if ref.field is not None and f"{ref.name}.{ref.field}" in path.variables:
            return path.variables[f"{ref.name}.{ref.field}"].value
        var = path.variables.get(ref.name)
        if var is None:
            return Value(ValueKind.INDEPENDENT, expression=f"${ref.name}" + (f".{ref.field}" if ref.field else ""))
        if ref.field is not None and var.row is not None:
            return Value(ValueKind.DERIVED, frozenset({Dependency(var.row, ref.field)}), expression=f"{var.value.expression}.{ref.field}")
        return var.value

    def _resolver(self, step: SqlStep, path: _Path) -> to_ir.Resolver:
        variables = dict(step.variables)
        params = self.routine.params

        def resolve(key: sqlfacts.PlaceholderKey) -> Value:
            ref = variables.get(key) if isinstance(key, str) else None
            if ref is None and isinstance(key, int) and key < len(params) and params[key]:
                ref = VariableRef(params[key])  # PostgreSQL `$1`
            if ref is None:
                return to_ir.no_parameters(key)
            return self._value(ref, path)

        return resolve

    # ---- decisions

    def _condition(self, test: Test, path: _Path) -> Condition:
        if test.row_count:
            self._row_count_seen()
        dependencies = {dep for ref in test.uses for dep in self._value(ref, path).depends_on}
        for probe in test.probes:
            index = self._sql(probe.query, path)
            read = self.unit.read_at(index)
            if read is None or index is None:
                continue
            row = RowRef(RowOrigin.READ, index, "")
            columns = [c for c in read.columns if c != "*"]
            if probe.existence or read.kind is ReadKind.FACT or not columns:
                dependencies.add(Dependency(row, None))
            else:
                dependencies.update(Dependency(row, column) for column in columns)
        return Condition(self._lines(test.line, test.end_line), frozenset(dependencies))

    def _branch(self, step: BranchStep, path: _Path) -> None:
        earlier: list[Condition] = []  # the tests of the arms before: false in this one
        through: list[_Path] = []
        has_else = False
        for arm in step.arms:
            arm_path = path.fork()
            own: tuple[Condition, ...] = ()
            if arm.test is not None:
                condition = self._condition(arm.test, path)
                own = (replace(condition, holds=True),)
            else:
                has_else = True
            arm_path.conditions = path.conditions + tuple(earlier) + own
            self._steps(arm.steps, arm_path)
            if not arm_path.ended:
                through.append(arm_path)
            if own:
                earlier.append(replace(own[0], holds=False))
        if not has_else:
            skipped = path.fork()
            skipped.conditions = path.conditions + tuple(earlier)
            through.append(skipped)
        self._join(path, through, len(step.arms) + (0 if has_else else 1))

    def _join(self, path: _Path, through: list[_Path], arms: int) -> None:
        """Where the paths out of a branch meet again."""
        if not through:
            path.ended = True
            return
        if len({p.tx for p in through}) > 1:
            self.stopped = True  # a transaction is open on one path and not on another
            return
        path.tx = through[0].tx
        path.open_since = next((p.open_since for p in through if p.open_since is not None), None)
        names = {name for p in through for name in p.variables}
        for name in names:
            held = [p.variables.get(name) for p in through]
            if all(h == held[0] for h in held):
                if held[0] is not None:
                    path.variables[name] = held[0]
                continue
            dependencies = frozenset(dep for h in held if h is not None for dep in h.value.depends_on)
            unknown = any(h is not None and h.value.kind is ValueKind.UNKNOWN for h in held)
            kind = ValueKind.DERIVED if dependencies else ValueKind.UNKNOWN if unknown else ValueKind.INDEPENDENT
            self.versions += 1
            path.variables[name] = _Var(Value(kind, dependencies, expression=f"${name}#{self.versions}"))
        # An early exit on all other arms: what follows runs only on the one way through.
        if len(through) == 1 and arms > 1:
            path.conditions = through[0].conditions

    def _loop(self, step: LoopStep, path: _Path) -> None:
        body = path.fork()
        if step.test is not None:
            body.conditions = (*path.conditions, replace(self._condition(step.test, path), holds=True))
        if step.query is not None and step.query.into:
            index = self._sql(SqlStep(step.query.statement, step.query.variables), body, row_var=step.query.into[0].name)
            if index is not None and isinstance(self.ops[index], Read):
                row = RowRef(RowOrigin.READ, index, step.query.into[0].name)
                for target in step.query.into:
                    self._set(body, target, _Var(Value(ValueKind.DERIVED, frozenset({Dependency(row, None)})), row))
        self._steps(step.steps, body)
        body.ended = False
        body.conditions = path.conditions
        self._join(path, [path.fork(), body], 2)

    # ---- transactions, exits, row counts

    def _transaction(self, step: TransactionStep, path: _Path) -> None:
        span = self._lines(step.line, step.end_line)
        if self.postgres:  # a procedure or DO block: COMMIT/ROLLBACK end one transaction and start the next
            if step.action != "begin":
                path.tx = self._new_transaction(span)
            return
        if path.tx is not None:
            if step.action == "begin":
                self.ops.append(Commit(span, path.tx))  # MySQL: START TRANSACTION commits the open one
            else:
                self.ops.append((Commit if step.action == "commit" else Rollback)(span, path.tx))
            path.tx, path.open_since = None, None
        if step.action == "begin":
            path.tx = self._new_transaction(span)
            self.ops.append(Begin(span, path.tx))

    def _work(self, path: _Path, span: Span) -> None:
        if not self.postgres and path.tx is not None and path.open_since is None:
            path.open_since = span

    def _exit(self, path: _Path, span: Span, kind: ExitKind) -> None:
        if not self.postgres and path.tx is not None and path.open_since is not None:
            self.ops.append(Exit(span, path.tx, kind=kind, open_since=path.open_since))

    def _track_row_count(self, op: Op, index: int) -> None:
        if isinstance(op, (Write, Insert)) and self.pending is not None:
            self.followed.add(self.pending)
        if isinstance(op, Read):
            self.pending = None  # FOUND / ROW_COUNT now tell about the read
        elif isinstance(op, Write):
            self.pending = index
        elif isinstance(op, Insert):
            self.pending = None

    def _row_count_seen(self) -> None:
        if self.pending is not None:
            self._looked_at(self.pending)

    def _looked_at(self, write: int) -> None:
        self.checked.add(write)
        if self.pending == write:
            self.pending = None
