"""Evaluating one expression: its abstract value, and the ops its evaluation performs.

Names, attributes, calls and subscripts are first offered to the
recognisers (library knowledge); what none claims is plain Python: a value
computed from its parts depends on everything they read, `row.f - x`
computed in Python is an accumulating change of `f`, `F("f") - x` is one the
database computes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import libcst as cst

from txlint.core.ir import Assignment, Change, Delta, Dependency, RowOrigin, RowRef, Sign, ValueKind
from txlint.core.ir import Value as IRValue
from txlint.frontends.python.interpret.effects import Effects
from txlint.frontends.python.interpret.state import Binding, FieldState, RowChanges
from txlint.frontends.python.interpret.values import (
    UNKNOWN,
    Data,
    ModelClass,
    Pair,
    Parameter,
    Query,
    Record,
    Row,
    Rows,
    Value,
    join_values,
)
from txlint.frontends.python.literals import text_value
from txlint.frontends.python.tree import children

_EMPTY_MODULE = cst.Module(body=[])
SIGNS: dict[type[cst.BaseBinaryOp], Sign] = {cst.Subtract: "-", cst.Add: "+"}
# Methods that change a list, set or dict in place; those of lists and dicts only are not also the
# methods of a related manager or a queryset (`obj.members.add(u)` writes a join table at once).
LIST_AND_DICT_ONLY = frozenset({"append", "extend", "insert", "setdefault", "popitem"})
IN_PLACE_METHODS = LIST_AND_DICT_ONLY | {"add", "remove", "discard", "pop", "update"}
AUGMENTED_SIGNS: dict[type[cst.BaseAugOp], Sign] = {cst.SubtractAssign: "-", cst.AddAssign: "+"}


def source_text(node: cst.CSTNode) -> str:
    """An expression's source without whitespace: equal texts are the same expression."""
    return "".join(_EMPTY_MODULE.code_for_node(node).split())


class Expressions(Effects):
    """Expression evaluation on the current state."""

    def eval(self, node: cst.BaseExpression) -> Value:
        """The abstract value of an expression; emits the IR ops its evaluation performs."""
        if isinstance(node, cst.Name):
            return self._name(node)
        if isinstance(node, cst.Attribute):
            return self._attribute(node)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.Await):
            return self.eval(node.expression)
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return Pair(tuple(self.eval(e.value) for e in node.elements))
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            return Data(text=text_value(node))
        if isinstance(node, cst.Yield):
            self.yields.append(self.state.transactions[0] if self.state.transactions else None)
            if self.first_yield_op is None:
                self.first_yield_op = len(self.table.ops)
            if isinstance(node.value, cst.BaseExpression):
                handed = self.eval(node.value)
                self.yielded.append(handed)
                return merge_data(Data(), handed)
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            return self._comprehension(node)
        if isinstance(node, cst.IfExp):
            return self._choice(node)
        return self._combine(node)

    def _choice(self, node: cst.IfExp) -> Value:
        """`Model.from_row(row) if row else None`: a fetched record or nothing is that record (a
        function returning it returns the row); any other choice depends on all it reads."""
        body, test, orelse = self.eval(node.body), self.eval(node.test), self.eval(node.orelse)  # in source order
        chosen = join_values(body, orelse)
        if isinstance(chosen, Record):
            return chosen
        return merge_data(merge_data(merge_data(Data(), body), test), orelse)

    def _comprehension(self, node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp) -> Value:
        """`[p for p in qs if ...]` runs the query and keeps its rows (`Rows`, as `list(qs)` does); any
        other comprehension is a value computed from what its element reads, each element of a query
        a row of it."""
        first = node.for_in
        source = self.eval(first.iter)
        name = first.target.value if isinstance(first.target, cst.Name) else None
        element: Value = UNKNOWN
        rows: Rows | None = None
        if isinstance(source, Query):
            rows = Rows(self.evaluate_query(source, first.iter, name), source.table)
        elif isinstance(source, Rows):
            rows = source
        elif isinstance(source, Data):
            element = source
        if rows is not None:
            element = self.element_of(rows, name or "")
        kept = node.value if isinstance(node, cst.DictComp) else node.elt
        saved = self.state.env.get(name) if name is not None else None
        if name is not None:
            self.state.env[name] = Binding(element, self.site)
        value: Value = Data()
        for condition in first.ifs:
            value = merge_data(value, self.eval(condition.test))
        inner = first.inner_for_in
        while inner is not None:  # its targets are not followed: what it reads still counts
            value = merge_data(value, self.eval(inner.iter))
            for condition in inner.ifs:
                value = merge_data(value, self.eval(condition.test))
            inner = inner.inner_for_in
        if first.inner_for_in is None and rows is not None and isinstance(kept, cst.Name) and kept.value == name:
            result: Value = rows
        else:
            parts = [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
            for part in parts:
                value = merge_data(value, self.eval(part))
            result = value
        if name is not None:
            if saved is None:
                self.state.env.pop(name, None)
            else:
                self.state.env[name] = saved
        return result

    def value_of(self, node: cst.BaseExpression) -> IRValue:
        """The IR value of an expression written to a column."""
        return dataclasses.replace(to_ir_value(self.eval(node)), expression=source_text(node))

    def _name(self, node: cst.Name) -> Value:
        if node.value in {"True", "False", "None"}:
            return Data()
        binding = self.state.env.get(node.value)
        if binding is not None:
            value = binding.value
            if isinstance(value, Data) and value.results:
                self.checked |= value.results  # the row count is looked at
            elif isinstance(value, Query) and value.lock is not None:
                self.lazy_used.add(value.span)  # the query is run or handed on
            return value
        model = self.file.class_name(node)
        return ModelClass(model) if model else UNKNOWN

    def _combine(self, node: cst.BaseExpression) -> Value:
        """Any other expression: its value depends on everything it reads."""
        if isinstance(node, cst.BinaryOperation):
            return self._arithmetic(node)
        value: Data = Data()
        results: frozenset[int] = frozenset()
        for child in _child_expressions(node):
            found = self.eval(child)
            if isinstance(found, Data):
                results |= found.results
            value = merge_data(value, found)
        if results and isinstance(node, _TESTS_OF_COUNTS):
            # `n != 1`, `not updated`: a test still reads the row counts it compares (a gate).
            value = dataclasses.replace(value, results=results)
        return value

    def _arithmetic(self, node: cst.BinaryOperation) -> Data:
        """`x - y`; an in-database column minus/plus an amount becomes a `Delta`."""
        left, right = self.eval(node.left), self.eval(node.right)
        merged = merge_data(left, right)
        sign = SIGNS.get(type(node.operator))
        if sign and isinstance(left, Data) and left.column_ref and not (isinstance(right, Data) and right.column_ref):
            amount = literal_number(node.right)
            return Data(merged.deps, in_database=True, delta=Delta(left.column_ref, sign, amount))
        if sign and not merged.in_database:
            # `row.f - x` computed in Python: an accumulating change of f (what lost updates lose).
            for side in (left, right) if sign == "+" else (left,):
                column = single_column(side)
                if column is not None:
                    return Data(merged.deps, delta=Delta(column, sign, literal_number(node.right)))
        return merged

    def _attribute(self, node: cst.Attribute) -> Value:
        found = self._attribute_value(node)
        if self.fields_in_test is not None:
            self.fields_in_test[id(node)] = found
        return found

    def _attribute_value(self, node: cst.Attribute) -> Value:
        base = self.eval(node.value)
        for recogniser in self.file.recognisers:
            found = recogniser.attribute(self, node, base)
            if found is not None:
                return found
        ref = base.ref if isinstance(base, Row) else RowRef(RowOrigin.PARAMETER, None, base.name) if isinstance(base, Parameter) else None
        if ref is None:
            if base is UNKNOWN and isinstance(node.value, cst.Name) and self.lookup(node.value.value) is None and self.imports.resolve_name(node.value.value) is not None:
                model = self.file.class_name(node)  # a model named through its module: `models.Bill`
                if model:
                    return ModelClass(model)
            return base if isinstance(base, Data) else UNKNOWN
        name = node.attr.value
        changes = self.state.rows.get(ref)
        assigned = changes.fields.get(name) if changes is not None else None
        if assigned is not None:
            # Assigned earlier in this function (saved or not): its value is what was assigned, not what was read.
            return assigned.seen
        if not self.may_be_column(base, name):
            return Data()
        return Data(frozenset({Dependency(ref, name)}), field_of=(base, name) if isinstance(base, Row) else None)

    def record_change(self, owner: Row | Parameter, name: str, value: IRValue, seen: Data, node: cst.CSTNode) -> None:
        """Field `name` of an in-memory row now holds `value` (reading it gives `seen`); a save writes it."""
        ref = owner.ref if isinstance(owner, Row) else RowRef(RowOrigin.PARAMETER, None, owner.name)
        changes = self.state.rows.get(ref)
        fields = dict(changes.fields) if changes is not None else {}
        fields[name] = FieldState(seen, Assignment(name, value, self.span(node)), self.may_be_column(owner, name))
        table = owner.table if isinstance(owner, Row) else changes.table if changes is not None else None
        self.state.rows[ref] = RowChanges(table, fields)
        if table is not None:
            self.emit(Change(self.span(node), self.tx, row=ref, column=name))

    def may_be_column(self, base: Value, name: str) -> bool:
        """Class constants (`self.FROZEN`) are not read from the row; on a model whose fields the
        index knows, only those fields are."""
        if name.isupper() or name.startswith("__"):
            return False
        if isinstance(base, Row):
            known = self.file.index.columns_of(base.table)
            return not known or name in known or name in {"pk", "id"} or name.removesuffix("_id") in known
        return True

    def _call(self, node: cst.Call) -> Value:
        if isinstance(node.func, cst.Name) and node.func.value in NAMED_FIELD_BUILTINS and self.lookup(node.func.value) is None:
            named = self._named_field(node, node.func.value)
            if named is not None:
                return named
        receiver = self.eval(node.func.value) if isinstance(node.func, cst.Attribute) else None
        for recogniser in self.file.recognisers:
            found = recogniser.call(self, node, receiver)
            if found is not None:
                return found
        value: Value = receiver if isinstance(receiver, Data) else Data()
        for arg in node.args:
            argument = self.eval(arg.value)
            if isinstance(argument, Query):  # list(qs), len(qs), bool(qs): the query runs here
                read = self.evaluate_query(argument, node)
                argument = Rows(read, argument.table)
                if _is_builtin_collection(node):
                    return argument
            value = merge_data(value, argument)
        if isinstance(receiver, Data) and receiver.field_of is not None and isinstance(node.func, cst.Attribute):
            self._changed_in_place(receiver, node.func.attr.value, value, node)
        return value

    def _named_field(self, node: cst.Call, builtin: str) -> Value | None:
        """`getattr(row, name)` and `setattr(row, name, value)`: the field named, read or assigned as
        `row.name` is. A name that is a parameter of the function (`_action_for_field(self, field)`)
        is the same column wherever the function uses it: it is called `{field}`. Any other name, or
        a receiver that is not a row, is plain Python (None)."""
        args = node.args
        if len(args) < 2 or any(a.keyword is not None or a.star for a in args) or (builtin == "setattr") != (len(args) == 3):
            return None
        owner = self.eval(args[0].value)
        column = self._field_name(args[1].value)
        if not isinstance(owner, (Row, Parameter)) or column is None:
            return None
        ref = owner.ref if isinstance(owner, Row) else RowRef(RowOrigin.PARAMETER, None, owner.name)
        if builtin == "setattr":
            assigned = self.eval(args[2].value)
            self.record_change(owner, column, dataclasses.replace(to_ir_value(assigned), expression=source_text(args[2].value)), Data(deps_of_value(assigned)), node)
            return Data()
        for default in args[2:]:
            self.eval(default.value)
        changes = self.state.rows.get(ref)
        assigned_before = changes.fields.get(column) if changes is not None else None
        if assigned_before is not None:
            return assigned_before.seen
        if not column.startswith("{") and not self.may_be_column(owner, column):
            return Data()
        return Data(frozenset({Dependency(ref, column)}), field_of=(owner, column) if isinstance(owner, Row) else None)

    def _field_name(self, node: cst.BaseExpression) -> str | None:
        """The field a `getattr`/`setattr` names: a string constant, or `{name}` for a parameter."""
        if isinstance(node, cst.SimpleString):
            text = text_value(node)
            return text if text and text.isidentifier() else None
        if isinstance(node, cst.Name) and isinstance(self.lookup(node.value), Parameter):
            return f"{{{node.value}}}"
        return None

    def _changed_in_place(self, field: Data, method: str | None, added: Value, node: cst.CSTNode) -> None:
        """`tags.append(t)`, `data[k] = v`, `del data[k]` on a field of a row itself (not a copy): the
        row's field is changed, computed from what was read (clarification 17), and a save writes it.
        Methods that also exist on managers and querysets (`add`, `remove`, `update`) count only on a
        column the schema declares as a JSON, array or key-value column; `method` None: an item set
        or deleted."""
        assert field.field_of is not None
        owner, name = field.field_of
        if not isinstance(owner, Row) or (method is not None and method not in IN_PLACE_METHODS):
            return
        if method is not None and method not in LIST_AND_DICT_ONLY:
            declared = self.file.index.column_decl(owner.table, name)
            if declared is None or not declared.collection:
                return
        changes = self.state.rows.get(owner.ref)
        before = changes.fields.get(name) if changes is not None else None
        deps = field.deps | (added.deps if isinstance(added, Data) else frozenset())
        if before is not None and before.pending is not None:
            deps |= before.pending.value.depends_on
        value = IRValue(ValueKind.DERIVED, deps, expression=source_text(node))
        self.record_change(owner, name, value, field, node)

    def _subscript(self, node: cst.Subscript) -> Value:
        base = self.eval(node.value)
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                self.eval(element.slice.value)
        for recogniser in self.file.recognisers:
            found = recogniser.subscript(self, node, base)
            if found is not None:
                return found
        if isinstance(base, Query):
            read = self.evaluate_query(base, node)
            return self.row_from_read(read, base.table)
        if isinstance(base, Rows):
            return self.element_of(base)
        if isinstance(base, Row) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = node.slice[0].slice.value  # a row of a SQL read taken by column name: `row["balance"]`
            name = text_value(key) if isinstance(key, cst.SimpleString) else None
            if name is not None:
                return Data(frozenset({Dependency(base.ref, name)}))
        if isinstance(base, Record) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            key = node.slice[0].slice.value
            if isinstance(key, cst.Integer):
                return base.item(int(key.value))
            if isinstance(key, cst.SimpleString) and (name := text_value(key)) is not None:
                return base.item(name)
            return Data(frozenset({Dependency(base.ref, None)}))
        if isinstance(base, Pair):
            return UNKNOWN
        return base if isinstance(base, Data) else UNKNOWN


def to_ir_value(value: Value) -> IRValue:
    """How a value written to a column was computed, in IR terms."""
    if isinstance(value, Data):
        if value.in_database:
            return IRValue(ValueKind.IN_DATABASE, value.deps, value.delta)
        return IRValue(ValueKind.DERIVED if value.deps else ValueKind.INDEPENDENT, value.deps, value.delta if value.deps else None)
    if isinstance(value, Row):
        return IRValue(ValueKind.DERIVED, value.dependencies())
    if isinstance(value, Record):
        return IRValue(ValueKind.DERIVED, frozenset({Dependency(value.ref, None)}))
    return IRValue(ValueKind.UNKNOWN)


_TESTS_OF_COUNTS = (cst.Comparison, cst.UnaryOperation, cst.BooleanOperation)
NAMED_FIELD_BUILTINS = frozenset({"getattr", "setattr"})


def deps_of_value(value: Value) -> frozenset[Dependency]:
    return merge_data(value, None).deps


def merge_data(left: Value | None, right: Value | None) -> Data:
    """The value of an expression combining `left` and `right` (arithmetic, calls)."""
    deps: set[Dependency] = set()
    in_database = False
    for side in (left, right):
        if isinstance(side, Data):
            deps |= side.deps
            in_database |= side.in_database
        elif isinstance(side, Row):
            deps |= side.dependencies()
        elif isinstance(side, Record):
            deps.add(Dependency(side.ref, None))
    return Data(frozenset(deps), in_database=in_database)


def single_column(value: Value | None) -> str | None:
    """The column a value is, when it is exactly one column of one row (`row.f`)."""
    if isinstance(value, Data) and len(value.deps) == 1:
        return next(iter(value.deps)).column
    return None


def literal_number(node: cst.BaseExpression) -> float | None:
    if isinstance(node, (cst.Integer, cst.Float)):
        return float(node.evaluated_value)
    return None


def _is_builtin_collection(node: cst.Call) -> bool:
    return isinstance(node.func, cst.Name) and node.func.value in {"list", "tuple", "set", "sorted", "reversed"}


def _child_expressions(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    """Direct sub-expressions of `node` (through non-expression wrappers such as `Arg`), in source order."""
    for child in children(node):
        if isinstance(child, cst.BaseExpression):
            yield child
        elif not isinstance(child, (cst.BaseStatement, cst.BaseSuite)):
            yield from _child_expressions(child)
