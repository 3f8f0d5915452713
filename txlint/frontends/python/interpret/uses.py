"""How the value of an expression is used in one function, read off its syntax once.

The interpreter follows data forward; some questions are easier asked
backwards from a call: is its result tested by an `if` (directly, or through
the variable it is bound to), is it also used as data (returned, passed on),
what is it compared with, and does the call sit in a `finally` block, an
`except` handler or a `with` item.

"Through the variable it is bound to" means the value that assignment bound,
not the name: the reaching bindings of the function's graph
(`flow.reaching`) give, for each binding, the loads that may still see it
before the name is bound again. Blind to nested functions (they are units of
their own) and lambdas (their bodies run later).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from txlint.frontends.python.literals import text_value


@dataclass(frozen=True)
class Use:
    """How a value is used: tested by a branch (`if`/`while`/ternary; an `assert` states an
    expectation, it decides nothing), used as data, compared with literals (`compared_with`, their
    texts) or with other expressions by `==`/`!=`/`is` (`compared_to`)."""

    decides: bool = False
    as_value: bool = False
    compared_with: frozenset[str] = frozenset()
    compared_to: tuple[cst.BaseExpression, ...] = ()
    returned: bool = False  # handed back to the caller by a `return` (a try-acquire helper's result)

    def __or__(self, other: Use) -> Use:
        return Use(
            self.decides or other.decides,
            self.as_value or other.as_value,
            self.compared_with | other.compared_with,
            self.compared_to + tuple(e for e in other.compared_to if not any(e is mine for mine in self.compared_to)),
            self.returned or other.returned,
        )


@dataclass(frozen=True)
class Place:
    """Where a statement sits: in a `finally` block, an `except` handler, a `with` item."""

    in_finally: bool = False
    in_handler: bool = False
    with_item: bool = False


_TESTS = (cst.If, cst.While, cst.IfExp)
_THROUGH = (cst.Await, cst.UnaryOperation, cst.BooleanOperation, cst.Comparison, cst.ComparisonTarget)
_EQUALITY = (cst.Equal, cst.NotEqual, cst.Is, cst.IsNot)


class FunctionUses:
    """Parent links of one function body, and the questions asked of them."""

    def __init__(self, func: cst.FunctionDef, reached: dict[int, list[cst.Name]]) -> None:
        self._parent: dict[int, cst.CSTNode] = {}
        self._bound: dict[str, list[cst.BaseExpression | None]] = {}
        for param in _params(func):
            self._bound.setdefault(param.name.value, []).append(None)
        self._link(func.body)
        self._reached = reached

    def _link(self, root: cst.CSTNode) -> None:
        stack: list[cst.CSTNode] = [root]
        while stack:
            node = stack.pop()
            for child in node.children:
                self._parent[id(child)] = node
                if isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                    continue
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
        """How the value of `node` is used: directly, or through the variable it is bound to — the
        loads that binding reaches, not every load of the name (it may be bound again before them)."""
        use, sites = self._context(node)
        if not sites:
            return use
        through = Use()
        for site in sites:
            for load in self._reached.get(id(site), ()):
                seen = self._context(load)[0]
                through = through | (seen if seen.decides else Use(as_value=seen.as_value, returned=seen.returned))
        decides = use.decides or through.decides
        if not decides:
            return Use(as_value=use.as_value or through.as_value, returned=use.returned or through.returned)
        # `first = r.incr(k) == 1` then `if first:`: the branch decides on that comparison.
        return through | Use(True, use.as_value, use.compared_with, use.compared_to)

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

    def _conversion(self, parent: cst.CSTNode | None, child: cst.CSTNode) -> bool:
        """`int(x)`, `len(x)`: a conversion of the value, still the same value for a test."""
        if not (isinstance(parent, cst.Arg) and parent.value is child and parent.keyword is None):
            return False
        call = self.parent(parent)
        return isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value in _CONVERSIONS and len(call.args) == 1

    def _context(self, node: cst.CSTNode) -> tuple[Use, list[cst.CSTNode]]:
        """Climb from `node` to what consumes its value: a branch test, an assignment, a statement.
        The second item lists the bindings (`x = ...`, `(x := ...)`) the value is given to on the way."""
        compared: set[str] = set()
        compared_to: list[cst.BaseExpression] = []
        sites: list[cst.CSTNode] = []
        child: cst.CSTNode = node
        parent = self.parent(node)
        while parent is not None and (
            isinstance(parent, _THROUGH) or self._conversion(parent, child) or (isinstance(parent, cst.NamedExpr) and parent.value is child)
        ):
            if isinstance(parent, cst.NamedExpr):  # `(x := value)` is the value, and binds x
                sites.append(parent)
            if isinstance(parent, cst.Arg):  # `int(x)`: the call stands for x
                call = self.parent(parent)
                assert call is not None
                child, parent = parent, call
            if isinstance(parent, cst.Comparison) and parent.left is child:
                for target in parent.comparisons:
                    _note_comparison(target.operator, target.comparator, compared, compared_to)
            elif isinstance(parent, cst.ComparisonTarget):
                comparison = self.parent(parent)
                if isinstance(comparison, cst.Comparison):
                    _note_comparison(parent.operator, comparison.left, compared, compared_to)
            child, parent = parent, self.parent(parent)
        found = Use(compared_with=frozenset(compared), compared_to=tuple(compared_to))
        if isinstance(parent, _TESTS) and parent.test is child:
            return Use(True, False, found.compared_with, found.compared_to), sites
        if isinstance(parent, cst.Assert) and parent.test is child:
            return Use(), sites  # an expectation stated, not a decision
        if isinstance(parent, cst.Assign) and parent.value is child:
            targets = [t.target for t in parent.targets]
            if len(targets) == 1 and isinstance(targets[0], cst.Name):
                return found, [*sites, parent]
            return Use(as_value=True), sites
        if isinstance(parent, cst.AnnAssign) and parent.value is child and isinstance(parent.target, cst.Name):
            return found, [*sites, parent]
        if isinstance(parent, cst.Expr):
            return Use(), sites  # thrown away
        return Use(as_value=True, returned=isinstance(parent, cst.Return)), sites


_CONVERSIONS = {"int", "float", "str", "bool", "len"}


def _note_comparison(operator: cst.BaseCompOp, other: cst.BaseExpression, literals: set[str], others: list[cst.BaseExpression]) -> None:
    literal = _literal(other)
    if literal is not None:
        literals.add(literal)
    elif isinstance(operator, _EQUALITY):
        others.append(other)


def _literal(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.Integer, cst.Float)):
        return node.value
    if isinstance(node, cst.Name) and node.value in {"None", "True", "False"}:
        return node.value
    if isinstance(node, cst.SimpleString) and (text := text_value(node)) is not None:
        return repr(text)
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
