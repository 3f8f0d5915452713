"""The `.sql` front-end: scripts of statements with `BEGIN` ... `COMMIT` blocks.

Each transaction block (from `BEGIN`/`START TRANSACTION` to `COMMIT` or
`ROLLBACK`) is one unit; a statement outside any block runs in autocommit
and is a unit of its own. Literals stand for themselves, so `WHERE id = 7`
in a SELECT and in an UPDATE name the same row. DDL feeds the project index.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial

from txlint.core.ftypes import Span
from txlint.core.index import TableDecl
from txlint.core.ir import (
    Assignment,
    Begin,
    Commit,
    Dependency,
    Guard,
    Insert,
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
from txlint.sql import dialect_names, parse_script, to_ir
from txlint.sql import facts as sqlfacts


@dataclass
class ScriptResult:
    """The IR of a script, and the statements that could not be parsed."""

    module: ModuleIR
    errors: list[sqlfacts.SqlError] = field(default_factory=list)


def dialect_of(text: str, default: str) -> str:
    """A first-line `-- txlint: dialect=mysql` comment overrides the configured dialect."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    if first.startswith("--") and "txlint:" in first and "dialect=" in first:
        name = first.split("dialect=", 1)[1].split()[0].strip().lower()
        if name in dialect_names():
            return name
    return default


def _span(statement: sqlfacts.Statement, lines: list[str]) -> Span:
    last = lines[statement.end_line - 1] if 0 < statement.end_line <= len(lines) else ""
    first = lines[statement.line - 1] if 0 < statement.line <= len(lines) else ""
    return Span(statement.line, len(first) - len(first.lstrip()) + 1, statement.end_line, len(last.rstrip()) + 1)


def analyse_script(path: str, text: str, dialect: str) -> ScriptResult:
    """Units of a script: one per transaction block, one per autocommit statement."""
    result = ScriptResult(ModuleIR(path))
    lines = text.splitlines()
    block: Unit | None = None
    items = _statements(text, dialect_of(text, dialect))
    # A script with transaction blocks runs the statements between them in autocommit; a file of
    # bare statements (queries an application loads and runs inside its own transactions) may not.
    scripted = any(isinstance(i, sqlfacts.Statement) and i.kind == "begin" for i in items)
    for item in items:
        if isinstance(item, sqlfacts.SqlError):
            result.errors.append(item)
            continue
        span = _span(item, lines)
        if item.kind == "begin":
            block = Unit(f"transaction@{item.line}", span, transactions=[Transaction(0, span)])
            block.ops.append(Begin(span, 0))
            result.module.units.append(block)
            continue
        if item.kind in {"commit", "rollback"}:
            if block is not None:
                block.ops[:] = _link_read_values(block.ops)
                block.ops.append((Commit if item.kind == "commit" else Rollback)(span, 0))
                block.span = Span(block.span.line, block.span.column, span.end_line, span.end_column)
            block = None
            continue
        in_block = block is not None
        target = block.ops if block is not None else []
        emitted = to_ir.emit_statement(item, span, 0 if in_block else None, to_ir.no_parameters, partial(_append, target), autocommit=scripted and not in_block)
        if emitted is not None and block is None:
            result.module.units.append(Unit(f"statement@{item.line}", span, target))
    return result


def _append(ops: list[Op], op: Op) -> int:
    if isinstance(op, Insert) and op.outcome_read is None:
        op = replace(op, outcome_read=False)  # a script reads no row count (clarification 4)
    ops.append(op)
    return len(ops) - 1


def _statements(text: str, dialect: str) -> tuple[sqlfacts.Statement | sqlfacts.SqlError, ...]:
    """The script's statements. An unterminated string or comment swallows the rest of the text;
    the statements before the line it starts on are still read."""
    items = parse_script(text, dialect)
    before = _before_unterminated(text, items)
    if before is text:
        return items
    return (*(i for i in parse_script(before, dialect) if isinstance(i, sqlfacts.Statement)), items[0])


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
    chosen = dialect_of(text, dialect)
    return to_ir.table_decls(path, _readable_part(text, chosen), chosen)


def _readable_part(text: str, dialect: str) -> str:
    """The text before an unterminated string or comment (which would swallow everything after it)."""
    return _before_unterminated(text, parse_script(text, dialect))


def _before_unterminated(text: str, items: tuple[sqlfacts.Statement | sqlfacts.SqlError, ...]) -> str:
    """`text` cut before the line where a tokenizer error (the only result when there is one) starts."""
    if len(items) == 1 and isinstance(items[0], sqlfacts.SqlError) and items[0].line > 1:
        return "\n".join(text.splitlines()[: items[0].line - 1])
    return text
