"""Abstract values the interpreter tracks per variable: an open domain.

`Value` is the base class; the classes here are what every recogniser
shares (plain data and where it came from, rows, queries, sessions), and a
recogniser defines its own for what only it knows (a cursor, a Redis
pipeline). Values are immutable. Where paths meet, a variable's values are
joined (`join_values`): equal values stay, `UNKNOWN` yields to anything,
`Data` merges what it depends on, two rows keep the origin that matters
(a row read from the database over one passed in or built here); any other
pair has no common value and the binding later in the source wins.

Rules never see these; they see `txlint.core.ir`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from txlint.core.ftypes import Span
from txlint.core.ir import Assignment, Delta, Dependency, Guard, LockMode, RowOrigin, RowRef


class Value:
    """Base of the abstract values; subclasses are frozen dataclasses."""

    def join(self, other: Value) -> Value | None:
        """The value holding `self` on one path and `other` on another; None when there is no
        common value (the later binding is kept)."""
        return self if self == other else None


@dataclass(frozen=True)
class Unknown(Value):
    """Nothing is known about the value."""


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Data(Value):
    """A plain value and the database values it was computed from."""

    deps: frozenset[Dependency] = frozenset()
    in_database: bool = False  # an expression the database evaluates (F("c") - x)
    delta: Delta | None = None
    column_ref: str | None = None  # F("c") itself: a reference to column c
    results: frozenset[int] = frozenset()  # the writes whose result (a row count) this is
    text: str | None = None  # the value of a string constant (SQL held in a variable)
    # The value is a field of a row itself, not a copy (`obj.tags`): changing it in place
    # (`tags.append(t)`) changes the row, as assigning it would.
    field_of: tuple[Value, str] | None = None

    @property
    def constant(self) -> bool:
        """A value that says nothing (a literal such as None or 0): it yields to any other in a join."""
        return not (self.deps or self.in_database or self.column_ref or self.results or self.text is not None)

    def join(self, other: Value) -> Value | None:
        if not isinstance(other, Data):
            return other if self.constant else None
        return Data(
            self.deps | other.deps,
            self.in_database or other.in_database,
            self.delta if self.delta == other.delta else None,
            self.column_ref if self.column_ref == other.column_ref else None,
            self.results | other.results,
            self.text if self.text == other.text else None,
            self.field_of if self.field_of == other.field_of else None,
        )


# Which origin a joined row keeps: a row read from the database is the one a write can lose.
_ORIGIN_RANK = {RowOrigin.READ: 2, RowOrigin.PARAMETER: 1, RowOrigin.CREATED: 0}


@dataclass(frozen=True)
class Row(Value):
    """One in-memory row (a model instance)."""

    ref: RowRef
    table: str
    columns: tuple[str, ...] = ()  # for a row built in code: the columns it was given
    via: Dependency | None = None  # a related row: the foreign key of the row it was reached through

    def dependencies(self) -> frozenset[Dependency]:
        """What a value computed from this row depends on: the row, and the key that led to it."""
        found = frozenset({Dependency(self.ref, None)})
        return found | {self.via} if self.via is not None else found

    def join(self, other: Value) -> Value | None:
        if self == other:
            return self
        if isinstance(other, Row) and other.ref.origin is not self.ref.origin:
            return max(self, other, key=lambda row: _ORIGIN_RANK[row.ref.origin])
        if isinstance(other, Data) and other.constant:
            return self  # `obj = None` on the other path
        return None


@dataclass(frozen=True)
class Record(Value):
    """A fetched tuple row (`cursor.fetchone()`): its items are the selected columns of one read."""

    ref: RowRef
    columns: tuple[str, ...]  # empty or containing "*": positions unknown

    def item(self, key: int | str) -> Data:
        if isinstance(key, str):
            column: str | None = key
        elif 0 <= key < len(self.columns) and "*" not in self.columns:
            column = self.columns[key]
        else:
            column = None
        return Data(frozenset({Dependency(self.ref, column)}))


@dataclass(frozen=True)
class Fetched(Value):
    """What a cursor hands back of SQL a caller gave (a database wrapper's `return cur.fetchone()`):
    nothing is known of it here; the wrapper's callers read it as the row or rows of their SQL."""

    many: bool = False


@dataclass(frozen=True)
class Rows(Value):
    """An evaluated collection of rows (`list(qs)`): iterating it yields `Row`s of one read, or, for
    a cursor's `fetchall()`, the `Record`s (tuples of its selected columns) of that read."""

    read: int
    table: str
    records: tuple[str, ...] | None = field(default=None, kw_only=True)  # a cursor's rows: the read's selected columns


@dataclass(frozen=True)
class Query(Value):
    """A lazy query: built, not yet run. Evaluating it emits a `Read`."""

    table: str
    span: Span
    lock: LockMode | None = None
    guards: tuple[Guard, ...] = ()
    using: str | None = None  # the database alias the query runs on
    lock_requires_transaction: bool = False
    api: str = ""  # the library that built it: its recogniser is the one that knows its methods
    sets: tuple[str, ...] = ()  # columns a row created through it gets (a related manager's foreign key)
    # Related rows read in the same statement (Django `select_related("account__owner")`): each
    # path (`account`, `account__owner`) and the table it reaches.
    joined: tuple[tuple[str, str], ...] = ()
    # The rows the lock covers when it names them (`select_for_update(of=("self", "account"))`):
    # joined paths, "" for the query's own rows; None: every row the statement reads.
    lock_of: frozenset[str] | None = None

    def join(self, other: Value) -> Value | None:
        if self == other:
            return self
        if isinstance(other, Query) and other.table == self.table and (self.lock is None) != (other.lock is None):
            # `if lock: qs = qs.select_for_update()`: the locking variant is what the code asks for.
            return self if self.lock is not None else other
        return None


@dataclass(frozen=True)
class UpdateStatement(Value):
    """An UPDATE built as a value (SQLAlchemy `update(M).where(...).values(...)`), run when executed."""

    table: str
    span: Span
    guards: tuple[Guard, ...] = ()
    assignments: tuple[Assignment, ...] = ()


class Handle(Value):
    """Base of values that own a transaction (sessions, connections, cursors): returning one hands
    the transaction to the caller."""


@dataclass(frozen=True)
class Session(Handle):
    """A unit-of-work session or connection: its reads and writes share one transaction until
    commit. `orm` says it keeps changed instances and writes them at a flush (a Core connection
    does not)."""

    name: str
    orm: bool = True


@dataclass(frozen=True)
class ModelClass(Value):
    """A model class (it can be instantiated or queried)."""

    name: str


@dataclass(frozen=True)
class Parameter(Value):
    """A parameter of unknown type: treated as a row only when the code proves it is one."""

    name: str


@dataclass(frozen=True)
class Pair(Value):
    """A tuple of values (`obj, created = get_or_create(...)`)."""

    items: tuple[Value, ...] = field(default=())


def join_values(left: Value, right: Value) -> Value | None:
    """The value a variable has where paths holding `left` and `right` meet; None: none in common."""
    if left == right:
        return left
    if isinstance(left, Unknown):
        return right
    if isinstance(right, Unknown):
        return left
    found = left.join(right)
    return found if found is not None else right.join(left)
