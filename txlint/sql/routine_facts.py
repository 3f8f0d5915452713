"""What a stored routine's body does, as plain data that knows no SQL parser.

`txlint.sql.routines` reads these from a `CREATE FUNCTION`/`PROCEDURE`/
`EVENT` or a `DO` block; the `.sql` front-end turns them into IR. A body is a
tree of steps: SQL statements (with the routine's variables in them as named
placeholders), assignments of variables, branches, loops, exits and
transaction control. What a step cannot tell (dynamic SQL, a call of another
routine, a cursor) is an `OpaqueStep`: it may read, lock or write anything.

Variables are named in lower case, as both PostgreSQL and MySQL compare them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from txlint.sql.facts import PlaceholderKey, Statement

RoutineKind = Literal["function", "procedure", "trigger", "event", "do"]
ExitAction = Literal["return", "raise", "loop"]  # leave the routine, raise an error, leave or restart a loop
TransactionAction = Literal["begin", "commit", "rollback"]


@dataclass(frozen=True)
class VariableRef:
    """A variable or parameter of the routine (`v`), or a field of a record variable (`r.balance`)."""

    name: str
    field: str | None = None


@dataclass(frozen=True)
class SqlStep:
    """A SQL statement of the body. `variables` says which placeholder of the statement is which
    variable; `into` lists the variables that `SELECT ... INTO` or `RETURNING ... INTO` fills, in order."""

    statement: Statement
    variables: tuple[tuple[PlaceholderKey, VariableRef], ...] = ()
    into: tuple[VariableRef, ...] = ()
    returning: bool = False  # `into` is filled by RETURNING of a write (the new values), not by a read
    row_count: bool = False  # it reads the row count of the statement before (MySQL `SELECT ROW_COUNT()`)


@dataclass(frozen=True)
class Probe:
    """A query inside a condition: `EXISTS (SELECT ...)` (existence) or a scalar `(SELECT c ...)`."""

    query: SqlStep
    existence: bool


@dataclass(frozen=True)
class Test:
    """The condition of an IF/ELSIF/WHEN/WHILE/UNTIL: the variables it uses, whether it asks for the
    row count of the last statement (PostgreSQL `FOUND`, `ROW_COUNT`), and the queries in it."""

    line: int
    end_line: int
    uses: tuple[VariableRef, ...] = ()
    row_count: bool = False
    probes: tuple[Probe, ...] = ()


@dataclass(frozen=True)
class AssignStep:
    """`v := expr` (PostgreSQL), `SET v = expr` (MySQL), a declared default, `GET DIAGNOSTICS v = ROW_COUNT`."""

    line: int
    end_line: int
    target: VariableRef
    uses: tuple[VariableRef, ...] = ()
    row_count: bool = False  # the value is the row count of the last statement
    unknown: bool = False  # the value comes from something this reading does not follow (a query in an expression)


@dataclass(frozen=True)
class Arm:
    test: Test | None  # None: ELSE
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class BranchStep:
    """IF/ELSIF/ELSE or CASE: the arms in order; at most one of them runs."""

    line: int
    end_line: int
    arms: tuple[Arm, ...]


@dataclass(frozen=True)
class LoopStep:
    """LOOP/WHILE/REPEAT/FOR: `query` is the SELECT a `FOR r IN SELECT ...` loop walks (its rows in `r`)."""

    line: int
    end_line: int
    steps: tuple[Step, ...]
    test: Test | None = None
    query: SqlStep | None = None


@dataclass(frozen=True)
class ExitStep:
    """RETURN, RAISE EXCEPTION / SIGNAL, LEAVE of the routine's own label (`return`), or a loop's EXIT/LEAVE/ITERATE."""

    line: int
    end_line: int
    action: ExitAction
    uses: tuple[VariableRef, ...] = ()
    row_count: bool = False  # `RETURN FOUND`: the caller gets the row count


@dataclass(frozen=True)
class TransactionStep:
    """START TRANSACTION, COMMIT, ROLLBACK inside a procedure."""

    line: int
    end_line: int
    action: TransactionAction


@dataclass(frozen=True)
class OpaqueStep:
    """Dynamic SQL (`EXECUTE`), a `CALL`, a cursor, or a statement this reading does not understand."""

    line: int
    end_line: int
    what: str


Step = SqlStep | AssignStep | BranchStep | LoopStep | ExitStep | TransactionStep | OpaqueStep


@dataclass(frozen=True)
class Routine:
    """A stored routine or anonymous block, and its body as steps.

    `body` is None when it was not read: another language (C, PL/Python), a
    body in a single-quoted string, or a construct this reading does not know.
    `grammar` says which procedural language the body is written in:
    `plpgsql` (PostgreSQL), `psm` (MySQL/MariaDB's BEGIN ... END) or `sql`
    (a list of plain statements: PostgreSQL `LANGUAGE sql`, `BEGIN ATOMIC`).
    """

    kind: RoutineKind
    name: str
    grammar: Literal["plpgsql", "psm", "sql", "other"]
    params: tuple[str, ...] = ()
    body: tuple[Step, ...] | None = None
    line: int = 1
    end_line: int = 1
