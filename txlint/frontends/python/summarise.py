"""A function's summary (`txlint.core.summaries`) from its interpretation: what its callers get.

Read off the interpreter once every path is known: the values its `return`s
give (a row it read, with or without a lock; a lazy query; a tuple of such),
and whether the block a context manager wraps runs in a transaction it opened
(every `yield` inside one). A decorator factory's summary is not derived:
only a function that is itself the context manager is.
"""

from __future__ import annotations

import re

import libcst as cst

from txlint.core.index import normalise_column
from txlint.core.ir import Act, CacheKind, CacheOp, Commit, Insert, Read, RowOrigin, ValueKind, Write
from txlint.core.queries import expiries_after, takes_lock
from txlint.core.summaries import FunctionSummary, KeyEffect, Returned, ReturnedKind
from txlint.frontends.python.interpret.interpreter import FunctionInterpreter
from txlint.frontends.python.interpret.values import Data, Fetched, Pair, Query, Record, Row, Rows, Session, Value
from txlint.frontends.python.recognisers.sqlalchemy_sessions import SharedFlushes
from txlint.frontends.python.summarise_rows import row_writes, value_source

CONTEXT_MANAGERS = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})


def summary(name: str, interpreter: FunctionInterpreter, path: str) -> FunctionSummary | None:
    """The summary of the function `interpreter` has run (its unit's `params` set), None when it says nothing."""
    opens, database = False, None
    frames = interpreter.yields
    yields = _yields(interpreter)
    if frames and all(f is not None for f in frames) and _is_context_manager(interpreter):
        opens = True
        databases = {f.database for f in frames if f is not None}
        database = databases.pop() if len(databases) == 1 else None
    elif yields is not None and _is_context_manager(interpreter) and _commits_after_yield(interpreter):
        opens = True  # `yield session` then `session.commit()`: the caller's block is one transaction it commits
    params = interpreter.unit.params
    keys = _keys(interpreter, params)
    executes, executes_with = interpreter.sql_parameters[0] if interpreter.sql_parameters else ("", "")
    locks_rows = not interpreter.unit.transactions and any(
        isinstance(op, Read) and op.lock is not None and op.evaluated and op.tx is None and not op.advisory and not op.autocommit for op in interpreter.table.ops
    )
    saves = _saves(interpreter, params)
    records, record_ops = row_writes(interpreter, params)
    found = FunctionSummary(
        name, _returns(interpreter), opens, database, _acts(interpreter, saves, record_ops), keys=keys,
        params=params if keys or executes or saves or records else (), locks_rows=locks_rows,
        executes=executes, executes_with=executes_with, fetches=_fetches(interpreter) if executes else "", path=path, yields=yields, saves=saves,
        flushes=interpreter.memo(SharedFlushes, SharedFlushes).seen, row_writes=records,
    )
    return found if found.says_something else None


def _yields(interpreter: FunctionInterpreter) -> Returned | None:
    """The session every `yield` hands out (a context manager's, a FastAPI dependency's), None when
    they yield anything else."""
    found = {_described(value, interpreter) for value in interpreter.yielded}
    single = found.pop() if len(found) == 1 else None
    return single if single is not None and single.kind is ReturnedKind.SESSION else None


def _commits_after_yield(interpreter: FunctionInterpreter) -> bool:
    """A commit emitted after the first `yield` (ops are numbered in the order code is first
    reached, the source order of a context manager's straight-line body)."""
    first = interpreter.first_yield_op
    return first is not None and any(isinstance(op, Commit) for op in interpreter.table.ops[first:])


def _fetches(interpreter: FunctionInterpreter) -> str:
    """What a database wrapper hands back of what it ran: a fetched row, rows, or nothing."""
    for value in interpreter.returned:
        if isinstance(value, Fetched):
            return "many" if value.many else "one"
    return ""


def _keys(interpreter: FunctionInterpreter, params: tuple[str, ...]) -> tuple[KeyEffect, ...]:
    """The locks taken or released on a key that is one of the parameters, as the caller's key."""
    found: dict[KeyEffect, None] = {}
    unit = interpreter.unit
    for index, op in enumerate(unit.ops):
        if not (isinstance(op, CacheOp) and op.key in params):
            continue
        if takes_lock(op):
            expires = op.ttl if op.ttl is not False else bool(expiries_after(unit, index, op))
            found[KeyEffect(op.key, CacheKind.ACQUIRE, expires)] = None
        elif op.kind in (CacheKind.DELETE, CacheKind.RELEASE):
            found[KeyEffect(op.key, op.kind)] = None
    return tuple(found)


# A record of what happened (a log line, a history entry, an audit row) is written by every racer
# and harms nobody twice: a write there is no act a check guards.
_RECORD_TABLES = re.compile(r"(log|logentry|history|audit|trail)s?$", re.IGNORECASE)


def _saves(interpreter: FunctionInterpreter, params: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The columns of `self` the method assigns and saves, and where their values come from. A
    column the method checks itself before saving it (`if self.cancel_dt: return`) is left out: the
    method carries that check-then-act, judged with its callers (clarification 25)."""
    if not params or params[0] != "self":
        return ()
    found: dict[str, str] = {}
    for op in interpreter.table.ops:
        if not (isinstance(op, Write) and op.row is not None and op.row.origin is RowOrigin.PARAMETER and op.row.name == "self"):
            continue
        checked = {normalise_column(d.column) for c in op.conditions for d in c.depends_on if d.row == op.row and d.column is not None}
        for assignment in op.assignments:
            if normalise_column(assignment.column) in checked:
                continue
            source = value_source(assignment.value, params)
            found[assignment.column] = source if found.get(assignment.column, source) == source else ""
    return tuple(found.items())


def _acts(interpreter: FunctionInterpreter, saves: tuple[tuple[str, str], ...] = (), records: frozenset[int] = frozenset()) -> str:
    """What the function does that its caller's check may be guarding: the first write, insert or
    act it does itself, else the first of a function it calls (`refund()` calling the payment
    provider through `invoice.refund()`: the caller's check guards the refund all the same). Saving
    columns of its own row (`saves`), or writing back a record it is handed (`records`, the indices
    of those UPDATEs), is told to the caller as that write, not as an act."""
    passed_on = ""
    for index, op in enumerate(interpreter.table.ops):
        if index in records:
            continue
        if saves and isinstance(op, Write) and op.row is not None and op.row.origin is RowOrigin.PARAMETER and op.row.name == "self":
            continue
        if isinstance(op, (Write, Insert)) and not _RECORD_TABLES.search(op.table):
            return f"writes `{op.table}`"
        if isinstance(op, Act) and not op.through:
            return op.what
        if isinstance(op, Act) and not passed_on:
            callee, _, what = op.what.partition("()` ")
            passed_on = f"calls {callee}()` ({what})" if what else f"calls {op.what}"
    return passed_on


def _returns(interpreter: FunctionInterpreter) -> Returned | None:
    """What every `return` with a value gives, when they agree (a `return None` agrees with anything)."""
    described: set[Returned] = set()
    for value in interpreter.returned:
        if isinstance(value, Data) and value.constant:
            continue
        found = _described(value, interpreter)
        if found is None:
            return None
        described.add(found)
    return described.pop() if len(described) == 1 else None


def _described(value: Value, interpreter: FunctionInterpreter) -> Returned | None:
    if isinstance(value, Row) and value.ref.origin is RowOrigin.READ:
        read = _read(interpreter, value.ref.read)
        if read is not None and read.columns:  # a record fetched by SQL, handed on
            return Returned(ReturnedKind.RECORD, value.table, read.lock, columns=read.columns)
        return Returned(ReturnedKind.ROW, value.table, read.lock if read is not None else None)
    if isinstance(value, Record) and value.ref.origin is RowOrigin.READ:
        read = _read(interpreter, value.ref.read)
        return Returned(ReturnedKind.RECORD, read.table, read.lock, columns=read.columns or ("*",)) if read is not None else None
    if isinstance(value, Rows):
        read = _read(interpreter, value.read)
        return Returned(ReturnedKind.ROWS, value.table, read.lock if read is not None else None)
    if isinstance(value, Query):
        constant = tuple(g for g in value.guards if g.value.kind is ValueKind.INDEPENDENT and not g.value.depends_on)
        return Returned(ReturnedKind.QUERY, value.table, value.lock, value.api, guards=constant)
    if isinstance(value, Session):
        return Returned(ReturnedKind.SESSION, api="" if value.orm else "core")
    if isinstance(value, Pair) and value.items:
        items = tuple(_described(item, interpreter) for item in value.items)
        return Returned(ReturnedKind.TUPLE, items=items) if any(i is not None for i in items) else None
    return None


def _read(interpreter: FunctionInterpreter, index: int | None) -> Read | None:
    if index is None or index >= len(interpreter.table.ops):
        return None
    op = interpreter.table.ops[index]
    return op if isinstance(op, Read) else None


def _is_context_manager(interpreter: FunctionInterpreter) -> bool:
    for decorator in interpreter.func.decorators:
        qualified = interpreter.file.imports.resolve(decorator.decorator)
        if qualified in CONTEXT_MANAGERS:
            return True
        if isinstance(decorator.decorator, cst.Name) and decorator.decorator.value in {"contextmanager", "asynccontextmanager"}:
            return True
    return False
