"""Abstract values the Python walker tracks per variable.

They live only inside the front-end: the walker uses them to connect a
`save()` back to the read that produced the row, and a written value to the
database values it was computed from. Rules never see them; they see `txlint.core.ir`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from txlint.core.ftypes import Span
from txlint.core.ir import Assignment, Delta, Dependency, Guard, LockMode, RowRef


@dataclass(frozen=True)
class Data:
    """A plain value and the database values it was computed from."""

    deps: frozenset[Dependency] = frozenset()
    in_database: bool = False  # an expression the database evaluates (F("c") - x)
    delta: Delta | None = None
    column_ref: str | None = None  # F("c") itself: a reference to column c
    result_of: int | None = None  # the op whose result (a row count) this is
    text: str | None = None  # the value of a string constant (SQL held in a variable)


@dataclass(frozen=True)
class Row:
    """One in-memory row (a model instance)."""

    ref: RowRef
    table: str
    columns: tuple[str, ...] = ()  # for a row built in code: the columns it was given


@dataclass(frozen=True)
class Record:
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
class Rows:
    """An evaluated collection of rows (`list(qs)`): iterating it yields `Row`s of one read."""

    read: int
    table: str


@dataclass(frozen=True)
class Query:
    """A lazy query: built, not yet run. Evaluating it emits a `Read`."""

    table: str
    span: Span
    lock: LockMode | None = None
    guards: tuple[Guard, ...] = ()
    using: str | None = None  # the database alias the query runs on
    lock_requires_transaction: bool = False
    api: str = ""  # the library that built it: its recogniser is the one that knows its methods


@dataclass(frozen=True)
class UpdateStatement:
    """An UPDATE built as a value (SQLAlchemy `update(M).where(...).values(...)`), run when executed."""

    table: str
    span: Span
    guards: tuple[Guard, ...] = ()
    assignments: tuple[Assignment, ...] = ()


class Handle:
    """Marker base of values that own a transaction (sessions, connections, cursors): returning
    one hands the transaction to the caller."""


@dataclass(frozen=True)
class Session(Handle):
    """A unit-of-work session or connection: its reads and writes share one transaction until commit."""

    name: str


@dataclass(frozen=True)
class ModelClass:
    """A model class (it can be instantiated or queried)."""

    name: str


@dataclass(frozen=True)
class Parameter:
    """A parameter of unknown type: treated as a row only when the code proves it is one."""

    name: str
    fields: dict[str, Data] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Pair:
    """A tuple of values (`obj, created = get_or_create(...)`)."""

    items: tuple[object, ...]


AbstractValue = Data | Row | Record | Rows | Query | ModelClass | Parameter | Pair | UpdateStatement | Session
