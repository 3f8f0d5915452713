"""Calls of the project's own functions, read as what their summaries say (clarification 15).

`voucher = self._get_voucher()` is a row read without a lock when
`_get_voucher` returns `Voucher.objects.get(...)`; `with traced_atomic():`
opens a transaction when `traced_atomic` is a context manager around
`transaction.atomic()`; `page_qs_select_for_update().filter(...)` is a lazy
locking query. The summaries come from the project index
(`ProjectIndex.summary_of`); this recogniser only names the callee:
a module function (called by its name here or through an import, relative
or not, also `module.function`), a method of the class being analysed or of
the first of its project bases and mixins defining it (`self.method()`,
`cls.method()`), or a method of a collaborator the class holds
(`self.crud.debit()`, `class_members`).
"""

from __future__ import annotations

import libcst as cst

from txlint.core.ir import Act, Assignment, CacheOp, Change, LockMode, Read, RowOrigin, Write
from txlint.core.summaries import FunctionSummary, Passed, Returned, ReturnedKind, module_of
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import UNKNOWN, Pair, Query, Row, Rows, Session, Value
from txlint.frontends.python.recognisers import class_members
from txlint.frontends.python.recognisers import sqlalchemy_sessions as sessions
from txlint.frontends.python.recognisers.base import Recogniser, TxScope
from txlint.frontends.python.recognisers.cache.syntax import key_text
from txlint.frontends.python.recognisers.django_saves import on_new_instance
from txlint.frontends.python.recognisers.project_names import labelled_arguments, mapped_method_summary, qualified, summary_called, value_given
from txlint.frontends.python.recognisers.project_records import written_back


class ProjectCalls(Recogniser):
    """Calls of project functions whose summary says something."""

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        name = qualified(ctx, node.func)
        found = ctx.file.index.summary_of(name) if name is not None else None
        if found is None and not isinstance(receiver, Row):
            member = class_members.member_call(ctx, node.func)  # a mixin's method, a collaborator's
            if member is not None:
                name, found = member
        if found is None and isinstance(receiver, Row) and isinstance(node.func, cst.Attribute) and node.func.attr.value not in LIBRARY_ROW_METHODS:
            found = _method_summary(ctx, receiver, node.func.attr.value)
        elif found is None and isinstance(receiver, Row) and isinstance(node.func, cst.Attribute) and ctx.file.index.is_sqlalchemy_model(receiver.table):
            found = mapped_method_summary(ctx, receiver.table, node.func.attr.value)  # a SQLAlchemy model's own `save()` helper
        elif found is None and isinstance(receiver, Query) and isinstance(node.func, cst.Attribute):
            found = _manager_summary(ctx, receiver, node.func.attr.value)
        _record(ctx, node, name, found, receiver)
        if found is not None and found.flushes:
            sessions.flush(ctx, node)  # a helper committing the shared session writes this function's changes too
        overrides = isinstance(node.func, cst.Attribute) and node.func.attr.value in LIBRARY_ROW_METHODS
        if found is not None and found.acts and not overrides:  # an overridden save() is the write itself
            ctx.emit(Act(ctx.span(node), ctx.tx, what=f"`{_short(found.name)}()` {found.acts}", through=found.name))
        if found is not None and found.saves and isinstance(receiver, Row) and receiver.table and not overrides:
            _saved_by_method(ctx, node, receiver, found)
        if found is not None and found.row_writes and not overrides:
            written_back(ctx, node, found)
        given = found.returns or found.yields if found is not None else None  # a context manager: what `as` binds
        if found is None or given is None:
            return None
        for arg in node.args:
            ctx.eval(arg.value)
        return _value(ctx, node, given, found.name)

    def opens_transaction(self, ctx: Context, expr: cst.BaseExpression) -> TxScope | None:
        callee = expr.func if isinstance(expr, cst.Call) else expr
        found = summary_called(ctx, callee)
        if found is None or not found.opens_transaction:
            return None
        if isinstance(expr, cst.Call):
            for arg in expr.args:
                ctx.eval(arg.value)
        if found.yields is not None and found.yields.kind is ReturnedKind.SESSION:
            # `with session_scope() as session:`: the block's changes are flushed and committed at its end.
            return TxScope(found.database, handle=Session(_short(found.name), orm=found.yields.api != "core"), flushes=True)
        return TxScope(found.database)


# Methods of the libraries' model instances: called on rows everywhere, never the project's own helper.
LIBRARY_ROW_METHODS = frozenset({
    "save", "asave", "delete", "adelete", "refresh_from_db", "arefresh_from_db", "full_clean", "clean",
    "clean_fields", "validate_unique", "serializable_value", "get_deferred_fields", "from_db",
})  # fmt: skip


def _method_summary(ctx: Context, row: Row, method: str) -> FunctionSummary | None:
    """The summary of a method called on a row: defined on its model or on one of the model's bases,
    a mixin that is no model included (`class Refund(StatusMixin, Model)`)."""
    decls = ctx.file.index.declarations_of_table(row.table)
    for decl in decls:
        module, _ = module_of(decl.path, ctx.file.config.root)
        found = ctx.file.index.summary_of(f"{module}.{decl.name}.{method}")
        if found is not None:
            return found
    for mixin in dict.fromkeys(base for decl in decls for base in decl.bases if not ctx.file.index.is_model(base)):
        found = ctx.file.index.summary_of(f"{mixin}.{method}")
        if found is not None:
            return found
    return None


def _saved_by_method(ctx: Context, node: cst.Call, row: Row, found: FunctionSummary) -> None:
    """`order.set_status("paid")`: the method assigns and saves columns of the row it is called on;
    the caller sees the change and the write there, with the value the call gives."""
    span = ctx.span(node)
    assignments = []
    for column, source in found.saves:
        ctx.emit(Change(span, ctx.tx, row=row.ref, column=column))
        assignments.append(Assignment(column, value_given(ctx, node, found, source), span))
    ctx.emit(Write(span, ctx.tx, row.table, tuple(assignments), row=row.ref))


def _manager_summary(ctx: Context, query: Query, method: str) -> FunctionSummary | None:
    """The summary of a method of the model's own manager (or queryset) class: `DiscountCode.objects.active()`."""
    for manager in ctx.file.index.managers_of(query.table):
        found = ctx.file.index.summary_of(f"{manager}.{method}")
        if found is not None:
            return found
    return None


def _short(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


def _record(ctx: Context, node: cst.Call, name: str | None, found: FunctionSummary | None, receiver: Value | None) -> None:
    """Write down a call its callee's judgement will ask about (clarification 16): a method called on
    a row (under each class of the row's model), or a project function given rows or summarised."""
    rows = [(label, state) for label, value in labelled_arguments(node) if (state := _passed(ctx, value)) is not None]
    if isinstance(receiver, Row) and isinstance(node.func, cst.Attribute) and node.func.attr.value not in LIBRARY_ROW_METHODS:
        method = node.func.attr.value
        state = _state(ctx, receiver)
        if state is not Passed.LOCKED and on_new_instance(ctx, node):
            state = Passed.CREATED  # `if not self.id: self._make_entity()`: a row nobody else sees yet
        classes = {receiver.table, *(d.name for d in ctx.file.index.declarations_of_table(receiver.table))}
        for cls in sorted(classes):
            ctx.record_call(f"{cls}.{method}", node, (("self", state), *rows))
    elif name is not None and (found is not None or rows):
        ctx.record_call(name, node, tuple(rows), _held_keys(ctx, node) if found is not None and found.keys else ())


def _held_keys(ctx: Context, node: cst.Call) -> tuple[str, ...]:
    """The arguments that are keys of cache locks held on every path here (a release helper's callers)."""
    held: set[str] | None = None
    for path in ctx.paths:
        keys = {op.key for i in path.held if isinstance(op := ctx.op(i), CacheOp) and op.key is not None}
        held = keys if held is None else held & keys
    if not held:
        return ()
    return tuple(label for label, value in labelled_arguments(node) if key_text(ctx, value) in held)


def _passed(ctx: Context, node: cst.BaseExpression) -> Passed | None:
    """What a row argument is, read without evaluating it again (a name bound to a row)."""
    if not isinstance(node, cst.Name):
        return None
    value = ctx.lookup(node.value)
    return _state(ctx, value) if isinstance(value, Row) else None


def _state(ctx: Context, row: Row) -> Passed:
    if row.ref.origin is RowOrigin.CREATED:
        return Passed.CREATED
    if row.ref.origin is RowOrigin.PARAMETER:
        return Passed.PASSED
    read = ctx.op(row.ref.read) if row.ref.read is not None else None
    return Passed.LOCKED if isinstance(read, Read) and read.lock is LockMode.EXCLUSIVE else Passed.UNLOCKED


def _value(ctx: Context, node: cst.Call, returned: Returned, through: str) -> Value:
    """The value a call gives its caller: a row or rows read at the call, a lazy query, a tuple."""
    if returned.kind is ReturnedKind.TUPLE:
        return Pair(tuple(_value(ctx, node, item, through) if item is not None else UNKNOWN for item in returned.items))
    if returned.kind is ReturnedKind.SESSION:
        return Session(_short(through), orm=returned.api != "core")  # a new session: the caller owns it
    query = Query(returned.table, ctx.span(node), lock=returned.lock, api=returned.api, guards=returned.guards)
    if returned.kind is ReturnedKind.QUERY:
        return query
    read = ctx.emit(Read(ctx.span(node), ctx.tx, returned.table, lock=returned.lock, through=through, columns=returned.columns))
    if returned.kind is ReturnedKind.ROWS:
        return Rows(read, returned.table)
    return ctx.row_from_read(read, returned.table)
