"""Fixes of the row rules for Django and SQLAlchemy code: lock the read, evaluate the lock, save
only what changed.

Django refuses `select_for_update()` outside a transaction
(`TransactionManagementError`), so a fix that makes Django lock is offered only
inside `transaction.atomic()` (a `with` block or the decorator, recognised by
its qualified name); SQLAlchemy's session begins a transaction by itself.
"""

from __future__ import annotations

import libcst as cst

from txlint.core.ftypes import Applicability, Edit, Finding, Fix
from txlint.fixes.calls import attributes, chain, keyword, method, then, with_keyword
from txlint.fixes.source import Source

_ATOMIC = ("django.db.transaction.atomic",)
_GET_OR_404 = ("django.shortcuts.get_object_or_404", "django.shortcuts.get_list_or_404")
_SELECT = ("sqlalchemy.select", "sqlalchemy.sql.select", "sqlalchemy.future.select", "sqlmodel.select")


def locked_read(source: Source, finding: Finding) -> Fix | None:
    """TX101 (unsafe): the read that loads the row locks it."""
    for read in (r for r in finding.related if r.path == finding.path and r.message.startswith("read here")):
        for call in source.calls_at(read.line, read.column):
            edit = _lock_django(source, call) or _lock_sqlalchemy(source, call)
            if edit is not None:
                return Fix("lock the row where it is read (`select_for_update()` / `with_for_update`)", Applicability.UNSAFE, (edit,))
    return None


def evaluated_lock(source: Source, finding: Finding) -> Fix | None:
    """TX110: a locking query left as a statement of its own is evaluated there (`list(...)`)."""
    for call in source.calls_at(finding.line, finding.column):
        statement = source.statement_of(call)
        if statement is None or len(statement.body) != 1 or not isinstance(statement.body[0], cst.Expr) or statement.body[0].value is not call:
            continue
        if "select_for_update" in attributes(chain(call)) and not _in_atomic(source, call):
            return None
        new = cst.Call(func=cst.Name("list"), args=[cst.Arg(call)])
        return Fix("evaluate the query (`list(...)`) so that its rows are locked", Applicability.SAFE, (source.replace(call, new),))
    return None


def fields_saved(source: Source, finding: Finding) -> Fix | None:
    """TX111 (unsafe): `row.save()` → `row.save(update_fields=[...])`, the model's fields the function
    assigned on `row` before the save (none that the project does not declare as a field)."""
    save = next((c for c in source.calls_at(finding.line, finding.column) if method(c) == "save" and not c.args), None)
    if save is None or not isinstance(save.func, cst.Attribute) or not isinstance(save.func.value, cst.Name):
        return None
    row = save.func.value.value
    function = source.enclosing(save, cst.FunctionDef)
    if function is None:
        return None
    before = source.positions[save].start.line
    model, assigned = None, []
    for node, where in source.positions.items():
        if where.start.line >= before or not source.holds(function, node):
            continue
        if isinstance(node, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == row for t in node.targets):
            model = _model_read(source, node.value) or model
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target] if isinstance(node, (cst.AugAssign, cst.AnnAssign)) else []
        for target in targets:
            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == row and target.attr.value not in assigned:
                assigned.append(target.attr.value)
    fields = source.fields_of(model) if model is not None else frozenset()
    if not assigned or not fields or any(name not in fields for name in assigned):
        return None
    listed = cst.parse_expression("[" + ", ".join(repr(name) for name in assigned) + "]")
    equal = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
    new = save.with_changes(args=[cst.Arg(value=listed, keyword=cst.Name("update_fields"), equal=equal)])
    return Fix(f"save only the fields this function assigned ({', '.join(assigned)})", Applicability.UNSAFE, (source.replace(save, new),))


def _model_read(source: Source, value: cst.BaseExpression) -> str | None:
    """The model class a read loads a row of: `Model.objects....get(...)`, `get_object_or_404(Model, ...)`."""
    if not isinstance(value, cst.Call):
        return None
    links = chain(value)
    if isinstance(links[0], cst.Name) and len(links) > 1 and isinstance(links[1], cst.Attribute) and links[1].attr.value == "objects":
        return links[0].value
    if source.named(value.func, *_GET_OR_404) and value.args and isinstance(value.args[0].value, cst.Name):
        return value.args[0].value.value
    return None


def _in_atomic(source: Source, node: cst.CSTNode) -> bool:
    """Inside `with transaction.atomic():` or a function decorated `@transaction.atomic` (`(...)`)."""
    current = source.parents.get(node)
    while current is not None:
        if isinstance(current, cst.With) and any(_atomic(source, item.item) for item in current.items):
            return True
        if isinstance(current, cst.FunctionDef) and any(_atomic(source, d.decorator) for d in current.decorators):
            return True
        current = source.parents.get(current)
    return False


def _atomic(source: Source, expression: cst.BaseExpression) -> bool:
    target = expression.func if isinstance(expression, cst.Call) else expression
    return source.named(target, *_ATOMIC)


def _lock_django(source: Source, call: cst.Call) -> Edit | None:
    links = chain(call)
    if "select_for_update" in attributes(links) or not _in_atomic(source, call) or not source.one_line(call):
        return None
    manager = next((link for link in links if isinstance(link, cst.Attribute) and link.attr.value == "objects"), None)
    if manager is not None:
        return source.replace(manager, then(manager, "select_for_update"))
    if source.named(call.func, *_GET_OR_404) and call.args and isinstance(call.args[0].value, (cst.Name, cst.Attribute)):
        model = call.args[0].value
        return source.replace(model, then(cst.Attribute(value=model, attr=cst.Name("objects")), "select_for_update"))
    return None


def _lock_sqlalchemy(source: Source, call: cst.Call) -> Edit | None:
    links = chain(call)
    names = attributes(links)
    if "with_for_update" in names or keyword(call, "with_for_update") is not None or "objects" in names or not source.one_line(call):
        return None
    if method(call) == "get" and len([a for a in call.args if a.keyword is None and not a.star]) == 2:
        return source.replace(call, with_keyword(call, "with_for_update", cst.Name("True")))  # session.get(Model, id)
    query = next((link for link in links if isinstance(link, cst.Attribute) and link.attr.value == "query"), None)
    if query is not None:
        made = source.parents.get(query)
        if isinstance(made, cst.Call) and made.func is query:  # session.query(Model): lock the query it makes
            return source.replace(made, then(made, "with_for_update"))
        return source.replace(query, then(query, "with_for_update"))  # Model.query (Flask-SQLAlchemy)
    selects = [n for n in source.positions if isinstance(n, cst.Call) and source.named(n.func, *_SELECT) and source.holds(call, n)]
    if len(selects) != 1:
        return None
    top: cst.CSTNode = selects[0]
    while True:  # select(M).where(...).order_by(...): lock the whole statement
        parent = source.parents.get(top)
        grand = source.parents.get(parent) if parent is not None else None
        if not (isinstance(parent, cst.Attribute) and parent.value is top and isinstance(grand, cst.Call) and grand.func is parent):
            break
        top = grand
    assert isinstance(top, cst.BaseExpression)
    return source.replace(top, then(top, "with_for_update"))
