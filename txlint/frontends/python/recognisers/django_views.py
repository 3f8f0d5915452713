"""Class-based views, Django's and Django REST framework's: `self.get_object()`.

Both read the one row the request names from the view's queryset: DRF's
`GenericAPIView.get_object()` runs `get_object_or_404(self.get_queryset(), ...)`
and Django's `SingleObjectMixin.get_object()` runs `queryset.get()`, where the
queryset is the class's `queryset = Refund.objects.all()` (or the manager of its
`model = Refund`). So a view whose class, or a base class in the same module,
names its queryset or model reads a row of that model at `self.get_object()`,
without a lock unless that queryset (or the class's own `get_queryset()`) asks for
`select_for_update()`. A view that defines `get_object` itself is the project's:
its summary says what it returns (`project_calls`), and nothing is assumed here;
a class that names no queryset or model says nothing either.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from txlint.core.ir import LockMode, Read
from txlint.frontends.python.interpret.context import Context, FileContext
from txlint.frontends.python.interpret.values import Row, Value
from txlint.frontends.python.recognisers.base import Recogniser

LOCKING = "select_for_update"
GET_OBJECT = "get_object"


@dataclass(frozen=True)
class _ViewRow:
    """What `self.get_object()` reads in one class: the model and whether its queryset locks."""

    model: str
    locked: bool


class _Views:
    """The module-level classes of a file, by name, and what their `get_object()` reads (None: unknown)."""

    def __init__(self, module: cst.Module) -> None:
        self.classes = {s.name.value: s for s in module.body if isinstance(s, cst.ClassDef)}
        self.rows: dict[str, _ViewRow | None] = {}

    def row_of(self, ctx: Context, name: str) -> _ViewRow | None:
        if name not in self.rows:
            self.rows[name] = self._find(ctx, name)
        return self.rows[name]

    def _find(self, ctx: Context, name: str) -> _ViewRow | None:
        chain = self._chain(name)
        if not chain or any(_defines(c, GET_OBJECT) for c in chain):
            return None
        locked_here = any(_defines(c, "get_queryset") and LOCKING in _text(ctx.file, _method(c, "get_queryset")) for c in chain)
        for cls in chain:
            for target, value in _class_assignments(cls):
                if target == "queryset":
                    model = _model_of_queryset(ctx, value)
                    if model is not None:
                        return _ViewRow(model, locked_here or LOCKING in _text(ctx.file, value))
                    return None
                if target == "model":
                    model = ctx.file.class_name(value)
                    return _ViewRow(model, locked_here) if model is not None else None
        return None

    def _chain(self, name: str) -> list[cst.ClassDef]:
        """The class and its bases defined in the same module, in the order Python looks them up."""
        found: list[cst.ClassDef] = []
        pending = [name]
        while pending and len(found) < 16:
            current = self.classes.get(pending.pop(0))
            if current is None or current in found:
                continue
            found.append(current)
            pending += [b.value.value for b in current.bases if isinstance(b.value, cst.Name)]
        return found


class DjangoViews(Recogniser):
    """`self.get_object()` in a class-based view that names its queryset or model."""

    def call(self, ctx: Context, node: cst.Call, receiver: Value | None) -> Value | None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == GET_OBJECT and isinstance(func.value, cst.Name) and _is_self(ctx, func.value.value)):
            return None
        if ctx.class_name is None or isinstance(receiver, Row) or any(arg.keyword is None or arg.keyword.value != "queryset" for arg in node.args):
            return None
        found = ctx.file.facts(_Views, lambda file: _Views(file.module)).row_of(ctx, ctx.class_name)
        if found is None:
            return None
        table = ctx.file.index.table_of(found.model)
        lock = LockMode.EXCLUSIVE if found.locked else None
        read = ctx.emit(Read(ctx.span(node), ctx.tx, table, lock=lock, lock_requires_transaction=found.locked))
        return ctx.row_from_read(read, table)


def _is_self(ctx: Context, name: str) -> bool:
    """`name` is the instance a method is called on: its first parameter, `self`."""
    params = ctx.func.params.params
    return name == "self" and bool(params) and params[0].name.value == name


def _defines(cls: cst.ClassDef, method: str) -> bool:
    return _method(cls, method) is not None


def _method(cls: cst.ClassDef, method: str) -> cst.FunctionDef | None:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return next((s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == method), None)


def _class_assignments(cls: cst.ClassDef) -> list[tuple[str, cst.BaseExpression]]:
    """`name = value` statements of a class body."""
    found = []
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                found.append((small.targets[0].target.value, small.value))
    return found


def _model_of_queryset(ctx: Context, value: cst.BaseExpression) -> str | None:
    """The model a queryset expression starts from: `Refund.objects.all()`, `Refund._default_manager`."""
    head: cst.BaseExpression = value
    while True:
        if isinstance(head, cst.Call):
            head = head.func
        elif isinstance(head, cst.Attribute) and head.attr.value not in ("objects", "_default_manager", "_base_manager"):
            head = head.value
        elif isinstance(head, cst.Attribute):
            return ctx.file.class_name(head.value)
        else:
            return None


def _text(file: FileContext, node: cst.CSTNode | None) -> str:
    return file.module.code_for_node(node) if node is not None else ""
