"""The values of SQLAlchemy Core: engines, connections and their transactions, `Table` objects and
their columns, and the statements built from them (see `txlint.frontends.python.interpret.values`
for the values every recogniser shares)."""

from __future__ import annotations

from dataclasses import dataclass

from txlint.core.ftypes import Span
from txlint.frontends.python.interpret.values import Data, Handle, Query, Rows, Value


@dataclass(frozen=True)
class Engine(Value):
    """An `Engine`/`AsyncEngine`: the connections it gives are in autocommit when `autocommit`
    (`isolation_level="AUTOCOMMIT"`): their `begin()` starts no database transaction."""

    autocommit: bool = False


@dataclass(frozen=True)
class CoreConnection(Handle):
    """A Core `Connection`/`AsyncConnection`. In 2.0 it begins a transaction at its first statement,
    ended by `commit()`/`rollback()`; in autocommit every statement is its own."""

    name: str
    autocommit: bool = False


@dataclass(frozen=True)
class CoreTransaction(Handle):
    """What `conn.begin()` returns outside a `with`: the code ends it with `commit()`/`rollback()`.
    `real` is False when it stands for no database transaction (a savepoint, whose end does not end
    the transaction; an autocommit connection's, which begins nothing)."""

    connection: str
    real: bool = True


@dataclass(frozen=True)
class CoreTable(Value):
    """A `Table` object (`wallets = Table("wallets", metadata, ...)`, `Wallet.__table__`)."""

    table: str


@dataclass(frozen=True)
class CoreColumns(Value):
    """A table's column collection (`t.c`, `t.columns`)."""

    table: str


@dataclass(frozen=True)
class CoreColumn(Data):
    """One column of a table (`t.c.balance`): a column reference, as `F("balance")` is for Django,
    that also knows its table (so `select(t.c.balance)` reads `t`)."""

    table: str = ""


@dataclass(frozen=True)
class CoreQuery(Query):
    """A select built from a `Table` (`select(t)`, `select(t.c.a, t.c.b)`, `t.select()`): the columns
    it selects (empty: the whole row), so its result's items are known; `aggregate`: it selects a
    fact about the rows (`select(func.count()).select_from(t)`), which locks nothing absent."""

    columns: tuple[str, ...] = ()
    aggregate: bool = False


@dataclass(frozen=True)
class InsertStatement(Value):
    """An INSERT built as a value (`insert(t).values(...)`, `postgresql.insert(M)...`), run when
    executed. `on_conflict`: a duplicate is skipped or merged by the database (ON CONFLICT, ON
    DUPLICATE KEY UPDATE, INSERT IGNORE)."""

    table: str
    span: Span
    columns: tuple[str, ...] = ()
    on_conflict: bool = False


@dataclass(frozen=True)
class CoreResult(Rows):
    """The result of a select run on a connection: its rows (iterating it yields them), the columns
    selected (empty: the whole row), and whether it hands out the first column of each (`scalars()`)."""

    columns: tuple[str, ...] = ()
    scalar: bool = False
