"""Binding names and assigning fields: where values flow into variables and in-memory rows.

`name = value` binds the variable (a row read from the database takes the
variable's name, for messages; a literal's truth is the path's flag, see
`paths`); `obj.f = value` records a change of row
`obj` that a later save writes, unless a recogniser says the assignment
changes a library object's state instead (`conn.autocommit = True`).
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from txlint.core.ir import Delta, RowOrigin, RowRef, ValueKind
from txlint.core.ir import Value as IRValue
from txlint.frontends.python.interpret.expressions import (
    AUGMENTED_SIGNS,
    Expressions,
    literal_number,
    merge_data,
    single_column,
    source_text,
    to_ir_value,
)
from txlint.frontends.python.interpret.paths import flagged
from txlint.frontends.python.interpret.state import Binding
from txlint.frontends.python.interpret.values import UNKNOWN, Data, Pair, Parameter, Query, Record, Row, Value
from txlint.frontends.python.recognisers.base import TxScope


class Assignments(Expressions):
    """Assignment statements on the current state."""

    def assign(self, target: cst.BaseExpression, value: Value, source: cst.BaseExpression, node: cst.CSTNode) -> None:
        if isinstance(target, cst.Attribute):
            if any(r.assigned(self, target, source) for r in self.file.recognisers):
                return
            written = to_ir_value(value)
            seen = Data(written.depends_on)  # reading it back still gives what it came from (`x = x or 0; x += n`)
            if _falls_back_to_itself(source, target):
                written = self._without_own_value(written, target)
            self._set_field(target, replace(written, expression=source_text(source)), node, seen)
        elif isinstance(target, cst.Subscript):
            self._set_item(target, value, node)
        else:
            self._bind(target, value)
            if isinstance(target, cst.Name):
                created = isinstance(value, Row) and value.ref.origin is RowOrigin.CREATED  # `track = Tracking(...)`: an instance
                self.state.paths = flagged(self.state.paths, target.value, True if created else literal_truth(source))

    def aug_assign(self, node: cst.AugAssign) -> None:
        current = self.eval(node.target)
        change = self.eval(node.value)
        combined = merge_data(current, change)
        sign = AUGMENTED_SIGNS.get(type(node.operator))
        column = single_column(current)
        if sign and column and not combined.in_database:
            combined = Data(combined.deps, delta=Delta(column, sign, literal_number(node.value)))
        if isinstance(node.target, cst.Attribute):
            self._set_field(node.target, to_ir_value(combined), node)
        elif isinstance(node.target, cst.Subscript):
            self._set_item(node.target, combined, node)
        elif isinstance(node.target, cst.Name):
            self.state.env[node.target.value] = Binding(combined, self.site)
            counted = isinstance(node.operator, cst.AddAssign) and (literal_number(node.value) or 0) > 0
            self.state.paths = flagged(self.state.paths, node.target.value, True if counted else None)  # `updated += 1`

    def _without_own_value(self, value: IRValue, target: cst.Attribute) -> IRValue:
        """`obj.f = data.get("f", obj.f)`: the input, or the field's own value written back unchanged
        (clarification 17): what it depends on, the field itself left out."""
        owner = self.eval(target.value)  # a name, or a related row (`existing.user`), loaded once
        if not isinstance(owner, Row):
            return value
        deps = frozenset(d for d in value.depends_on if not (d.row == owner.ref and d.column == target.attr.value))
        return value if deps == value.depends_on else IRValue(ValueKind.DERIVED if deps else ValueKind.INDEPENDENT, deps)

    def _set_field(self, target: cst.Attribute, value: IRValue, node: cst.CSTNode, seen: Data | None = None) -> None:
        owner = self.eval(target.value)
        if isinstance(owner, (Row, Parameter)):
            self.record_change(owner, target.attr.value, value, seen if seen is not None else Data(value.depends_on), node)

    def _set_item(self, target: cst.Subscript, value: Value, node: cst.CSTNode) -> None:
        """`obj.data[k] = v` (also `+=`, `del`): an item of a row's field changed in place."""
        container = self.eval(target.value)
        for element in target.slice:
            if isinstance(element.slice, cst.Index):
                value = merge_data(value, self.eval(element.slice.value))
        if isinstance(container, Data) and container.field_of is not None:
            self._changed_in_place(container, None, value, node)

    def _bind(self, target: cst.BaseExpression, value: Value) -> None:
        if isinstance(target, cst.Name):
            self.state.paths = flagged(self.state.paths, target.value, None)
            if isinstance(value, Row) and value.ref.origin is RowOrigin.READ and not value.ref.name:
                value = Row(RowRef(value.ref.origin, value.ref.read, target.value), value.table)
            self.state.env[target.value] = Binding(value, self.site)
            if isinstance(value, Data) and value.results:
                self.bound_results |= value.results
            elif isinstance(value, Query) and value.lock is not None:
                self.lazy.setdefault(value.span, (value, self.tx_for(value.using)))
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            items: tuple[Value, ...] | None = value.items if isinstance(value, Pair) and len(value.items) == len(elements) else None
            if isinstance(value, Record):
                items = tuple(value.item(position) for position in range(len(elements)))
            for position, element in enumerate(elements):
                item = items[position] if items is not None else (value if isinstance(value, Data) else UNKNOWN)
                self._bind(element, item)

    def _opens_transaction(self, expr: cst.BaseExpression) -> TxScope | None:
        """The transaction a `with` item or decorator opens, as the recognisers know it."""
        for recogniser in self.file.recognisers:
            scope = recogniser.opens_transaction(self, expr)
            if scope is not None:
                return scope
        return None


def literal_truth(node: cst.BaseExpression) -> bool | None:
    """The truth of a literal (`True`, `None`, `0`, `""`, `[]`), None for any other expression."""
    if isinstance(node, cst.Name) and node.value in {"True", "False", "None"}:
        return node.value == "True"
    if isinstance(node, (cst.Integer, cst.Float)):
        return literal_number(node) != 0
    if isinstance(node, cst.SimpleString):
        return len(node.evaluated_value or "") > 0
    if isinstance(node, (cst.List, cst.Tuple, cst.Dict, cst.Set)) and not node.elements:
        return False
    return None


def _falls_back_to_itself(source: cst.BaseExpression, target: cst.Attribute) -> bool:
    """`data.get("f", obj.f)`, `data.f or obj.f`, `obj.f or data.f`, `x if x is not None else obj.f` (or
    `obj.f` itself) assigned to `obj.f`: a value from elsewhere, or the field's own value unchanged (a PATCH
    that keeps what it is not given, a field filled in when empty)."""
    own = source_text(target)
    if source_text(source) == own:
        return True  # `obj.f = obj.f`
    if isinstance(source, cst.Call) and isinstance(source.func, cst.Attribute) and source.func.attr.value == "get" and len(source.args) == 2:
        return source_text(source.args[1].value) == own
    if isinstance(source, cst.BooleanOperation) and isinstance(source.operator, cst.Or):
        return own in (source_text(source.left), source_text(source.right))  # `obj.f or data.f`: kept when set
    if isinstance(source, cst.IfExp):
        return own in (source_text(source.body), source_text(source.orelse))
    return False
