"""DB-API recogniser: connections and cursors of psycopg 3, psycopg2, pymysql, mysqlclient, sqlite3.

What it knows: `conn.cursor()` gives a cursor; `cursor.execute(sql, params)`
runs SQL (read by `txlint.sql`, placeholders bound to the Python expressions
passed); a connection not in autocommit opens a transaction at its first
statement that lasts until `commit()`/`rollback()`; `with conn:` (psycopg2)
and `with conn.transaction():` (psycopg 3) are transaction blocks;
`cursor.rowcount` is how a conditional UPDATE's outcome is checked; fetched
rows carry the columns their SELECT listed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import libcst as cst

from txlint.core.ir import Commit, Insert, Op, Read, Rollback, RowOrigin, RowRef, Write
from txlint.core.summaries import FunctionSummary
from txlint.frontends.python.imports import dotted_name
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.expressions import source_text
from txlint.frontends.python.interpret.state import Facet
from txlint.frontends.python.interpret.values import Data, Fetched, Handle, Parameter, Record, Rows, Unknown, Value
from txlint.frontends.python.recognisers.base import Recogniser, TxScope
from txlint.frontends.python.recognisers.project_names import argument, summary_called
from txlint.frontends.python.recognisers.sql_strings import parameters, sql_text, statements
from txlint.sql import facts as sqlfacts
from txlint.sql import to_ir

CONNECT = {
    "psycopg2.connect", "psycopg.connect", "pymysql.connect", "MySQLdb.connect",
    "sqlite3.connect", "mysql.connector.connect", "psycopg.Connection.connect",
}  # fmt: skip
CONNECTION_NAMES = {"conn", "connection", "con", "cnx", "db_conn", "dbconn", "db_connection"}
EXECUTE = {"execute", "executemany"}
FETCH_ONE = {"fetchone"}
FETCH_MANY = {"fetchall", "fetchmany"}


@dataclass(frozen=True)
class Connection(Handle):
    """A DB-API connection, and whether it was switched to autocommit."""

    name: str
    autocommit: bool = False


@dataclass(frozen=True)
class Cursor(Handle):
    """A cursor of a connection (named by the variable holding the connection).

    `key` names where its last result lives when it is not a variable
    (the implicit cursor `conn.execute(...)` returns)."""

    connection: str
    key: str = ""


@dataclass(frozen=True)
class LastReads(Facet):
    """The last SELECT each cursor ran (by cursor key), which its `fetch*()` returns rows of."""

    reads: frozenset[tuple[str, int]] = frozenset()

    def of(self, key: str) -> int | None:
        return max((index for k, index in self.reads if k == key), default=None)

    def after(self, key: str, index: int) -> LastReads:
        return LastReads(frozenset({(k, i) for k, i in self.reads if k != key} | {(key, index)}))

    def join(self, other: Facet) -> Facet:
        return LastReads(self.reads | other.reads) if isinstance(other, LastReads) else self


class DbApiRecogniser(Recogniser):
    """Turns DB-API calls with SQL strings into IR ops."""

    names = frozenset(CONNECT)

    def opens_transaction(self, ctx: Context, expr: cst.BaseExpression) -> TxScope | None:
        """`with conn:` (psycopg2 commits or rolls back on exit) and `with conn.transaction():` (psycopg 3)."""
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "transaction":
            owner = ctx.lookup(dotted_name(expr.func.value) or "")
            return TxScope() if isinstance(owner, Connection) or _connection_like(expr.func.value, owner) else None
        if isinstance(expr, cst.Name):
            owner = ctx.lookup(expr.value)
            return TxScope() if isinstance(owner, Connection) or _connection_like(expr, owner) else None
        return None

    def assigned(self, ctx: Context, target: cst.Attribute, value: cst.BaseExpression) -> bool:
        if target.attr.value != "autocommit" or not isinstance(target.value, cst.Name):
            return False
        owner = ctx.lookup(target.value.value)
        if owner is not None and not isinstance(owner, (Connection, Parameter, Unknown)):
            return False
        ctx.rebind(target.value.value, Connection(target.value.value, autocommit=_is_true(value)))
        return True

    def attribute(self, ctx: Context, node: cst.Attribute, base: Value) -> Value | None:
        if isinstance(base, Cursor) and node.attr.value == "rowcount":
            return Data(results=ctx.mark_checked(_cursor_key(node.value)))
        return None

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        wrapper = summary_called(ctx, node.func, receiver)
        if wrapper is not None and wrapper.executes:
            return self._through_wrapper(ctx, node, wrapper)
        if ctx.imports.resolve(node.func) in CONNECT:
            for arg in node.args:
                ctx.eval(arg.value)
            return Connection("connection")
        if not isinstance(node.func, cst.Attribute):
            return None
        method = node.func.attr.value
        owner_name = dotted_name(node.func.value) or ""
        if method == "cursor" and (isinstance(receiver, (Connection, Parameter)) or _connection_like(node.func.value, receiver)):
            if not isinstance(receiver, Connection) and isinstance(node.func.value, cst.Name):
                ctx.rebind(node.func.value.value, Connection(node.func.value.value))
            return Cursor(owner_name)
        if isinstance(receiver, Cursor):
            return self._cursor_method(ctx, node, receiver, method)
        if isinstance(receiver, Connection):
            return self._connection_method(ctx, node, receiver, method)
        return None

    def _through_wrapper(self, ctx: Context, node: cst.Call, wrapper: FunctionSummary) -> Value:
        """`await db.fetchone("SELECT ... FOR UPDATE", id)` through the application's own wrapper:
        the SQL is run here, on the wrapper's connection (one per wrapper), and what it fetches is
        handed back (clarification 15, item 6 of issue 13)."""
        for arg in node.args:
            ctx.eval(arg.value)
        sql_node = argument(node, wrapper.params, wrapper.executes)
        sql = sql_text(ctx, sql_node) if sql_node is not None else None
        if sql is None:
            return Data()
        values = argument(node, wrapper.params, wrapper.executes_with) if wrapper.executes_with else None
        key = wrapper.name
        for statement in statements(ctx, sql):
            self._statement(ctx, node, Connection(key), key, statement, parameters(ctx, values))
        read = ctx.facet(LastReads, LastReads()).of(key)
        last = ctx.op(read) if read is not None else None
        if isinstance(last, Read) and wrapper.fetches == "one":
            return Record(RowRef(RowOrigin.READ, read, ""), last.columns)
        if isinstance(last, Read) and wrapper.fetches == "many" and read is not None:
            return Rows(read, last.table)
        return Data()

    def _connection(self, ctx: Context, name: str) -> Connection:
        value = ctx.lookup(name)
        return value if isinstance(value, Connection) else Connection(name)

    def _cursor_method(self, ctx: Context, node: cst.Call, cursor: Cursor, method: str) -> Value | None:
        assert isinstance(node.func, cst.Attribute)
        key = cursor.key or _cursor_key(node.func.value)
        if method in EXECUTE:
            return self._execute(ctx, node, self._connection(ctx, cursor.connection), key)
        read = ctx.facet(LastReads, LastReads()).of(key)
        if read is None:
            if method in FETCH_ONE or method in FETCH_MANY:
                return Fetched(many=method in FETCH_MANY)  # of SQL nobody here knows: a wrapper's
            return None
        last = ctx.op(read)
        assert isinstance(last, Read)
        if method in FETCH_ONE:
            return Record(RowRef(RowOrigin.READ, read, ""), last.columns)
        if method in FETCH_MANY:
            return Rows(read, last.table)
        return None

    def _connection_method(self, ctx: Context, node: cst.Call, connection: Connection, method: str) -> Value | None:
        if method == "execute":  # sqlite3 / psycopg 3 shortcut: a cursor of its own
            key = f"{connection.name}.execute"
            self._execute(ctx, node, connection, key)
            return Cursor(connection.name, key)
        if method in {"commit", "rollback"}:
            ctx.emit((Commit if method == "commit" else Rollback)(ctx.span(node), ctx.tx))
            ctx.end_manual()
            return Data()
        return None

    def _execute(self, ctx: Context, node: cst.Call, connection: Connection, key: str) -> Value:
        args = [a for a in node.args if a.keyword is None]
        if not args:
            return Data()
        sql = sql_text(ctx, args[0].value)
        resolve = parameters(ctx, args[1].value if len(args) > 1 else None)
        if sql is None:
            given = _parameter_name(ctx, args[0].value)
            if given is not None:  # the caller's SQL: this function is a wrapper its callers run SQL through
                ctx.record_sql_parameter(given, _parameter_name(ctx, args[1].value) or "" if len(args) > 1 else "")
            return Data()  # built at run time: no finding, never a guess
        for statement in statements(ctx, sql):
            self._statement(ctx, node, connection, key, statement, resolve)
        return Data()

    def _statement(
        self, ctx: Context, node: cst.Call, connection: Connection, key: str, statement: sqlfacts.Statement, resolve: to_ir.Resolver
    ) -> None:
        span = ctx.span(node)
        if statement.kind == "begin":
            ctx.begin_manual(node)
            return
        if statement.kind in {"commit", "rollback"}:
            ctx.emit((Commit if statement.kind == "commit" else Rollback)(span, ctx.tx))
            ctx.end_manual()
            return
        if not connection.autocommit:
            ctx.autobegin(node)
        emitted = to_ir.emit_statement(statement, span, ctx.tx if not connection.autocommit else None, resolve, partial(_emit, ctx), autocommit=connection.autocommit)
        if emitted is None:
            return
        op, index = emitted
        if isinstance(op, Read):
            ctx.set_facet(ctx.facet(LastReads, LastReads()).after(key, index))
        elif isinstance(op, (Write, Insert)):  # `cursor.rowcount` is now this statement's
            ctx.track_result(key, index)


def _emit(ctx: Context, op: Op) -> int:
    """An insert's outcome is followed like an UPDATE's row count: `cursor.rowcount` after it."""
    return ctx.emit(replace(op, outcome_read=True) if isinstance(op, Insert) and op.outcome_read is None else op)


def _parameter_name(ctx: Context, node: cst.BaseExpression) -> str | None:
    """The parameter a name holds, unchanged since the call began (a wrapper's SQL or values)."""
    if isinstance(node, cst.Name):
        value = ctx.lookup(node.value)
        if isinstance(value, Parameter) and value.name == node.value:
            return node.value
    return None


def _cursor_key(node: cst.BaseExpression) -> str:
    return dotted_name(node) or source_text(node)


def _connection_like(node: cst.BaseExpression, value: Value | None) -> bool:
    """A parameter (or unknown name) named like a connection: `conn`, `connection`, `self.conn`."""
    name = (dotted_name(node) or "").rsplit(".", 1)[-1]
    return name in CONNECTION_NAMES and (value is None or isinstance(value, (Parameter, Unknown)))


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"
