"""DB-API and asyncio driver recogniser: psycopg 3, psycopg2, sqlite3, pymysql, mysqlclient, aiosqlite,
aiomysql, asyncpg, `databases`, and their pools.

What it knows (the tables are `dbapi_models`; where connections come from,
`dbapi_sources`): `conn.cursor()` gives a cursor; `cursor.execute(sql, params)`
(and a connection's own `execute`, `fetchrow`, `fetch_one`, ...) runs SQL,
read by `txlint.sql`, its placeholders bound to the Python expressions passed;
a PEP 249 connection not in autocommit opens a transaction at its first
statement that lasts until `commit()`/`rollback()`, an asyncpg or `databases`
connection commits every statement outside `transaction()`; `with conn:`
(psycopg2, psycopg 3, sqlite3), `with conn.transaction():` and psycopg_pool's
`with pool.connection() as conn:` are transaction blocks; `cursor.rowcount`,
the status string asyncpg's `execute` returns and the row count of
`databases`' are how a conditional UPDATE's outcome is checked; fetched rows
carry the columns their SELECT listed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import libcst as cst

from txlint.core.ir import Commit, Insert, Read, Rollback, RowOrigin, RowRef, ValueKind, Write
from txlint.core.ir import Op as IROp
from txlint.core.ir import Value as IRValue
from txlint.core.summaries import FunctionSummary
from txlint.frontends.python.imports import dotted_name, keyword_arg
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.expressions import source_text
from txlint.frontends.python.interpret.state import Facet
from txlint.frontends.python.interpret.values import Data, Fetched, Parameter, Record, Rows, Unknown, Value
from txlint.frontends.python.recognisers.base import Recogniser, TxScope
from txlint.frontends.python.recognisers.dbapi_models import (
    ANNOTATIONS,
    CONNECTION_METHODS,
    CURSOR_METHODS,
    DBAPI,
    EVIDENCE,
    FACTORIES,
    LENT,
    LENT_AS,
    POOL_METHODS,
    POOL_STATEMENTS,
    RESULT_METHODS,
    Connection,
    Cursor,
    Driver,
    Mode,
    Op,
    Pool,
    TransactionHandle,
)
from txlint.frontends.python.recognisers.dbapi_sources import annotated, known, made
from txlint.frontends.python.recognisers.project_names import argument, summary_called
from txlint.frontends.python.recognisers.sql_strings import parameters, sql_text, statements
from txlint.sql import facts as sqlfacts
from txlint.sql import to_ir

CONNECTION_NAMES = {"conn", "connection", "con", "cnx", "db_conn", "dbconn", "db_connection"}
SQL_KEYWORDS = ("query", "sql", "operation", "sql_script")
PARAMETER_KEYWORDS = ("params", "parameters", "args", "values")
STATEMENTS_RUN = {Op.EXECUTE, Op.EXECUTE_MANY, Op.SCRIPT, Op.ROW, Op.ROWS, Op.VALUE}


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
    """Turns DB-API and asyncio driver calls with SQL strings into IR ops."""

    names = frozenset(FACTORIES) | frozenset(ANNOTATIONS)

    def parameter(self, ctx: Context, param: cst.Param) -> Value | None:
        """A parameter annotated with a driver's connection or pool type."""
        if param.annotation is None:
            return None
        return annotated(ctx.imports, param.annotation.annotation, param.name.value, passed=True)

    def opens_transaction(self, ctx: Context, expr: cst.BaseExpression) -> TxScope | None:
        """`with conn:` and `with connect(...) as conn:` (psycopg2, psycopg 3, sqlite3 commit or roll
        back on exit), `with conn.transaction():`, `@database.transaction()`, psycopg_pool's
        `with pool.connection() as conn:`."""
        if isinstance(expr, cst.Await):
            expr = expr.expression
        if isinstance(expr, cst.Call):
            opened = made(ctx.imports, expr, "connection")
            if opened is not None:
                return TxScope(handle=opened) if isinstance(opened, Connection) and opened.driver.with_commits else None
            if not isinstance(expr.func, cst.Attribute):
                return None
            method = expr.func.attr.value
            owner = known(ctx, expr.func.value, ctx.lookup(dotted_name(expr.func.value) or ""))
            if method == "transaction" and (isinstance(owner, Connection) or _connection_like(expr.func.value, owner)):
                return TxScope()
            if method == "connection" and isinstance(owner, Pool):
                return TxScope(handle=owner.lends("connection"))
            return None  # `async with database.connection() as conn` (`databases`): a connection, no transaction
        if isinstance(expr, cst.Name):
            owner = known(ctx, expr, ctx.lookup(expr.value))
            if isinstance(owner, Connection):
                return TxScope() if owner.driver.with_commits else None
            return TxScope() if _connection_like(expr, owner) else None
        return None

    def assigned(self, ctx: Context, target: cst.Attribute, value: cst.BaseExpression) -> bool:
        """`conn.autocommit = True`, sqlite3's `conn.isolation_level = None`."""
        attribute = target.attr.value
        if attribute not in {"autocommit", "isolation_level"} or not isinstance(target.value, cst.Name):
            return False
        owner = known(ctx, target.value, ctx.lookup(target.value.value))
        if owner is not None and not isinstance(owner, (Connection, Parameter, Unknown)):
            return False
        switched = _is_literal(value, "True") if attribute == "autocommit" else _is_literal(value, "None")
        connection = owner if isinstance(owner, Connection) else Connection(target.value.value)
        ctx.rebind(target.value.value, connection.switched(switched))
        return True

    def attribute(self, ctx: Context, node: cst.Attribute, base: Value) -> Value | None:
        if isinstance(base, Cursor) and node.attr.value == "rowcount":
            return Data(results=ctx.mark_checked(base.key or _cursor_key(node.value)))
        if isinstance(base, Record):  # `row.balance` (namedtuple rows, `databases` records)
            return base if node.attr.value == "_mapping" else base.item(node.attr.value) if not node.attr.value.startswith("_") else Data()
        return None

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        wrapper = summary_called(ctx, node.func, receiver)
        if wrapper is not None and wrapper.executes:
            return self._through_wrapper(ctx, node, wrapper)
        opened = made(ctx.imports, node, "connection")
        if opened is not None:
            for arg in node.args:
                ctx.eval(arg.value)
            return opened
        if ctx.imports.resolve(node.func) == "contextlib.closing" and len(node.args) == 1:
            return ctx.eval(node.args[0].value)  # `with closing(sqlite3.connect(path)) as conn`: the connection, closed on exit
        if not isinstance(node.func, cst.Attribute):
            return None
        method = node.func.attr.value
        owner = known(ctx, node.func.value, receiver)
        if isinstance(owner, Cursor):
            return self._cursor_method(ctx, node, owner, method)
        if isinstance(owner, Pool):
            return self._pool_method(ctx, node, owner, method)
        if isinstance(owner, TransactionHandle):
            return self._transaction_method(ctx, node, method)
        if isinstance(owner, Connection):
            return self._connection_method(ctx, node, owner, method)
        if method == "cursor" and (isinstance(owner, Parameter) or _connection_like(node.func.value, owner)):
            return self._cursor_of_unknown(ctx, node)
        if method == "acquire" and _of_unknown_type(owner) and _lent(ctx, node):
            return Connection(dotted_name(node.func.value) or "pool", driver=LENT)
        if method in EVIDENCE and _of_unknown_type(owner):
            return self._evidence(ctx, node, method)
        return None

    # -- where connections and cursors come from ----------------------------------------------
    def _cursor_of_unknown(self, ctx: Context, node: cst.Call) -> Value:
        """`conn.cursor()` on a parameter, or on a name that says it is a connection."""
        assert isinstance(node.func, cst.Attribute)
        owner = node.func.value
        if isinstance(owner, cst.Name):
            ctx.rebind(owner.value, Connection(owner.value))
        return Cursor(dotted_name(owner) or "", of=Connection(dotted_name(owner) or "connection"))

    def _evidence(self, ctx: Context, node: cst.Call, method: str) -> Value | None:
        """A receiver of unknown type sent SQL that parses is a connection; the method tells which kind.
        Whether a transaction is open on it is its caller's to know when its driver autocommits, or when
        it is awaited: an application's own async wrapper, most often, whose caller opens and ends the
        transaction (`async with db.connect() as conn`)."""
        assert isinstance(node.func, cst.Attribute)
        sql_node = _sql_argument(node)
        sql = sql_text(ctx, sql_node) if sql_node is not None else None
        if sql is None or not any(s.kind != "other" for s in statements(ctx, sql)):
            return None
        driver = EVIDENCE[method]
        name = dotted_name(node.func.value) or "connection"
        awaited = isinstance(ctx.uses.parent(node), cst.Await)  # an application's async wrapper, most often
        connection = Connection(name, driver=driver, caller=driver.mode is Mode.AUTOCOMMIT or awaited)
        if isinstance(node.func.value, cst.Name) and node.func.value.value not in {"self", "cls"}:
            ctx.rebind(node.func.value.value, connection)
        return self._connection_method(ctx, node, connection, method)

    def _pool_method(self, ctx: Context, node: cst.Call, pool: Pool, method: str) -> Value | None:
        op = POOL_METHODS.get(method) or CONNECTION_METHODS.get(method)
        if op in (Op.ACQUIRE, Op.CONNECTION_BLOCK):
            return pool.lends(pool.name)
        if op in POOL_STATEMENTS:  # asyncpg's `pool.fetchrow(...)`: on a connection lent for the statement
            return self._connection_method(ctx, node, pool.lends(pool.name), method)
        for arg in node.args:
            ctx.eval(arg.value)
        return Data()  # putconn, release, close

    def _transaction_method(self, ctx: Context, node: cst.Call, method: str) -> Value | None:
        if method == "start":
            ctx.begin_manual(node)
        elif method in {"commit", "rollback"}:
            ctx.emit((Commit if method == "commit" else Rollback)(ctx.span(node), ctx.tx))
            ctx.end_manual()
        else:
            return None
        return Data()

    # -- connections -----------------------------------------------------------------------------
    def _connection_method(self, ctx: Context, node: cst.Call, connection: Connection, method: str) -> Value | None:
        op = CONNECTION_METHODS.get(method)
        if op is None:
            return None
        assert isinstance(node.func, cst.Attribute)
        if connection.driver is LENT:  # the first method sent tells whose connection a pool lent
            connection = replace(connection, driver=LENT_AS.get(method, DBAPI))
            if isinstance(node.func.value, cst.Name) and node.func.value.value not in {"self", "cls"}:
                ctx.rebind(node.func.value.value, connection)
        receiver = _cursor_key(node.func.value)
        if op is Op.CURSOR:
            return Cursor(receiver, of=connection)
        if op in (Op.COMMIT, Op.ROLLBACK):
            ctx.emit((Commit if op is Op.COMMIT else Rollback)(ctx.span(node), ctx.tx))
            ctx.end_manual()
            return Data()
        if op is Op.BEGIN:
            ctx.begin_manual(node)
            return Data()
        if op is Op.TRANSACTION:  # used as a block, `opens_transaction` says so; here a handle
            if isinstance(ctx.uses.parent(node), cst.Await) and connection.driver.name == "databases":
                ctx.begin_manual(node)  # `await database.transaction()` starts it
            return TransactionHandle(receiver)
        if op not in STATEMENTS_RUN:
            return None
        if op in (Op.ROW, Op.ROWS) and _sql_argument(node) is None:  # `x.fetchone()`: x was a cursor after all
            return self._cursor_method(ctx, node, Cursor(receiver, receiver, of=connection), "fetchone" if op is Op.ROW else "fetchall")
        key = f"{receiver}.{method}@{ctx.span(node).line}:{ctx.span(node).column}"  # a cursor of its own
        fetches = op in (Op.ROW, Op.ROWS, Op.VALUE)
        gives_cursor = connection.driver.execute_gives == "cursor" and not fetches
        indices = self._run(ctx, node, connection, key, op, unchecked=not gives_cursor and ctx.is_discarded(node))
        if fetches:
            return self._fetched(ctx, node, key, op, indices)
        if gives_cursor:
            if _returned(ctx, node):  # `return conn.execute(...)`: the caller has the cursor, and its row count
                ctx.mark_checked(key)
            return Cursor(receiver, key, of=connection)
        return _status(ctx, indices)

    def _fetched(self, ctx: Context, node: cst.Call, key: str, op: Op, indices: list[int] | None) -> Value:
        """What `fetchrow`/`fetch`/`fetchval` give: the rows of the read, or, for a write that
        returns rows (`UPDATE ... RETURNING`), whether it matched."""
        if indices is None:
            return Fetched(many=op is Op.ROWS) if _sql_parameter(ctx, node) else Data()
        if any(isinstance(ctx.op(i), Write) for i in indices):
            return _status(ctx, indices)
        read = ctx.facet(LastReads, LastReads()).of(key)
        last = ctx.op(read) if read is not None else None
        if not isinstance(last, Read) or read is None:
            return Data()
        if op is Op.ROWS:
            return Rows(read, last.table, records=last.columns)
        record = Record(RowRef(RowOrigin.READ, read, ""), last.columns)
        return record.item(0) if op is Op.VALUE else record

    # -- cursors ---------------------------------------------------------------------------------
    def _cursor_method(self, ctx: Context, node: cst.Call, cursor: Cursor, method: str) -> Value | None:
        assert isinstance(node.func, cst.Attribute)
        key = cursor.key or _cursor_key(node.func.value)
        op = CURSOR_METHODS.get(method) or RESULT_METHODS.get(method)
        if op in (Op.EXECUTE, Op.EXECUTE_MANY, Op.SCRIPT):
            # pymysql's, mysqlclient's and aiomysql's `execute` return the row count: used where it is
            # returned (`if cur.execute(...) != 1`), it is looked at; bound to a name, when the name is
            result = _status(ctx, self._run(ctx, node, self._connection(ctx, cursor), key, op))
            if isinstance(result, Data) and result.results and _used_in_place(ctx, node):
                ctx.mark_checked(key)
            return result
        if op not in (Op.FETCH_ONE, Op.FETCH_MANY):
            return None
        read = ctx.facet(LastReads, LastReads()).of(key)
        if read is None:
            return Fetched(many=op is Op.FETCH_MANY)  # of SQL nobody here knows: a wrapper's
        last = ctx.op(read)
        assert isinstance(last, Read)
        if op is Op.FETCH_ONE:
            return Record(RowRef(RowOrigin.READ, read, ""), last.columns)
        return Rows(read, last.table, records=last.columns)

    def _connection(self, ctx: Context, cursor: Cursor) -> Connection:
        """The connection a cursor runs on, as it is now (`conn.autocommit = True` after `cursor()`)."""
        value = ctx.lookup(cursor.connection)
        if isinstance(value, Connection):
            return value
        return cursor.of or Connection(cursor.connection)

    # -- statements ------------------------------------------------------------------------------
    def _run(self, ctx: Context, node: cst.Call, connection: Connection, key: str, op: Op, *, unchecked: bool = False) -> list[int] | None:
        """Run the SQL a call passes: its statements' ops (None: the SQL is not known here).
        `unchecked`: the call's result, the only way to see its writes' row counts, is thrown away."""
        sql_node = _sql_argument(node)
        # the parameters are evaluated (once) whether or not the SQL is known here
        resolve = _many(ctx, node, connection.driver) if op is Op.EXECUTE_MANY else _resolver(ctx, node, connection.driver)
        sql = sql_text(ctx, sql_node) if sql_node is not None else None
        if sql is None:
            given = _parameter_name(ctx, sql_node) if sql_node is not None else None
            if given is not None:  # the caller's SQL: this function is a wrapper its callers run SQL through
                values = _values_argument(node, connection.driver)
                ctx.record_sql_parameter(given, (_parameter_name(ctx, values) or "") if values is not None else "")
            return None  # built at run time: no finding, never a guess
        if op is Op.SCRIPT:
            self._script_starts(ctx, node)
        found: list[int] = []
        for statement in statements(ctx, sql):
            index = self._statement(ctx, node, connection, key, statement, resolve, script=op is Op.SCRIPT, unchecked=unchecked)
            if index is not None:
                found.append(index)
        return found

    def _script_starts(self, ctx: Context, node: cst.Call) -> None:
        """sqlite3's `executescript` first commits the transaction the connection has open."""
        if ctx.tx is not None:
            ctx.emit(Commit(ctx.span(node), ctx.tx))
            ctx.end_manual()

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

    def _statement(
        self,
        ctx: Context,
        node: cst.Call,
        connection: Connection,
        key: str,
        statement: sqlfacts.Statement,
        resolve: to_ir.Resolver,
        *,
        script: bool = False,
        unchecked: bool = False,
    ) -> int | None:
        span = ctx.span(node)
        if statement.kind == "begin":
            ctx.begin_manual(node)
            return None
        if statement.kind in {"commit", "rollback"}:
            ctx.emit((Commit if statement.kind == "commit" else Rollback)(span, ctx.tx))
            ctx.end_manual()
            return None
        mode = connection.mode
        if mode is Mode.IMPLICIT and not script:
            ctx.autobegin(node)
        autocommit = (mode is Mode.AUTOCOMMIT or script) and ctx.tx is None
        emitted = to_ir.emit_statement(statement, span, None if autocommit else ctx.tx, resolve, partial(_emit, ctx, unchecked), autocommit=autocommit)
        if emitted is None:
            return None
        op, index = emitted
        if isinstance(op, Read):
            reads = ctx.facet(LastReads, LastReads()).after(key, index)
            if "@" in key:  # a connection's own cursor: also the receiver's, should it be a cursor (`x.execute(); x.fetchone()`)
                reads = reads.after(key.rsplit(".", 1)[0], index)
            ctx.set_facet(reads)
        elif isinstance(op, (Write, Insert)) and connection.driver.execute_gives == "cursor":  # `cursor.rowcount` is now this statement's
            ctx.track_result(key, index)
        return index


def _emit(ctx: Context, unchecked: bool, op: IROp) -> int:
    """An insert's outcome is followed like an UPDATE's row count (`cursor.rowcount` after it); a
    write whose result the call throws away is unchecked."""
    if isinstance(op, Insert) and op.outcome_read is None:
        op = replace(op, outcome_read=True)
    elif unchecked and isinstance(op, Write):
        op = replace(op, result_checked=False)
    return ctx.emit(op)


def _returned(ctx: Context, node: cst.Call) -> bool:
    parent = ctx.uses.parent(node)
    return isinstance(ctx.uses.parent(parent) if isinstance(parent, cst.Await) else parent, cst.Return)


def _used_in_place(ctx: Context, node: cst.Call) -> bool:
    """A call's result used where the call is (tested, compared, returned, passed on), not thrown
    away nor bound to a name."""
    if ctx.is_discarded(node):
        return False
    parent = ctx.uses.parent(node)
    if isinstance(parent, cst.Await):
        parent = ctx.uses.parent(parent)
    return not isinstance(parent, (cst.Assign, cst.AnnAssign, cst.Expr))


def _status(ctx: Context, indices: list[int] | None) -> Value:
    """asyncpg's status string (`UPDATE 1`), the row count `databases` and pymysql return: looking
    at it checks the writes (a result thrown away was marked when they were emitted)."""
    writes = frozenset(i for i in indices or () if isinstance(ctx.op(i), Write))
    return Data(results=writes) if writes else Data()


def _of_unknown_type(value: Value | None) -> bool:
    """A receiver nothing is known about: unbound, a parameter, or what an unknown call or an
    attribute of a parameter gives (`get_db()`, `request.app.db`), not a string or a row count."""
    if value is None or isinstance(value, (Parameter, Unknown)):
        return True
    return isinstance(value, Data) and value.text is None and not value.results and not value.in_database and value.column_ref is None


def _lent(ctx: Context, node: cst.Call) -> bool:
    """`async with <...pool>.acquire() as conn` / `conn = await <...pool>.acquire()` on a pool of unknown
    type: a connection lent for this function, in no transaction (a lock's `acquire()` is neither named
    a pool nor gives a connection)."""
    assert isinstance(node.func, cst.Attribute)
    owner = (dotted_name(node.func.value) or "").rsplit(".", 1)[-1].lower()
    if "pool" not in owner:
        return False
    parent = ctx.uses.parent(node)
    if isinstance(parent, cst.Await):
        parent = ctx.uses.parent(parent)
    return isinstance(parent, (cst.WithItem, cst.Assign))


def _sql_argument(node: cst.Call) -> cst.BaseExpression | None:
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    if positional:
        return positional[0]
    return next((v for k in SQL_KEYWORDS if (v := keyword_arg(node, k)) is not None), None)


def _values_argument(node: cst.Call, driver: Driver) -> cst.BaseExpression | None:
    """The one argument holding a statement's parameters (a sequence, a mapping, `values=`)."""
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    if driver.passing != "args" and len(positional) > 1:
        return positional[1]
    return next((v for k in PARAMETER_KEYWORDS if (v := keyword_arg(node, k)) is not None), None)


def _resolver(ctx: Context, node: cst.Call, driver: Driver) -> to_ir.Resolver:
    """Placeholder key → value: asyncpg takes `$1, $2` from the positional arguments after the SQL."""
    if driver.passing == "args" and not any(a.star for a in node.args):
        positional = [a.value for a in node.args if a.keyword is None][1:]
        values = {position: ctx.value_of(value) for position, value in enumerate(positional)}
        return lambda key: values.get(key, IRValue(ValueKind.UNKNOWN)) if isinstance(key, int) else IRValue(ValueKind.UNKNOWN)
    if driver.passing == "args":
        for arg in node.args[1:]:
            ctx.eval(arg.value)
        return to_ir.no_parameters
    return parameters(ctx, _values_argument(node, driver))


def _many(ctx: Context, node: cst.Call, driver: Driver) -> to_ir.Resolver:
    """`executemany(sql, rows)`: each placeholder takes a value of every row; what it depends on is
    what the rows depend on, and it is no one expression (it names no single row)."""
    values = _values_argument(node, driver)
    if values is None:
        return to_ir.no_parameters
    whole = ctx.value_of(values)
    kind = ValueKind.UNKNOWN if whole.kind is ValueKind.INDEPENDENT and whole.depends_on else whole.kind
    merged = IRValue(kind, whole.depends_on)
    return lambda key: merged


def _sql_parameter(ctx: Context, node: cst.Call) -> bool:
    sql_node = _sql_argument(node)
    return sql_node is not None and _parameter_name(ctx, sql_node) is not None


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


def _is_literal(node: cst.BaseExpression, literal: str) -> bool:
    return isinstance(node, cst.Name) and node.value == literal


__all__ = ["DBAPI", "DbApiRecogniser"]
