"""Django ORM recogniser: managers, querysets, model instances, `transaction.atomic`.

All Django knowledge of the Python front-end lives here: which queryset
methods are lazy and which run SQL, that `select_for_update()` asks for a
row lock, that `save(update_fields=...)` writes only some columns, that
`refresh_from_db()` is a plain read, that `F("c") - x` is computed by the
database. The walker calls in through the `Recogniser` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import libcst as cst

from txlint.core.index import ColumnDecl, TableDecl
from txlint.core.ir import Assignment, Commit, Dependency, Guard, Insert, LockMode, Read, ReadKind, Rollback, RowOrigin, RowRef, Write
from txlint.frontends.python.imports import ImportTable, dotted_name, keyword_arg
from txlint.frontends.python.values import AbstractValue, Data, ModelClass, Pair, Parameter, Query, Row, Rows
from txlint.frontends.python.walker import NOT_MINE, FunctionWalker, NotMine, TxScope

ATOMIC = "django.db.transaction.atomic"
TRANSACTION_CONTROL = {f"django.db.transaction.{name}" for name in ("set_autocommit", "commit", "rollback")}
DEFAULT_DATABASE = "default"
API = "django"
MODEL_BASE = "django.db.models.Model"
F_EXPRESSION = "django.db.models.F"
COALESCE = {"django.db.models.functions.Coalesce", "django.db.models.functions.comparison.Coalesce"}
SHORTCUTS_GET = {"django.shortcuts.get_object_or_404", "django.shortcuts.get_list_or_404"}
MANAGER_ATTRIBUTES = {"objects", "_default_manager", "_base_manager"}

# Queryset methods that return another lazy queryset.
CHAIN_METHODS = {
    "all", "filter", "exclude", "order_by", "select_related", "prefetch_related", "only", "defer",
    "distinct", "annotate", "alias", "values", "values_list", "reverse", "none", "extra", "using",
    "complex_filter", "union", "intersection", "difference",
}  # fmt: skip
# Methods that run the query and return one row.
ROW_METHODS = {"get", "first", "last", "earliest", "latest", "aget", "afirst", "alast"}
# Methods that run the query and return a fact about the rows.
FACT_METHODS = {"exists", "count", "aggregate", "contains", "in_bulk", "aexists", "acount", "aaggregate"}
LOOKUPS = {"exact": "=", "iexact": "=", "gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "isnull": "is null", "in": "in"}
POSITIVE_FIELDS = {"PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"}


class DjangoRecogniser:
    """Turns Django ORM calls into IR ops."""

    def opens_transaction(self, walker: FunctionWalker, expr: cst.BaseExpression) -> TxScope | None:
        target = expr.func if isinstance(expr, cst.Call) else expr
        if walker.imports.resolve(target) != ATOMIC:
            return None
        using = _string_kwarg(expr, "using") if isinstance(expr, cst.Call) else None
        return TxScope(using or DEFAULT_DATABASE)

    def parameter(self, walker: FunctionWalker, param: cst.Param) -> AbstractValue | None | NotMine:
        return NOT_MINE

    def attribute_assigned(self, walker: FunctionWalker, target: cst.Attribute, value: cst.BaseExpression) -> bool:
        return False

    def attribute(self, walker: FunctionWalker, node: cst.Attribute, base: AbstractValue | None) -> AbstractValue | None | NotMine:
        if node.attr.value not in MANAGER_ATTRIBUTES:
            return NOT_MINE
        model = _model_name(walker, node.value, base)
        if model is None:
            return NOT_MINE
        return Query(table=walker.file.index.table_of(model), span=walker.span(node), using=DEFAULT_DATABASE, api=API)

    def call(self, walker: FunctionWalker, node: cst.Call, receiver: AbstractValue | None) -> AbstractValue | None | NotMine:
        if isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if isinstance(receiver, Query) and receiver.api == API:
                return self._query_method(walker, node, receiver, method)
            if isinstance(receiver, (Row, Parameter)):
                return self._instance_method(walker, node, receiver, method)
        qualified = walker.imports.resolve(node.func)
        if qualified in TRANSACTION_CONTROL:
            return self._transaction_control(walker, node, qualified)
        if qualified == F_EXPRESSION:
            column = _string_arg(node, 0)
            return Data(in_database=True, column_ref=column) if column else Data(in_database=True)
        if qualified in COALESCE and node.args:
            # Coalesce(F("stock"), 0) is still the column, computed by the database.
            first = walker.eval(node.args[0].value)
            for arg in node.args[1:]:
                walker.eval(arg.value)
            return first if isinstance(first, Data) and first.column_ref else Data(in_database=True)
        if qualified in SHORTCUTS_GET and node.args:
            source = walker.eval(node.args[0].value)
            query = source if isinstance(source, Query) else _query_of_model(walker, node.args[0].value, source)
            if query is None:
                return NOT_MINE
            query = replace(query, guards=query.guards + _guards(walker, node.args[1:]))
            read = walker.evaluate_query(query, node)
            if qualified.endswith("get_list_or_404"):
                return Rows(read, query.table)
            return walker.row_from_read(read, query.table)
        model = walker.file.class_name(node.func) if isinstance(node.func, cst.Name) else None
        if model is not None and node.func.value not in walker.env:  # Account(...) builds a row that was never read
            for arg in node.args:
                walker.eval(arg.value)
            columns = tuple(arg.keyword.value for arg in node.args if arg.keyword is not None)
            return Row(RowRef(RowOrigin.CREATED, None, ""), walker.file.index.table_of(model), columns)
        return NOT_MINE

    def _transaction_control(self, walker: FunctionWalker, node: cst.Call, qualified: str) -> Data:
        """`set_autocommit(False)` opens a transaction by hand; `commit()`/`rollback()` end it."""
        name = qualified.rsplit(".", 1)[-1]
        if name == "set_autocommit":
            flag = node.args[0].value if node.args else None
            if isinstance(flag, cst.Name) and flag.value == "False":
                walker.begin_manual(node, _string_kwarg(node, "using") or DEFAULT_DATABASE)
            elif isinstance(flag, cst.Name) and flag.value == "True":
                walker.end_manual()
        elif name == "commit":
            walker.emit(Commit(walker.span(node), walker.tx))
        elif name == "rollback":
            walker.emit(Rollback(walker.span(node), walker.tx))
        return Data()

    # -- querysets ------------------------------------------------------------------------
    def _query_method(self, walker: FunctionWalker, node: cst.Call, query: Query, method: str) -> AbstractValue | None | NotMine:
        if method in CHAIN_METHODS:
            for arg in node.args:
                walker.eval(arg.value)
            guards = _guards(walker, node.args) if method in {"filter", "get"} else ()
            using = _string_kwarg(node, None) if method == "using" else query.using
            return replace(query, guards=query.guards + guards, using=using, span=walker.span(node))
        if method == "select_for_update":
            # Django raises TransactionManagementError when this runs outside atomic().
            return replace(query, lock=LockMode.EXCLUSIVE, lock_requires_transaction=True, span=walker.span(node))
        if method in ROW_METHODS:
            query = replace(query, guards=query.guards + _guards(walker, node.args))
            return walker.row_from_read(walker.evaluate_query(query, node), query.table)
        if method in FACT_METHODS:
            read = walker.evaluate_query(query, node, kind=ReadKind.FACT)
            return Data(frozenset({_whole_row(read)}))
        if method in {"iterator", "aiterator"}:
            return Rows(walker.evaluate_query(query, node), query.table)
        if method in {"update", "aupdate"}:
            index = walker.emit(
                Write(
                    span=walker.span(node),
                    tx=walker.tx,
                    table=query.table,
                    assignments=tuple(
                        Assignment(arg.keyword.value, walker.value_of(arg.value), walker.span(arg))
                        for arg in node.args
                        if arg.keyword is not None
                    ),
                    guards=query.guards,
                    result_checked=not walker.is_discarded(node),
                )
            )
            return Data(result_of=index)
        if method in {"create", "acreate"}:
            columns = tuple(arg.keyword.value for arg in node.args if arg.keyword is not None)
            for arg in node.args:
                walker.eval(arg.value)
            walker.emit(Insert(span=walker.span(node), tx=walker.tx, table=query.table, columns=columns))
            return Row(RowRef(RowOrigin.CREATED, None, ""), query.table)
        if method in {"get_or_create", "update_or_create", "aget_or_create", "aupdate_or_create"}:
            guards = _guards(walker, node.args)
            read = walker.evaluate_query(replace(query, guards=query.guards + guards), node)
            # `**lookup` hides the columns: without them the constraint question has no answer.
            columns = () if any(arg.star for arg in node.args) else tuple(g.column for g in guards)
            walker.emit(Insert(span=walker.span(node), tx=walker.tx, table=query.table, columns=columns, checked_first=True))
            return Pair((walker.row_from_read(read, query.table), Data()))
        return NOT_MINE

    # -- model instances ------------------------------------------------------------------
    def _instance_method(
        self, walker: FunctionWalker, node: cst.Call, owner: Row | Parameter, method: str
    ) -> AbstractValue | None | NotMine:
        if method in {"save", "asave"}:
            return self._save(walker, node, owner)
        if method in {"refresh_from_db", "arefresh_from_db"} and isinstance(owner, Row):
            read = walker.emit(Read(span=walker.span(node), tx=walker.tx, table=owner.table, row_var=owner.ref.name))
            walker.forget_pending(owner.ref)
            if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name):
                walker.env[node.func.value.value] = Row(RowRef(RowOrigin.READ, read, owner.ref.name), owner.table)
            return Data()
        return NOT_MINE

    def _save(self, walker: FunctionWalker, node: cst.Call, owner: Row | Parameter) -> AbstractValue | None | NotMine:
        update_fields = keyword_arg(node, "update_fields")
        force_insert = keyword_arg(node, "force_insert")
        if isinstance(force_insert, cst.Name) and force_insert.value == "True":
            # A copy saved as a new row (`obj.pk = None; obj.save(force_insert=True)`): an INSERT.
            ref = owner.ref if isinstance(owner, Row) else RowRef(RowOrigin.PARAMETER, None, owner.name)
            columns = tuple(a.column for a in walker.take_pending(ref, None))
            walker.emit(Insert(span=walker.span(node), tx=walker.tx, table=owner.table if isinstance(owner, Row) else "", columns=columns))
            return Data()
        if isinstance(owner, Parameter):
            # An untyped parameter is a model instance only when the call says so.
            if update_fields is None:
                return NOT_MINE
            ref, table = RowRef(RowOrigin.PARAMETER, None, owner.name), ""
        else:
            ref, table = owner.ref, owner.table
        columns = _string_list(update_fields) if update_fields is not None else None
        walker.emit(
            Write(
                span=walker.span(node),
                tx=walker.tx,
                table=table,
                assignments=walker.take_pending(ref, columns),
                row=ref,
                whole_row=update_fields is None,
            )
        )
        return Data()


def _whole_row(read: int) -> Dependency:
    return Dependency(RowRef(RowOrigin.READ, read, ""), None)


def _model_name(walker: FunctionWalker, node: cst.BaseExpression, base: AbstractValue | None) -> str | None:
    """The model class a manager is read from: known to the index, or an unbound capitalised name."""
    if isinstance(base, ModelClass):
        return base.name
    if base is not None:
        return None
    name = dotted_name(node)
    if name is None:
        return None
    simple = name.rsplit(".", 1)[-1]
    head = name.split(".")[0]
    if head in walker.env or not simple[:1].isupper():
        return None
    return simple


def _query_of_model(walker: FunctionWalker, node: cst.BaseExpression, value: AbstractValue | None) -> Query | None:
    model = _model_name(walker, node, value)
    return Query(table=walker.file.index.table_of(model), span=walker.span(node), using=DEFAULT_DATABASE, api=API) if model else None


def _string_arg(node: cst.Call, position: int) -> str | None:
    positional = [a for a in node.args if a.keyword is None]
    if len(positional) > position and isinstance(positional[position].value, cst.SimpleString):
        value = positional[position].value.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _string_kwarg(node: cst.Call, name: str | None) -> str | None:
    value = keyword_arg(node, name) if name else (node.args[0].value if node.args else None)
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        return value.evaluated_value
    return None


def _string_list(node: cst.BaseExpression) -> list[str] | None:
    """The field names of a literal `update_fields=[...]`; None when not literal."""
    if not isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return None
    names: list[str] = []
    for element in node.elements:
        if not isinstance(element.value, cst.SimpleString) or not isinstance(element.value.evaluated_value, str):
            return None
        names.append(element.value.evaluated_value)
    return names


def _guards(walker: FunctionWalker, args: object) -> tuple[Guard, ...]:
    """`field__lookup=value` keyword filters as WHERE guards."""
    guards: list[Guard] = []
    for arg in args:  # type: ignore[attr-defined]
        if arg.keyword is None:
            walker.eval(arg.value)
            continue
        column, _, lookup = arg.keyword.value.partition("__")
        op = LOOKUPS.get(lookup or "exact")
        value = walker.value_of(arg.value)
        if op is None:
            continue
        guards.append(Guard(column, op, value))
    return tuple(guards)


def table_decls(module: cst.Module, imports: ImportTable, path: str, line_of: dict[cst.CSTNode, int]) -> list[TableDecl]:
    """Pass 1: the Django model classes this module declares."""
    decls: list[TableDecl] = []
    for statement in module.body:
        if not isinstance(statement, cst.ClassDef):
            continue
        bases = tuple(b for b in (dotted_name(arg.value) for arg in statement.bases if arg.keyword is None) if b)
        is_root = any(imports.resolve(arg.value) == MODEL_BASE for arg in statement.bases if arg.keyword is None)
        columns, meta = _fields(statement), _meta(statement)
        decls.append(
            TableDecl(
                name=statement.name.value,
                table=meta.table or statement.name.value,
                path=path,
                line=line_of.get(statement, 1),
                bases=tuple(b.rsplit(".", 1)[-1] for b in bases),
                is_root=is_root,
                columns=columns,
                unique_sets=meta.unique_sets,
                non_negative=meta.non_negative,
            )
        )
    return decls


def _assignments(body: cst.BaseSuite) -> list[tuple[str, cst.BaseExpression]]:
    """`name = value` statements directly in a class body."""
    found = []
    for statement in body.body if isinstance(body, cst.IndentedBlock) else ():
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    found.append((small.targets[0].target.value, small.value))
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
                    found.append((small.target.value, small.value))
    return found


def _fields(cls: cst.ClassDef) -> tuple[ColumnDecl, ...]:
    columns: list[ColumnDecl] = []
    for name, value in _assignments(cls.body):
        field_type = dotted_name(value.func) if isinstance(value, cst.Call) else None
        if field_type is None or not (field_type.endswith("Field") or field_type.endswith("Key")):
            continue
        unique = keyword_arg(value, "unique") if isinstance(value, cst.Call) else None
        primary = keyword_arg(value, "primary_key") if isinstance(value, cst.Call) else None
        is_true = lambda node: isinstance(node, cst.Name) and node.value == "True"  # noqa: E731
        columns.append(
            ColumnDecl(
                name=name,
                unique=is_true(unique) or is_true(primary) or field_type.endswith("OneToOneField"),
                non_negative=field_type.rsplit(".", 1)[-1] in POSITIVE_FIELDS,
            )
        )
    return tuple(columns)


@dataclass(frozen=True)
class _Meta:
    table: str | None = None
    unique_sets: tuple[tuple[str, ...], ...] = ()
    non_negative: tuple[str, ...] = ()


def _meta(cls: cst.ClassDef) -> _Meta:
    """`class Meta`: db_table, unique_together, UniqueConstraint and CheckConstraint(col__gte=0)."""
    meta = next((s for s in cls.body.body if isinstance(s, cst.ClassDef) and s.name.value == "Meta"), None)
    if meta is None:
        return _Meta()
    table: str | None = None
    unique_sets: list[tuple[str, ...]] = []
    non_negative: list[str] = []
    for name, value in _assignments(meta.body):
        if name == "db_table" and isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
            table = value.evaluated_value
        elif name == "unique_together":
            unique_sets += _unique_together(value)
        elif name == "constraints" and isinstance(value, (cst.List, cst.Tuple)):
            for element in value.elements:
                constraint = element.value
                if not isinstance(constraint, cst.Call):
                    continue
                kind = (dotted_name(constraint.func) or "").rsplit(".", 1)[-1]
                if kind == "UniqueConstraint":
                    fields = _string_list(keyword_arg(constraint, "fields") or cst.List([]))
                    if fields and keyword_arg(constraint, "condition") is None:
                        unique_sets.append(tuple(fields))
                elif kind == "CheckConstraint":
                    non_negative += _non_negative_checks(keyword_arg(constraint, "check") or keyword_arg(constraint, "condition"))
    return _Meta(table, tuple(unique_sets), tuple(non_negative))


def _unique_together(value: cst.BaseExpression) -> list[tuple[str, ...]]:
    if not isinstance(value, (cst.List, cst.Tuple)):
        return []
    flat = _string_list(value)
    if flat:
        return [tuple(flat)]
    sets = [_string_list(e.value) for e in value.elements]
    return [tuple(s) for s in sets if s]


def _non_negative_checks(check: cst.BaseExpression | None) -> list[str]:
    """`Q(balance__gte=0)` (also `__gt=0`) as a non-negative column."""
    if not isinstance(check, cst.Call):
        return []
    found = []
    for arg in check.args:
        if arg.keyword is None:
            found += _non_negative_checks(arg.value)
            continue
        column, _, lookup = arg.keyword.value.partition("__")
        if lookup in {"gte", "gt"} and isinstance(arg.value, cst.Integer) and int(arg.value.value) == 0:
            found.append(column)
    return found
