"""Core statements: built from `Table` objects (and models, for INSERT), and what running one does.

`select(t)`, `select(t.c.a, t.c.b)`, `t.select()` are lazy queries (`CoreQuery`: the ORM recogniser
refines them with `where`/`with_for_update` as it does its own); `update(t)`, `t.update()` are
UPDATE statements (refined by `where`/`values` there too); `insert(t)`, `t.insert()`, the dialects'
`insert(M)` are `InsertStatement`s, refined here: `values(...)` names the columns, and
`on_conflict_do_nothing()`, `on_conflict_do_update()`, `on_duplicate_key_update()`,
`prefix_with("IGNORE")` leave a duplicate to the database. Running one on a connection (or an ORM
session) emits its `Read`, `Write` or `Insert`; a select's result hands out rows (`Record`s of the
selected columns) or, for `scalar_one()`/`scalars()`, the first column's value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import libcst as cst

from txlint.core.ir import Assignment, Dependency, Insert, Read, ReadKind, RowOrigin, RowRef, Write
from txlint.frontends.python.imports import dotted_name
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import Data, ModelClass, Query, Record, UpdateStatement, Value
from txlint.frontends.python.literals import text_value
from txlint.frontends.python.recognisers.sql_strings import parameters, sql_text, statements
from txlint.frontends.python.recognisers.sqlalchemy_core.evidence import column_of, table_of
from txlint.frontends.python.recognisers.sqlalchemy_core.names import SELECT, TEXT
from txlint.frontends.python.recognisers.sqlalchemy_core.values import CoreColumn, CoreQuery, CoreResult, CoreTable, InsertStatement
from txlint.sql import to_ir

API = "sqlalchemy"  # the ORM recogniser knows the methods of the queries built here (`where`, `with_for_update`)
CONFLICT_METHODS = frozenset({"on_conflict_do_nothing", "on_conflict_do_update", "on_duplicate_key_update"})
IGNORE_PREFIXES = frozenset({"IGNORE", "OR IGNORE", "OR REPLACE"})
SAME_INSERT = frozenset({"returning", "execution_options", "inline", "return_defaults", "with_dialect_options", "from_select", "cte"})
ROW_RESULTS = frozenset({"one", "first", "one_or_none", "fetchone"})
ITEM_RESULTS = frozenset({"scalar_one", "scalar_one_or_none", "scalar"})
ROWS_RESULTS = frozenset({"all", "fetchall", "fetchmany", "partitions", "unique", "mappings", "yield_per", "tuples", "freeze"})


# -- building ------------------------------------------------------------------------------------------


def selected_table(ctx: Context, node: cst.Call) -> str | None:
    """The table a `select(...)` reads: the first argument that is a `Table` or one of its columns,
    also inside an aggregate (`func.count(t.c.id)`); None when none is (the ORM's `select(M)`)."""
    for arg in _selected(node):
        found = table_of(ctx, arg) or column_of(ctx, arg)
        if found is None and isinstance(arg, cst.Call) and _aggregate(arg):
            found = next((t for a in arg.args if (t := table_of(ctx, a.value) or column_of(ctx, a.value)) is not None), None)
        if found is not None:
            return found
    return None


def _aggregate(node: cst.BaseExpression) -> bool:
    """`func.count(...)`, `sa.func.max(...)`: a value computed over the rows."""
    return isinstance(node, cst.Call) and ".func." in f".{dotted_name(node.func) or ''}"


def select_from(ctx: Context, node: cst.Call) -> CoreQuery | None:
    """`select(func.count()).select_from(t)`: a fact about the rows of `t` (any other select: its rows)."""
    select = node.func.value if isinstance(node.func, cst.Attribute) else None
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    table = table_of(ctx, positional[0]) if positional else None
    if table is None or not isinstance(select, cst.Call) or ctx.imports.resolve(select.func) not in SELECT:
        return None
    return CoreQuery(table, ctx.span(node), api=API, aggregate=all(_aggregate(arg) for arg in _selected(select)))


def _selected(node: cst.Call) -> list[cst.BaseExpression]:
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    if len(positional) == 1 and isinstance(positional[0], (cst.List, cst.Tuple)):
        return [e.value for e in positional[0].elements]  # SQLAlchemy 1.x: `select([t.c.a, t.c.b])`
    return positional


def select_of(ctx: Context, node: cst.Call) -> CoreQuery | None:
    """`select(t)`, `select(t.c.a, t.c.b)`: a query of the table its first table or column names."""
    table = selected_table(ctx, node)
    if table is None:
        return None
    positional = _selected(node)
    columns: list[str] = []
    whole = False
    for arg in positional:
        value = ctx.eval(arg)
        if isinstance(value, CoreColumn) and value.column_ref and value.table == table:
            columns.append(value.column_ref)
        elif isinstance(value, CoreTable) or table_of(ctx, arg) is not None:
            whole = True
    aggregate = all(_aggregate(arg) for arg in positional)
    return CoreQuery(table, ctx.span(node), api=API, columns=() if whole or aggregate else tuple(columns), aggregate=aggregate)


def update_of(ctx: Context, node: cst.Call) -> UpdateStatement | None:
    """`update(t)` of a `Table` (the ORM recogniser builds `update(M)`)."""
    table = _first_table(ctx, node)
    return UpdateStatement(table, ctx.span(node)) if table is not None else None


def insert_of(ctx: Context, node: cst.Call) -> InsertStatement | None:
    """`insert(t)`, `insert(M)`, `postgresql.insert(M)`, ...: an INSERT into the table of its first argument."""
    table = _first_table(ctx, node)
    if table is None:
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        model = ctx.eval(positional[0]) if positional else None
        if isinstance(model, ModelClass):
            table = ctx.file.index.table_of(model.name)
        elif positional and isinstance(positional[0], cst.Name) and positional[0].value[:1].isupper() and ctx.lookup(positional[0].value) is None:
            table = ctx.file.index.table_of(positional[0].value)  # a class imported from elsewhere (see the ORM's `update(M)`)
    return InsertStatement(table, ctx.span(node)) if table is not None else None


def _first_table(ctx: Context, node: cst.Call) -> str | None:
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    return table_of(ctx, positional[0]) if positional else None


def table_method(ctx: Context, node: cst.Call, table: str, method: str) -> Value | None:
    """`t.select()`, `t.update()`, `t.insert()`; `t.delete()` writes nothing the rules read."""
    for arg in node.args:
        ctx.eval(arg.value)
    if method == "select":
        return CoreQuery(table, ctx.span(node), api=API)
    if method == "update":
        return UpdateStatement(table, ctx.span(node))
    if method == "insert":
        return InsertStatement(table, ctx.span(node))
    if method == "delete":
        return Data()
    return None


def insert_method(ctx: Context, node: cst.Call, statement: InsertStatement, method: str) -> Value | None:
    """`values(...)` names the columns; the conflict clauses and `prefix_with("IGNORE")` make it skip
    (or merge) a duplicate; `returning(...)` and the like leave it as it is."""
    if method == "values":
        return replace(statement, columns=statement.columns + _value_columns(ctx, node.args))
    if method in CONFLICT_METHODS:
        for arg in node.args:
            ctx.eval(arg.value)
        return replace(statement, on_conflict=True)
    if method == "prefix_with":
        prefixes = {(text_value(a.value) or "").strip().upper() for a in node.args if a.keyword is None}
        return replace(statement, on_conflict=statement.on_conflict or bool(prefixes & IGNORE_PREFIXES))
    if method in SAME_INSERT:
        for arg in node.args:
            ctx.eval(arg.value)
        return statement
    return None


def _value_columns(ctx: Context, args: Sequence[cst.Arg]) -> tuple[str, ...]:
    """The columns `values(a=1)`, `values({"a": 1})`, `values({t.c.a: 1})`, `values([{...}, ...])` set."""
    found: list[str] = []
    for arg in args:
        if arg.keyword is not None:
            ctx.eval(arg.value)
            found.append(arg.keyword.value)
            continue
        mapping = arg.value
        if isinstance(mapping, (cst.List, cst.Tuple)) and mapping.elements:
            mapping = mapping.elements[0].value  # many rows: the columns of the first
        if isinstance(mapping, cst.Dict):
            for element in mapping.elements:
                if isinstance(element, cst.DictElement):
                    key = ctx.eval(element.key)
                    name = key.column_ref if isinstance(key, Data) and key.column_ref else text_value(element.key)
                    ctx.eval(element.value)
                    if name:
                        found.append(name)
        else:
            ctx.eval(arg.value)
    return tuple(found)


# -- running -------------------------------------------------------------------------------------------


def run(ctx: Context, node: cst.Call, autocommit: bool) -> Value:
    """`conn.execute(statement, params)` (also `scalar`/`scalars`): the statement's op, in the open
    transaction or, on an autocommit connection, in none. A statement built at run time: nothing."""
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    if not positional:
        return Data()
    params = positional[1] if len(positional) > 1 else None
    sql = _text_sql(ctx, positional[0])
    method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
    if sql is None and method == "exec_driver_sql":
        sql = sql_text(ctx, positional[0])
    if sql is not None:
        return run_text(ctx, node, sql, params, autocommit)
    statement = ctx.eval(positional[0])
    found = run_statement(ctx, node, statement, autocommit, params)
    if found is None and params is not None:
        ctx.eval(params)
    return found if found is not None else Data()


def run_statement(ctx: Context, node: cst.Call, statement: Value, autocommit: bool = False, params: cst.BaseExpression | None = None) -> Value | None:
    """What running `statement` gives: a select's result, an UPDATE's or INSERT's row count (the
    ORM session runs its own UPDATEs and selects of models; these are Core's). None: not a statement."""
    tx = None if autocommit else ctx.tx
    method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
    if isinstance(statement, InsertStatement):
        columns = statement.columns + (_value_columns(ctx, [cst.Arg(params)]) if params is not None else ())
        index = ctx.emit(Insert(ctx.span(node), tx, statement.table, columns, on_conflict=statement.on_conflict))
        # What the insert hands back (its row count, the row RETURNING gives) tells whether it inserted.
        return Data(frozenset({Dependency(RowRef(RowOrigin.READ, index, ""), None)}))
    if isinstance(statement, UpdateStatement):
        assignments = statement.assignments
        if params is not None and not assignments and isinstance(params, cst.Dict):
            assignments = _param_assignments(ctx, params)
        write = Write(ctx.span(node), tx, statement.table, assignments, guards=statement.guards, result_checked=not ctx.is_discarded(node))
        return Data(results=frozenset({ctx.emit(write)}))
    if isinstance(statement, Query):
        columns = statement.columns if isinstance(statement, CoreQuery) else ()
        read = ctx.emit(
            Read(
                ctx.span(node),
                tx if statement.using is None else ctx.tx_for(statement.using),
                statement.table,
                lock=statement.lock,
                key=tuple(g.column for g in statement.guards),
                guards=statement.guards,
                columns=columns or ("*",),
                kind=ReadKind.FACT if isinstance(statement, CoreQuery) and statement.aggregate else ReadKind.ROWS,
                autocommit=autocommit,
            )
        )
        result = CoreResult(read, statement.table, columns, scalar=method == "scalars")
        return item(result, 0) if method == "scalar" else result
    return None


def run_core_statement(ctx: Context, node: cst.Call, statement: Value, params: cst.BaseExpression | None = None) -> Value | None:
    """An ORM session running a Core statement (an INSERT, a select of a `Table`): what it gives;
    None for the statements the ORM recogniser runs itself (its models' selects, UPDATEs)."""
    return run_statement(ctx, node, statement, params=params) if isinstance(statement, (CoreQuery, InsertStatement)) else None


def _param_assignments(ctx: Context, params: cst.Dict) -> tuple[Assignment, ...]:
    found = []
    for element in params.elements:
        if isinstance(element, cst.DictElement) and (name := text_value(element.key)) is not None:
            found.append(Assignment(name, ctx.value_of(element.value), ctx.span(element)))
    return tuple(found)


def _text_sql(ctx: Context, node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Call) and ctx.imports.resolve(node.func) in TEXT and node.args:
        return sql_text(ctx, node.args[0].value)
    return None


def run_text(ctx: Context, node: cst.Call, sql: str, params: cst.BaseExpression | None, autocommit: bool) -> Value:
    """`conn.execute(text(sql), {...})`, `conn.exec_driver_sql(sql, (...))`: the statements of the SQL."""
    resolve = parameters(ctx, params)
    result: Value = Data()
    for statement in statements(ctx, sql):
        op = to_ir.statement_op(statement, ctx.span(node), None if autocommit else ctx.tx, resolve, autocommit=autocommit)
        if isinstance(op, Write):
            result = Data(results=frozenset({ctx.emit(replace(op, result_checked=not ctx.is_discarded(node)))}))
        elif op is not None:
            result = Record(RowRef(RowOrigin.READ, ctx.emit(op), ""), statement.columns)
    return result


# -- results -------------------------------------------------------------------------------------------


def result_method(result: CoreResult, method: str) -> Value | None:
    """`one()`/`first()` give a row, `scalar_one()` its first column, `scalars()`/`all()` the rows."""
    if method in ITEM_RESULTS or (result.scalar and method in ROW_RESULTS):
        return item(result, 0)
    if method in ROW_RESULTS:
        return Record(RowRef(RowOrigin.READ, result.read, ""), result.columns or ("*",))
    if method == "scalars":
        return replace(result, scalar=True)
    if method in ROWS_RESULTS:
        return result
    return None


def item(result: CoreResult, position: int) -> Data:
    """The value of one selected column of the row a result hands out (the whole row when unknown)."""
    column = result.columns[position] if position < len(result.columns) else None
    return Data(frozenset({Dependency(RowRef(RowOrigin.READ, result.read, ""), column)}))
