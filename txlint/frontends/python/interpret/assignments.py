"""Binding names and assigning fields: where values flow into variables and in-memory rows.

`name = value` binds the variable (a row read from the database takes the
variable's name, for messages); `obj.f = value` records a change of row
`obj` that a later save writes, unless a recogniser says the assignment
changes a library object's state instead (`conn.autocommit = True`).
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from txlint.core.ir import Delta, RowOrigin, RowRef
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
from txlint.frontends.python.interpret.state import Binding
from txlint.frontends.python.interpret.values import UNKNOWN, Data, Pair, Parameter, Query, Record, Row, Value
from txlint.frontends.python.recognisers.base import TxScope


class Assignments(Expressions):
    """Assignment statements on the current state."""

    def assign(self, target: cst.BaseExpression, value: Value, source: cst.BaseExpression, node: cst.CSTNode) -> None:
        if isinstance(target, cst.Attribute):
            if any(r.assigned(self, target, source) for r in self.file.recognisers):
                return
            self._set_field(target, replace(to_ir_value(value), expression=source_text(source)), node)
        elif isinstance(target, cst.Subscript):
            self._set_item(target, value, node)
        else:
            self._bind(target, value)

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

    def _set_field(self, target: cst.Attribute, value: IRValue, node: cst.CSTNode) -> None:
        owner = self.eval(target.value)
        if isinstance(owner, (Row, Parameter)):
            self.record_change(owner, target.attr.value, value, Data(value.depends_on), node)

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
