"""Reaching bindings: which loads of a name each binding of it may reach, over the function's graph.

A state maps each local name to the bindings of it (ids of their nodes)
that may reach the current point. Each step binds and loads names in
evaluation order (comprehension variables do not leak out; a lambda's body
runs later, so its loads are not loads here); the solver carries the states
along the graph's edges and around loops until they settle. The answer is,
for every binding, the `Name` loads it reaches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from txlint.frontends.python.flow.cfg import (
    Block,
    Case,
    Catch,
    Define,
    EdgeKind,
    Enter,
    ForBind,
    ForIter,
    Graph,
    Raise,
    Return,
    Simple,
    Step,
    Subject,
    Test,
)
from txlint.frontends.python.flow.solver import solve

Bindings = dict[str, frozenset[int]]


def reaching_loads(graph: Graph) -> dict[int, list[cst.Name]]:
    """For every binding (id of its node; a parameter's is its `Param`), the loads it may reach."""
    analysis = ReachingBindings()
    params = _params_of(graph.function.params)
    solve(graph, analysis, {p.name.value: frozenset({id(p)}) for p in params})
    return analysis.reached


class ReachingBindings:
    """The analysis: binding sets flow forward; every load seen records the bindings reaching it."""

    def __init__(self) -> None:
        self.reached: dict[int, list[cst.Name]] = {}
        self._recorded: set[tuple[int, int]] = set()
        self._scopes: list[Bindings] = []

    # -- the solver's protocol --------------------------------------------------------------
    def transfer(self, block: Block, state: Bindings) -> Sequence[Bindings | None]:
        seen = [state]
        for step in block.steps:
            state = self._step(step, state)
            seen.append(state)
        raised: Bindings | None = None
        if any(edge.kind is EdgeKind.EXCEPTION for edge in block.edges):
            raised = seen[0]
            for each in seen[1:]:
                raised = self.join(raised, each)
        return [raised if edge.kind is EdgeKind.EXCEPTION else state for edge in block.edges]

    def join(self, left: Bindings, right: Bindings) -> Bindings:
        merged = dict(left)
        for name, sites in right.items():
            merged[name] = merged.get(name, frozenset()) | sites
        return merged

    def same(self, left: Bindings, right: Bindings) -> bool:
        return left == right

    # -- steps ------------------------------------------------------------------------------
    def _step(self, step: Step, state: Bindings) -> Bindings:
        node = step.node
        if isinstance(step, Simple):
            return self._small(step.node, state)
        if isinstance(step, (Test, Subject)):
            return self._expr(step.node.subject if isinstance(step, Subject) else step.node, state)
        if isinstance(step, ForIter):
            return self._expr(step.node.iter, state)
        if isinstance(step, ForBind):
            return self._bind_target(step.node.target, state, step.node)
        if isinstance(step, Enter):
            item = step.node.items[step.item]
            state = self._expr(item.item, state)
            return self._bind_target(item.asname.name, state, item.asname) if item.asname is not None else state
        if isinstance(step, Catch):
            state = self._expr(step.node.type, state)
            return self._bind_target(step.node.name.name, state, step.node) if step.node.name is not None else state
        if isinstance(step, Case):
            return self._pattern(step.node.pattern, state)
        if isinstance(step, Return):
            return self._expr(step.node.value, state)
        if isinstance(step, Raise):
            return self._raised(node, state)
        if isinstance(step, Define):
            return self._define(step.node, state)
        return state  # Leave, Jump, End

    def _raised(self, node: cst.CSTNode, state: Bindings) -> Bindings:
        if isinstance(node, cst.Raise):
            state = self._expr(node.exc, state)
            return self._expr(node.cause.item if node.cause is not None else None, state)
        if isinstance(node, cst.Expr):
            return self._expr(node.value, state)
        if isinstance(node, cst.Assert):
            return self._expr(node.msg, state)
        return state

    def _define(self, node: cst.FunctionDef | cst.ClassDef, state: Bindings) -> Bindings:
        for decorator in node.decorators:
            state = self._expr(decorator.decorator, state)
        if isinstance(node, cst.FunctionDef):
            for param in _params_of(node.params):
                if param.default is not None:
                    state = self._expr(param.default, state)
        else:
            for arg in [*node.bases, *node.keywords]:
                state = self._expr(arg.value, state)
        return self._bind(node.name.value, id(node), state)

    def _small(self, node: cst.BaseSmallStatement, state: Bindings) -> Bindings:
        if isinstance(node, cst.Expr):
            return self._expr(node.value, state)
        if isinstance(node, cst.Assign):
            state = self._expr(node.value, state)
            single = len(node.targets) == 1
            for target in node.targets:
                state = self._bind_target(target.target, state, node if single else target)
            return state
        if isinstance(node, cst.AnnAssign):
            return state if node.value is None else self._bind_target(node.target, self._expr(node.value, state), node)
        if isinstance(node, cst.AugAssign):
            state = self._expr(node.value, self._expr(node.target, state))
            return self._bind_target(node.target, state, node) if isinstance(node.target, cst.Name) else state
        if isinstance(node, cst.Del):
            return self._bind_target(node.target, state, node)
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            return self._imports(node, state)
        return state

    def _imports(self, node: cst.Import | cst.ImportFrom, state: Bindings) -> Bindings:
        if isinstance(node.names, cst.ImportStar):
            return state
        for alias in node.names:
            name: cst.BaseExpression = alias.asname.name if alias.asname is not None else alias.name
            while isinstance(name, cst.Attribute):
                name = name.value
            if isinstance(name, cst.Name):
                state = self._bind(name.value, id(alias), state)
        return state

    def _pattern(self, pattern: cst.MatchPattern | cst.MatchStar, state: Bindings) -> Bindings:
        if isinstance(pattern, cst.MatchAs):
            state = self._pattern(pattern.pattern, state) if pattern.pattern is not None else state
            return self._bind_target(pattern.name, state, pattern) if pattern.name is not None else state
        if isinstance(pattern, cst.MatchStar):
            return self._bind_target(pattern.name, state, pattern) if pattern.name is not None else state
        if isinstance(pattern, cst.MatchValue):
            return self._expr(pattern.value, state)
        if isinstance(pattern, cst.MatchMapping):
            for entry in pattern.elements:
                state = self._pattern(entry.pattern, self._expr(entry.key, state))
            return self._bind_target(pattern.rest, state, pattern) if pattern.rest is not None else state
        if isinstance(pattern, cst.MatchClass):
            state = self._expr(pattern.cls, state)
            for positional in pattern.patterns:
                state = self._pattern(positional.value, state)
            for keyword in pattern.kwds:
                state = self._pattern(keyword.pattern, state)
            return state
        if isinstance(pattern, (cst.MatchSequence, cst.MatchOr)):
            for part in pattern.patterns:
                if isinstance(part, cst.MatchSequenceElement):
                    state = self._pattern(part.value, state)
                elif isinstance(part, cst.MatchOrElement):
                    state = self._pattern(part.pattern, state)
                else:  # `*rest`
                    state = self._pattern(part, state)
            return state
        return state

    # -- bindings ---------------------------------------------------------------------------
    def _bind(self, name: str, site: int, state: Bindings) -> Bindings:
        bound = dict(state)
        bound[name] = frozenset({site})
        return bound

    def _bind_target(self, target: cst.BaseExpression, state: Bindings, site: cst.CSTNode) -> Bindings:
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

    # -- expressions: loads in evaluation order (iteratively: expressions can nest deeply) ----------
    def _expr(self, node: cst.CSTNode | None, state: Bindings) -> Bindings:
        if node is None:
            return state
        stack: list[_Action] = [_Visit(node)]
        while stack:
            action = stack.pop()
            if isinstance(action, _Bind):
                state = self._bind_target(action.target, state, action.site)
            elif isinstance(action, _Enter):
                self._scopes.append(state)
            elif isinstance(action, _Leave):
                state = self._scopes.pop()  # comprehension variables do not leak
            else:
                self._visit(action.node, state, stack)
        return state

    def _visit(self, node: cst.CSTNode, state: Bindings, stack: list[_Action]) -> None:
        if isinstance(node, cst.Name):
            for site in state.get(node.value, ()):
                if (site, id(node)) not in self._recorded:
                    self._recorded.add((site, id(node)))
                    self.reached.setdefault(site, []).append(node)
            return
        if isinstance(node, (cst.Attribute, cst.Arg)):
            stack.append(_Visit(node.value))
            return
        if isinstance(node, cst.Lambda):
            for param in _params_of(node.params):
                if param.default is not None:
                    stack.append(_Visit(param.default))
            return  # the body runs when called
        if isinstance(node, cst.NamedExpr):
            stack.append(_Bind(node.target, node))
            stack.append(_Visit(node.value))
            return
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            stack.extend(reversed(_comprehension_steps(node)))
            return
        stack.extend(_Visit(child) for child in reversed(node.children))


@dataclass(frozen=True)
class _Visit:
    node: cst.CSTNode


@dataclass(frozen=True)
class _Bind:
    target: cst.BaseExpression
    site: cst.CSTNode


class _Enter:
    """A comprehension's own scope begins (its variables do not leak)."""


class _Leave:
    """A comprehension's own scope ends."""


_Action = _Visit | _Bind | _Enter | _Leave


def _comprehension_steps(node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp) -> list[_Action]:
    results = [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
    steps: list[_Action] = []
    clause: cst.CompFor | None = node.for_in
    first = True
    while clause is not None:
        steps.append(_Visit(clause.iter))
        if first:
            steps.append(_Enter())  # the first iterable is read outside the comprehension
            first = False
        steps.append(_Bind(clause.target, clause))
        steps += [_Visit(condition.test) for condition in clause.ifs]
        clause = clause.inner_for_in
    steps += [_Visit(result) for result in results]
    steps.append(_Leave())
    return steps


def _params_of(params: cst.Parameters) -> list[cst.Param]:
    found = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    found += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return found
