"""What one SQL statement does, as plain data that knows no SQL parser.

The other modules of `txlint.sql` turn SQL text into these values with
sqlglot; `txlint.sql.to_ir` turns them into IR operations. Front-ends and
the runtime trace analyser read only these values, so a change of sqlglot's
tree shapes (they move between major versions) stops inside this package,
and tests can build statements by hand.

They are syntax, not semantics: a `Predicate` compares a column with an
`Operand` (a placeholder, a literal, another column); what a placeholder's
value depends on is only known to the caller, which binds it when the
statement becomes IR (`txlint.core.ir.Guard`, `Assignment`, `Delta`).

Names are kept as written (unquoted, no case folding, no schema prefix):
`public."Accounts"` is the table `Accounts`. Placeholder keys are an `int`
(0-based position) for positional styles (`%s`, `?`, `?3`, `$1`, `:1`) and a
`str` for named ones (`%(name)s`, `:name`, sqlite `$name`/`@name`), the way
DB-API drivers index their parameters; bound values never appear here.
Everything is a frozen dataclass so facts can be cached, hashed and compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from txlint.sql.routine_facts import Routine

PlaceholderKey = int | str
LiteralValue = float | str | bool

OperandKind = Literal["placeholder", "literal", "column", "null", "expression"]
PredicateOp = Literal["=", "!=", ">", ">=", "<", "<=", "is null", "is not null", "in"]
StatementKind = Literal[
    "select",
    "update",
    "insert",
    "delete",
    "begin",
    "commit",
    "rollback",
    "savepoint",
    "set",
    "lock_table",
    "other",
]
LockStrength = Literal["exclusive", "share"]
LockWait = Literal["nowait", "skip locked", "wait"]
SavepointAction = Literal["create", "release", "rollback_to"]


@dataclass(frozen=True)
class SqlError:
    """Why a piece of SQL could not be parsed, with a 1-based position when sqlglot gives one."""

    message: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Operand:
    """One side of a comparison or the value of an assignment.

    `placeholders` and `columns` list every placeholder key and column name
    used anywhere inside the operand (for a bare placeholder or column too),
    so a rule can ask "does this value come from parameter 2?" or "does it
    read `balance`?" without caring about the operand's shape.
    """

    kind: OperandKind
    placeholder: PlaceholderKey | None = None  # kind "placeholder"
    literal: LiteralValue | None = None  # kind "literal": a number as float, a string, or a bool
    column: str | None = None  # kind "column"
    placeholders: tuple[PlaceholderKey, ...] = ()
    columns: tuple[str, ...] = ()
    table: str | None = None  # kind "column": the table it is qualified with (aliases resolved), None when unqualified


@dataclass(frozen=True)
class Predicate:
    """One top-level AND conjunct of a WHERE clause, normalised to `column op operand`.

    `x <= balance` is stored as `Predicate("balance", ">=", x)`; `a BETWEEN x AND y`
    as two predicates; a bare boolean column `is_active` as `is_active = true`.
    `table` is the table the column was qualified with (aliases resolved), or
    None when it was not qualified, so a predicate on a joined table is not taken
    for one on the written table.
    """

    column: str
    op: PredicateOp
    operand: Operand
    table: str | None = None


@dataclass(frozen=True)
class Change:
    """An in-database change of a column by an amount: `c = c - x` is Change("c", "-", x)."""

    column: str
    sign: Literal["+", "-"]
    amount: Operand


@dataclass(frozen=True)
class SetItem:
    """One `SET column = operand` (or one column of a single-row INSERT).

    `change` is set when the new value is the column's own value plus or minus
    an amount (`c - x`, `c + x`, `x + c`, also through `COALESCE(c, 0)`): the
    write is then atomic in the database, which TX101 must not flag and
    TX105/TX106/TX111 look for.
    """

    column: str
    operand: Operand
    change: Change | None = None


@dataclass(frozen=True)
class Statement:
    """The facts rules need about one SQL statement, in source order within its text.

    Only the outer query counts for `lock`: a `FOR UPDATE` inside a subquery
    or CTE locks rows the statement does not return, and table aliases are
    resolved in the scope of the outer query (a subquery or CTE has its own).
    `predicates` hold the recognised WHERE conjuncts; `where_opaque` says some conjunct (an OR, a
    function call, `NOT IN`, ...) was not recognised, so "no predicate on `c`"
    is not a proof. A statement without WHERE has no predicates and is not
    opaque.

    Kind-specific fields:
    - select: `columns` (select-list column names, `*` as "*"), `aggregate`
      (count/sum/exists ...; a bare `SELECT EXISTS (subquery)` reports the
      subquery's table and predicates), `advisory_lock`/`advisory_keys`
      (`pg_advisory_xact_lock(k)`, `pg_advisory_lock`, their `try` forms,
      MySQL `GET_LOCK`).
    - insert: `columns` (the column list), `sets` (column = value of a
      single-row VALUES), `on_conflict_nothing` (ON CONFLICT DO NOTHING,
      INSERT IGNORE, INSERT OR IGNORE), `upsert` (ON CONFLICT DO UPDATE,
      ON DUPLICATE KEY UPDATE, REPLACE, INSERT OR REPLACE) with
      `conflict_columns` and `conflict_sets`.
    - update: `sets`, `predicates`; delete: `predicates`.
    - any DML: `cte_inserts`, the INSERTs of its data-modifying CTEs (`WITH ins AS (INSERT ...
      RETURNING id) UPDATE ...`), which run with it; `gated_by`, the positions in `cte_inserts`
      of those whose returned rows the statement needs to change any (it joins them, `FROM ins`,
      or an AND-ed condition tests them, `EXISTS (SELECT 1 FROM ins)`, `id IN (SELECT ... FROM ins)`).
    - begin/set: `isolation` ("serializable", "repeatable read", ...) when the
      statement sets it, `autocommit` for `SET autocommit = 0/1`. SQLite's
      `BEGIN IMMEDIATE`/`BEGIN EXCLUSIVE` take the database write lock at
      once, so they carry `lock="exclusive"`.
    - lock_table: `lock` ("exclusive" for modes that block concurrent row
      writers and each other, "share" for SHARE / MySQL READ, None for the
      weak PostgreSQL modes that block neither) and `lock_tables`.
    - savepoint: `savepoint` (the name) and `savepoint_action`; a
      `ROLLBACK TO SAVEPOINT` is a savepoint, not a "rollback", because the
      transaction stays open.

    `text` is the statement as written with comments removed and whitespace
    collapsed outside quotes, placeholders kept; `line`/`end_line` are
    1-based lines of its first and last token within the parsed text.
    """

    kind: StatementKind
    text: str = ""
    line: int = 1
    end_line: int = 1
    table: str | None = None
    tables: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    lock: LockStrength | None = None
    lock_tables: tuple[str, ...] = ()
    lock_wait: LockWait | None = None
    predicates: tuple[Predicate, ...] = ()
    where_opaque: bool = False
    sets: tuple[SetItem, ...] = ()
    on_conflict_nothing: bool = False
    upsert: bool = False
    conflict_columns: tuple[str, ...] = ()
    conflict_sets: tuple[SetItem, ...] = ()
    returning: bool = False
    aggregate: bool = False
    advisory_lock: bool = False
    advisory_keys: tuple[Operand, ...] = ()
    placeholders: tuple[PlaceholderKey, ...] = ()  # the key of every placeholder occurrence, in text order
    isolation: str | None = None
    autocommit: bool | None = None
    savepoint: str | None = None
    savepoint_action: SavepointAction | None = None
    cte_inserts: tuple[Statement, ...] = ()
    gated_by: tuple[int, ...] = ()
    routine: Routine | None = None  # other: the stored routine or DO block the statement creates or runs


@dataclass(frozen=True)
class TableSchema:
    """What the DDL of a project says about one table, for the schema index.

    `unique_columns` lists each PRIMARY KEY / UNIQUE constraint or unique
    index as its column tuple (an expression index such as `lower(email)`
    contributes the column it uses; a partial unique index counts as unique,
    since when unsure txlint stays silent). `non_negative` holds columns
    with a `CHECK (c >= 0)` / `CHECK (c > 0)` (any literal bound >= 0) or an
    unsigned integer type (MySQL rejects a decrement below zero in strict
    mode).
    """

    name: str
    unique_columns: tuple[tuple[str, ...], ...] = ()
    non_negative: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
