"""The intermediate representation: what a unit of code does to the database.

Front-ends (Django, SQLAlchemy, DB-API, SQL scripts, runtime traces) turn
their input into these values; rules read only these values. Nothing here
knows a library: a `Read` is a read whether it came from
`Account.objects.get()` or from `SELECT ... FROM accounts`.

Operations are kept in source order inside a `Unit` (a function, a method,
a SQL block). Each carries the transaction it runs in (`tx`) so rules can
tell "read and write in one transaction" from "read before `atomic()`".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from txlint.core.ftypes import Span

if TYPE_CHECKING:
    from txlint.core.summaries import CallSite, FunctionSummary

Sign = Literal["+", "-"]
GuardOp = Literal["=", "!=", ">", ">=", "<", "<=", "is null", "is not null", "in"]
ComparisonOp = Literal["=", "!=", "<", "<=", ">", ">="]
ExitKind = Literal["return", "end", "raise"]  # a `return`, falling off the end, a `raise` with a lock held


class LockMode(enum.StrEnum):
    """The row lock a read asks for."""

    EXCLUSIVE = "exclusive"  # FOR UPDATE, FOR NO KEY UPDATE, select_for_update()
    SHARE = "share"  # FOR SHARE, LOCK IN SHARE MODE, with_for_update(read=True)


class RowOrigin(enum.StrEnum):
    """Where the in-memory row a unit writes back came from."""

    READ = "read"  # loaded by a `Read` in this unit
    PARAMETER = "parameter"  # handed in by the caller (a parameter or `self`)
    CREATED = "created"  # constructed in this unit, never read


class ValueKind(enum.StrEnum):
    """How a value being written was computed."""

    INDEPENDENT = "independent"  # literals and inputs: no database value feeds it
    DERIVED = "derived"  # computed in Python from values read from the database
    IN_DATABASE = "in-database"  # an expression the database evaluates (F("c") - x, SET c = c - x)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Transaction:
    """A transaction region seen in the unit (an `atomic()` block, a `BEGIN` ... `COMMIT`)."""

    id: int
    span: Span


@dataclass(frozen=True)
class Dependency:
    """A value read from the database: column `column` of the row produced by `row`."""

    row: RowRef
    column: str | None  # None: the row as a whole (it was passed to a call)


def in_order(dependencies: Iterable[Dependency]) -> list[Dependency]:
    """Dependencies in a fixed order (by the read that produced the row, then the column): a frozenset
    iterates in an order that changes from run to run with the hash seed, and so would the column a
    message names when several could be."""
    return sorted(dependencies, key=lambda d: (d.row.read if d.row.read is not None else -1, d.row.origin.value, d.row.name, d.column or ""))


@dataclass(frozen=True)
class RowRef:
    """An in-memory row: which read produced it (or that it came from outside)."""

    origin: RowOrigin
    read: int | None  # index of the `Read` in the unit's ops, when origin is READ
    name: str  # the variable or parameter the code calls it by


@dataclass(frozen=True)
class Delta:
    """An in-database change of a column by an amount: `c = c - x` is Delta("c", "-")."""

    column: str
    sign: Sign
    literal_amount: float | None = None  # the amount when it is a literal number


@dataclass(frozen=True)
class Value:
    """A value written to a column and what it depends on."""

    kind: ValueKind
    depends_on: frozenset[Dependency] = frozenset()
    delta: Delta | None = None
    expression: str | None = field(default=None, compare=False)  # normalised source text, for identity tests


@dataclass(frozen=True)
class Assignment:
    """One `column = value` of a write."""

    column: str
    value: Value
    span: Span


@dataclass(frozen=True)
class Guard:
    """One condition of a write's WHERE clause: `column op <value>`."""

    column: str
    op: GuardOp
    value: Value


@dataclass(frozen=True)
class Comparison:
    """`row.column <op> <expression>` inside a condition; `expression` is its normalised source text."""

    row: RowRef
    column: str
    op: ComparisonOp
    expression: str


@dataclass(frozen=True)
class Condition:
    """A branch decision an operation depends on: the `if` test (or an earlier early exit) around it."""

    span: Span
    depends_on: frozenset[Dependency]
    comparisons: tuple[Comparison, ...] = ()
    holds: bool | None = None  # the op runs when the test is true (True), false (False), or either way is not told
    results: frozenset[int] = frozenset()  # the writes and inserts (op indices) whose row counts the test reads
    # A true test means the one value it tests (a row, a fact, a count) is truthy (True: `if row:`,
    # `if qs.exists():`) or falsy (False: `if not row:`, `if row is None:`); None: a compound test.
    truthy: bool | None = None
    # Comparisons in `or`-ed parts of the test as well (`if r.a != x or r.b != y:`), when there are any:
    # none need hold where the test is true, but each tells what the test compared a field with.
    compared: tuple[Comparison, ...] = ()


class ReadKind(enum.StrEnum):
    """What a read returns: rows, or only a fact about rows (exists/count), which locks nothing that is absent."""

    ROWS = "rows"
    FACT = "fact"


@dataclass(frozen=True)
class Op:
    """Base of all operations: where it is, which transaction it runs in, which decisions guard it."""

    span: Span
    tx: int | None  # `Transaction.id` of the outermost open transaction, None when none is seen
    conditions: tuple[Condition, ...] = field(default=(), kw_only=True)
    # The op's identity in a runtime trace (the statement or event it stands for), which a rule's
    # report names (`Report.subject`) so the trace can place the finding at that statement's
    # application line. 0 on the static side, where the span is where the op is.
    ident: int = field(default=0, kw_only=True, compare=False)


@dataclass(frozen=True)
class Read(Op):
    """A query that loads rows (or facts about rows: exists/count)."""

    table: str
    lock: LockMode | None = None
    evaluated: bool = True  # False: a lazy query object that is built but never run
    row_var: str | None = None  # the variable the loaded row is bound to
    key: tuple[str, ...] = ()  # columns the query filters on
    guards: tuple[Guard, ...] = ()  # its WHERE conditions, to tell which rows it read
    columns: tuple[str, ...] = ()  # the columns it selects, in order ("*" for all), when known
    kind: ReadKind = ReadKind.ROWS
    autocommit: bool = False  # the connection is known to be in autocommit mode
    lock_requires_transaction: bool = False  # the library raises when this lock is taken outside a transaction
    advisory: bool = False  # an advisory lock (pg_advisory_xact_lock): a mutex on a key, not on rows of `table`
    through: str = ""  # the project function that reads it for this unit (its summary), "" when read here
    via: Dependency | None = None  # a related row loaded through a foreign key of another row (`order.user`): that key


@dataclass(frozen=True)
class Write(Op):
    """An UPDATE, or an in-memory row saved back (`save()`, flush of a dirty instance)."""

    table: str
    assignments: tuple[Assignment, ...] = ()
    row: RowRef | None = None  # the in-memory row written back, for instance saves
    guards: tuple[Guard, ...] = ()
    whole_row: bool = False  # every column is written back (`save()` without `update_fields`)
    result_checked: bool | None = None  # None: the front-end cannot tell


@dataclass(frozen=True)
class Insert(Op):
    """An INSERT / create()."""

    table: str
    columns: tuple[str, ...] = ()
    on_conflict: bool = False  # ON CONFLICT DO NOTHING, INSERT IGNORE: a duplicate is skipped by the database
    checked_first: bool = False  # a library's get-or-create: looks for the row, inserts when absent
    # Whether it inserted (a row count, get-or-create's `created`): True, the front-end follows it
    # (a test of it is in `Condition.results`); False, nothing reads it; None, the front-end cannot tell.
    outcome_read: bool | None = None


@dataclass(frozen=True)
class Change(Op):
    """A column of an in-memory row is assigned (saved later by a `Write` of that row): where the
    change is decided, which may be under a branch the save is not (`if row.status == "new":
    row.status = "paid"` ... `row.save()`)."""

    row: RowRef
    column: str


@dataclass(frozen=True)
class Act(Op):
    """A call with an effect beyond the rows of this unit (clarification 18): a project function
    that writes, a task sent, a payment, mail or HTTP call. What a check is meant to keep from
    happening twice."""

    what: str  # for messages: "`create_flip()` writes `Flip`", "a task is sent"
    through: str = ""  # the project function whose summary it comes from ("" when it is done here)


@dataclass(frozen=True)
class Begin(Op):
    """A transaction is opened explicitly by code that must then end it."""


@dataclass(frozen=True)
class Commit(Op):
    pass


@dataclass(frozen=True)
class Rollback(Op):
    pass


@dataclass(frozen=True)
class Exit(Op):
    """A way out of the unit (`return`, the end, a `close()`) and the uncommitted work some path carries there.

    `open_since` is where that work began (a write or lock in a transaction the
    code must end itself), None when every path arrives clean; `site` is where
    such a path left the code that would have ended it (an `if` without `else`,
    an `except` that swallows).
    """

    kind: ExitKind = "return"
    open_since: Span | None = None
    site: Span | None = None
    hands_over: bool = False  # the session/connection is returned: the caller owns the transaction
    # Indices of ops (cache lock acquisitions) whose lock some path still holds when it leaves
    # here; `kind` is then also "raise" for an exception raised with a lock held.
    held: tuple[int, ...] = ()


class DiscardCause(enum.StrEnum):
    """How a trace saw an open transaction end without commit or rollback of its own."""

    RELEASED = "released"  # its connection was handed back to the pool (or closed), which rolled it back
    CLOSED = "closed"  # its session (unit of work) was closed, which rolled it back


@dataclass(frozen=True)
class Discard(Op):
    """Runtime only: a transaction that had written ended with neither commit nor rollback, and
    its writes were thrown away (TX104 as only a trace sees it). `first_write` is the index in the
    unit of its first uncommitted write; `writes` how many it made."""

    cause: DiscardCause
    first_write: int | None = None
    writes: int = 0


@dataclass(frozen=True)
class Matched(Op):
    """Runtime only: the rows a write matched, as its driver counted them. `write` is the index in
    the unit of that write. A conditional update that matched no row, followed by more writes and
    a commit, is a compare-and-swap whose failure nobody looked at (TX108 as a trace sees it)."""

    write: int
    rows: int


@dataclass
class Unit:
    """One analysed unit: a function or method (Python), or a block (SQL script)."""

    name: str
    span: Span
    ops: list[Op] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    qualified: str = ""  # the project name callers call it by (`app.models.Check.ping`), "" when none does
    owner: str | None = None  # the class it is a method of
    params: tuple[str, ...] = ()  # its parameters in order (`self` included)
    # How a framework calls it with no caller's transaction around it: "view" (a Django view: in one
    # when the project sets ATOMIC_REQUESTS), "entry" (a task, a command, a route); "" when it does not.
    entry: str = ""

    def read_at(self, index: int | None) -> Read | None:
        if index is None:
            return None
        op = self.ops[index]
        return op if isinstance(op, Read) else None


@dataclass
class ModuleIR:
    """Everything a front-end recognised in one file."""

    path: str
    units: list[Unit] = field(default_factory=list)
    summaries: list[FunctionSummary] = field(default_factory=list)  # what its functions do for their callers
    calls: list[CallSite] = field(default_factory=list)  # its calls of project functions that pass rows or need a caller's transaction


# -- cache and distributed locks (TX2xx) --------------------------------------------------


class CacheKind(enum.StrEnum):
    """What a command to a cache or key-value store does to its key."""

    ACQUIRE = "acquire"  # set only if absent (SETNX, SET NX, add) or a lock object's acquire: a lock is taken
    SET = "set"  # unconditional write of a value
    CAS = "cas"  # write only if the value is unchanged since it was read (memcached `cas`)
    GET = "get"  # read of the value, or of whether the key exists
    GET_OR_SET = "get-or-set"  # read, adding the default only when absent (one call, no race worth reporting)
    INCR = "incr"  # atomic increment/decrement; its result is the new value
    EXPIRE = "expire"  # gives the existing key an expiry (EXPIRE, PEXPIRE, EXPIREAT, touch with a timeout)
    DELETE = "delete"  # plain delete, whoever holds the key (DEL, UNLINK, GETDEL, delete)
    RELEASE = "release"  # delete only when the stored token is the caller's (Lua compare-and-delete, a lock object's release)


@dataclass(frozen=True)
class CacheOp(Op):
    """One command to a cache or key-value store (Redis, memcached, a cache API), for the TX2xx rules.

    Keys: `key` is the key expression's source text without whitespace, with a
    local variable that is bound exactly once replaced by the expression bound
    to it, so "the same key" is the same expression or the same variable
    (None: no key could be read, which matches nothing). `key_constant` says the
    key is built from constant strings alone (one key for every request).

    Results: the value a command returns is tracked by the walker as
    `Dependency(RowRef(RowOrigin.READ, <index of this op>, ""), None)`, so a
    branch that tests it lists it in `Condition.depends_on` of the ops it
    guards; `Unit.read_at` returns None for such indices (database rules ignore
    them). `decides`, `result_used`, `compared_with` and `owner_check` summarise
    how the result is used: directly, or through the variable it is bound to, up
    to where that variable is bound again.

    Atomicity: ops queued in one MULTI/EXEC transaction share `atomic_group`;
    `watched` says the key is WATCHed by the optimistic transaction the op runs
    in, so a change by someone else between the check and EXEC aborts it.
    """

    kind: CacheKind
    key: str | None = None
    command: str = ""  # the method as called (`setnx`, `add`, `delete`): for messages only
    key_constant: bool = False
    ttl: bool | None = False  # this command leaves the key with an expiry; None: cannot tell (`**options`)
    atomic_group: int | None = None  # the MULTI/EXEC transaction it is queued in, None when it runs on its own
    watched: bool = False  # its key is WATCHed by the optimistic transaction it belongs to
    scoped: bool = False  # ACQUIRE by a context manager that releases the lock on every way out (`with r.lock(...)`)
    lock_object: bool = False  # ACQUIRE through a lock object that stores and checks its own token
    in_finally: bool = False  # runs in a `finally` block
    in_handler: bool = False  # runs in an `except` handler
    decides: bool = False  # its result is tested by a branch condition (if/while/ternary; an `assert` decides nothing)
    result_used: bool = False  # its result is used as a value besides tests (returned, stored, passed on)
    returned: bool = False  # its result is returned to the caller (a try-acquire helper: the caller decides)
    compared_with: tuple[str, ...] = ()  # literal values its result is compared with in branch conditions
    flag_value: bool = False  # SET: the value written is a marker (a literal, a variable, a token), not computed data
    decrement: bool = False  # INCR: the command lowers the counter (decr, decrby): it takes nothing
    # GET: a branch compares its result with a token-like value: a variable named like one
    # (`token`, `owner`, `uuid`), a value the function generated (uuid4, time, pid) or the value
    # it wrote to the same key before: an owner check, so the key is a lock.
    owner_check: bool = False
    # Where other code last ran on the path to this command: the number of ops the unit had when
    # a call that is none of a cache command, a conversion, an id/time maker or logging ran (the
    # work a check guards); None: no such call. Work ran between op i and this one when > i.
    last_work: int | None = None
    under_claim: bool = False  # runs while a lock the function took atomically is held on every path here
