"""Django ORM recogniser: managers, querysets, model instances, `transaction.atomic`.

All Django knowledge of the Python front-end lives here: which queryset
methods are lazy and which run SQL (`QUERYSET_METHODS`, one row per method),
that `select_for_update()` asks for a row lock, that `save(update_fields=...)`
writes only some columns, that `refresh_from_db()` is a plain read, that
`F("c") - x` is computed by the database.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace

import libcst as cst

from txlint.core.ir import Assignment, Commit, Dependency, Guard, GuardOp, Insert, LockMode, Read, ReadKind, Rollback, RowOrigin, RowRef, ValueKind, Write
from txlint.core.ir import Value as IRValue
from txlint.frontends.python.imports import dotted_name, keyword_arg
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.state import Facet
from txlint.frontends.python.interpret.values import Data, ModelClass, Pair, Parameter, Query, Row, Rows, Unknown, Value
from txlint.frontends.python.literals import text_value
from txlint.frontends.python.recognisers.base import Recogniser, TxScope
from txlint.frontends.python.recognisers.django_saves import SAVE_METHODS, adding, copied
from txlint.frontends.python.recognisers.project_names import qualified

ATOMIC = "django.db.transaction.atomic"
TRANSACTION_CONTROL = {f"django.db.transaction.{name}" for name in ("set_autocommit", "commit", "rollback")}
DEFAULT_DATABASE = "default"
API = "django"
F_EXPRESSION = "django.db.models.F"
COALESCE = {"django.db.models.functions.Coalesce", "django.db.models.functions.comparison.Coalesce"}
SHORTCUTS_GET = {"django.shortcuts.get_object_or_404", "django.shortcuts.get_list_or_404"}
MANAGER_ATTRIBUTES = {"objects", "_default_manager", "_base_manager"}
LOOKUPS: dict[str, GuardOp] = {"exact": "=", "iexact": "=", "gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "isnull": "is null", "in": "in"}


@dataclass(frozen=True)
class RelatedRows(Facet):
    """Related objects loaded on this path (`order.user`), by the row they were read through: Django
    keeps the instance it loaded, so a second `order.user` is the same row, not another read."""

    rows: frozenset[tuple[RowRef, str, Row]] = frozenset()

    def of(self, owner: RowRef, name: str) -> Row | None:
        return next((row for ref, attribute, row in self.rows if ref == owner and attribute == name), None)

    def with_row(self, owner: RowRef, name: str, row: Row) -> RelatedRows:
        return RelatedRows(frozenset({(r, a, v) for r, a, v in self.rows if (r, a) != (owner, name)} | {(owner, name, row)}))

    def join(self, other: Facet) -> Facet:
        if not isinstance(other, RelatedRows) or other == self:
            return self
        mine = {(r, a): v for r, a, v in self.rows}
        return RelatedRows(frozenset((r, a, v) for r, a, v in other.rows if mine.get((r, a)) == v))  # loaded on both paths


class Q(enum.Enum):
    """What a queryset method does."""

    CHAIN = "chain"  # another lazy queryset
    FILTER = "filter"  # another lazy queryset, narrowed by keyword filters
    EXCLUDE = "exclude"  # another lazy queryset, without the rows one keyword filter matches
    USING = "using"  # another lazy queryset, on another database alias
    LOCK = "lock"  # another lazy queryset that locks the rows it reads
    JOIN = "join"  # another lazy queryset that also reads related rows in the same statement
    ROW = "row"  # runs the query: one row
    FACT = "fact"  # runs the query: a fact about the rows (exists, count)
    ROWS = "rows"  # runs the query: an iterator of rows
    UPDATE = "update"  # an UPDATE of the rows, returning the row count
    CREATE = "create"  # an INSERT
    GET_OR_CREATE = "get-or-create"  # looks for the row, inserts it when absent
    UPDATE_OR_CREATE = "update-or-create"  # looks for the row (locked), updates it with `defaults`, or inserts it
    BULK_UPDATE = "bulk-update"  # writes the named fields of the instances it is given


QUERYSET_METHODS: dict[str, Q] = {
    **dict.fromkeys((
        "all", "order_by", "prefetch_related", "only", "defer", "distinct", "annotate",
        "alias", "values", "values_list", "reverse", "none", "extra", "complex_filter", "union", "intersection",
        "difference",
    ), Q.CHAIN),
    "filter": Q.FILTER,
    "exclude": Q.EXCLUDE,
    "select_related": Q.JOIN,
    "using": Q.USING,
    "select_for_update": Q.LOCK,
    **dict.fromkeys(("get", "first", "last", "earliest", "latest", "aget", "afirst", "alast"), Q.ROW),
    **dict.fromkeys(("exists", "count", "aggregate", "contains", "in_bulk", "aexists", "acount", "aaggregate"), Q.FACT),
    **dict.fromkeys(("iterator", "aiterator"), Q.ROWS),
    **dict.fromkeys(("update", "aupdate"), Q.UPDATE),
    **dict.fromkeys(("create", "acreate"), Q.CREATE),
    **dict.fromkeys(("get_or_create", "aget_or_create"), Q.GET_OR_CREATE),
    **dict.fromkeys(("update_or_create", "aupdate_or_create"), Q.UPDATE_OR_CREATE),
    **dict.fromkeys(("bulk_update", "abulk_update"), Q.BULK_UPDATE),
}  # fmt: skip
# Django's classes a model's manager derives from: its methods run queries on the model's rows.
MANAGER_CLASSES = frozenset({
    "django.db.models.Manager", "django.db.models.manager.Manager", "django.db.models.manager.BaseManager",
    "django.db.models.QuerySet", "django.db.models.query.QuerySet",
})  # fmt: skip
# What a manager's `self` gives the rows it creates: unknown (called through a related manager,
# `product.actions`, it sets the foreign key; a uniqueness question then has no answer).
SETS_UNKNOWN = ("*",)
# Keyword arguments of get_or_create/update_or_create that are not lookups.
DEFAULTS_ARGUMENTS = {"defaults", "create_defaults"}
REQUESTS = {"request", "self.request"}  # a view's request: its `user` is a row loaded by the middleware
FORM_MODULES = ("django.forms.", "rest_framework.serializers.")  # the bases of forms and serializers
REFRESH_METHODS = {"refresh_from_db", "arefresh_from_db"}


class DjangoRecogniser(Recogniser):
    """Turns Django ORM calls into IR ops."""

    names = frozenset({ATOMIC, *TRANSACTION_CONTROL, *SHORTCUTS_GET})

    def opens_transaction(self, ctx: Context, expr: cst.BaseExpression) -> TxScope | None:
        target = expr.func if isinstance(expr, cst.Call) else expr
        if ctx.imports.resolve(target) != ATOMIC:
            return None
        using = _string_kwarg(expr, "using") if isinstance(expr, cst.Call) else None
        return TxScope(using or DEFAULT_DATABASE)

    def parameter(self, ctx: Context, param: cst.Param) -> Value | None:
        """`self` in a method of a model's manager (or of the queryset class it is made from): the
        model's rows, as `Model.objects` is; in a method of a mixin models derive from: a row."""
        if param.name.value != "self" or ctx.class_name is None:
            return None
        if ctx.file.index.is_mixin_of_models(ctx.class_name):
            # A mixin of models (`StatusMixin.set_status`): a row of whichever model it is mixed into.
            return Row(RowRef(RowOrigin.PARAMETER, None, "self"), "")
        models = ctx.file.index.models_managed_by(ctx.class_name)
        tables = {ctx.file.index.table_of(m) for m in models}
        if len(tables) != 1 or ctx.file.index.library_class_of(f"{ctx.file.module_name}.{ctx.class_name}") not in MANAGER_CLASSES:
            return None
        return Query(table=tables.pop(), span=ctx.span(param), using=DEFAULT_DATABASE, api=API, sets=SETS_UNKNOWN)

    def attribute(self, ctx: Context, node: cst.Attribute, base: Value) -> Value | None:
        if isinstance(base, Row) and base.table:
            return self._related(ctx, node, base)
        if node.attr.value == "user" and isinstance(base, (Parameter, Unknown)):
            return self._request_user(ctx, node)
        model = _model_name(ctx, node.value, base)
        if model is None or (node.attr.value not in MANAGER_ATTRIBUTES and not ctx.file.index.is_manager_attribute(model, node.attr.value)):
            return None
        return Query(table=ctx.file.index.table_of(model), span=ctx.span(node), using=DEFAULT_DATABASE, api=API)

    def _related(self, ctx: Context, node: cst.Attribute, row: Row) -> Value | None:
        """`order.user`: the row a foreign key points to, loaded (without a lock) on first access and
        kept by the instance; `user.orders`: a manager of the rows pointing back (clarification 15)."""
        name = node.attr.value
        if name in ctx.pending_columns(row.ref):
            return None  # assigned here: its value is what was assigned
        relation = ctx.file.index.relation_of(row.table, name)
        if relation is None:
            return None
        if relation.kind == "reverse":
            assert relation.column is not None
            key = IRValue(ValueKind.DERIVED, frozenset({Dependency(row.ref, "pk")}))
            table = ctx.file.index.table_of(relation.model)
            return Query(table, ctx.span(node), guards=(Guard(relation.column, "=", key),), using=DEFAULT_DATABASE, api=API, sets=(relation.column,))
        loaded = ctx.facet(RelatedRows, RelatedRows())
        known = loaded.of(row.ref, name)
        if known is not None:
            return known
        holder = dotted_name(node) or name
        joined = ctx.joined_read(row.ref.read, name) if row.ref.origin is RowOrigin.READ and row.ref.read is not None else None
        if joined is not None:  # read with its row by `select_related`, under the lock that covers it
            read, table = joined
        else:
            table = ctx.file.index.table_of(relation.model)
            read = ctx.emit(Read(ctx.span(node), ctx.tx, table, row_var=holder, kind=ReadKind.ROWS, via=Dependency(row.ref, name)))
        related = Row(RowRef(RowOrigin.READ, read, holder), table, via=Dependency(row.ref, name))
        ctx.set_facet(loaded.with_row(row.ref, name, related))
        return related

    def _request_user(self, ctx: Context, node: cst.Attribute) -> Value | None:
        """`request.user` (`self.request.user` in a class-based view): the user row the
        authentication middleware loads, without a lock, on first access; the request keeps it."""
        holder = dotted_name(node.value)
        if holder not in REQUESTS or (holder == "request" and not isinstance(ctx.lookup("request"), Parameter)):
            return None
        model, declared = ctx.file.index.user_model()
        if not (declared or ctx.imports.mentions("django") or ctx.imports.mentions("rest_framework")):
            return None
        owner = RowRef(RowOrigin.PARAMETER, None, holder)
        loaded = ctx.facet(RelatedRows, RelatedRows())
        known = loaded.of(owner, "user")
        if known is not None:
            return known
        name = f"{holder}.user"
        table = ctx.file.index.table_of(model)
        read = ctx.emit(Read(ctx.span(node), ctx.tx, table, row_var=name))
        user = Row(RowRef(RowOrigin.READ, read, name), table)
        ctx.set_facet(loaded.with_row(owner, "user", user))
        return user

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        if isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if isinstance(receiver, Query) and receiver.api == API and method in QUERYSET_METHODS:
                return self._query_method(ctx, node, receiver, QUERYSET_METHODS[method])
            if isinstance(receiver, (Row, Parameter)):
                found = self._instance_method(ctx, node, receiver, method)
                if found is not None:
                    return found
        form = _bound_form(ctx, node)
        if form is not None:
            return form
        qualified = ctx.imports.resolve(node.func)
        if qualified in TRANSACTION_CONTROL:
            return self._transaction_control(ctx, node, qualified)
        if qualified == F_EXPRESSION:
            column = _string_arg(node, 0)
            return Data(in_database=True, column_ref=column) if column else Data(in_database=True)
        if qualified in COALESCE and node.args:
            # Coalesce(F("stock"), 0) is still the column, computed by the database.
            first = ctx.eval(node.args[0].value)
            for arg in node.args[1:]:
                ctx.eval(arg.value)
            return first if isinstance(first, Data) and first.column_ref else Data(in_database=True)
        if qualified in SHORTCUTS_GET and node.args:
            return self._shortcut(ctx, node, qualified)
        if isinstance(node.func, cst.Name) and ctx.lookup(node.func.value) is None:
            model = ctx.file.class_name(node.func)
            if model is not None:  # Account(...) builds a row that was never read
                for arg in node.args:
                    ctx.eval(arg.value)
                columns = tuple(arg.keyword.value for arg in node.args if arg.keyword is not None)
                return Row(RowRef(RowOrigin.CREATED, None, ""), ctx.file.index.table_of(model), columns)
        return None

    def _shortcut(self, ctx: Context, node: cst.Call, qualified: str) -> Value | None:
        """`get_object_or_404(M or queryset, **filters)` reads one row, `get_list_or_404` rows."""
        source = ctx.eval(node.args[0].value)
        query = source if isinstance(source, Query) else _query_of_model(ctx, node.args[0].value, source)
        if query is None:
            return None
        query = replace(query, guards=query.guards + _guards(ctx, node.args[1:]))
        read = ctx.evaluate_query(query, node)
        if qualified.endswith("get_list_or_404"):
            return Rows(read, query.table)
        return ctx.row_from_read(read, query.table)

    def _transaction_control(self, ctx: Context, node: cst.Call, qualified: str) -> Data:
        """`set_autocommit(False)` opens a transaction by hand; `commit()`/`rollback()` end it."""
        name = qualified.rsplit(".", 1)[-1]
        if name == "set_autocommit":
            flag = node.args[0].value if node.args else None
            if isinstance(flag, cst.Name) and flag.value == "False":
                ctx.begin_manual(node, _string_kwarg(node, "using") or DEFAULT_DATABASE)
            elif isinstance(flag, cst.Name) and flag.value == "True":
                ctx.end_manual()
        elif name == "commit":
            ctx.emit(Commit(ctx.span(node), ctx.tx))
        elif name == "rollback":
            ctx.emit(Rollback(ctx.span(node), ctx.tx))
        return Data()

    # -- querysets ------------------------------------------------------------------------
    def _query_method(self, ctx: Context, node: cst.Call, query: Query, kind: Q) -> Value:
        span = ctx.span(node)
        if kind in (Q.CHAIN, Q.FILTER, Q.EXCLUDE, Q.USING):
            for arg in node.args:
                ctx.eval(arg.value)
            guards = _guards(ctx, node.args) if kind is Q.FILTER else _excluded(ctx, node.args) if kind is Q.EXCLUDE else ()
            using = _string_kwarg(node, None) if kind is Q.USING else query.using
            return replace(query, guards=query.guards + guards, using=using, span=span)
        if kind is Q.LOCK:
            # Django raises TransactionManagementError when this runs outside atomic().
            of = keyword_arg(node, "of")
            for arg in node.args:
                ctx.eval(arg.value)
            paths = _string_list(of) if of is not None else None
            lock_of = frozenset("" if p == "self" else p for p in paths) if paths is not None else None
            return replace(query, lock=LockMode.EXCLUSIVE, lock_requires_transaction=True, span=span, lock_of=lock_of)
        if kind is Q.JOIN:
            return replace(query, joined=_joined(ctx, node, query), span=span)
        if kind is Q.ROW:
            query = replace(query, guards=query.guards + _guards(ctx, node.args))
            return ctx.row_from_read(ctx.evaluate_query(query, node), query.table)
        if kind is Q.FACT:
            read = ctx.evaluate_query(query, node, kind=ReadKind.FACT)
            return Data(frozenset({Dependency(RowRef(RowOrigin.READ, read, ""), None)}))
        if kind is Q.ROWS:
            return Rows(ctx.evaluate_query(query, node), query.table)
        if kind is Q.UPDATE:
            assignments = tuple(Assignment(a.keyword.value, ctx.value_of(a.value), ctx.span(a)) for a in node.args if a.keyword is not None)
            write = Write(span, ctx.tx, query.table, assignments, guards=query.guards, result_checked=not ctx.is_discarded(node))
            return Data(results=frozenset({ctx.emit(write)}))
        if kind is Q.CREATE:
            columns = () if query.sets == SETS_UNKNOWN else query.sets + tuple(arg.keyword.value for arg in node.args if arg.keyword is not None)
            for arg in node.args:
                ctx.eval(arg.value)
            ctx.emit(Insert(span, ctx.tx, query.table, columns))
            return Row(RowRef(RowOrigin.CREATED, None, ""), query.table)
        if kind is Q.BULK_UPDATE:
            return self._bulk_update(ctx, node, query)
        return self._get_or_create(ctx, node, query, kind)

    def _get_or_create(self, ctx: Context, node: cst.Call, query: Query, kind: Q) -> Value:
        """`get_or_create(lookup, defaults=...)` reads the row and inserts it when absent;
        `update_or_create` also writes `defaults` to the row it found."""
        span = ctx.span(node)
        lookups = [arg for arg in node.args if arg.keyword is None or arg.keyword.value not in DEFAULTS_ARGUMENTS]
        guards = tuple(_key_guard(ctx, query.table, g) for g in _guards(ctx, lookups))
        defaults = keyword_arg(node, "defaults")
        assignments = _defaults(ctx, defaults) if defaults is not None else ()
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in DEFAULTS_ARGUMENTS and arg.value is not defaults:
                ctx.eval(arg.value)
        # update_or_create locks the row it finds in a savepoint of its own: not a lock the caller takes
        # to serialise its other work (no TX103 for it), and read here as it reads.
        read = ctx.evaluate_query(replace(query, guards=query.guards + guards), node)
        if kind is Q.UPDATE_OR_CREATE and assignments:
            # The row found is saved by its key: a lookup column `defaults` sets again is no guard of it.
            written = {a.column for a in assignments}
            keys = tuple(g for g in query.guards + guards if g.column not in written)
            ctx.emit(Write(span, ctx.tx, query.table, assignments, guards=keys))
        # `**lookup` hides the columns: without them the constraint question has no answer.
        columns = () if any(arg.star for arg in lookups) or query.sets == SETS_UNKNOWN else query.sets + tuple(g.column for g in guards)
        insert = ctx.emit(Insert(span, ctx.tx, query.table, columns, checked_first=True, outcome_read=not ctx.is_discarded(node)))
        # `created` tells whether the insert happened: a test of it is a gate (TX105, clarification 9).
        return Pair((ctx.row_from_read(read, query.table), Data(results=frozenset({insert}))))

    def _bulk_update(self, ctx: Context, node: cst.Call, query: Query) -> Value:
        """`M.objects.bulk_update(rows, ["stock"])`: the named fields of the rows are written back, each
        row's change as a save of it would write it. The rows are those of one read when `rows` holds
        them (`list(qs)`), else every row of the model changed in memory here."""
        positional = [arg.value for arg in node.args if arg.keyword is None]
        given = ctx.eval(positional[0]) if positional else ctx.eval(keyword_arg(node, "objs") or cst.Name("None"))
        fields_node = positional[1] if len(positional) > 1 else keyword_arg(node, "fields")
        named = _string_list(fields_node) if fields_node is not None else None
        for ref in ctx.changed_rows(query.table, given.read if isinstance(given, Rows) else None):
            assignments = ctx.take_pending(ref, named)
            if assignments:
                ctx.emit(Write(ctx.span(node), ctx.tx, query.table, assignments, row=ref))
        return Data()

    # -- model instances ------------------------------------------------------------------
    def _instance_method(self, ctx: Context, node: cst.Call, owner: Row | Parameter, method: str) -> Value | None:
        if method in SAVE_METHODS:
            return self._save(ctx, node, owner)
        if method in REFRESH_METHODS and isinstance(owner, Row):
            read = ctx.emit(Read(span=ctx.span(node), tx=ctx.tx, table=owner.table, row_var=owner.ref.name))
            ctx.forget_pending(owner.ref)
            if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name):
                ctx.rebind(node.func.value.value, Row(RowRef(RowOrigin.READ, read, owner.ref.name), owner.table))
            return Data()
        return None

    def _save(self, ctx: Context, node: cst.Call, owner: Row | Parameter) -> Value | None:
        if isinstance(owner, Row) and ctx.file.index.is_sqlalchemy_model(owner.table):
            return None  # a SQLAlchemy model's own `save()` helper: its summary says what it does
        update_fields = keyword_arg(node, "update_fields")
        force_insert = keyword_arg(node, "force_insert")
        if (isinstance(force_insert, cst.Name) and force_insert.value == "True") or copied(ctx, owner) or adding(ctx, node):
            # A copy saved as a new row (`obj.pk = None; obj.save(force_insert=True)`): an INSERT.
            ref = owner.ref if isinstance(owner, Row) else RowRef(RowOrigin.PARAMETER, None, owner.name)
            columns = tuple(a.column for a in ctx.take_pending(ref, None))
            ctx.emit(Insert(ctx.span(node), ctx.tx, owner.table if isinstance(owner, Row) else "", columns))
            return Data()
        if isinstance(owner, Parameter):
            # An untyped parameter is a model instance when the call says so (`update_fields`), or when
            # the fields it was assigned are declared together by exactly one model (clarification 15).
            ref = RowRef(RowOrigin.PARAMETER, None, owner.name)
            assigned = ctx.pending_columns(ref)
            model = ctx.file.index.model_with_fields(assigned, owner.name) if assigned else None
            if (update_fields is None and model is None) or (model is not None and ctx.file.index.is_sqlalchemy_model(model)):
                return None
            table = ctx.file.index.table_of(model) if model is not None else ""
        else:
            ref, table = owner.ref, owner.table
        named = _string_list(update_fields) if update_fields is not None else None
        assignments = ctx.take_pending(ref, named)
        ctx.emit(Write(ctx.span(node), ctx.tx, table, assignments, row=ref, whole_row=update_fields is None))
        return Data()


def _bound_form(ctx: Context, node: cst.Call) -> Data | None:
    """`EmailForm(request.POST, initial={"email": user.email})`: a project form (or serializer) whose
    cleaned values come from the data it is bound to, not from the `initial` values or the `instance`
    it is also given (clarification 17: a value from a form is not computed from the row)."""
    if not (dotted_name(node.func) or "").rsplit(".", 1)[-1][:1].isupper():
        return None  # not a class
    name = qualified(ctx, node.func)
    library = ctx.file.index.library_class_of(name) if name is not None else None
    if library is None or not library.startswith(FORM_MODULES):
        return None
    given = [ctx.eval(arg.value) for arg in node.args]
    data_position = 1 if library.startswith("rest_framework.") else 0
    positional = [value for arg, value in zip(node.args, given, strict=True) if arg.keyword is None and not arg.star]
    keywords = {arg.keyword.value: value for arg, value in zip(node.args, given, strict=True) if arg.keyword is not None}
    data = keywords.get("data", positional[data_position] if len(positional) > data_position else None)
    return Data(data.deps) if isinstance(data, Data) else Data()


def _model_name(ctx: Context, node: cst.BaseExpression, base: Value) -> str | None:
    """The model class a manager is read from: known to the index, or an unbound capitalised name."""
    if isinstance(base, ModelClass):
        return base.name
    if not isinstance(base, Unknown):
        return None
    name = dotted_name(node)
    if name is None:
        return None
    simple = name.rsplit(".", 1)[-1]
    if ctx.lookup(name.split(".")[0]) is not None or not simple[:1].isupper():
        return None
    return simple


def _query_of_model(ctx: Context, node: cst.BaseExpression, value: Value) -> Query | None:
    model = _model_name(ctx, node, value)
    return Query(table=ctx.file.index.table_of(model), span=ctx.span(node), using=DEFAULT_DATABASE, api=API) if model else None


def _joined(ctx: Context, node: cst.Call, query: Query) -> tuple[tuple[str, str], ...]:
    """The related rows `select_related("account", "account__owner")` reads with the query's own: each
    path (its prefixes included, parents first) with the table it reaches through the project's
    foreign keys. A path the index cannot follow is left out (its row is then read on first access)."""
    found = dict(query.joined)
    for arg in node.args:
        path = text_value(arg.value) if arg.keyword is None else None
        if path is None:
            ctx.eval(arg.value)
            continue
        model, parts = query.table, path.split("__")
        for depth, part in enumerate(parts):
            relation = ctx.file.index.relation_of(model, part)
            if relation is None or relation.kind != "forward":
                break
            model = ctx.file.index.table_of(relation.model)
            found.setdefault("__".join(parts[: depth + 1]), model)
    return tuple(sorted(found.items(), key=lambda item: item[0].count("__")))


def _string_arg(node: cst.Call, position: int) -> str | None:
    positional = [a for a in node.args if a.keyword is None]
    return text_value(positional[position].value) if len(positional) > position else None


def _string_kwarg(node: cst.BaseExpression, name: str | None) -> str | None:
    if not isinstance(node, cst.Call):
        return None
    value = keyword_arg(node, name) if name else (node.args[0].value if node.args else None)
    return text_value(value) if value is not None else None


def _string_list(node: cst.BaseExpression) -> list[str] | None:
    """The field names of a literal `update_fields=[...]`; None when not literal."""
    if not isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return None
    names: list[str] = []
    for element in node.elements:
        name = text_value(element.value) if isinstance(element.value, cst.SimpleString) else None
        if name is None:
            return None
        names.append(name)
    return names


def _key_guard(ctx: Context, table: str, guard: Guard) -> Guard:
    """`id=` in a lookup is the primary key (`pk`) of a model that declares no `id` field of its own."""
    if guard.column == "id" and "id" not in ctx.file.index.columns_of(table):
        return replace(guard, column="pk")
    return guard


def _defaults(ctx: Context, node: cst.BaseExpression) -> tuple[Assignment, ...]:
    """The columns `defaults={"balance": ...}` (or `dict(balance=...)`) writes, with their values."""
    if isinstance(node, cst.Dict):
        found = []
        for element in node.elements:
            if isinstance(element, cst.DictElement) and (column := text_value(element.key)) is not None:
                found.append(Assignment(column, ctx.value_of(element.value), ctx.span(element)))
            else:
                ctx.eval(element.value)
        return tuple(found)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "dict":
        found = []
        for arg in node.args:
            if arg.keyword is not None:
                found.append(Assignment(arg.keyword.value, ctx.value_of(arg.value), ctx.span(arg)))
            else:
                ctx.eval(arg.value)
        return tuple(found)
    ctx.eval(node)
    return ()


# `exclude(c<op>v)` keeps the rows where `c <negated op> v` (NULLs aside, which no guard here counts on).
NEGATED: dict[GuardOp, GuardOp] = {"=": "!=", ">=": "<", ">": "<=", "<=": ">", "<": ">=", "is null": "is not null"}


def _excluded(ctx: Context, args: Sequence[cst.Arg]) -> tuple[Guard, ...]:
    """`exclude(uses_remaining=0)`: the negation of its one keyword filter, as a guard (several
    filters are excluded together, `NOT (a AND b)`, which no single guard says)."""
    if len(args) != 1:
        return ()
    found = [g for g in _guards(ctx, args) if g.op != "is null" or g.value.expression == "True"]
    negated = [NEGATED.get(g.op) for g in found]
    return tuple(replace(g, op=op) for g, op in zip(found, negated, strict=True) if op is not None)


def _guards(ctx: Context, args: Sequence[cst.Arg]) -> tuple[Guard, ...]:
    """`field__lookup=value` keyword filters as WHERE guards."""
    guards: list[Guard] = []
    for arg in args:
        if arg.keyword is None:
            ctx.eval(arg.value)
            continue
        column, _, lookup = arg.keyword.value.partition("__")
        op = LOOKUPS.get(lookup or "exact")
        value = ctx.value_of(arg.value)
        if op is None:
            continue
        guards.append(Guard(column, op, value))
    return tuple(guards)
