"""SQLAlchemy 2.x recogniser: ORM sessions (sync and asyncio), Core statements, legacy Query.

What it knows: a `Session` autobegins on first use and its reads and writes
share one transaction until `commit()`/`rollback()`; changed instances are
written at flush/commit (only their changed columns), and when a
`with session.begin():` block is left; `with_for_update` asks for a row lock
(`read=True`: a shared one); `update(M).where(...).values(...)` is an UPDATE
whose `rowcount` tells whether it matched; a model declaring
`version_id_col` gets a version guard on every flush, and SQLAlchemy raises
when it matches no row. The methods it knows are the tables below.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

import libcst as cst

from txlint.core.ir import Assignment, Commit, Dependency, Guard, GuardOp, Insert, LockMode, Op, ReadKind, Rollback, RowOrigin, RowRef, Write
from txlint.frontends.python.imports import dotted_name, keyword_arg
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import (
    Data,
    ModelClass,
    Pair,
    Parameter,
    Query,
    Record,
    Row,
    Rows,
    Session,
    Unknown,
    UpdateStatement,
    Value,
)
from txlint.frontends.python.literals import string_value
from txlint.frontends.python.recognisers import sqlalchemy_related as related
from txlint.frontends.python.recognisers import sqlalchemy_sessions as sessions
from txlint.frontends.python.recognisers.base import Recogniser, TxScope
from txlint.frontends.python.recognisers.project_names import mapped_method_summary
from txlint.frontends.python.recognisers.sql_strings import parameters, sql_text, statements
from txlint.frontends.python.recognisers.sqlalchemy_core.statements import run_core_statement
from txlint.frontends.python.recognisers.sqlalchemy_sessions import SESSION_FACTORIES, SessionFactory
from txlint.sql import to_ir

API = "sqlalchemy"
ORM_SESSION_TYPES = frozenset({
    "sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlalchemy.orm.scoped_session",
    "sqlalchemy.orm.scoping.scoped_session", "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.session.AsyncSession", "sqlalchemy.ext.asyncio.async_scoped_session",
    # SQLModel's sessions are SQLAlchemy's with typed `exec()`
    "sqlmodel.Session", "sqlmodel.orm.session.Session", "sqlmodel.ext.asyncio.session.AsyncSession",
})  # fmt: skip
CONNECTION_TYPES = {"sqlalchemy.engine.Connection", "sqlalchemy.ext.asyncio.AsyncConnection"}
SESSION_TYPES = ORM_SESSION_TYPES | CONNECTION_TYPES
# SQLModel re-exports SQLAlchemy's statements (its `select` is typed, the same statement).
SELECT = {"sqlalchemy.select", "sqlalchemy.sql.select", "sqlalchemy.future.select", "sqlmodel.select", "sqlmodel.sql.expression.select"}
UPDATE = {"sqlalchemy.update", "sqlalchemy.sql.update", "sqlmodel.update"}
TEXT = {"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text", "sqlmodel.text"}
COL = {"sqlmodel.col", "sqlmodel.sql.expression.col"}  # `col(Hero.age)`: the column itself, typed
COLUMN_TESTS: dict[str, GuardOp] = {"is_": "is null", "is_not": "is not null", "isnot": "is not null", "in_": "in"}
COMPARISONS: dict[type[cst.BaseCompOp], GuardOp] = {cst.Equal: "=", cst.GreaterThanEqual: ">=", cst.GreaterThan: ">", cst.LessThan: "<", cst.LessThanEqual: "<=", cst.NotEqual: "!="}


class S(enum.Enum):
    """What a method of a statement, session or result does."""

    CHAIN = "chain"  # the same statement, refined (guards from `where`/`filter`/`filter_by`)
    LOCK = "lock"  # the statement locks the rows it reads
    ROW = "row"  # runs (legacy Query) or takes one row
    ROWS = "rows"  # runs (legacy Query) or takes the rows
    FACT = "fact"  # runs a legacy Query for a fact about the rows
    UPDATE = "update"  # a legacy `query.update({...})`
    EXECUTE = "execute"  # a session runs a statement
    GET = "get"  # a session loads one row by primary key
    ADD = "add"  # a session adds instances (INSERTs for new ones)
    QUERY = "query"  # a session starts a legacy Query
    FLUSH = "flush"  # a session writes its unsaved changes
    COMMIT = "commit"
    ROLLBACK = "rollback"
    REFRESH = "refresh"  # a session loads an instance again (`with_for_update=True`: locking its row)
    FIRST = "first"  # a session runs a statement and takes its first instance (Flask-SQLAlchemy's `db.first_or_404`)
    OTHER = "other"  # begins the session's transaction, nothing else known


QUERY_METHODS: dict[str, S] = {
    **dict.fromkeys((
        "where", "filter", "filter_by", "order_by", "limit", "offset", "options", "join", "outerjoin",
        "execution_options", "group_by", "having", "distinct", "select_from", "params",
    ), S.CHAIN),
    **dict.fromkeys(("populate_existing", "enable_eagerloads", "autoflush", "with_hint", "prefix_with", "suffix_with", "slice"), S.CHAIN),
    "with_for_update": S.LOCK,
    **dict.fromkeys(("one", "first", "one_or_none", "scalar"), S.ROW),  # legacy `session.query(M)...` runs here
    "get": S.ROW,  # legacy `query(M).get(pk)`, Flask-SQLAlchemy's `M.query.get(pk)`
    **dict.fromkeys(("get_or_404", "first_or_404", "one_or_404"), S.ROW),  # Flask-SQLAlchemy's query
    **dict.fromkeys(("all", "paginate"), S.ROWS),
    **dict.fromkeys(("count", "exists"), S.FACT),
    "update": S.UPDATE,
}  # fmt: skip
SESSION_METHODS: dict[str, S] = {
    **dict.fromkeys(("execute", "scalars", "scalar", "exec"), S.EXECUTE),  # `exec`: SQLModel's typed `scalars`/`execute`
    **dict.fromkeys(("get", "get_one"), S.GET),
    "refresh": S.REFRESH,
    **dict.fromkeys(("add", "add_all"), S.ADD),
    "query": S.QUERY,
    "flush": S.FLUSH,
    "commit": S.COMMIT,
    "rollback": S.ROLLBACK,
    **dict.fromkeys(("delete", "merge"), S.OTHER),
}
AUTOBEGIN = {S.EXECUTE, S.FIRST, S.GET, S.ADD, S.QUERY, S.FLUSH, S.REFRESH, S.OTHER}
# Flask-SQLAlchemy's extension object has SQLAlchemy's statements (`db.select`) and shortcuts that run
# one on `db.session`: `db.get_or_404(M, pk)` is a `get`, `db.first_or_404(stmt)` takes the first row.
FLASK_STATEMENTS = {"select", "update", "text"}
FLASK_SHORTCUTS: dict[str, S] = {"get_or_404": S.GET, **dict.fromkeys(("first_or_404", "one_or_404"), S.FIRST), "paginate": S.EXECUTE}
ROW_RESULTS = {"scalar_one", "scalar_one_or_none", "scalar", "first", "one", "one_or_none"}
FIRST_ROW = {"scalar", "first_or_404", "one_or_404"}  # session methods that run a select and take its first instance
ROWS_RESULTS = {"scalars", "all", "fetchall", "unique", "partitions", "yield_per"}
TEXT_ITEM_RESULTS = {"scalar_one", "scalar_one_or_none", "scalar"}
TEXT_ROW_RESULTS = {"first", "one", "one_or_none", "fetchone", "mappings"}
ENGINE_NAMES = {"conn", "connection"}  # engines, by evidence or by name, are the Core recogniser's


class SqlAlchemyRecogniser(Recogniser):
    """Turns SQLAlchemy session and statement calls into IR ops."""

    names = frozenset(SESSION_TYPES | SESSION_FACTORIES)

    def opens_transaction(self, ctx: Context, expr: cst.BaseExpression) -> TxScope | None:
        """`with session.begin():`, `engine.begin()`, `conn.begin()`, `begin_nested()`."""
        if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
            return None
        if expr.func.attr.value not in {"begin", "begin_nested"}:
            return None
        if sessions.factory(ctx, expr.func.value):
            return TxScope(handle=Session("session"), flushes=True)  # `with SessionLocal.begin() as session:`
        owner = ctx.eval(expr.func.value)
        owner = sessions.module_session(ctx, expr.func.value) or owner if isinstance(owner, Unknown) else owner
        if isinstance(owner, Session):
            if expr.func.attr.value == "begin_nested":
                ctx.autobegin(expr)  # a SAVEPOINT inside the session's transaction (begun now if not yet): leaving it commits nothing
            return TxScope(flushes=owner.orm)  # leaving the block flushes an ORM session
        # `with engine.begin() as conn:` yields a connection whose statements run in the block.
        named = isinstance(owner, (Unknown, Parameter)) and _looks_like_engine(expr.func.value)
        return TxScope(handle=Session("connection", orm=False)) if named else None

    def parameter(self, ctx: Context, param: cst.Param) -> Value | None:
        """A parameter annotated with a session/connection type (also through `Annotated` and a project
        alias), injected by FastAPI from a project function giving one, or named `session` in a
        SQLAlchemy module."""
        name = param.name.value
        injected = sessions.injected(ctx, param)
        if injected is not None:
            return injected
        if param.annotation is not None:
            qualified = sessions.annotated_type(ctx, param.annotation.annotation)
            return Session(name, orm=qualified not in CONNECTION_TYPES) if qualified in SESSION_TYPES else None
        if name in {"session", "db_session"} and ctx.imports.mentions("sqlalchemy"):
            return Session(name)
        return None

    def attribute(self, ctx: Context, node: cst.Attribute, base: Value) -> Value | None:
        if isinstance(base, ModelClass) and node.attr.value == "query" and "query" not in ctx.file.index.columns_of(base.name):
            return Query(ctx.file.index.table_of(base.name), ctx.span(node), api=API)  # Flask-SQLAlchemy's `M.query` (a legacy Query)
        if isinstance(base, ModelClass) and not node.attr.value.startswith("_"):
            return Data(column_ref=node.attr.value)  # Event.seats: a column in a statement
        if node.attr.value == "session" and isinstance(base, Unknown) and sessions.flask_extension(ctx, node.value):
            return Session(dotted_name(node) or "session")
        if isinstance(base, Unknown):
            held = sessions.held(ctx, node, ORM_SESSION_TYPES)  # `self.session` of a repository
            if held is not None:
                return held
        if isinstance(base, Record) and node.attr.value in base.columns:
            return base.item(node.attr.value)  # `row.balance` of `execute(select(M.balance, ...)).one()`
        if isinstance(base, Row) and base.table:
            return related.related(ctx, node, base)  # `topic.forum`, `topic.posts`
        if isinstance(base, related.AwaitableAttributes):
            return related.related(ctx, node, base.row)  # `await topic.awaitable_attrs.forum`
        return None

    def assigned(self, ctx: Context, target: cst.Attribute, value: cst.BaseExpression) -> bool:
        related.assigned(ctx, target, value)  # `topic.forum = new_forum`; the change itself is the interpreter's
        return False

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        qualified = ctx.imports.resolve(node.func)
        statement = _statement_kind(ctx, node.func, qualified)
        if statement == "select":
            return self._select(ctx, node)
        if statement == "update":
            model = _model_arg(ctx, node)
            return UpdateStatement(ctx.file.index.table_of(model), ctx.span(node)) if model else None
        if qualified in COL and node.args:
            return ctx.eval(node.args[0].value)
        made = _made_session(ctx, node, qualified)
        if made is not None:
            return made
        if not isinstance(node.func, cst.Attribute):
            return None
        method = node.func.attr.value
        if method in FLASK_SHORTCUTS and isinstance(receiver, Unknown) and sessions.flask_extension(ctx, node.func.value):
            return self._session_method(ctx, node, Session("db.session"), FLASK_SHORTCUTS[method])  # `db.get_or_404(M, pk)`
        if isinstance(receiver, Unknown):
            receiver = sessions.module_session(ctx, node.func.value) or receiver  # `db_session.query(...)`: a scoped_session
        if isinstance(receiver, Query) and receiver.api == API and method in QUERY_METHODS:
            return self._query_method(ctx, node, receiver, QUERY_METHODS[method])
        if isinstance(receiver, UpdateStatement):
            return self._update_method(ctx, node, receiver, method)
        if isinstance(receiver, Session) and method in SESSION_METHODS:
            return self._session_method(ctx, node, receiver, SESSION_METHODS[method])
        if isinstance(receiver, Parameter) and _flushing_helper(ctx, node, receiver, method):
            return Data()  # `topicsread.save()` on a parameter known by the fields it changed
        return _result_method(ctx, receiver, method)

    # -- statements ------------------------------------------------------------------------
    def _select(self, ctx: Context, node: cst.Call) -> Value:
        model = _model_arg(ctx, node)
        if model is not None:
            return Query(ctx.file.index.table_of(model), ctx.span(node), api=API)
        selected = _selected_columns(ctx, node)
        if selected is not None:
            return ColumnSelect(ctx.file.index.table_of(selected[0]), ctx.span(node), api=API, columns=selected[1])
        for arg in node.args:
            ctx.eval(arg.value)
        return Data()

    def _query_method(self, ctx: Context, node: cst.Call, query: Query, kind: S) -> Value | None:
        if kind is S.CHAIN:
            method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
            if method == "options":
                return replace(related.joined_options(ctx, node, query), span=ctx.span(node))
            guards = _where_guards(ctx, node) if method in {"where", "filter"} else _keyword_guards(ctx, node) if method == "filter_by" else ()
            return replace(query, guards=query.guards + guards, span=ctx.span(node))
        if kind is S.LOCK:
            read_only = keyword_arg(node, "read")
            shared = isinstance(read_only, cst.Name) and read_only.value == "True"
            locked = related.declared_joined(ctx, query)  # its `lazy="joined"` relationships are read (and locked) with it
            return replace(locked, lock=LockMode.SHARE if shared else LockMode.EXCLUSIVE, span=ctx.span(node), lock_of=related.lock_of(ctx, node, locked))
        if kind in (S.ROW, S.ROWS, S.FACT) and not (isinstance(node.func, cst.Attribute) and node.func.attr.value in IDENTITY_LOADS):
            autoflush(ctx, node)
        if kind in (S.ROW, S.ROWS):
            for arg in node.args:
                ctx.eval(arg.value)  # `get(pk)`, `first_or_404(description=...)`
            read = ctx.evaluate_query(query, node)
            return ctx.row_from_read(read, query.table) if kind is S.ROW else Rows(read, query.table)
        if kind is S.FACT:
            read = ctx.evaluate_query(query, node, kind=ReadKind.FACT)
            return Data(frozenset({Dependency(RowRef(RowOrigin.READ, read, ""), None)}))
        if node.args and isinstance(node.args[0].value, cst.Dict):  # legacy `query.update({...})`
            statement = UpdateStatement(query.table, ctx.span(node), query.guards, _dict_assignments(ctx, node.args[0].value))
            return _execute_update(ctx, node, statement)
        return None

    def _update_method(self, ctx: Context, node: cst.Call, statement: UpdateStatement, method: str) -> Value | None:
        if method in {"where", "filter"}:
            return replace(statement, guards=statement.guards + _where_guards(ctx, node))
        if method == "values":
            assignments = tuple(Assignment(a.keyword.value, ctx.value_of(a.value), ctx.span(a)) for a in node.args if a.keyword is not None)
            if node.args and node.args[0].keyword is None and isinstance(node.args[0].value, cst.Dict):
                assignments += _dict_assignments(ctx, node.args[0].value)
            return replace(statement, assignments=statement.assignments + assignments)
        if method in {"returning", "execution_options"}:
            return statement
        return None

    # -- sessions --------------------------------------------------------------------------
    def _session_method(self, ctx: Context, node: cst.Call, session: Session, kind: S) -> Value | None:
        if kind in AUTOBEGIN:
            ctx.autobegin(node)
        if kind in (S.EXECUTE, S.FIRST) and node.args:
            autoflush(ctx, node)
            return self._execute(ctx, node)
        if kind is S.REFRESH and node.args:
            return _refresh(ctx, node)
        if kind is S.GET and node.args:
            model = _model_arg(ctx, node)
            if model is None:
                return None
            query = Query(ctx.file.index.table_of(model), ctx.span(node), lock=_get_lock(node), api=API)
            query = related.declared_joined(ctx, query) if query.lock is not None else query
            return ctx.row_from_read(ctx.evaluate_query(query, node), query.table)
        if kind is S.ADD and node.args:
            added = ctx.eval(node.args[0].value)
            rows = [added] if isinstance(added, Row) else [v for v in added.items if isinstance(v, Row)] if isinstance(added, Pair) else []
            for row in rows:
                if row.ref.origin is RowOrigin.CREATED:
                    ctx.emit(Insert(ctx.span(node), ctx.tx, row.table, row.columns))
            return Data()
        if kind is S.QUERY and node.args:
            model = _model_arg(ctx, node)
            return Query(ctx.file.index.table_of(model), ctx.span(node), api=API) if model else Data()
        if kind in (S.FLUSH, S.COMMIT):
            sessions.flush(ctx, node)
            if isinstance(node.func, cst.Attribute) and sessions.shared(ctx, node.func.value):
                ctx.memo(sessions.SharedFlushes, sessions.SharedFlushes).seen = True
            if kind is S.COMMIT:
                ctx.emit(Commit(ctx.span(node), ctx.tx))
                ctx.end_manual()
            return Data()
        if kind is S.ROLLBACK:
            ctx.forget_all_pending()
            ctx.emit(Rollback(ctx.span(node), ctx.tx))
            ctx.end_manual()
            return Data()
        return None

    def _execute(self, ctx: Context, node: cst.Call) -> Value:
        """`session.execute(statement)`: a `text()`, an UPDATE statement or a select."""
        text_sql = _text_sql(ctx, node.args[0].value)
        if text_sql is not None:
            return _execute_text(ctx, node, text_sql, node.args[1].value if len(node.args) > 1 else None)
        statement = ctx.eval(node.args[0].value)
        core = run_core_statement(ctx, node, statement, params=node.args[1].value if len(node.args) > 1 else None)
        if core is not None:  # a Core statement: an INSERT, a select of a `Table`
            return core
        if isinstance(statement, UpdateStatement):
            return _execute_update(ctx, node, statement)
        if isinstance(statement, Query):
            read = ctx.evaluate_query(statement, node)
            method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
            if isinstance(statement, ColumnSelect):
                return _column_result(read, statement.columns, method)
            return ctx.row_from_read(read, statement.table) if method in FIRST_ROW else Rows(read, statement.table)
        return Data()  # other statements: not resolved statically here


# Loads by primary key that the identity map may answer without SQL (and then without a flush).
IDENTITY_LOADS = frozenset({"get", "get_or_404"})


def autoflush(ctx: Context, node: cst.Call) -> None:
    """SQLAlchemy's autoflush, on unless the project turns it off: a statement the session runs
    (a select, an ORM update, a legacy Query's results) first writes the changed instances the
    session holds, in the transaction of that statement. A function that changes a row it read and
    then queries has written it there, whoever commits later. Not followed where the file opens a
    `no_autoflush` block or the project sets `autoflush=False` anywhere (no evidence then of where
    the write happens: the commit or an explicit flush still says)."""
    index = ctx.file.index
    if index.setting("SQLALCHEMY_AUTOFLUSH") == "False" or "no_autoflush" in ctx.file.text:
        return
    if any(index.is_sqlalchemy_model(table) for table in ctx.pending_tables()):
        sessions.flush(ctx, node)


@dataclass(frozen=True)
class ColumnSelect(Query):
    """`select(M.balance)`, `select(M.a, M.b)`: a read of M's table whose results are the values of
    these columns, not instances (`.with_for_update()` on it locks the rows it reads)."""

    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnValues(Value):
    """`session.scalars(select(M.balance))`: the values of one column of a read's rows."""

    record: Record


def _selected_columns(ctx: Context, node: cst.Call) -> tuple[str, tuple[str, ...]] | None:
    """The model and columns of `select(M.a, M.b)` (also `col(M.a)`), None when an argument is not a
    plain column of the first model (an aggregate, an expression)."""
    model: str | None = None
    columns: list[str] = []
    for arg in node.args:
        value = arg.value
        if isinstance(value, cst.Call) and ctx.imports.resolve(value.func) in COL and value.args:
            value = value.args[0].value
        if arg.keyword is not None or not isinstance(value, cst.Attribute):
            return None
        owner = _model_named(ctx, value.value)
        if owner is None or (model is not None and owner != model):
            return None
        model = owner
        columns.append(value.attr.value)
    return (model, tuple(columns)) if model is not None else None


def _column_result(read: int, columns: tuple[str, ...], method: str) -> Value:
    """What running a column select gives: a row of column values (`execute`), the first column's
    values (`scalars`, SQLModel's `exec` of one column), or the first value itself (`scalar`)."""
    record = Record(RowRef(RowOrigin.READ, read, ""), columns)
    if method == "scalar":
        return record.item(0)
    if method in {"scalars"} or (method == "exec" and len(columns) == 1):
        return ColumnValues(Record(record.ref, columns[:1]))
    return record


def _refresh(ctx: Context, node: cst.Call) -> Value:
    """`session.refresh(obj)`: the instance is loaded again (its unsaved changes expire), locking its
    row with `with_for_update=True`; an instance made here stays one made here."""
    target = node.args[0].value
    row = ctx.eval(target)
    if isinstance(row, Row) and row.ref.origin is not RowOrigin.CREATED:
        read = ctx.evaluate_query(Query(row.table, ctx.span(node), lock=_get_lock(node), api=API), node, row_var=row.ref.name)
        ctx.forget_pending(row.ref)
        if isinstance(target, cst.Name):
            ctx.rebind(target.value, Row(RowRef(RowOrigin.READ, read, row.ref.name), row.table))
    return Data()


def _flushing_helper(ctx: Context, node: cst.Call, param: Parameter, method: str) -> bool:
    """`obj.save()` where `obj` is a parameter whose changed fields make it an instance of one SQLAlchemy
    model, and the model's project method (on it or a base) flushes or commits the shared session."""
    index = ctx.file.index
    changed = ctx.pending_columns(RowRef(RowOrigin.PARAMETER, None, param.name))
    model = index.model_with_fields(changed, param.name) if changed else None
    if model is None or not index.is_sqlalchemy_model(model):
        return False
    found = mapped_method_summary(ctx, model, method)
    if found is None or not found.flushes:
        return False
    for arg in node.args:
        ctx.eval(arg.value)
    sessions.flush(ctx, node)
    return True


def _result_method(ctx: Context, receiver: Value | None, method: str) -> Value | None:
    """What a result object's method gives: the rows of a select, the columns of a `text()` read."""
    if isinstance(receiver, ColumnValues):
        return receiver.record.item(0) if method in ROW_RESULTS or method in ROWS_RESULTS else None
    if isinstance(receiver, Record):  # the result of text(): plain column values
        if method in TEXT_ITEM_RESULTS:
            return receiver.item(0)
        if method in TEXT_ROW_RESULTS:
            return receiver
    if isinstance(receiver, Rows):
        if method in ROW_RESULTS:
            return ctx.row_from_read(receiver.read, receiver.table)
        if method in ROWS_RESULTS:
            return receiver
    return None


def _execute_update(ctx: Context, node: cst.Call, statement: UpdateStatement) -> Data:
    write = Write(ctx.span(node), ctx.tx, statement.table, statement.assignments, guards=statement.guards, result_checked=not ctx.is_discarded(node))
    return Data(results=frozenset({ctx.emit(write)}))


def _text_sql(ctx: Context, node: cst.BaseExpression) -> str | None:
    """The SQL of `text("...")` (literal, constant or plain-name f-string), else None."""
    if isinstance(node, cst.Call) and _statement_kind(ctx, node.func, ctx.imports.resolve(node.func)) == "text" and node.args:
        return sql_text(ctx, node.args[0].value)
    return None


def _statement_kind(ctx: Context, func: cst.BaseExpression, qualified: str | None) -> str | None:
    """Which statement a call of SQLAlchemy's (or SQLModel's) constructors builds: "select", "update"
    or "text", also on Flask-SQLAlchemy's extension object (`db.select(M)`)."""
    if qualified in SELECT:
        return "select"
    if qualified in UPDATE:
        return "update"
    if qualified in TEXT:
        return "text"
    if isinstance(func, cst.Attribute) and func.attr.value in FLASK_STATEMENTS and sessions.flask_extension(ctx, func.value):
        return func.attr.value
    return None


def _made_session(ctx: Context, node: cst.Call, qualified: str | None) -> Value | None:
    """`Session(engine)`, `sessionmaker(...)` (a factory), `SessionLocal()` (a new session from a
    factory), `db_session()` (a scoped session's current session)."""
    if qualified in SESSION_FACTORIES:
        made: Value = SessionFactory()
    elif qualified in SESSION_TYPES:
        made = Session("session", orm=qualified not in CONNECTION_TYPES)
    elif sessions.factory(ctx, node.func):
        made = Session(dotted_name(node.func) or "session")
    else:
        found = sessions.module_session(ctx, node.func)
        if found is None:
            return None
        made = found
    for arg in node.args:
        ctx.eval(arg.value)
    return made


def _execute_text(ctx: Context, node: cst.Call, sql: str, params: cst.BaseExpression | None) -> Value:
    """`session.execute(text(sql), {...})`: the statements of the SQL, in the session's transaction."""
    parsed = statements(ctx, sql)
    if not parsed:
        return Data()
    resolve = parameters(ctx, params)
    result: Value = Data()
    checked = not ctx.is_discarded(node)

    def emit(op: Op) -> int:
        return ctx.emit(replace(op, result_checked=checked) if isinstance(op, Write) else op)

    for statement in parsed:
        emitted = to_ir.emit_statement(statement, ctx.span(node), ctx.tx, resolve, emit)
        if emitted is None:
            continue
        op, index = emitted
        result = Data(results=frozenset({index})) if isinstance(op, Write) else Record(RowRef(RowOrigin.READ, index, ""), statement.columns)
    return result


def _get_lock(node: cst.Call) -> LockMode | None:
    value = keyword_arg(node, "with_for_update")
    if value is None or (isinstance(value, cst.Name) and value.value in {"False", "None"}):
        return None
    if isinstance(value, cst.Dict):
        for element in value.elements:
            if isinstance(element, cst.DictElement) and string_value(element.key) == "read" and _is_true(element.value):
                return LockMode.SHARE
    return LockMode.EXCLUSIVE


def _model_arg(ctx: Context, node: cst.Call) -> str | None:
    positional = [a for a in node.args if a.keyword is None]
    return _model_named(ctx, positional[0].value) if positional else None


def _model_named(ctx: Context, node: cst.BaseExpression) -> str | None:
    value = ctx.eval(node)
    if isinstance(value, ModelClass):
        return value.name
    # A class imported from elsewhere (`from .models import Event`): not bound in the function.
    if isinstance(value, Unknown) and isinstance(node, cst.Name) and node.value[:1].isupper() and ctx.lookup(node.value) is None:
        return node.value
    return None


def _where_guards(ctx: Context, node: cst.Call) -> tuple[Guard, ...]:
    guards: list[Guard] = []
    for arg in node.args:
        guards += _comparison_guards(ctx, arg.value)
    return tuple(guards)


def _comparison_guards(ctx: Context, expr: cst.BaseExpression) -> list[Guard]:
    """`M.c == v`, `M.c >= v`, `and_(...)` as guards; anything else adds none."""
    if isinstance(expr, cst.Call) and (dotted_name(expr.func) or "").rsplit(".", 1)[-1] == "and_":
        return [g for arg in expr.args for g in _comparison_guards(ctx, arg.value)]
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in COLUMN_TESTS and expr.args:
        column = ctx.eval(expr.func.value)  # `M.c.is_(None)`, `col(M.c).in_(states)`
        if isinstance(column, Data) and column.column_ref:
            test = COLUMN_TESTS[expr.func.attr.value]
            if test != "in" and not (isinstance(expr.args[0].value, cst.Name) and expr.args[0].value.value == "None"):
                test = "=" if test == "is null" else "!="  # `M.flag.is_(True)`
            return [Guard(column.column_ref, test, ctx.value_of(expr.args[0].value))]
    if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
        left = ctx.eval(expr.left)
        target = expr.comparisons[0]
        op = COMPARISONS.get(type(target.operator))
        if isinstance(left, Data) and left.column_ref and op:
            return [Guard(left.column_ref, op, ctx.value_of(target.comparator))]
        return []
    ctx.eval(expr)
    return []


def _keyword_guards(ctx: Context, node: cst.Call) -> tuple[Guard, ...]:
    return tuple(Guard(a.keyword.value, "=", ctx.value_of(a.value)) for a in node.args if a.keyword is not None)


def _dict_assignments(ctx: Context, mapping: cst.Dict) -> tuple[Assignment, ...]:
    found = []
    for element in mapping.elements:
        if not isinstance(element, cst.DictElement):
            continue
        key = ctx.eval(element.key)
        name = key.column_ref if isinstance(key, Data) and key.column_ref else string_value(element.key)  # `M.c` or "c"
        if isinstance(name, str):
            found.append(Assignment(name, ctx.value_of(element.value), ctx.span(element)))
    return tuple(found)


def _looks_like_engine(node: cst.BaseExpression) -> bool:
    name = (dotted_name(node) or "").rsplit(".", 1)[-1].lower()
    return name in ENGINE_NAMES


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"
