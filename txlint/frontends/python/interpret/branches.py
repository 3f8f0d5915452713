"""Branches: the condition a test decides on, what it compares, and which taken locks it tests.

A test's `Condition` lists the database values it depends on and the
comparisons of a row's field at its top (`row.c == v`, also under `and`),
which rules read (a check of unlocked state, a convergent write). A test of
a lock take's result (`if not r.set(k, t, nx=True): return`) decides where
the lock is held: on the arm where the take succeeded only. A test of a local
flag (`if changed:`) lets through the paths that set it so; a test of a
write's row count (`if not n: return`) says the write wrote nothing on the
arm where the count is zero.
"""

from __future__ import annotations

import libcst as cst

from txlint.core.ir import Comparison, ComparisonOp, Condition, Dependency, RowOrigin
from txlint.frontends.python.interpret.assignments import Assignments
from txlint.frontends.python.interpret.expressions import source_text
from txlint.frontends.python.interpret.paths import Paths, assuming, holding, unwritten
from txlint.frontends.python.interpret.values import Data, Record, Row, Value


class Branches(Assignments):
    """Conditions of tests, and locks held on the arms of a branch."""

    decided: list[tuple[int, bool | None]]  # locks the current block's test decides
    tested: list[tuple[str, bool]]  # local flags the current block's test reads: (name, truth when the test is true)
    counted: tuple[frozenset[int], bool] | None  # writes whose row count the test reads, and the test's truth when it is not zero

    def _condition(self, test: cst.BaseExpression) -> Condition:
        self.fields_in_test = {}
        try:
            value = self.eval(test)
            comparisons = self._comparisons(test)
            compared = self._comparisons(test, every=True)
        finally:
            self.fields_in_test = None
        results = value.results if isinstance(value, Data) else frozenset()
        core, positive = truth_of(test)
        truthy = None if isinstance(core, (cst.BooleanOperation, cst.Comparison)) else positive
        return Condition(self.span(test), deps_of(value), comparisons, results=results, truthy=truthy, compared=compared if compared != comparisons else ())

    def _comparisons(self, test: cst.BaseExpression, *, every: bool = False) -> tuple[Comparison, ...]:
        """`row.c == expr` / `expr != row.c` in a condition or in one of its `and`-ed parts (`every`:
        its `or`-ed parts too), with the other side's text."""
        found: list[Comparison] = []
        stack = [test]
        while stack:
            part = stack.pop()
            if isinstance(part, cst.BooleanOperation) and (every or isinstance(part.operator, cst.And)):
                stack += [part.right, part.left]
            else:
                found += self._comparison(part)
        return tuple(found)

    def _comparison(self, test: cst.BaseExpression) -> tuple[Comparison, ...]:
        """Each side that is a field of a row, compared with the other side's text: both, when both
        are fields (`self.name != self.entity.name`); an order comparison is turned to put the field
        first (`v > row.c` is `row.c < v`)."""
        if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
            return ()
        target = test.comparisons[0]
        op = _COMPARISONS.get(type(target.operator))
        if op is None:
            return ()
        found = []
        for field_side, other, turned in ((test.left, target.comparator, False), (target.comparator, test.left, True)):
            field = self._field(field_side)
            if field is not None:
                found.append(Comparison(field[0].ref, field[1], _TURNED.get(op, op) if turned else op, source_text(other)))
        return tuple(found)

    def _field(self, node: cst.BaseExpression) -> tuple[Row, str] | None:
        """`row.c` (also `self.entity.c`): the row and the field, as the test's evaluation found them."""
        if not isinstance(node, cst.Attribute):
            return None
        if isinstance(node.value, cst.Name):
            owner = self.lookup(node.value.value)
            return (owner, node.attr.value) if isinstance(owner, Row) else None
        seen = self.fields_in_test.get(id(node)) if self.fields_in_test is not None else None
        if isinstance(seen, Data) and seen.field_of is not None and isinstance(seen.field_of[0], Row):
            return seen.field_of[0], seen.field_of[1]
        return None

    def _decided(self, test: cst.BaseExpression, condition: Condition) -> list[tuple[int, bool | None]]:
        """Locks whose acquisition result `test` tests: (op, whether a true test means held; None: unknown)."""
        mentioned = {d.row.read for d in condition.depends_on if d.row.origin is RowOrigin.READ and d.row.read in self.holdable}
        if not mentioned:
            return []
        core, positive = truth_of(test)
        if isinstance(core, cst.Name):
            value = self.lookup(core.value)
            direct = {d.row.read for d in value.deps} if isinstance(value, Data) else set()
        else:
            direct = {i for i in mentioned if i is not None and self.table.ops[i].span == self.span(core)}
        return [(i, positive if i in direct and positive is not None else None) for i in sorted(i for i in mentioned if i is not None)]

    def _assume(self, paths: Paths, test_true: bool) -> Paths:
        """The paths after the test came out `test_true`; a lock tested in a way not understood is
        taken as not held on either arm (no report rather than a wrong one)."""
        for index, positive in self.decided:
            paths = holding(paths, index, positive is not None and positive == test_true)
        for name, truth in self.tested:
            if test_true or len(self.tested) == 1:  # a false `a and b` says nothing of `a` alone
                paths = assuming(paths, name, truth == test_true)
        if self.counted is not None and self.counted[1] != test_true:
            paths = unwritten(paths, self.counted[0])
        return paths

    def _tested(self, test: cst.BaseExpression) -> None:
        """What the test reads that decides the paths on its arms: local flags (`changed`, `not
        done`, each part of an `and`), a write's row count (`n`, `result.rowcount == 0`)."""
        self.tested, self.counted = [], None
        parts = [test]
        while isinstance(parts[-1], cst.BooleanOperation) and isinstance(parts[-1].operator, cst.And):
            last = parts.pop()
            assert isinstance(last, cst.BooleanOperation)
            parts += [last.left, last.right]
        for part in parts:
            core, positive = truth_of(part)
            if positive is None:
                continue
            if isinstance(core, cst.Name) and self.lookup(core.value) is not None:
                self.tested.append((core.value, positive))
            head = core
            while isinstance(head, cst.Attribute):
                head = head.value
            value = self.lookup(head.value) if isinstance(head, cst.Name) and len(parts) == 1 else None
            if isinstance(value, Data) and value.results:
                self.counted = (value.results, positive)


def deps_of(value: Value) -> frozenset[Dependency]:
    """The database values a test's (or subject's) value depends on."""
    if isinstance(value, Data):
        return value.deps
    if isinstance(value, Row):
        return value.dependencies()
    if isinstance(value, Record):
        return frozenset({Dependency(value.ref, None)})
    return frozenset()


_COMPARISONS: dict[type[cst.BaseCompOp], ComparisonOp] = {
    cst.Equal: "=", cst.NotEqual: "!=", cst.Is: "=", cst.IsNot: "!=",
    cst.LessThan: "<", cst.LessThanEqual: "<=", cst.GreaterThan: ">", cst.GreaterThanEqual: ">=",
}  # fmt: skip
_TURNED: dict[ComparisonOp, ComparisonOp] = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_FALSY = {"None", "False", "0"}
_TRUTHY = {"True", "1"}


def truth_of(test: cst.BaseExpression) -> tuple[cst.BaseExpression, bool | None]:
    """The expression whose truth a test decides on, and whether a true test means it is truthy.

    `not x` → (x, False); `x is None` → (x, False); `x == 1` → (x, True) (a counter that
    reached 1 first); `x > 1` → (x, False); `x > 0` → (x, True) (a count); anything else → (test, True), or None when unknown.
    """
    positive: bool | None = True
    while True:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            positive, test = (None if positive is None else not positive), test.expression
        elif isinstance(test, cst.Await):
            test = test.expression
        elif isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            same = _comparison_keeps_truth(target.operator, target.comparator)
            positive = None if same is None or positive is None else positive == same
            test = test.left
        else:
            return test, positive


def _comparison_keeps_truth(operator: cst.BaseCompOp, other: cst.BaseExpression) -> bool | None:
    """Whether `x <op> literal` is true exactly when x is truthy (True), falsy (False), or neither (None)."""
    literal = other.value if isinstance(other, (cst.Name, cst.Integer)) else None
    if isinstance(operator, (cst.Is, cst.Equal)):
        return False if literal in _FALSY else True if literal in _TRUTHY else None
    if isinstance(operator, (cst.IsNot, cst.NotEqual)):
        return True if literal in _FALSY else False if literal in _TRUTHY else None
    if isinstance(operator, cst.GreaterThan):
        return False if literal == "1" else True if literal == "0" else None  # `n > 0`: a count that is not zero
    if isinstance(operator, cst.LessThanEqual):
        return True if literal == "1" else None
    return None
