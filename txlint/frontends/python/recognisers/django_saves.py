"""When a Django `save()` inserts a row instead of updating one (clarification 21).

`obj.pk = None` (or `obj.id = None`) before `save()` copies the instance into a new row; a save in
the branch of a test that found the instance new (`if obj._state.adding:`, `if obj.pk is None:`,
`if not obj.pk:`) inserts it. Neither writes back a column of an existing row.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from txlint.core.ir import RowOrigin, RowRef
from txlint.frontends.python.imports import dotted_name
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import Parameter, Row
from txlint.frontends.python.tree import descendants

SAVE_METHODS = {"save", "asave"}


def copied(ctx: Context, owner: Row | Parameter) -> bool:
    """`obj.pk = None` (or `obj.id = None`) before `save()`: Django inserts a copy, it writes no existing row."""
    ref = owner.ref if isinstance(owner, Row) else RowRef(RowOrigin.PARAMETER, None, owner.name)
    return any(name in {"pk", "id"} and ctx.pending_value(ref, name) == "None" for name in ctx.pending_columns(ref))


@dataclass(frozen=True)
class _AddingBranches:
    """The saves (and other method calls) of a function that run only on an instance not yet in the
    database: in the branch of `if obj._state.adding:` (or `if obj.pk is None:`, `if not obj.pk:`)
    that says so."""

    saves: frozenset[int]  # ids of `obj.save()` calls whose `obj` the branch tests
    calls: frozenset[int]  # ids of every `obj.method()` call whose `obj` the branch tests


def adding(ctx: Context, node: cst.Call) -> bool:
    """`save()` of an instance the code has just found to be new inserts it (clarification 21)."""
    return id(node) in ctx.memo(_AddingBranches, lambda: _adding_branches(ctx.func)).saves


def on_new_instance(ctx: Context, node: cst.Call) -> bool:
    """`obj.method()` on an instance the code has just found to be new (`if not self.id:
    self._make_entity()`): the method is handed a row nobody else can see yet."""
    return id(node) in ctx.memo(_AddingBranches, lambda: _adding_branches(ctx.func)).calls


def _adding_branches(func: cst.FunctionDef) -> _AddingBranches:
    saves: set[int] = set()
    calls: set[int] = set()
    for node in descendants(func):
        if not isinstance(node, cst.If):
            continue
        tested, new_when_true = _tests_adding(node.test)
        branch = node.body if new_when_true else node.orelse
        if tested is None or branch is None:
            continue
        for inner in descendants(branch):
            if _calls_method(inner, tested):
                calls.add(id(inner))
            if _saves(inner, tested):
                saves.add(id(inner))
    return _AddingBranches(frozenset(saves), frozenset(calls))


def _calls_method(node: cst.CSTNode, name: str) -> bool:
    """`name.method(...)`."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and dotted_name(node.func.value) == name


def _saves(node: cst.CSTNode, name: str) -> bool:
    """`name.save()` (or `asave()`)."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in SAVE_METHODS and dotted_name(node.func.value) == name


def _tests_adding(test: cst.BaseExpression) -> tuple[str | None, bool]:
    """The instance a test asks "is it new?" about, and whether a true test means it is."""
    positive = True
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        positive, test = not positive, test.expression
    name = dotted_name(test) or ""
    if name.endswith("._state.adding"):
        return name.removesuffix("._state.adding"), positive
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        none = isinstance(target.comparator, cst.Name) and target.comparator.value == "None"
        key = dotted_name(test.left) or ""
        if none and key.endswith((".pk", ".id")) and isinstance(target.operator, (cst.Is, cst.IsNot)):
            return key.rsplit(".", 1)[0], positive == isinstance(target.operator, cst.Is)
    if name.endswith((".pk", ".id")):  # `if not obj.pk:`: new when the test is true
        return name.rsplit(".", 1)[0], not positive
    return None, True
