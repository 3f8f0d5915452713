"""DB-API recogniser: connections and cursors of psycopg 3, psycopg2, pymysql, mysqlclient, sqlite3.

What it knows: `conn.cursor()` gives a cursor; `cursor.execute(sql, params)`
runs SQL (read by the SQL adapter, placeholders bound to the Python
expressions passed); a connection not in autocommit opens a transaction at
its first statement that lasts until `commit()`/`rollback()`; `with conn:`
(psycopg2) and `with conn.transaction():` (psycopg 3) are transaction blocks;
`cursor.rowcount` is how a conditional UPDATE's outcome is checked; fetched
rows carry the columns their SELECT listed.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from txlint.core.ir import Commit, Read, Rollback, RowOrigin, RowRef, Value, ValueKind, Write
from txlint.frontends.python.imports import dotted_name
from txlint.frontends.python.values import AbstractValue, Data, Handle, Parameter, Record, Rows
from txlint.frontends.python.walker import NOT_MINE, FunctionWalker, NotMine, TxScope, source_text
from txlint.sql import facts as sqlfacts
from txlint.sql import parse_statements, to_ir

CONNECT = {
    "psycopg2.connect", "psycopg.connect", "pymysql.connect", "MySQLdb.connect",
    "sqlite3.connect", "mysql.connector.connect", "psycopg.Connection.connect",
}  # fmt: skip
CONNECTION_NAMES = {"conn", "connection", "con", "cnx", "db_conn", "dbconn", "db_connection"}


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


class DbApiRecogniser:
    """Turns DB-API calls with SQL strings into IR ops."""

    def parameter(self, walker: FunctionWalker, param: cst.Param) -> AbstractValue | None | NotMine:
        return NOT_MINE

    def opens_transaction(self, walker: FunctionWalker, expr: cst.BaseExpression) -> TxScope | None:
        """`with conn:` (psycopg2 commits or rolls back on exit) and `with conn.transaction():` (psycopg 3)."""
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "transaction":
            owner = walker.env.get(dotted_name(expr.func.value) or "")
            return TxScope() if isinstance(owner, Connection) or _connection_like(expr.func.value, owner) else None
        if isinstance(expr, cst.Name):
            owner = walker.env.get(expr.value)
            return TxScope() if isinstance(owner, Connection) or _connection_like(expr, owner) else None
        return None

    def attribute_assigned(self, walker: FunctionWalker, target: cst.Attribute, value: cst.BaseExpression) -> bool:
        if target.attr.value != "autocommit" or not isinstance(target.value, cst.Name):
            return False
        owner = walker.env.get(target.value.value)
        if not isinstance(owner, (Connection, Parameter)) and owner is not None:
            return False
        walker.env[target.value.value] = Connection(target.value.value, autocommit=_is_true(value))
        return True

    def attribute(self, walker: FunctionWalker, node: cst.Attribute, base: AbstractValue | None) -> AbstractValue | None | NotMine:
        if isinstance(base, Cursor) and node.attr.value == "rowcount":
            walker.mark_checked(_cursor_key(node.value))
            return Data()
        return NOT_MINE

    def call(self, walker: FunctionWalker, node: cst.Call, receiver: AbstractValue | None) -> AbstractValue | None | NotMine:
        if walker.imports.resolve(node.func) in CONNECT:
            for arg in node.args:
                walker.eval(arg.value)
            return Connection("connection")
        if not isinstance(node.func, cst.Attribute):
            return NOT_MINE
        method = node.func.attr.value
        owner_name = dotted_name(node.func.value) or ""
        if method == "cursor" and (isinstance(receiver, (Connection, Parameter)) or _connection_like(node.func.value, receiver)):
            if not isinstance(receiver, Connection) and isinstance(node.func.value, cst.Name):
                walker.env[node.func.value.value] = receiver = Connection(node.func.value.value)
            return Cursor(owner_name)
        if isinstance(receiver, Cursor):
            return self._cursor_method(walker, node, receiver, method)
        if isinstance(receiver, Connection):
            return self._connection_method(walker, node, receiver, method)
        return NOT_MINE

    def _connection(self, walker: FunctionWalker, name: str) -> Connection:
        value = walker.env.get(name)
        return value if isinstance(value, Connection) else Connection(name)

    def _cursor_method(self, walker: FunctionWalker, node: cst.Call, cursor: Cursor, method: str) -> AbstractValue | None | NotMine:
        key = cursor.key or _cursor_key(node.func.value)  # type: ignore[attr-defined]
        if method in {"execute", "executemany"}:
            return self._execute(walker, node, self._connection(walker, cursor.connection), key)
        read = walker.scratch.get(f"read:{key}")
        if not isinstance(read, int):
            return NOT_MINE
        last = walker.unit.ops[read]
        assert isinstance(last, Read)
        if method == "fetchone":
            return Record(RowRef(RowOrigin.READ, read, ""), last.columns)
        if method in {"fetchall", "fetchmany"}:
            return Rows(read, last.table)
        return NOT_MINE

    def _connection_method(self, walker: FunctionWalker, node: cst.Call, connection: Connection, method: str) -> AbstractValue | None | NotMine:
        if method == "execute":  # sqlite3 / psycopg 3 shortcut: a cursor of its own
            key = f"{connection.name}.execute"
            self._execute(walker, node, connection, key)
            return Cursor(connection.name, key)
        if method == "commit":
            walker.emit(Commit(walker.span(node), walker.tx))
            walker.end_manual()
            return Data()
        if method == "rollback":
            walker.emit(Rollback(walker.span(node), walker.tx))
            walker.end_manual()
            return Data()
        return NOT_MINE

    def _execute(self, walker: FunctionWalker, node: cst.Call, connection: Connection, key: str) -> AbstractValue | None:
        args = [a for a in node.args if a.keyword is None]
        if not args:
            return Data()
        sql = sql_text(walker, args[0].value)
        resolve = parameter_resolver(walker, args[1].value if len(args) > 1 else None)
        if sql is None:
            return Data()  # built at run time: no finding, never a guess
        statements = parse_statements(sql, walker.file.config.dialect)
        if isinstance(statements, sqlfacts.SqlError):
            return Data()
        result: AbstractValue | None = Data()
        for statement in statements:
            result = self._statement(walker, node, connection, key, statement, resolve)
        return result

    def _statement(
        self, walker: FunctionWalker, node: cst.Call, connection: Connection, key: str, statement: sqlfacts.Statement, resolve: to_ir.Resolver
    ) -> AbstractValue | None:
        span = walker.span(node)
        if statement.kind == "begin":
            walker.begin_manual(node)
            return Data()
        if statement.kind in {"commit", "rollback"}:
            walker.emit((Commit if statement.kind == "commit" else Rollback)(span, walker.tx))
            walker.end_manual()
            return Data()
        if not connection.autocommit:
            walker.autobegin(node)
        op = to_ir.statement_op(statement, span, walker.tx if not connection.autocommit else None, resolve, autocommit=connection.autocommit)
        if op is None:
            return Data()
        index = walker.emit(op)
        if isinstance(op, Read):
            walker.scratch[f"read:{key}"] = index
        elif isinstance(op, Write):
            walker.track_result(key, index)
        return Data()


def _cursor_key(node: cst.BaseExpression) -> str:
    return dotted_name(node) or source_text(node)


def _connection_like(node: cst.BaseExpression, value: AbstractValue | None) -> bool:
    """A parameter (or unknown name) named like a connection: `conn`, `connection`, `self.conn`."""
    name = (dotted_name(node) or "").rsplit(".", 1)[-1]
    return name in CONNECTION_NAMES and (value is None or isinstance(value, Parameter))


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def sql_text(walker: FunctionWalker, node: cst.BaseExpression) -> str | None:
    """The SQL an expression holds, when it is fixed: literals, concatenations, constants in
    variables, and f-strings whose holes are plain names (a hole becomes an identifier)."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        if isinstance(node, cst.ConcatenatedString) and (
            isinstance(node.left, cst.FormattedString) or isinstance(node.right, cst.FormattedString)
        ):
            left, right = sql_text(walker, node.left), sql_text(walker, node.right)  # type: ignore[arg-type]
            return left + right if left is not None and right is not None else None
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.FormattedString):
        parts = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            elif isinstance(part.expression, (cst.Name, cst.Attribute)) and part.format_spec is None and part.conversion is None:
                parts.append("txlint_hole_" + "_".join((dotted_name(part.expression) or "x").split(".")))
            else:
                return None
        return "".join(parts)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left, right = sql_text(walker, node.left), sql_text(walker, node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, cst.Name):
        value = walker.env.get(node.value)
        if value is None and node.value not in walker.env:
            return walker.file.constants.get(node.value)
        return value.text if isinstance(value, Data) else None
    return None


def parameter_resolver(walker: FunctionWalker, params: cst.BaseExpression | None) -> to_ir.Resolver:
    """Placeholder key → the IR value of the Python expression bound to it."""
    values: dict[sqlfacts.PlaceholderKey, Value] = {}
    if isinstance(params, (cst.Tuple, cst.List)):
        for position, element in enumerate(params.elements):
            values[position] = walker.value_of(element.value)
    elif isinstance(params, cst.Dict):
        for element in params.elements:
            if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                name = element.key.evaluated_value
                if isinstance(name, str):
                    values[name] = walker.value_of(element.value)
    elif params is not None:
        walker.eval(params)
    return lambda key: values.get(key, Value(ValueKind.UNKNOWN))

