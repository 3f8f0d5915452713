"""The `.sql` front-end: scripts of statements with `BEGIN` ... `COMMIT` blocks.

Each transaction block (from `BEGIN`/`START TRANSACTION` to `COMMIT` or
`ROLLBACK`) is one unit; a statement outside any block runs in autocommit
and is a unit of its own. Literals stand for themselves, so `WHERE id = 7`
in a SELECT and in an UPDATE name the same row. DDL feeds the project index.
A `LOCK TABLE` in a block locks the rows the block then reads from that table.

The file is read as its client program runs it (`txlint.sql.client`): psql
meta-commands, `COPY ... FROM STDIN` data, MySQL `DELIMITER` and sqlite3
dot-commands are not SQL. Of psql's, three change what a block means: after
`\\connect` the block is gone (a new connection; its transaction was never
committed), and a block that spans an `\\elif`/`\\else` (its statements are
alternatives) or an `\\i` (another file's statements run inside it) is not
judged. A psql variable (`:item`, `:'item'`) stands for one value throughout
the script (a `\\set` that changes it between two uses is not followed).
Each stored routine or `DO` block is a unit of its own (`sql_routines`).

The dialect of a file, first match wins (clarification 14, and the file
name): a first-line comment `-- txlint: dialect=mysql`; the file name
(`*.mysql.sql`, `*.mariadb.sql` → mysql; `*.pg.sql`, `*.postgres.sql`,
`*.postgresql.sql`, `*.psql.sql` → postgres; `*.sqlite.sql` → sqlite); the
configured `dialect` (default postgres).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import PurePath

from txlint.core.ftypes import Span
from txlint.core.index import TableDecl
from txlint.core.ir import (
    Assignment,
    Begin,
    Commit,
    Dependency,
    Guard,
    Insert,
    LockMode,
    ModuleIR,
    Op,
    Read,
    Rollback,
    RowOrigin,
    RowRef,
    Transaction,
    Unit,
    ValueKind,
    Write,
)
from txlint.core.queries import writes_row_of
from txlint.frontends.sql_routines import routine_unit
from txlint.sql import dialect_names, parse_file, to_ir
from txlint.sql import facts as sqlfacts
from txlint.sql.client import Directive

# The dialect a file name asks for: `accounts.mysql.sql`, `schema.pg.sql`.
DIALECT_SUFFIXES = {
    "mysql": "mysql", "mariadb": "mysql",
    "pg": "postgres", "postgres": "postgres", "postgresql": "postgres", "psql": "postgres",
    "sqlite": "sqlite", "sqlite3": "sqlite",
}  # fmt: skip


@dataclass
class ScriptResult:
    """The IR of a script, and the statements that could not be parsed."""

    module: ModuleIR
    errors: list[sqlfacts.SqlError] = field(default_factory=list)


# A backtick-quoted identifier where a name stands (after a space, `(`, `,` or `.`, or at a line's start).
_BACKTICK_IDENTIFIER = re.compile(r"(?:^|[\s(,.])`[A-Za-z_][\w$]*`", re.MULTILINE)


def dialect_of(text: str, default: str, path: str | None = None) -> str:
    """The file's dialect: a first-line `-- txlint: dialect=mysql` comment, else the file name
    (`*.mysql.sql`, `*.pg.sql`, ... see `DIALECT_SUFFIXES`), else the configured `default`; with
    none configured (""), PostgreSQL -- unless the file quotes identifiers with backticks
    (`` `orders` ``), which PostgreSQL never accepts: such a file was written for MySQL (a dump, a
    fixture load)."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    if first.startswith("--") and "txlint:" in first and "dialect=" in first:
        name = first.split("dialect=", 1)[1].split()[0].strip().lower()
        if name in dialect_names():
            return name
    if path is not None:
        suffixes = PurePath(path).suffixes
        if len(suffixes) >= 2 and suffixes[-1].lower() == ".sql":
            named = DIALECT_SUFFIXES.get(suffixes[-2].lower().lstrip("."))
            if named is not None:
                return named
    if default:
        return default
    return "mysql" if _BACKTICK_IDENTIFIER.search(text) else "postgres"


def _span(statement: sqlfacts.Statement, lines: list[str]) -> Span:
    last = lines[statement.end_line - 1] if 0 < statement.end_line <= len(lines) else ""
    first = lines[statement.line - 1] if 0 < statement.line <= len(lines) else ""
    return Span(statement.line, len(first) - len(first.lstrip()) + 1, statement.end_line, len(last.rstrip()) + 1)


def analyse_script(path: str, text: str, dialect: str) -> ScriptResult:
    """Units of a script: one per transaction block, one per autocommit statement, one per routine."""
    return _ScriptReader(path, text, dialect_of(text, dialect, path)).read()


class _ScriptReader:
    """Walks a script's statements and client directives in order, building its units."""

    def __init__(self, path: str, text: str, dialect: str) -> None:
        self.result = ScriptResult(ModuleIR(path))
        self.lines = text.splitlines()
        self.items, self.directives = _statements(text, dialect)
        self.block: Unit | None = None
        self.unsure = False  # the open block spans alternatives or another file: it is not judged
        self.locks: dict[str, LockMode] = {}  # tables the open block has locked with LOCK TABLE

    def read(self) -> ScriptResult:
        # A script with transaction blocks runs the statements between them in autocommit; a file of
        # bare statements (queries an application loads and runs inside its own transactions) may not.
        scripted = any(isinstance(i, sqlfacts.Statement) and i.kind == "begin" for i in self.items)
        directives = list(self.directives)
        for item in self.items:
            while directives and directives[0].line < item.line:
                self._directive(directives.pop(0).kind)
            if isinstance(item, sqlfacts.SqlError):
                self.result.errors.append(item)
            else:
                self._statement(item, scripted)
        for directive in directives:
            self._directive(directive.kind)
        if self.unsure:
            self._drop_block()
        return self.result

    def _directive(self, kind: str) -> None:
        if kind == "connect":
            if self.unsure:
                self._drop_block()
            self.block, self.unsure, self.locks = None, False, {}
        elif kind in ("branch", "include") and self.block is not None:
            self.unsure = True

    def _lines_span(self, line: int, end_line: int) -> Span:
        return _span(sqlfacts.Statement("other", line=line, end_line=end_line), self.lines)

    def _drop_block(self) -> None:
        if self.block is not None and self.block in self.result.module.units:
            self.result.module.units.remove(self.block)

    def _statement(self, item: sqlfacts.Statement, scripted: bool) -> None:
        span = _span(item, self.lines)
        module = self.result.module
        if item.routine is not None:
            unit = routine_unit(item.routine, span, lambda statement: _span(statement, self.lines), self._lines_span)
            if unit is not None:
                module.units.append(unit)
            return
        if item.kind == "begin":
            if self.unsure:
                self._drop_block()
            self.block = Unit(f"transaction@{item.line}", span, transactions=[Transaction(0, span)])
            self.block.ops.append(Begin(span, 0))
            self.unsure, self.locks = False, {}
            module.units.append(self.block)
            return
        if item.kind in {"commit", "rollback"}:
            block = self.block
            if block is not None:
                block.ops[:] = _link_read_values(block.ops)
                block.ops.append((Commit if item.kind == "commit" else Rollback)(span, 0))
                block.span = Span(block.span.line, block.span.column, span.end_line, span.end_column)
                if self.unsure:
                    self._drop_block()
            self.block, self.unsure, self.locks = None, False, {}
            return
        if item.kind == "lock_table" and self.block is not None and item.lock is not None:
            for table in item.lock_tables:
                self.locks[table] = LockMode.EXCLUSIVE if item.lock == "exclusive" else LockMode.SHARE
            return
        in_block = self.block is not None
        target = self.block.ops if self.block is not None else []
        emitted = to_ir.emit_statement(item, span, 0 if in_block else None, to_ir.no_parameters, partial(self._append, target), autocommit=scripted and not in_block)
        if emitted is not None and self.block is None:
            module.units.append(Unit(f"statement@{item.line}", span, target))

    def _append(self, ops: list[Op], op: Op) -> int:
        if isinstance(op, Read) and op.lock is None and op.table in self.locks:
            op = replace(op, lock=self.locks[op.table])  # the table lock covers the rows read
        if isinstance(op, Insert) and op.outcome_read is None:
            op = replace(op, outcome_read=False)  # a script reads no row count (clarification 4)
        ops.append(op)
        return len(ops) - 1


def _statements(text: str, dialect: str) -> tuple[tuple[sqlfacts.Statement | sqlfacts.SqlError, ...], tuple[Directive, ...]]:
    """The script's statements. An unterminated string or comment swallows the rest of the text;
    the statements before the line it starts on are still read."""
    parsed = parse_file(text, dialect)
    before = _before_unterminated(text, parsed.items)
    if before is text:
        return parsed.items, parsed.directives
    head = parse_file(before, dialect)
    return (*(i for i in head.items if isinstance(i, sqlfacts.Statement)), parsed.items[0]), head.directives


def _link_read_values(ops: list[Op]) -> list[Op]:
    """In a script the application's arithmetic is invisible. A literal written to a column that the
    same transaction read from the same row stands for a value computed from what was read; a literal
    compared in the WHERE with a column the UPDATE writes stands for the old value read before. No row
    count can be read in a script: a write followed by other writes goes on whatever it matched."""
    linked: list[Op] = []
    for position, op in enumerate(ops):
        if isinstance(op, Write):
            written = {a.column for a in op.assignments}
            op = replace(
                op,
                assignments=tuple(_linked(a, ops[: len(linked)], op) for a in op.assignments),
                guards=tuple(_old_value(g) if g.column in written else g for g in op.guards),
                result_checked=False if any(isinstance(o, (Write, Insert)) for o in ops[position + 1 :]) else None,
            )
        linked.append(op)
    return linked


def _old_value(guard: Guard) -> Guard:
    if guard.op != "=" or guard.value.kind is not ValueKind.INDEPENDENT:
        return guard
    read_before = Dependency(RowRef(RowOrigin.READ, None, "<read before the script>"), guard.column)
    return replace(guard, value=replace(guard.value, kind=ValueKind.DERIVED, depends_on=frozenset({read_before})))


def _linked(assignment: Assignment, earlier: list[Op], write: Write) -> Assignment:
    if assignment.value.kind is not ValueKind.INDEPENDENT:
        return assignment
    for index, op in enumerate(earlier):
        if isinstance(op, Read) and (assignment.column in op.columns or "*" in op.columns) and writes_row_of(op, index, write):
            dependency = Dependency(RowRef(RowOrigin.READ, index, ""), assignment.column)
            return replace(assignment, value=replace(assignment.value, kind=ValueKind.DERIVED, depends_on=frozenset({dependency})))
    return assignment


def table_decls(path: str, text: str, dialect: str) -> list[TableDecl]:
    """Pass 1: what the script's DDL declares (unique keys, CHECK (c >= 0))."""
    chosen = dialect_of(text, dialect, path)
    return to_ir.table_decls(path, _readable_part(text, chosen), chosen, client=True)


def _readable_part(text: str, dialect: str) -> str:
    """The text before an unterminated string or comment (which would swallow everything after it)."""
    return _before_unterminated(text, parse_file(text, dialect).items)


def _before_unterminated(text: str, items: tuple[sqlfacts.Statement | sqlfacts.SqlError, ...]) -> str:
    """`text` cut before the line where a tokenizer error (the only result when there is one) starts."""
    if len(items) == 1 and isinstance(items[0], sqlfacts.SqlError) and items[0].line > 1:
        return "\n".join(text.splitlines()[: items[0].line - 1])
    return text
