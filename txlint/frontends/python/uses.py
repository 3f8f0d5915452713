"""How the value of an expression is used in one function, read off its syntax once.

The walker follows data forward; some questions are easier asked backwards
from a call: is its result tested by an `if` (directly, or through the
variable it is bound to), is it also used as data (returned, passed on), what
is it compared with, and does the call sit in a `finally` block, an `except`
handler or a `with` item.

"Through the variable it is bound to" means the value that assignment bound,
not the name: a pass over the function's control flow (branches, loops,
`try`, early exits) finds, for each binding, the loads that may still see it
before the name is bound again. Blind to nested functions (they are units of
their own) and lambdas (their bodies run later).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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

    def __or__(self, other: Use) -> Use:
        return Use(
            self.decides or other.decides,
            self.as_value or other.as_value,
            self.compared_with | other.compared_with,
            self.compared_to + tuple(e for e in other.compared_to if not any(e is mine for mine in self.compared_to)),
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

    def __init__(self, func: cst.FunctionDef) -> None:
        self._parent: dict[int, cst.CSTNode] = {}
        self._bound: dict[str, list[cst.BaseExpression | None]] = {}
        for param in _params(func):
            self._bound.setdefault(param.name.value, []).append(None)
        self._link(func.body)
        self._reached = _Reaching(func).reached

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
                through = through | (seen if seen.decides else Use(as_value=seen.as_value))
        decides = use.decides or through.decides
        if not decides:
            return Use(as_value=use.as_value or through.as_value)
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
        return Use(as_value=True), sites


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


# -- reaching bindings -----------------------------------------------------------------------------
# A state maps each local name to the bindings of it (ids of their nodes) that may reach this
# point; None: no path reaches it (after `return`, `raise`, `break`, `continue`).
_State = dict[str, frozenset[int]]
_MAX_ROUNDS = 20  # a loop's bindings settle in a few rounds; the cap only bounds pathological code


def _join(*states: _State | None) -> _State | None:
    reached = [s for s in states if s is not None]
    if not reached:
        return None
    merged: _State = dict(reached[0])
    for state in reached[1:]:
        for name, sites in state.items():
            merged[name] = merged.get(name, frozenset()) | sites
    return merged


class _Reaching:
    """Which loads of a name each binding of it reaches, following the function's control flow."""

    def __init__(self, func: cst.FunctionDef) -> None:
        self.reached: dict[int, list[cst.Name]] = {}
        self._recorded: set[tuple[int, int]] = set()
        self._loops: list[tuple[list[_State | None], list[_State | None]]] = []  # (breaks, continues)
        self._tries: list[list[_State | None]] = []  # states seen inside each enclosing `try` body
        self._scopes: list[_State | None] = []  # states outside the comprehensions being read
        state: _State = {p.name.value: frozenset({id(p)}) for p in _params(func)}
        self._block(func.body, state)

    # -- statements ----------------------------------------------------------------------------
    def _block(self, body: cst.BaseSuite | Sequence[cst.CSTNode], state: _State | None) -> _State | None:
        statements: Sequence[cst.CSTNode]
        if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            statements = body.body
        elif isinstance(body, cst.BaseSuite):
            statements = ()
        else:
            statements = body
        for statement in statements:
            if state is None:
                break  # unreachable
            state = self._statement(statement, state)
        return state

    def _statement(self, node: cst.CSTNode, state: _State) -> _State | None:
        if isinstance(node, cst.SimpleStatementLine):
            current: _State | None = state
            for small in node.body:
                if current is None:
                    break
                current = self._small(small, current)
            return current
        if isinstance(node, cst.BaseSmallStatement):
            return self._small(node, state)
        if isinstance(node, cst.If):
            tested = self._expr(node.test, state)
            body = self._block(node.body, tested)
            if node.orelse is None:
                return _join(body, tested)
            other = self._statement(node.orelse, tested) if isinstance(node.orelse, cst.If) else self._block(node.orelse.body, tested)
            return _join(body, other)
        if isinstance(node, cst.While):
            return self._loop(node, state, None)
        if isinstance(node, cst.For):
            return self._loop(node, self._expr(node.iter, state), node.target)
        if isinstance(node, (cst.Try, cst.TryStar)):
            return self._try(node, state)
        if isinstance(node, cst.With):
            current = state
            for item in node.items:
                current = self._expr(item.item, current)
                if item.asname is not None:
                    current = self._bind_target(item.asname.name, current, item.asname)
            return self._block(node.body, current)
        if isinstance(node, cst.Match):
            subject = self._expr(node.subject, state)
            ends = []
            for case in node.cases:
                current = self._pattern(case.pattern, subject)
                if case.guard is not None:
                    current = self._expr(case.guard, current)
                ends.append(self._block(case.body, current))
            return _join(subject, *ends)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            current = state
            for decorator in node.decorators:
                current = self._expr(decorator.decorator, current)
            if isinstance(node, cst.FunctionDef):
                for param in _params_of(node.params):
                    if param.default is not None:
                        current = self._expr(param.default, current)
            else:
                for arg in [*node.bases, *node.keywords]:
                    current = self._expr(arg.value, current)
            return self._bind(node.name.value, id(node), current)
        return state

    def _small(self, node: cst.BaseSmallStatement, state: _State) -> _State | None:
        if isinstance(node, cst.Expr):
            return self._expr(node.value, state)
        if isinstance(node, cst.Assign):
            current = self._expr(node.value, state)
            single = len(node.targets) == 1
            for target in node.targets:
                current = self._bind_target(target.target, current, node if single else target)
            return current
        if isinstance(node, cst.AnnAssign):
            if node.value is None:
                return state
            return self._bind_target(node.target, self._expr(node.value, state), node)
        if isinstance(node, cst.AugAssign):
            current = self._expr(node.target, state)
            current = self._expr(node.value, current)
            return self._bind_target(node.target, current, node) if isinstance(node.target, cst.Name) else current
        if isinstance(node, cst.Return):
            self._expr(node.value, state)
            return None
        if isinstance(node, cst.Raise):
            self._expr(node.cause.item if node.cause is not None else None, self._expr(node.exc, state))
            return None
        if isinstance(node, cst.Assert):
            return self._expr(node.msg, self._expr(node.test, state))
        if isinstance(node, cst.Del):
            return self._bind_target(node.target, state, node)
        if isinstance(node, (cst.Break, cst.Continue)):
            if self._loops:
                self._loops[-1][0 if isinstance(node, cst.Break) else 1].append(state)
            return None
        if isinstance(node, cst.Import):
            current: _State | None = state
            for alias in node.names:
                name = alias.asname.name if alias.asname is not None else alias.name
                while isinstance(name, cst.Attribute):
                    name = name.value
                if isinstance(name, cst.Name):
                    current = self._bind(name.value, id(alias), current)
            return current
        if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
            current = state
            for alias in node.names:
                name = alias.asname.name if alias.asname is not None else alias.name
                if isinstance(name, cst.Name):
                    current = self._bind(name.value, id(alias), current)
            return current
        return state

    def _loop(self, node: cst.While | cst.For, entry: _State | None, target: cst.BaseExpression | None) -> _State | None:
        """Walk the body until the bindings reaching its head settle (what the last round binds
        reaches the first statements of the next)."""
        breaks: list[_State | None] = []
        continues: list[_State | None] = []
        self._loops.append((breaks, continues))
        head = entry
        exhausted = head
        for _ in range(_MAX_ROUNDS):
            if isinstance(node, cst.While):
                exhausted = self._expr(node.test, head)
                current = exhausted
            else:
                exhausted = head
                current = self._bind_target(target, head, node) if target is not None else head
            end = self._block(node.body, current)
            following = _join(entry, end, *continues)
            if following == head:
                break
            head = following
        self._loops.pop()
        if node.orelse is not None:
            exhausted = self._block(node.orelse.body, exhausted)
        return _join(exhausted, *breaks)

    def _try(self, node: cst.Try | cst.TryStar, state: _State) -> _State | None:
        seen: list[_State | None] = [state]
        self._tries.append(seen)
        body_end = self._block(node.body, state)
        self._tries.pop()
        raised = _join(*seen, body_end)  # an exception can come after any binding in the body
        ends = []
        for handler in node.handlers:
            current = self._expr(handler.type, raised)
            if handler.name is not None:
                current = self._bind_target(handler.name.name, current, handler)
            ends.append(self._block(handler.body, current))
        normal = self._block(node.orelse.body, body_end) if node.orelse is not None else body_end
        after = _join(normal, *ends)
        if node.finalbody is None:
            return after
        finished = self._block(node.finalbody.body, _join(after, raised))
        return finished if after is not None else None

    def _pattern(self, pattern: cst.MatchPattern | cst.MatchStar, state: _State | None) -> _State | None:
        if isinstance(pattern, cst.MatchAs):
            current = self._pattern(pattern.pattern, state) if pattern.pattern is not None else state
            return self._bind_target(pattern.name, current, pattern) if pattern.name is not None else current
        if isinstance(pattern, cst.MatchStar):
            return self._bind_target(pattern.name, state, pattern) if pattern.name is not None else state
        if isinstance(pattern, cst.MatchValue):
            return self._expr(pattern.value, state)
        if isinstance(pattern, cst.MatchMapping):
            current = state
            for element in pattern.elements:
                current = self._pattern(element.pattern, self._expr(element.key, current))
            return self._bind_target(pattern.rest, current, pattern) if pattern.rest is not None else current
        if isinstance(pattern, cst.MatchClass):
            current = self._expr(pattern.cls, state)
            for element in pattern.patterns:
                current = self._pattern(element.value, current)
            for keyword in pattern.kwds:
                current = self._pattern(keyword.pattern, current)
            return current
        if isinstance(pattern, (cst.MatchSequence, cst.MatchOr)):
            current = state
            for element in pattern.patterns:
                if isinstance(element, cst.MatchSequenceElement):
                    current = self._pattern(element.value, current)
                elif isinstance(element, cst.MatchOrElement):
                    current = self._pattern(element.pattern, current)
                else:  # `*rest`
                    current = self._pattern(element, current)
            return current
        return state

    # -- bindings ----------------------------------------------------------------------------
    def _bind(self, name: str, site: int, state: _State | None) -> _State | None:
        if state is None:
            return None
        bound = dict(state)
        bound[name] = frozenset({site})
        for seen in self._tries:
            seen.append(bound)
        return bound

    def _bind_target(self, target: cst.BaseExpression, state: _State | None, site: cst.CSTNode) -> _State | None:
        """`site` is the binding's node for a plain name target; elements of a tuple are their own."""
        if isinstance(target, cst.Name):
            return self._bind(target.value, id(site), state)
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                state = self._bind_target(element.value, state, element)
            return state
        if isinstance(target, cst.StarredElement):
            return self._bind_target(target.value, state, target)
        return self._expr(target, state)  # `obj.attr = ...`, `d[k] = ...`: loads of obj, d, k

    # -- expressions: loads in evaluation order (iteratively: expressions can nest deeply) ------
    def _expr(self, node: cst.CSTNode | None, state: _State | None) -> _State | None:
        if node is None or state is None:
            return state
        stack: list[tuple[str, object]] = [("visit", node)]
        while stack:
            action, item = stack.pop()
            if action == "bind":
                target, site = item  # type: ignore[misc]
                state = self._bind_target(target, state, site)
            elif action == "enter":
                self._scopes.append(state)
            elif action == "leave":
                state = self._scopes.pop()  # comprehension variables do not leak
            else:
                assert isinstance(item, cst.CSTNode)
                self._visit(item, state, stack)
        return state

    def _visit(self, node: cst.CSTNode, state: _State | None, stack: list[tuple[str, object]]) -> None:
        if isinstance(node, cst.Name):
            for site in (state or {}).get(node.value, ()):
                if (site, id(node)) not in self._recorded:
                    self._recorded.add((site, id(node)))
                    self.reached.setdefault(site, []).append(node)
            return
        if isinstance(node, cst.Attribute):
            stack.append(("visit", node.value))
            return
        if isinstance(node, cst.Arg):
            stack.append(("visit", node.value))
            return
        if isinstance(node, cst.Lambda):
            for param in _params_of(node.params):
                if param.default is not None:
                    stack.append(("visit", param.default))
            return  # the body runs when called
        if isinstance(node, cst.NamedExpr):
            stack.append(("bind", (node.target, node)))
            stack.append(("visit", node.value))
            return
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            results = [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
            steps: list[tuple[str, object]] = []
            clause: cst.CompFor | None = node.for_in
            first = True
            while clause is not None:
                steps.append(("visit", clause.iter))
                if first:
                    steps.append(("enter", None))  # the first iterable is read outside the comprehension
                    first = False
                steps.append(("bind", (clause.target, clause)))
                steps += [("visit", condition.test) for condition in clause.ifs]
                clause = clause.inner_for_in
            steps += [("visit", result) for result in results]
            steps.append(("leave", None))
            stack.extend(reversed(steps))
            return
        stack.extend(("visit", child) for child in reversed(node.children))


def _params_of(params: cst.Parameters) -> list[cst.Param]:
    found = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    found += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return found
