"""What the trace analyser remembers: statements, their plans, connection states, and the helpers on them."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import Any

from txlint.core.ftypes import Span
from txlint.core.ir import Delta, Value, ValueKind, Write
from txlint.runtime.stack import UNKNOWN_SITE, Site
from txlint.runtime.trace.values import MISSING, bound_value, canonical, is_number
from txlint.sql import facts as sqlfacts
from txlint.sql import to_ir

MAX_CONNECTIONS = 4096
WINDOW = 256  # reads remembered per connection (autocommit run + current transaction)
MAX_BATCH = 64  # parameter sets of one executemany() that are analysed
MAX_LOCKS = 16  # locking reads per transaction handed to TX103
PLAN_CACHE = 4096  # statement texts whose facts are kept
PLAN_TEXT = 8_000_000  # characters of statement text the plan cache may hold (bulk INSERTs are long)
MAX_RELEASED = 256  # connections whose discarded writes a session-close event may still ask about
MAX_SPARE = 64  # emptied connection states kept for reuse
SQL_SHOWN = 400  # characters of SQL in a finding's related context

# Statements whose first word is none of these are never parsed (DDL, SHOW, PRAGMA, ...).
FIRST_WORDS = frozenset(
    {"select", "with", "update", "insert", "replace", "delete", "begin", "start", "commit", "rollback", "end", "set", "lock", "savepoint", "release", "("}
)
PROTECTIVE_ISOLATION = frozenset({"serializable", "repeatable read"})
LOCKS = to_ir.LOCKS  # a lock request by name ("exclusive", "share"), as the SQL facts name it

# Where a statement comes from, as a source knows it: the application's line itself, the frame its
# event was raised from (the application's line is the first one outside the libraries from there
# out), or None (look from the analyser's caller).
Where = Site | FrameType | None


@dataclass(eq=False, slots=True)
class Traced:
    """One statement (one parameter set) as the analyser remembers it.

    Its IR op is built when a rule first needs it: most statements are reads
    that no write ever looks back at, and building IR costs more than
    remembering the few bound values it needs.
    """

    handle: int  # unique; it is the line of the op's span inside the small units handed to rules
    statement: sqlfacts.Statement
    site: Site | None  # None: not looked up (a write no finding can ever point at; see `_placed`)
    tx: int
    autocommit: bool = False
    bound: dict[sqlfacts.PlaceholderKey, object] | None = None  # the values the op needs, by placeholder
    lock: str | None = None  # a lock request the SQL does not show
    rowcount: int | None = None
    values: dict[str, object] | None = None  # a read: the first row it returned, by normalised column
    followed_by: Traced | None = None  # a CAS write that matched no row: the next write of its transaction
    params: str | None = None  # the bound values as shown, kept only when the user asked to see them
    request: int = 0  # a read: the number of requests its thread had started (`txlint.runtime.request_count`)
    sent: Site | None = None  # a write a finding points at the assignment of: the line that sent it
    _op: Any = MISSING

    @property
    def op(self) -> Any:
        """Read | Write | Insert | None (a DELETE: a write that has no IR op)."""
        if self._op is MISSING:
            self._op = self._build()
        return self._op

    @op.setter
    def op(self, value: Any) -> None:
        self._op = value

    def _build(self) -> Any:
        bound = self.bound or {}
        handle = self.handle

        def resolve(key: sqlfacts.PlaceholderKey) -> Value:
            value = bound.get(key, MISSING)
            if value is MISSING:  # never equal to anything: an unknown key names no row
                return Value(ValueKind.UNKNOWN, expression=f"<unbound {handle}:{key}>")
            return Value(ValueKind.INDEPENDENT, expression=canonical(value))

        # The span orders the trace's ops as they ran; the identity names this statement.
        lock = LOCKS.get(self.lock) if self.lock is not None else None
        return to_ir.statement_op(self.statement, Span.point(handle), self.tx, resolve, autocommit=self.autocommit, lock=lock, ident=handle)

    def locks(self) -> str | None:
        """The row lock a read asks for, from its SQL or from the source."""
        return self.statement.lock or (self.lock if self.lock in LOCKS else None)


@dataclass(frozen=True)
class Plan:
    """A statement text's facts, and the placeholders whose values a read must keep."""

    statement: sqlfacts.Statement
    read_keys: tuple[sqlfacts.PlaceholderKey, ...]
    plain_read: bool = False  # a SELECT of a table that takes no advisory lock: the common case, fast path


@dataclass
class Snapshot:
    """What a transaction that was rolled back had done: for TX104 when the rollback came from a close."""

    first_write: Traced
    writes: int


@dataclass(eq=False)
class ConnectionState:
    """Everything the analyser knows about one connection, between its check-out and check-in."""

    tx_open: bool = False
    tx_id: int = 0
    autocommit: bool = False
    isolation: str | None = None  # of the current transaction, or set for the next one
    begin_lock: bool = False  # SQLite BEGIN IMMEDIATE/EXCLUSIVE: the database write lock is taken
    advisory: bool = False
    table_locks: set[str] = field(default_factory=set)
    window: deque[Traced] = field(default_factory=lambda: deque(maxlen=WINDOW))
    locked_reads: deque[Traced] = field(default_factory=lambda: deque(maxlen=MAX_LOCKS))
    first_write: Traced | None = None
    writes: int = 0
    cas_zero: list[Traced] = field(default_factory=list)
    decrements: list[Traced] = field(default_factory=list)
    inserts: list[Traced] = field(default_factory=list)
    transitions: list[Traced] = field(default_factory=list)  # status transitions that matched their row
    observed: dict[str, list[tuple[frozenset[tuple[str, str]], dict[str, object]]]] = field(default_factory=dict)
    last_read: Traced | None = None
    discarded: Snapshot | None = None

    def end_transaction(self) -> None:
        """Drop what the transaction did (its window too); the connection's settings stay."""
        self.tx_open = False
        self.isolation = None
        self.begin_lock = self.advisory = False
        self.first_write = self.last_read = None
        self.writes = 0
        for bag in (self.table_locks, self.window, self.locked_reads, self.cas_zero, self.decrements, self.inserts, self.transitions, self.observed):
            if bag:
                bag.clear()

    def reset(self) -> ConnectionState:
        """As new, for the next connection (a pool checks out and in on every request: making
        the containers anew each time is a cost the hook need not pay)."""
        self.end_transaction()
        self.tx_id = 0
        self.autocommit = False
        self.discarded = None
        return self


def may_matter(sql: str) -> bool:
    """A cheap look at the first word: only DML and transaction control are parsed."""
    head = sql.lstrip()[:16].lower()
    if head.startswith(("/*", "--")):
        return True  # a leading comment: let the parser see past it
    word = head.split(None, 1)[0] if head else ""
    return word.rstrip(";") in FIRST_WORDS or word.startswith("(")


def subtracts(statement: sqlfacts.Statement) -> bool:
    """The statement subtracts from a column in the database (`SET c = c - x`)."""
    return any(a.change is not None and a.change.sign == "-" for a in statement.sets)


def plan_of(statement: sqlfacts.Statement) -> Plan:
    plain_read = statement.kind == "select" and statement.table is not None and not statement.advisory_lock
    return Plan(statement, guard_keys(statement), plain_read)


def guard_keys(statement: sqlfacts.Statement) -> tuple[sqlfacts.PlaceholderKey, ...]:
    """The placeholders of a statement's WHERE: all a read's op needs (its key values)."""
    keys: dict[sqlfacts.PlaceholderKey, None] = {}
    for guard in statement.predicates:
        for key in guard.operand.placeholders or ((guard.operand.placeholder,) if guard.operand.placeholder is not None else ()):
            keys[key] = None
    return tuple(keys)


def param_sets(params: object, executemany: bool) -> list[object]:
    if not executemany:
        return [params]
    if isinstance(params, Sequence) and not isinstance(params, (str, bytes)) and params:
        return list(params[:MAX_BATCH])
    return [None]


def with_bound_amounts(write: Write, statement: sqlfacts.Statement, params: object) -> Write:
    """`SET c = c - ?` with a bound 1 is a decrement by exactly 1 (TX106's `c > 0` guard covers it)."""
    changed = False
    assignments = list(write.assignments)
    for i, (fact, assignment) in enumerate(zip(statement.sets, write.assignments, strict=False)):
        delta = assignment.value.delta
        if delta is None or fact.change is None or fact.change.amount.kind != "placeholder" or fact.change.amount.placeholder is None:
            continue
        amount = bound_value(params, fact.change.amount.placeholder)
        if is_number(amount):
            bounded = Delta(delta.column, delta.sign, float(amount))
            assignments[i] = replace(assignment, value=replace(assignment.value, delta=bounded))
            changed = True
    return replace(write, assignments=tuple(assignments)) if changed else write


def site_of(traced: Traced) -> Site:
    return traced.site or UNKNOWN_SITE


def shorter(text: str) -> str:
    return text if len(text) <= SQL_SHOWN else text[: SQL_SHOWN - 3] + "..."
