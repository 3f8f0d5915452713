"""SQLAlchemy Core recogniser: engines, connections and their transactions, `Table` objects.

What it knows (SQLAlchemy 2.x): `engine.connect()` gives a connection that begins a transaction at
its first statement, ended by `conn.commit()`/`conn.rollback()`; `with engine.begin() as conn:` and
`with conn.begin():` are transaction blocks; `trans = conn.begin()` outside a `with` is a
transaction the code must end (`trans.commit()`/`trans.rollback()`); `begin_nested()` is a
savepoint of the transaction. An engine or connection with `isolation_level="AUTOCOMMIT"`
(`create_engine(...)`, `execution_options(...)`) runs every statement on its own: its `begin()`
starts no database transaction and a row lock taken there ends with its statement. The asyncio
variants are the same with `await`. Statements and results are `statements`'; where engines and
tables come from is `evidence`'. The ORM session is the ORM recogniser's, which asks `statements`
to run the Core statements it is given.
"""

from __future__ import annotations

import libcst as cst

from txlint.core.ir import Commit, Rollback
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import Data, ModelClass, Parameter, Record, Unknown, UpdateStatement, Value
from txlint.frontends.python.literals import text_value
from txlint.frontends.python.recognisers.base import Recogniser, TxScope
from txlint.frontends.python.recognisers.sqlalchemy_core.evidence import annotated, autocommit_of, engine_of, owned, table_of
from txlint.frontends.python.recognisers.sqlalchemy_core.names import (
    CONNECTION_TYPES,
    ENGINE_FACTORIES,
    ENGINE_TYPES,
    INSERT,
    SELECT,
    UPDATE,
)
from txlint.frontends.python.recognisers.sqlalchemy_core.statements import (
    insert_method,
    insert_of,
    result_method,
    run,
    select_from,
    select_of,
    selected_table,
    table_method,
    update_of,
)
from txlint.frontends.python.recognisers.sqlalchemy_core.values import (
    CoreColumn,
    CoreColumns,
    CoreConnection,
    CoreQuery,
    CoreResult,
    CoreTable,
    CoreTransaction,
    Engine,
    InsertStatement,
)

EXECUTE = frozenset({"execute", "scalar", "scalars", "exec_driver_sql"})
TABLE_STATEMENTS = frozenset({"select", "update", "insert", "delete"})


class SqlAlchemyCoreRecogniser(Recogniser):
    """Turns Core engine, connection and `Table` calls into IR ops."""

    names = ENGINE_FACTORIES | ENGINE_TYPES | CONNECTION_TYPES

    def opens_transaction(self, ctx: Context, expr: cst.BaseExpression) -> TxScope | None:
        """`with engine.begin() as conn:` (a block yielding a connection), `with conn.begin():`,
        `with conn.begin_nested():`; none on an autocommit engine or connection (clarification 11)."""
        if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in {"begin", "begin_nested"}):
            return None
        owner = ctx.eval(expr.func.value)
        if isinstance(owner, CoreConnection):
            return None if owner.autocommit else TxScope()
        engine = engine_of(ctx, expr.func.value, owner)
        if engine is None or expr.func.attr.value != "begin" or engine.autocommit:
            return None  # an autocommit engine's `begin()` is a plain connection (`call` gives it)
        return TxScope(handle=CoreConnection("connection"))

    def parameter(self, ctx: Context, param: cst.Param) -> Value | None:
        """A parameter annotated `Engine`/`AsyncEngine`/`Connection`/`AsyncConnection`."""
        found = annotated(ctx, param.annotation.annotation) if param.annotation is not None else None
        return CoreConnection(param.name.value) if isinstance(found, CoreConnection) else found

    def attribute(self, ctx: Context, node: cst.Attribute, base: Value) -> Value | None:
        """`M.__table__`, `t.c`/`t.columns` and their columns, a result row's column (`row.balance`),
        `self.engine` of a class that keeps one, a project module's engine or table."""
        name = node.attr.value
        if isinstance(base, ModelClass) and name == "__table__":
            return CoreTable(ctx.file.index.table_of(base.name))
        if isinstance(base, Unknown) and name in {"c", "columns"}:
            table = table_of(ctx, node.value)
            return CoreColumns(table) if table is not None else None
        if isinstance(base, CoreTable):
            return CoreColumns(base.table) if name in {"c", "columns"} else None
        if isinstance(base, CoreColumns):
            return None if name.startswith("_") else CoreColumn(column_ref=name, table=base.table)
        if isinstance(base, Record):  # a Core row: its columns are attributes (`row._mapping["c"]` too)
            return base if name == "_mapping" else None if name.startswith("_") else base.item(name)
        if isinstance(base, Unknown):
            return owned(ctx, node)
        return None

    def subscript(self, ctx: Context, node: cst.Subscript, base: Value) -> Value | None:
        """`t.c["balance"]`."""
        if isinstance(base, CoreColumns) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            name = text_value(node.slice[0].slice.value)
            return CoreColumn(column_ref=name, table=base.table) if name else None
        return None

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        qualified = ctx.imports.resolve(node.func)
        if qualified in ENGINE_FACTORIES:
            for arg in node.args:
                ctx.eval(arg.value)
            return Engine(autocommit=autocommit_of(node))
        if qualified in SELECT:
            return select_of(ctx, node)
        if qualified in UPDATE:
            return update_of(ctx, node)
        if qualified in INSERT:
            return insert_of(ctx, node)
        if not isinstance(node.func, cst.Attribute):
            return None
        method = node.func.attr.value
        if method in TABLE_STATEMENTS and isinstance(receiver, (CoreTable, Unknown)):
            table = receiver.table if isinstance(receiver, CoreTable) else table_of(ctx, node.func.value)
            if table is not None:
                return table_method(ctx, node, table, method)
        if method == "select_from" and not isinstance(receiver, CoreQuery):
            found = select_from(ctx, node)
            if found is not None:
                return found
        if isinstance(receiver, InsertStatement):
            return insert_method(ctx, node, receiver, method)
        if isinstance(receiver, CoreResult):
            return result_method(receiver, method)
        if isinstance(receiver, CoreConnection):
            return self._connection_method(ctx, node, receiver, method)
        if isinstance(receiver, CoreTransaction):
            return self._transaction_method(ctx, node, receiver, method)
        engine = engine_of(ctx, node.func.value, receiver)
        if engine is not None:
            return self._engine_method(ctx, node, engine, method)
        if isinstance(receiver, (Unknown, Parameter)) and method in EXECUTE and _runs_sqlalchemy(ctx, node):
            # Whatever runs a SQLAlchemy statement is a SQLAlchemy connection (or session).
            connection = CoreConnection(node.func.value.value if isinstance(node.func.value, cst.Name) else "connection")
            if isinstance(node.func.value, cst.Name):
                ctx.rebind(node.func.value.value, connection)
            return self._connection_method(ctx, node, connection, method)
        return None

    def _engine_method(self, ctx: Context, node: cst.Call, engine: Engine, method: str) -> Value | None:
        """`connect()` and (outside a `with`, or in autocommit) `begin()` give a connection;
        `execution_options(...)` an engine with those options. SQLAlchemy 1.x's `engine.execute(...)`
        runs the statement on a connection of its own, committed at once: in no transaction."""
        if method in {"execute", "scalar"}:
            return run(ctx, node, autocommit=True)
        if method not in {"connect", "begin", "execution_options"}:
            return None
        for arg in node.args:
            ctx.eval(arg.value)
        if method == "execution_options":
            return Engine(autocommit=autocommit_of(node, engine.autocommit))
        return CoreConnection("connection", autocommit=engine.autocommit)

    def _connection_method(self, ctx: Context, node: cst.Call, connection: CoreConnection, method: str) -> Value | None:
        if method in EXECUTE:
            if not connection.autocommit:
                ctx.autobegin(node)
            return run(ctx, node, connection.autocommit)
        if method == "begin":
            if connection.autocommit:
                return CoreTransaction(connection.name, real=False)  # clarification 11: it begins nothing
            ctx.begin_manual(node)
            return CoreTransaction(connection.name)
        if method == "begin_nested":
            if not connection.autocommit:
                ctx.autobegin(node)  # a savepoint of the transaction, which it begins when none is open
            return CoreTransaction(connection.name, real=False)
        if method in {"commit", "rollback"}:
            if not connection.autocommit:
                self._end(ctx, node, method)
            return Data()
        if method == "execution_options":
            for arg in node.args:
                ctx.eval(arg.value)
            changed = CoreConnection(connection.name, autocommit_of(node, connection.autocommit))
            if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name):
                ctx.rebind(node.func.value.value, changed)  # it changes the connection itself, and returns it
            return changed
        return None

    def _transaction_method(self, ctx: Context, node: cst.Call, transaction: CoreTransaction, method: str) -> Value | None:
        if method not in {"commit", "rollback"}:
            return None
        if transaction.real:
            self._end(ctx, node, method)
        return Data()

    @staticmethod
    def _end(ctx: Context, node: cst.Call, method: str) -> None:
        ctx.emit((Commit if method == "commit" else Rollback)(ctx.span(node), ctx.tx))
        ctx.end_manual()


def _runs_sqlalchemy(ctx: Context, node: cst.Call) -> bool:
    """`x.execute(statement)` of a Core statement: `select(t)`/`update(t)` of a `Table`, an `insert(...)`,
    `t.update()`, refined by any methods, or a variable holding one. (An ORM `select(M)` run by an
    unknown receiver is left to the ORM recogniser, which knows its sessions.)"""
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    if not positional:
        return False
    expr = positional[0]
    while isinstance(expr, cst.Call):
        called = ctx.imports.resolve(expr.func)
        if called in INSERT:
            return True
        if called in SELECT:
            return selected_table(ctx, expr) is not None
        if called in UPDATE:
            first = next((a.value for a in expr.args if a.keyword is None and not a.star), None)
            return first is not None and table_of(ctx, first) is not None
        if not isinstance(expr.func, cst.Attribute):
            return False
        if expr.func.attr.value in TABLE_STATEMENTS and table_of(ctx, expr.func.value) is not None:
            return True
        expr = expr.func.value
    if isinstance(expr, cst.Name):
        return isinstance(ctx.lookup(expr.value), (CoreQuery, UpdateStatement, InsertStatement))
    return False
