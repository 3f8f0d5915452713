"""SQL statement facts (`txlint.sql.facts`) → IR operations.

Shared by every front-end that meets SQL text: DB-API `cursor.execute()`,
SQLAlchemy `text()`, `.sql` scripts and runtime traces. The caller says what
a placeholder stands for (a Python expression's value, a bound parameter,
nothing) through `resolve`; transaction control statements are the caller's
to act on, since only it knows the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from txlint.core.ftypes import Span
from txlint.core.index import ColumnDecl, TableDecl
from txlint.core.ir import Assignment, Condition, Delta, Dependency, Guard, Insert, LockMode, Op, Read, ReadKind, Value, ValueKind, Write
from txlint.sql import facts as sqlfacts
from txlint.sql.parse import table_schemas

Resolver = Callable[[sqlfacts.PlaceholderKey], Value]

LOCKS = {"exclusive": LockMode.EXCLUSIVE, "share": LockMode.SHARE}


def no_parameters(key: sqlfacts.PlaceholderKey) -> Value:
    """For SQL whose placeholders are bound where this code cannot see."""
    return Value(ValueKind.UNKNOWN, expression=f"${key}")


def operand_value(operand: sqlfacts.Operand, resolve: Resolver) -> Value:
    """The IR value of one side of a comparison or assignment."""
    if operand.kind == "placeholder" and operand.placeholder is not None:
        return resolve(operand.placeholder)
    if operand.kind in {"literal", "null"}:
        return Value(ValueKind.INDEPENDENT, expression=repr(operand.literal))
    deps: frozenset[Dependency] = frozenset()
    for key in operand.placeholders:
        deps |= resolve(key).depends_on
    if operand.kind == "expression" and not operand.columns:
        return Value(ValueKind.DERIVED if deps else ValueKind.INDEPENDENT, deps)
    return Value(ValueKind.UNKNOWN, deps)


def _assignment(item: sqlfacts.SetItem, resolve: Resolver, span: Span) -> Assignment:
    if item.change is not None:
        amount = item.change.amount
        literal = float(amount.literal) if amount.kind == "literal" and isinstance(amount.literal, (int, float)) else None
        value = operand_value(amount, resolve)
        delta = Delta(item.change.column, item.change.sign, literal)
        return Assignment(item.column, Value(ValueKind.IN_DATABASE, value.depends_on, delta), span)
    return Assignment(item.column, operand_value(item.operand, resolve), span)


def _guards(statement: sqlfacts.Statement, resolve: Resolver) -> tuple[Guard, ...]:
    """The predicates on the statement's own table (or unqualified) as IR guards.

    A comparison with a column of another table or alias (`jobs.key = spec.job_key` in an
    `UPDATE ... FROM unnest(specs) spec`) is a join: it pairs rows, it tests no value."""
    return tuple(
        Guard(p.column, p.op, operand_value(p.operand, resolve))
        for p in statement.predicates
        if (p.table is None or p.table == statement.table) and not _joins(p.operand, statement.table)
    )


def _joins(operand: sqlfacts.Operand, table: str | None) -> bool:
    return operand.kind == "column" and operand.table is not None and operand.table != table


def statement_op(
    statement: sqlfacts.Statement, span: Span, tx: int | None, resolve: Resolver, *, autocommit: bool = False, lock: LockMode | None = None, ident: int = 0
) -> Op | None:
    """The read, write or insert one DML statement performs; None for anything else. `lock`: a
    read's lock requested where the SQL does not show it; `ident`: the op's identity in a trace."""
    if statement.kind == "select" and statement.advisory_lock:
        # pg_advisory_xact_lock(k): serialises whoever takes the same key, on no table's rows.
        return Read(span, tx, "<advisory lock>", lock=LockMode.EXCLUSIVE, autocommit=autocommit, advisory=True, ident=ident)
    table = statement.table
    if table is None:
        return None
    if statement.kind == "select":
        guards = _guards(statement, resolve)
        return Read(
            span,
            tx,
            table,
            lock=LOCKS.get(statement.lock or "") or lock,
            key=tuple(g.column for g in guards),
            guards=guards,
            columns=statement.columns,
            kind=ReadKind.FACT if statement.aggregate else ReadKind.ROWS,
            autocommit=autocommit,
            ident=ident,
        )
    if statement.kind == "update":
        return Write(
            span,
            tx,
            table,
            tuple(_assignment(item, resolve, span) for item in statement.sets),
            guards=_guards(statement, resolve),
            ident=ident,
        )
    if statement.kind == "insert":
        return Insert(span, tx, table, statement.columns, on_conflict=statement.on_conflict_nothing or statement.upsert, ident=ident)
    return None


def emit_statement(
    statement: sqlfacts.Statement, span: Span, tx: int | None, resolve: Resolver, emit: Callable[[Op], int], *, autocommit: bool = False
) -> tuple[Op, int] | None:
    """Emit, through `emit` (which returns the op's index), the INSERTs of the statement's
    data-modifying CTEs and then its own op, and return that op and its index. When the statement
    needs rows those INSERTs returned (`AND EXISTS (SELECT 1 FROM ins)`), its op runs under a
    condition on their outcome, as if the code had tested their row counts."""
    inserted: list[int | None] = []
    for cte in statement.cte_inserts:
        insert = statement_op(cte, span, tx, resolve, autocommit=autocommit)
        # What it inserted is read by the statement alone, when the statement needs its rows.
        inserted.append(emit(replace(insert, outcome_read=True)) if isinstance(insert, Insert) else None)
    op = statement_op(statement, span, tx, resolve, autocommit=autocommit)
    if op is None:
        return None
    gates = frozenset(index for position in statement.gated_by if (index := inserted[position]) is not None)
    if gates:
        op = replace(op, conditions=(Condition(span, frozenset(), holds=True, results=gates), *op.conditions))
    return op, emit(op)


def table_decls(path: str, text: str, dialect: str, *, client: bool = False) -> list[TableDecl]:
    """What a text's DDL declares, as the project index's declarations (unique keys, CHECK (c >= 0)).

    `client`: the text is a `.sql` file, read as its client program runs it (see `parse_file`)."""
    return [
        TableDecl(
            name=schema.name,
            table=schema.name,
            path=path,
            line=1,
            is_root=True,
            columns=tuple(ColumnDecl(c) for c in schema.columns),
            unique_sets=schema.unique_columns,
            non_negative=schema.non_negative,
            complete=bool(schema.columns),  # an ALTER TABLE alone does not tell the table's constraints
        )
        for schema in table_schemas(text, dialect, client=client)
    ]
