"""SQLAlchemy 2.x recogniser: ORM sessions (sync and asyncio), Core statements, legacy Query.

What it knows: a `Session` autobegins on first use and its reads and writes
share one transaction until `commit()`/`rollback()`; changed instances are
written at flush/commit (only their changed columns); `with_for_update` asks
for a row lock (`read=True`: a shared one); `update(M).where(...).values(...)`
is an UPDATE whose `rowcount` tells whether it matched; a model declaring
`version_id_col` gets a version guard on every flush, and SQLAlchemy raises
when it matches no row.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from txlint.core.index import ColumnDecl, TableDecl
from txlint.core.ir import Assignment, Commit, Dependency, Guard, Insert, LockMode, ReadKind, Rollback, RowOrigin, RowRef, Write
from txlint.frontends.python import dbapi
from txlint.frontends.python.imports import ImportTable, dotted_name, keyword_arg
from txlint.frontends.python.values import AbstractValue, Data, ModelClass, Pair, Query, Record, Row, Rows, Session, UpdateStatement
from txlint.frontends.python.walker import NOT_MINE, FunctionWalker, NotMine, TxScope
from txlint.sql import facts as sqlfacts
from txlint.sql import parse_statements, to_ir

API = "sqlalchemy"
SESSION_TYPES = {
    "sqlalchemy.orm.Session",
    "sqlalchemy.orm.session.Session",
    "sqlalchemy.orm.scoped_session",
    "sqlalchemy.orm.scoping.scoped_session",
    "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.session.AsyncSession",
    "sqlalchemy.ext.asyncio.async_scoped_session",
    "sqlalchemy.engine.Connection",
    "sqlalchemy.ext.asyncio.AsyncConnection",
}
DECLARATIVE_BASES = {"sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta"}
DECLARATIVE_FACTORIES = {"sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base"}
SELECT = {"sqlalchemy.select", "sqlalchemy.sql.select", "sqlalchemy.future.select"}
UPDATE = {"sqlalchemy.update", "sqlalchemy.sql.update"}
TEXT = {"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"}
CHAIN = {
    "where", "filter", "filter_by", "order_by", "limit", "offset", "options", "join", "outerjoin",
    "execution_options", "group_by", "having", "distinct", "select_from", "params",
}  # fmt: skip
ROW_RESULTS = {"scalar_one", "scalar_one_or_none", "scalar", "first", "one", "one_or_none"}
ROWS_RESULTS = {"scalars", "all", "fetchall", "unique", "partitions", "yield_per"}
COMPARISONS = {cst.Equal: "=", cst.GreaterThanEqual: ">=", cst.GreaterThan: ">", cst.LessThan: "<", cst.LessThanEqual: "<=", cst.NotEqual: "!="}


class SqlAlchemyRecogniser:
    """Turns SQLAlchemy session and statement calls into IR ops."""

    def opens_transaction(self, walker: FunctionWalker, expr: cst.BaseExpression) -> TxScope | None:
        """`with session.begin():`, `engine.begin()`, `conn.begin()`, `begin_nested()`."""
        if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
            return None
        if expr.func.attr.value not in {"begin", "begin_nested"}:
            return None
        owner = walker.eval(expr.func.value)
        if isinstance(owner, Session):
            return TxScope()
        # `with engine.begin() as conn:` yields a connection whose statements run in the block.
        return TxScope(handle=Session("connection")) if _looks_like_engine(expr.func.value) else None

    def parameter(self, walker: FunctionWalker, param: cst.Param) -> AbstractValue | None | NotMine:
        """A parameter annotated with a session/connection type, or named `session` in a SQLAlchemy module."""
        name = param.name.value
        if param.annotation is not None:
            target = param.annotation.annotation
            target = target.value if isinstance(target, cst.Subscript) else target
            if walker.imports.resolve(target) in SESSION_TYPES:
                return Session(name)
            return NOT_MINE
        if name in {"session", "db_session"} and walker.imports.mentions("sqlalchemy"):
            return Session(name)
        return NOT_MINE

    def attribute_assigned(self, walker: FunctionWalker, target: cst.Attribute, value: cst.BaseExpression) -> bool:
        return False

    def attribute(self, walker: FunctionWalker, node: cst.Attribute, base: AbstractValue | None) -> AbstractValue | None | NotMine:
        if isinstance(base, ModelClass) and not node.attr.value.startswith("_"):
            return Data(column_ref=node.attr.value)  # Event.seats: a column in a statement
        if node.attr.value == "session" and _is_flask_db(walker, node.value, base):
            return Session(dotted_name(node) or "session")
        return NOT_MINE

    def call(self, walker: FunctionWalker, node: cst.Call, receiver: AbstractValue | None) -> AbstractValue | None | NotMine:
        qualified = walker.imports.resolve(node.func)
        if qualified in SELECT:
            return self._select(walker, node)
        if qualified in UPDATE:
            model = _model_arg(walker, node)
            return UpdateStatement(walker.file.index.table_of(model), walker.span(node)) if model else NOT_MINE
        if qualified in SESSION_TYPES:
            for arg in node.args:
                walker.eval(arg.value)
            return Session("session")
        if not isinstance(node.func, cst.Attribute):
            return NOT_MINE
        method = node.func.attr.value
        if isinstance(receiver, Query) and receiver.api == API:
            return self._query_method(walker, node, receiver, method)
        if isinstance(receiver, UpdateStatement):
            return self._update_method(walker, node, receiver, method)
        if isinstance(receiver, Session):
            return self._session_method(walker, node, receiver, method)
        if isinstance(receiver, Record):  # the result of text(): plain column values
            if method in {"scalar_one", "scalar_one_or_none", "scalar"}:
                return receiver.item(0)
            if method in {"first", "one", "one_or_none", "fetchone", "mappings"}:
                return receiver
        if isinstance(receiver, Rows):
            if method in ROW_RESULTS:
                return walker.row_from_read(receiver.read, receiver.table)
            if method in ROWS_RESULTS:
                return receiver
        return NOT_MINE

    # -- statements ------------------------------------------------------------------------
    def _select(self, walker: FunctionWalker, node: cst.Call) -> AbstractValue | None | NotMine:
        model = _model_arg(walker, node)
        if model is None:
            for arg in node.args:
                walker.eval(arg.value)
            return Data()
        return Query(walker.file.index.table_of(model), walker.span(node), api=API)

    def _query_method(self, walker: FunctionWalker, node: cst.Call, query: Query, method: str) -> AbstractValue | None | NotMine:
        if method in CHAIN:
            guards = _where_guards(walker, node) if method in {"where", "filter"} else _keyword_guards(walker, node) if method == "filter_by" else ()
            return replace(query, guards=query.guards + guards, span=walker.span(node))
        if method == "with_for_update":
            read = keyword_arg(node, "read")
            shared = isinstance(read, cst.Name) and read.value == "True"
            return replace(query, lock=LockMode.SHARE if shared else LockMode.EXCLUSIVE, span=walker.span(node))
        # Legacy `session.query(M)...` runs here.
        if method in {"one", "first", "one_or_none", "scalar"}:
            return walker.row_from_read(walker.evaluate_query(query, node), query.table)
        if method in {"all"}:
            return Rows(walker.evaluate_query(query, node), query.table)
        if method in {"count", "exists"}:
            return Data(frozenset({Dependency(RowRef(RowOrigin.READ, walker.evaluate_query(query, node, kind=ReadKind.FACT), ""), None)}))
        if method == "update" and node.args and isinstance(node.args[0].value, cst.Dict):
            statement = UpdateStatement(query.table, walker.span(node), query.guards, _dict_assignments(walker, node.args[0].value))
            return self._execute_update(walker, node, statement)
        return NOT_MINE

    def _update_method(self, walker: FunctionWalker, node: cst.Call, statement: UpdateStatement, method: str) -> AbstractValue | None | NotMine:
        if method in {"where", "filter"}:
            return replace(statement, guards=statement.guards + _where_guards(walker, node))
        if method == "values":
            assignments = tuple(
                Assignment(arg.keyword.value, walker.value_of(arg.value), walker.span(arg)) for arg in node.args if arg.keyword is not None
            )
            if node.args and node.args[0].keyword is None and isinstance(node.args[0].value, cst.Dict):
                assignments += _dict_assignments(walker, node.args[0].value)
            return replace(statement, assignments=statement.assignments + assignments)
        if method in {"returning", "execution_options"}:
            return statement
        return NOT_MINE

    def _execute_update(self, walker: FunctionWalker, node: cst.Call, statement: UpdateStatement) -> Data:
        index = walker.emit(
            Write(
                walker.span(node),
                walker.tx,
                statement.table,
                statement.assignments,
                guards=statement.guards,
                result_checked=not walker.is_discarded(node),
            )
        )
        return Data(result_of=index)

    # -- sessions --------------------------------------------------------------------------
    def _session_method(self, walker: FunctionWalker, node: cst.Call, session: Session, method: str) -> AbstractValue | None | NotMine:
        if method in {"execute", "scalars", "scalar", "get", "query", "add", "add_all", "delete", "merge", "flush"}:
            walker.autobegin(node)
        if method in {"execute", "scalars", "scalar"} and node.args:
            text_sql = _text_sql(walker, node.args[0].value)
            if text_sql is not None:
                params = node.args[1].value if len(node.args) > 1 else None
                return _execute_text(walker, node, text_sql, params)
            statement = walker.eval(node.args[0].value)
            if isinstance(statement, UpdateStatement):
                return self._execute_update(walker, node, statement)
            if isinstance(statement, Query):
                read = walker.evaluate_query(statement, node)
                rows = Rows(read, statement.table)
                return walker.row_from_read(read, statement.table) if method == "scalar" else rows
            return Data()  # text() and other statements: not resolved statically here
        if method == "get" and node.args:
            model = _model_arg(walker, node)
            if model is None:
                return NOT_MINE
            lock = _get_lock(node)
            query = Query(walker.file.index.table_of(model), walker.span(node), lock=lock, api=API)
            return walker.row_from_read(walker.evaluate_query(query, node), query.table)
        if method in {"add", "add_all"} and node.args:
            added = walker.eval(node.args[0].value)
            rows = [added] if isinstance(added, Row) else [v for v in added.items if isinstance(v, Row)] if isinstance(added, Pair) else []
            for row in rows:
                if row.ref.origin is RowOrigin.CREATED:
                    walker.emit(Insert(walker.span(node), walker.tx, row.table, row.columns))
            return Data()
        if method == "query" and node.args:
            model = _model_arg(walker, node)
            return Query(walker.file.index.table_of(model), walker.span(node), api=API) if model else Data()
        if method in {"commit", "flush"}:
            walker.flush_rows(node, walker.file.index.version_column)
            if method == "commit":
                walker.emit(Commit(walker.span(node), walker.tx))
                walker.end_manual()
            return Data()
        if method == "rollback":
            for ref in list(walker.pending):
                walker.forget_pending(ref)
            walker.emit(Rollback(walker.span(node), walker.tx))
            walker.end_manual()
            return Data()
        return NOT_MINE


def _text_sql(walker: FunctionWalker, node: cst.BaseExpression) -> str | None:
    """The SQL of `text("...")` (literal, constant or plain-name f-string), else None."""
    if isinstance(node, cst.Call) and walker.imports.resolve(node.func) in TEXT and node.args:
        return dbapi.sql_text(walker, node.args[0].value)
    return None


def _execute_text(walker: FunctionWalker, node: cst.Call, sql: str, params: cst.BaseExpression | None) -> AbstractValue:
    """`session.execute(text(sql), {...})`: the statements of the SQL, in the session's transaction."""
    statements = parse_statements(sql, walker.file.config.dialect)
    if isinstance(statements, sqlfacts.SqlError):
        return Data()
    resolve = dbapi.parameter_resolver(walker, params)
    result: AbstractValue = Data()
    for statement in statements:
        op = to_ir.statement_op(statement, walker.span(node), walker.tx, resolve)
        if op is None:
            continue
        index = walker.emit(replace(op, result_checked=not walker.is_discarded(node)) if isinstance(op, Write) else op)
        result = Data(result_of=index) if isinstance(op, Write) else Record(RowRef(RowOrigin.READ, index, ""), statement.columns)
    return result


def _get_lock(node: cst.Call) -> LockMode | None:
    value = keyword_arg(node, "with_for_update")
    if value is None or (isinstance(value, cst.Name) and value.value in {"False", "None"}):
        return None
    if isinstance(value, cst.Dict):
        for element in value.elements:
            if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                if element.key.evaluated_value == "read" and isinstance(element.value, cst.Name) and element.value.value == "True":
                    return LockMode.SHARE
    return LockMode.EXCLUSIVE


def _model_arg(walker: FunctionWalker, node: cst.Call) -> str | None:
    positional = [a for a in node.args if a.keyword is None]
    if not positional:
        return None
    value = walker.eval(positional[0].value)
    if isinstance(value, ModelClass):
        return value.name
    # A class imported from elsewhere (`from .models import Event`): not bound in the function.
    node = positional[0].value
    if value is None and isinstance(node, cst.Name) and node.value[:1].isupper() and node.value not in walker.env:
        return node.value
    return None


def _where_guards(walker: FunctionWalker, node: cst.Call) -> tuple[Guard, ...]:
    guards: list[Guard] = []
    for arg in node.args:
        guards += _comparison_guards(walker, arg.value)
    return tuple(guards)


def _comparison_guards(walker: FunctionWalker, expr: cst.BaseExpression) -> list[Guard]:
    """`M.c == v`, `M.c >= v`, `and_(...)`, `M.c.is_(None)` as guards; anything else adds none."""
    if isinstance(expr, cst.Call) and (dotted_name(expr.func) or "").rsplit(".", 1)[-1] == "and_":
        return [g for arg in expr.args for g in _comparison_guards(walker, arg.value)]
    if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
        left = walker.eval(expr.left)
        target = expr.comparisons[0]
        op = COMPARISONS.get(type(target.operator))
        if isinstance(left, Data) and left.column_ref and op:
            return [Guard(left.column_ref, op, walker.value_of(target.comparator))]
        return []
    walker.eval(expr)
    return []


def _keyword_guards(walker: FunctionWalker, node: cst.Call) -> tuple[Guard, ...]:
    return tuple(Guard(a.keyword.value, "=", walker.value_of(a.value)) for a in node.args if a.keyword is not None)


def _dict_assignments(walker: FunctionWalker, mapping: cst.Dict) -> tuple[Assignment, ...]:
    found = []
    for element in mapping.elements:
        if not isinstance(element, cst.DictElement):
            continue
        key = walker.eval(element.key)
        name = key.column_ref if isinstance(key, Data) else element.key.evaluated_value if isinstance(element.key, cst.SimpleString) else None
        if isinstance(name, str):
            found.append(Assignment(name, walker.value_of(element.value), walker.span(element)))
    return tuple(found)


def _looks_like_engine(node: cst.BaseExpression) -> bool:
    name = (dotted_name(node) or "").rsplit(".", 1)[-1].lower()
    return name in {"engine", "conn", "connection", "async_engine"}


def _is_flask_db(walker: FunctionWalker, node: cst.BaseExpression, base: AbstractValue | None) -> bool:
    """Flask-SQLAlchemy's `db.session`: `db` is the extension object, by convention named `db`."""
    name = dotted_name(node)
    return base is None and name is not None and name.rsplit(".", 1)[-1] == "db" and name.split(".")[0] not in walker.env




def table_decls(module: cst.Module, imports: ImportTable, path: str, line_of: dict[cst.CSTNode, int]) -> list[TableDecl]:
    """Pass 1: declarative bases and mapped classes (`__tablename__`, unique, CHECK, `version_id_col`)."""
    decls: list[TableDecl] = []
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign)
                    and isinstance(small.value, cst.Call)
                    and imports.resolve(small.value.func) in DECLARATIVE_FACTORIES
                    and isinstance(small.targets[0].target, cst.Name)
                ):
                    name = small.targets[0].target.value
                    decls.append(TableDecl(name, name, path, 1, is_root=True))
        if not isinstance(statement, cst.ClassDef):
            continue
        is_root = any(imports.resolve(arg.value) in DECLARATIVE_BASES for arg in statement.bases)
        bases = tuple((dotted_name(a.value) or "").rsplit(".", 1)[-1] for a in statement.bases if a.keyword is None)
        facts = _class_facts(statement)
        if not is_root and facts.table is None:
            continue  # not a mapped class as far as this file can tell (Django models are read elsewhere)
        decls.append(
            TableDecl(
                name=statement.name.value,
                table=facts.table or statement.name.value,
                path=path,
                line=line_of.get(statement, 1),
                bases=tuple(b for b in bases if b),
                is_root=is_root,
                columns=facts.columns,
                version_column=facts.version,
                non_negative=facts.non_negative,
                unique_sets=facts.unique_sets,
            )
        )
    return decls


class _ClassFacts:
    def __init__(self) -> None:
        self.table: str | None = None
        self.version: str | None = None
        self.columns: tuple[ColumnDecl, ...] = ()
        self.non_negative: tuple[str, ...] = ()
        self.unique_sets: tuple[tuple[str, ...], ...] = ()


def _class_facts(cls: cst.ClassDef) -> _ClassFacts:
    facts = _ClassFacts()
    columns: list[ColumnDecl] = []
    for statement in cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ():
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            target = small.targets[0].target if isinstance(small, cst.Assign) else small.target if isinstance(small, cst.AnnAssign) else None
            value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
            if not isinstance(target, cst.Name) or value is None:
                continue
            name = target.value
            if name == "__tablename__" and isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
                facts.table = value.evaluated_value
            elif name == "__mapper_args__" and isinstance(value, cst.Dict):
                facts.version = _version_id_col(value)
            elif name == "__table_args__":
                facts.non_negative, facts.unique_sets = _table_args(value)
            elif isinstance(value, cst.Call) and (dotted_name(value.func) or "").rsplit(".", 1)[-1] in {"mapped_column", "Column"}:
                unique = keyword_arg(value, "unique") or keyword_arg(value, "primary_key")
                columns.append(ColumnDecl(name, unique=isinstance(unique, cst.Name) and unique.value == "True"))
    facts.columns = tuple(columns)
    return facts


def _version_id_col(mapping: cst.Dict) -> str | None:
    for element in mapping.elements:
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString) and element.key.evaluated_value == "version_id_col":
            return (dotted_name(element.value) or "").rsplit(".", 1)[-1] or None
    return None


def _table_args(value: cst.BaseExpression) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """`CheckConstraint("balance >= 0")` and `UniqueConstraint("a", "b")` in `__table_args__`."""
    non_negative: list[str] = []
    unique_sets: list[tuple[str, ...]] = []
    elements = value.elements if isinstance(value, (cst.Tuple, cst.List)) else ()
    for element in elements:
        call = element.value
        if not isinstance(call, cst.Call):
            continue
        kind = (dotted_name(call.func) or "").rsplit(".", 1)[-1]
        strings = [a.value.evaluated_value for a in call.args if a.keyword is None and isinstance(a.value, cst.SimpleString)]
        if kind == "CheckConstraint" and strings:
            parts = str(strings[0]).split()
            if len(parts) == 3 and parts[1] in {">=", ">"} and parts[2] == "0":
                non_negative.append(parts[0])
        elif kind == "UniqueConstraint" and strings:
            unique_sets.append(tuple(str(s) for s in strings))
    return tuple(non_negative), tuple(unique_sets)

