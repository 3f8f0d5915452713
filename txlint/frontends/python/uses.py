"""How the value of an expression is used in one function, read off its syntax once.

The walker follows data forward; some questions are easier asked backwards
from a call: is its result tested by an `if` (directly, or through the one
variable it is bound to), is it also used as data (returned, passed on), what
literals is it compared with, and does the call sit in a `finally` block, an
`except` handler or a `with` item. Flow-insensitive, and blind to nested
functions (they are units of their own).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst


@dataclass(frozen=True)
class Use:
    """How a value is used: tested by a branch, used as data, compared with literals."""

    decides: bool = False
    as_value: bool = False
    compared_with: frozenset[str] = frozenset()

    def __or__(self, other: Use) -> Use:
        return Use(self.decides or other.decides, self.as_value or other.as_value, self.compared_with | other.compared_with)


@dataclass(frozen=True)
class Place:
    """Where a statement sits: in a `finally` block, an `except` handler, a `with` item."""

    in_finally: bool = False
    in_handler: bool = False
    with_item: bool = False


_TESTS = (cst.If, cst.While, cst.IfExp, cst.Assert)
_THROUGH = (cst.Await, cst.UnaryOperation, cst.BooleanOperation, cst.Comparison, cst.ComparisonTarget)
_NOT_LOADS = (cst.Attribute, cst.Arg, cst.Param, cst.FunctionDef, cst.ClassDef, cst.ImportAlias, cst.AsName, cst.AssignTarget)


class FunctionUses:
    """Parent links of one function body, and the questions asked of them."""

    def __init__(self, func: cst.FunctionDef) -> None:
        self._parent: dict[int, cst.CSTNode] = {}
        self._names: dict[str, list[cst.Name]] = {}
        self._bound: dict[str, list[cst.BaseExpression | None]] = {}
        for param in _params(func):
            self._bound.setdefault(param.name.value, []).append(None)
        self._link(func.body)

    def _link(self, root: cst.CSTNode) -> None:
        stack: list[cst.CSTNode] = [root]
        while stack:
            node = stack.pop()
            for child in node.children:
                self._parent[id(child)] = node
                if isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                    continue
                if isinstance(child, cst.Name):
                    self._names.setdefault(child.value, []).append(child)
                self._note_binding(child)
                stack.append(child)

    def _note_binding(self, node: cst.CSTNode) -> None:
        """Remember what each local name is bound to (None: something not an expression)."""
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self._bound.setdefault(target.target.value, []).append(node.value if len(node.targets) == 1 else None)
                else:
                    for name in _names_in(target.target):
                        self._bound.setdefault(name, []).append(None)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)) and isinstance(node.target, cst.Name):
            value = node.value if isinstance(node, cst.AnnAssign) else None
            self._bound.setdefault(node.target.value, []).append(value)
        elif isinstance(node, (cst.For, cst.CompFor)):
            for name in _names_in(node.target):
                self._bound.setdefault(name, []).append(None)
        elif isinstance(node, cst.AsName):
            for name in _names_in(node.name):
                self._bound.setdefault(name, []).append(None)
        elif isinstance(node, cst.NamedExpr) and isinstance(node.target, cst.Name):
            self._bound.setdefault(node.target.value, []).append(None)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._parent.get(id(node))

    def runs_here(self, node: cst.CSTNode) -> bool:
        """The node is part of this function's own code, not of a lambda (or nested function) in it,
        whose body runs later, or never."""
        return id(node) in self._parent

    def bound_once(self, name: str) -> cst.BaseExpression | None:
        """The expression a local variable is bound to, when it is bound exactly once, by `name = expr`."""
        bindings = self._bound.get(name, [])
        return bindings[0] if len(bindings) == 1 else None

    def is_local(self, name: str) -> bool:
        return name in self._bound

    def use_of(self, node: cst.BaseExpression) -> Use:
        """How the value of `node` is used: directly, or through the variable it is assigned to."""
        use, target = self._context(node)
        if target is None:
            return use
        for load in self._loads(target):
            use = use | self._context(load)[0]
        return use

    def place_of(self, node: cst.CSTNode) -> Place:
        in_finally = in_handler = with_item = False
        child: cst.CSTNode = node
        parent = self.parent(node)
        while parent is not None:
            if isinstance(parent, cst.Finally):
                in_finally = True
            elif isinstance(parent, (cst.ExceptHandler, cst.ExceptStarHandler)):
                in_handler = True
            elif isinstance(parent, cst.WithItem) and child is parent.item:
                with_item = True
            child, parent = parent, self.parent(parent)
        return Place(in_finally, in_handler, with_item)

    def _loads(self, name: str) -> Iterator[cst.Name]:
        for node in self._names.get(name, ()):
            parent = self.parent(node)
            if isinstance(parent, _NOT_LOADS) and not (isinstance(parent, cst.Attribute) and parent.value is node) and not (
                isinstance(parent, cst.Arg) and parent.value is node
            ):
                continue
            if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is node:
                continue
            if isinstance(parent, (cst.AugAssign, cst.NamedExpr)) and parent.target is node:
                continue
            yield node

    def _conversion(self, parent: cst.CSTNode | None, child: cst.CSTNode) -> bool:
        """`int(x)`, `len(x)`: a conversion of the value, still the same value for a test."""
        if not (isinstance(parent, cst.Arg) and parent.value is child and parent.keyword is None):
            return False
        call = self.parent(parent)
        return isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value in _CONVERSIONS and len(call.args) == 1

    def _context(self, node: cst.CSTNode) -> tuple[Use, str | None]:
        """Climb from `node` to what consumes its value: a branch test, an assignment, a statement."""
        compared: set[str] = set()
        child: cst.CSTNode = node
        parent = self.parent(node)
        while parent is not None and (isinstance(parent, _THROUGH) or self._conversion(parent, child)):
            if isinstance(parent, cst.Arg):  # `int(x)`: the call stands for x
                call = self.parent(parent)
                assert call is not None
                child, parent = parent, call
            if isinstance(parent, cst.Comparison) and parent.left is child:
                compared |= {t for c in parent.comparisons if (t := _literal(c.comparator)) is not None}
            elif isinstance(parent, cst.ComparisonTarget):
                comparison = self.parent(parent)
                if isinstance(comparison, cst.Comparison) and (t := _literal(comparison.left)) is not None:
                    compared.add(t)
            child, parent = parent, self.parent(parent)
        if isinstance(parent, _TESTS) and parent.test is child:
            return Use(decides=True, compared_with=frozenset(compared)), None
        if isinstance(parent, cst.Assign) and parent.value is child:
            targets = [t.target for t in parent.targets]
            if len(targets) == 1 and isinstance(targets[0], cst.Name):
                return Use(), targets[0].value
            return Use(as_value=True), None
        if isinstance(parent, cst.AnnAssign) and parent.value is child and isinstance(parent.target, cst.Name):
            return Use(), parent.target.value
        if isinstance(parent, cst.Expr):
            return Use(), None  # thrown away
        return Use(as_value=True), None


_CONVERSIONS = {"int", "float", "str", "bool", "len"}


def _literal(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.Integer, cst.Float)):
        return node.value
    if isinstance(node, cst.Name) and node.value in {"None", "True", "False"}:
        return node.value
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return repr(node.evaluated_value)
    return None


def _names_in(target: cst.BaseExpression) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _names_in(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _names_in(target.value)


def _params(func: cst.FunctionDef) -> list[cst.Param]:
    params = func.params
    found = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    found += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return found
