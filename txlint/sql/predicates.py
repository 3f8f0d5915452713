"""Operands and WHERE predicates of one query block, read from sqlglot's tree.

A WHERE clause is read as its top-level AND conjuncts; each recognised shape
(`c op x`, `x op c`, `c IS [NOT] NULL`, `c IN (...)`, `c BETWEEN x AND y`, a
bare boolean column) becomes one or two `Predicate`s, and anything else
makes the clause opaque. A column qualifier is resolved in the scope of the
block the clause belongs to, so `a.id` names the table `a` stands for there,
not in a subquery that reuses the alias.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlglot import exp

from txlint.sql.facts import Operand, PlaceholderKey, Predicate, PredicateOp
from txlint.sql.placeholders import SYNTHETIC
from txlint.sql.scope import Scope

_COMPARISONS: dict[type[exp.Expr], PredicateOp] = {
    exp.EQ: "=",
    exp.NullSafeEQ: "=",
    exp.NEQ: "!=",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
}
_FLIPPED: dict[PredicateOp, PredicateOp] = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def unwrap(node: exp.Expr) -> exp.Expr:
    """Parentheses and casts do not change which value an operand is (`(%s)::int` is still `%s`)."""
    while isinstance(node, (exp.Paren, exp.Cast)) and isinstance(node.this, exp.Expr):
        node = node.this
    return node


def dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def conjuncts(node: exp.Expr) -> list[exp.Expr]:
    """The top-level AND conjuncts of a condition, through parentheses (iteratively: WHEREs can be long)."""
    out: list[exp.Expr] = []
    stack = [node]
    while stack:
        current = unwrap(stack.pop())
        if isinstance(current, exp.And):
            stack.append(current.expression)
            stack.append(current.this)
        else:
            out.append(current)
    return out


def literal(node: exp.Expr) -> float | str | bool | None:
    """A number (as float), string or boolean literal, with its sign; None for anything else."""
    negative = False
    if isinstance(node, exp.Neg):
        negative, node = True, unwrap(node.this)
    if isinstance(node, exp.Boolean) and not negative:
        return bool(node.this)
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return None if negative else str(node.this)
    try:
        number = float(str(node.this))
    except ValueError:
        return None
    return -number if negative else number


class ClauseReader:
    """Reads operands and predicates, with the statement's placeholder names and a block's scope."""

    def __init__(self, keys: dict[str, PlaceholderKey], scope: Scope) -> None:
        self.keys = keys
        self.scope = scope

    def within(self, scope: Scope) -> ClauseReader:
        """The same reader for another block of the statement (an `EXISTS` subquery read as the statement)."""
        return ClauseReader(self.keys, scope)

    # ---- WHERE

    def where(self, node: exp.Expr) -> tuple[tuple[Predicate, ...], bool]:
        """The predicates of `node`'s WHERE clause, and whether some conjunct was not recognised."""
        clause = node.args.get("where")
        if not isinstance(clause, exp.Where):
            return (), False
        found: list[Predicate] = []
        opaque = False
        for conjunct in conjuncts(clause.this):
            read = self._predicates(conjunct)
            if read is None:
                opaque = True
            else:
                found.extend(read)
        return tuple(found), opaque

    def _predicates(self, node: exp.Expr) -> list[Predicate] | None:
        """The predicates one conjunct stands for, or None when it is not of a recognised shape."""
        node = unwrap(node)
        op = _COMPARISONS.get(type(node))
        if op is not None and isinstance(node, exp.Binary):
            left, right = unwrap(node.this), unwrap(node.expression)
            if isinstance(left, exp.Column):
                return [self._predicate(left, op, right)]
            if isinstance(right, exp.Column):
                return [self._predicate(right, _FLIPPED.get(op, op), left)]
            return None
        if isinstance(node, exp.Is) and isinstance(unwrap(node.this), exp.Column):
            return self._is(node)
        if isinstance(node, exp.In) and isinstance(unwrap(node.this), exp.Column) and not node.args.get("unnest"):
            return [self._in(node)]
        if isinstance(node, exp.Between) and isinstance(unwrap(node.this), exp.Column):
            column = unwrap(node.this)
            return [self._predicate(column, ">=", node.args["low"]), self._predicate(column, "<=", node.args["high"])]
        if isinstance(node, exp.Column):  # `WHERE is_active`
            return [self._predicate(node, "=", exp.Boolean(this=True))]
        if isinstance(node, exp.Not) and isinstance(unwrap(node.this), exp.Column):
            return [self._predicate(unwrap(node.this), "=", exp.Boolean(this=False))]
        return None

    def _is(self, node: exp.Is) -> list[Predicate] | None:
        column, value = unwrap(node.this), unwrap(node.expression)
        negated = bool(node.args.get("negate"))
        if isinstance(value, exp.Null):
            return [self._predicate(column, "is not null" if negated else "is null", value)]
        if isinstance(value, exp.Boolean) and not negated:
            return [self._predicate(column, "=", value)]
        return None

    def _in(self, node: exp.In) -> Predicate:
        """`c IN (x)` compares with x; `c IN (x, y)`, `c IN (SELECT ...)`, psycopg2's `c IN %s` with a list."""
        column = unwrap(node.this)
        parts = list(node.expressions) or [
            arg for arg in (node.args.get("query"), node.args.get("field")) if isinstance(arg, exp.Expr)
        ]
        operand = self.operand(parts[0]) if len(parts) == 1 else self._expression(parts)
        return Predicate(column.name, "in", operand, self.qualifier(column))

    def _predicate(self, column: exp.Expr, op: PredicateOp, value: exp.Expr) -> Predicate:
        return Predicate(column.name, op, self.operand(value), self.qualifier(column))

    def qualifier(self, column: exp.Expr) -> str | None:
        """The table a qualified column belongs to in this block (aliases resolved); None when unqualified."""
        table = column.table if isinstance(column, exp.Column) else ""
        return self.scope.resolve(table) if table else None

    # ---- operands

    def operand(self, node: exp.Expr) -> Operand:
        node = unwrap(node)
        if isinstance(node, exp.Placeholder):
            key = self.keys.get(node.name) if node.name else None
            if key is not None:
                return Operand("placeholder", placeholder=key, placeholders=(key,))
            if node.name and not node.name.startswith(SYNTHETIC):  # a style the renamer left alone
                return Operand("placeholder", placeholder=node.name, placeholders=(node.name,))
            return Operand("expression")
        if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
            return Operand("column", column=node.name, columns=(node.name,), table=self.qualifier(node))
        if isinstance(node, exp.Null):
            return Operand("null")
        value = literal(node)
        if value is not None:
            return Operand("literal", literal=value)
        return self._expression([node])

    def _expression(self, nodes: Sequence[exp.Expr]) -> Operand:
        placeholders: list[PlaceholderKey] = []
        columns: list[str] = []
        for root in nodes:
            for node in root.dfs():
                if isinstance(node, exp.Placeholder) and node.name:
                    placeholders.append(self.keys.get(node.name, node.name))
                elif isinstance(node, exp.Column) and node.name:
                    columns.append(node.name)
        return Operand("expression", placeholders=tuple(dict.fromkeys(placeholders)), columns=dedupe(columns))
