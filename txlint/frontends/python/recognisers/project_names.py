"""The project function a call names, and its summary: shared by the recognisers that read summaries.

A callee is a module function (called by its name here or through an import,
relative or not, also `module.function`), or a method of the class being
analysed (`self.method()`, `cls.method()`); its qualified name is what the
project index files summaries under (`ProjectIndex.summary_of`).
"""

from __future__ import annotations

import libcst as cst

from txlint.core.ir import Value as IRValue
from txlint.core.ir import ValueKind
from txlint.core.summaries import FunctionSummary, argument_labels, module_of
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.recognisers import class_members


def summary_called(ctx: Context, callee: cst.BaseExpression, receiver: object = None) -> FunctionSummary | None:
    """The summary of the project function `callee` names, if it says something: a function, or a
    method called on a module-level instance of a project class (`db.fetchone(...)` where the
    project's `db = Database(...)`)."""
    name = qualified(ctx, callee)
    if name is None:
        member = class_members.member_call(ctx, callee)  # `self.repo.transaction()`
        return member[1] if member is not None else None
    found = ctx.file.index.summary_of(name)
    if found is None:
        member = class_members.member_call(ctx, callee)  # `self.atomic()` a mixin defines
        found = member[1] if member is not None else None
    if found is None and isinstance(callee, cst.Attribute) and "." in name:
        owner, method = name.rsplit(".", 1)
        cls = ctx.file.index.instance_class_of(owner)
        if cls is not None:
            found = ctx.file.index.summary_of(f"{cls}.{method}")
    return found


def labelled_arguments(node: cst.Call) -> list[tuple[str, cst.BaseExpression]]:
    """A call's arguments by how a call site names them: their position ("0", "1"; `*args` and
    `**kwargs` are neither) or their keyword (`argument_labels` is the callee's side)."""
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    return [(str(n), value) for n, value in enumerate(positional)] + [(a.keyword.value, a.value) for a in node.args if a.keyword is not None]


def argument(node: cst.Call, params: tuple[str, ...], name: str) -> cst.BaseExpression | None:
    """The argument a call passes for the callee's parameter `name`."""
    labels = argument_labels(params, name)
    return next((value for label, value in labelled_arguments(node) if label in labels), None)


def value_given(ctx: Context, node: cst.Call, found: FunctionSummary, source: str) -> IRValue:
    """A value a callee writes or compares, as this call gives it, from where its summary says it
    comes from (`summarise_rows.value_source`): "constant:<text>", "param:<name>" (that argument
    of the call); unknown otherwise."""
    kind, _, detail = source.partition(":")
    if kind == "constant":
        return IRValue(ValueKind.INDEPENDENT, expression=detail)
    if kind == "param" and found.params:
        given = argument(node, found.params, detail)
        if given is not None:
            return ctx.value_of(given)
    return IRValue(ValueKind.UNKNOWN)


def qualified(ctx: Context, callee: cst.BaseExpression) -> str | None:
    file = ctx.file
    if not file.module_name:
        return None
    if isinstance(callee, cst.Attribute) and isinstance(callee.value, cst.Name) and callee.value.value in {"self", "cls"}:
        return f"{file.module_name}.{ctx.class_name}.{callee.attr.value}" if ctx.class_name is not None else None
    imported = ctx.imports.resolve(callee)
    if imported is not None:
        return imported if ctx.imports.in_project(imported) else None
    if isinstance(callee, cst.Name) and ctx.lookup(callee.value) is None:
        return f"{file.module_name}.{callee.value}"  # a function of this module
    if isinstance(callee, cst.Attribute) and isinstance(callee.value, cst.Name):
        owner = callee.value.value
        instance = f"{file.module_name}.{owner}"
        if ctx.lookup(owner) is None and file.index.instance_class_of(instance) is not None:
            return f"{instance}.{callee.attr.value}"  # a method of this module's instance
    return None


def mapped_method_summary(ctx: Context, model: str, method: str) -> FunctionSummary | None:
    """The summary of a method of a SQLAlchemy model: defined on its class or on a class it derives from,
    a declared one or a mixin the declarations only name as a base (`CRUDMixin.save`, found by the end
    of its qualified name when one class of the project has that name)."""
    index = ctx.file.index
    decls = index.declarations_of_table(model)
    for decl in decls:
        found = index.summary_of(f"{module_of(decl.path, ctx.file.config.root)[0]}.{decl.name}.{method}")
        if found is not None:
            return found
    declared = {d.name for d in decls}
    for base in dict.fromkeys(b for d in decls for b in d.bases if b not in declared):
        found = index.summary_of(f"{base}.{method}")
        if found is not None:
            return found
    return None
