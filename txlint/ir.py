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
from dataclasses import dataclass, field

from txlint.ftypes import Span


class LockMode(str, enum.Enum):
    """The row lock a read asks for."""

    EXCLUSIVE = "exclusive"  # FOR UPDATE, FOR NO KEY UPDATE, select_for_update()
    SHARE = "share"  # FOR SHARE, LOCK IN SHARE MODE, with_for_update(read=True)


class RowOrigin(str, enum.Enum):
    """Where the in-memory row a unit writes back came from."""

    READ = "read"  # loaded by a `Read` in this unit
    PARAMETER = "parameter"  # handed in by the caller (a parameter or `self`)
    CREATED = "created"  # constructed in this unit, never read


class ValueKind(str, enum.Enum):
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
    sign: str  # "+" or "-"
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
    op: str  # "=", ">=", ">", "<", "<=", "!=", "is null", "in"
    value: Value


@dataclass(frozen=True)
class Comparison:
    """`row.column <op> <expression>` inside a condition; `expression` is its normalised source text."""

    row: RowRef
    column: str
    op: str
    expression: str


@dataclass(frozen=True)
class Condition:
    """A branch decision an operation depends on: the `if` test (or an earlier early exit) around it."""

    span: Span
    depends_on: frozenset[Dependency]
    comparisons: tuple[Comparison, ...] = ()


class ReadKind(str, enum.Enum):
    """What a read returns: rows, or only a fact about rows (exists/count), which locks nothing that is absent."""

    ROWS = "rows"
    FACT = "fact"


@dataclass(frozen=True)
class Op:
    """Base of all operations: where it is, which transaction it runs in, which decisions guard it."""

    span: Span
    tx: int | None  # `Transaction.id` of the outermost open transaction, None when none is seen
    conditions: tuple[Condition, ...] = field(default=(), kw_only=True)


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


@dataclass(frozen=True)
class Begin(Op):
    """A transaction is opened explicitly by code that must then end it."""

    manual: bool = True


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

    kind: str = "return"  # "return", "end" or "close"
    open_since: Span | None = None
    site: Span | None = None
    hands_over: bool = False  # the session/connection is returned: the caller owns the transaction


@dataclass
class Unit:
    """One analysed unit: a function or method (Python), or a block (SQL script)."""

    name: str
    span: Span
    ops: list[Op] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)

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
