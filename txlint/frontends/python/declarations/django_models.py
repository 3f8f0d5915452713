"""Pass 1, Django: the model classes a module declares, with the constraints the rules ask about.

Fields and their uniqueness (`unique=True`, `primary_key=True`, a
`OneToOneField`), `Positive*Field`s (a lower bound of 0), and `class Meta`:
`db_table`, `unique_together`, `UniqueConstraint` (unconditional only) and
`CheckConstraint(check=Q(c__gte=0))`.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from txlint.core.index import ColumnDecl, TableDecl
from txlint.frontends.python.imports import ImportTable, dotted_name, keyword_arg

MODEL_BASE = "django.db.models.Model"
POSITIVE_FIELDS = {"PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"}


def table_decls(module: cst.Module, imports: ImportTable, path: str, line_of: dict[cst.CSTNode, int]) -> list[TableDecl]:
    """Pass 1: the Django model classes this module declares."""
    decls: list[TableDecl] = []
    for statement in module.body:
        if not isinstance(statement, cst.ClassDef):
            continue
        bases = tuple(b for b in (dotted_name(arg.value) for arg in statement.bases if arg.keyword is None) if b)
        is_root = any(imports.resolve(arg.value) == MODEL_BASE for arg in statement.bases if arg.keyword is None)
        columns, meta = _fields(statement), _meta(statement)
        decls.append(
            TableDecl(
                name=statement.name.value,
                table=meta.table or statement.name.value,
                path=path,
                line=line_of.get(statement, 1),
                bases=tuple(b.rsplit(".", 1)[-1] for b in bases),
                is_root=is_root,
                columns=columns,
                unique_sets=meta.unique_sets,
                non_negative=meta.non_negative,
            )
        )
    return decls


def _assignments(body: cst.BaseSuite) -> list[tuple[str, cst.BaseExpression]]:
    """`name = value` statements directly in a class body."""
    found = []
    for statement in body.body if isinstance(body, cst.IndentedBlock) else ():
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    found.append((small.targets[0].target.value, small.value))
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
                    found.append((small.target.value, small.value))
    return found


def _fields(cls: cst.ClassDef) -> tuple[ColumnDecl, ...]:
    columns: list[ColumnDecl] = []
    for name, value in _assignments(cls.body):
        field_type = dotted_name(value.func) if isinstance(value, cst.Call) else None
        if field_type is None or not (field_type.endswith(("Field", "Key"))):
            continue
        unique = keyword_arg(value, "unique") if isinstance(value, cst.Call) else None
        primary = keyword_arg(value, "primary_key") if isinstance(value, cst.Call) else None
        columns.append(
            ColumnDecl(
                name=name,
                unique=_is_true(unique) or _is_true(primary) or field_type.endswith("OneToOneField"),
                non_negative=field_type.rsplit(".", 1)[-1] in POSITIVE_FIELDS,
            )
        )
    return tuple(columns)


@dataclass(frozen=True)
class _Meta:
    table: str | None = None
    unique_sets: tuple[tuple[str, ...], ...] = ()
    non_negative: tuple[str, ...] = ()


def _meta(cls: cst.ClassDef) -> _Meta:
    """`class Meta`: db_table, unique_together, UniqueConstraint and CheckConstraint(col__gte=0)."""
    meta = next((s for s in cls.body.body if isinstance(s, cst.ClassDef) and s.name.value == "Meta"), None)
    if meta is None:
        return _Meta()
    table: str | None = None
    unique_sets: list[tuple[str, ...]] = []
    non_negative: list[str] = []
    for name, value in _assignments(meta.body):
        if name == "db_table" and isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
            table = value.evaluated_value
        elif name == "unique_together":
            unique_sets += _unique_together(value)
        elif name == "constraints" and isinstance(value, (cst.List, cst.Tuple)):
            for element in value.elements:
                constraint = element.value
                if not isinstance(constraint, cst.Call):
                    continue
                kind = (dotted_name(constraint.func) or "").rsplit(".", 1)[-1]
                if kind == "UniqueConstraint":
                    fields = _string_list(keyword_arg(constraint, "fields") or cst.List([]))
                    if fields and keyword_arg(constraint, "condition") is None:
                        unique_sets.append(tuple(fields))
                elif kind == "CheckConstraint":
                    non_negative += _non_negative_checks(keyword_arg(constraint, "check") or keyword_arg(constraint, "condition"))
    return _Meta(table, tuple(unique_sets), tuple(non_negative))


def _unique_together(value: cst.BaseExpression) -> list[tuple[str, ...]]:
    if not isinstance(value, (cst.List, cst.Tuple)):
        return []
    flat = _string_list(value)
    if flat:
        return [tuple(flat)]
    sets = [_string_list(e.value) for e in value.elements]
    return [tuple(s) for s in sets if s]


def _non_negative_checks(check: cst.BaseExpression | None) -> list[str]:
    """`Q(balance__gte=0)` (also `__gt=0`) as a non-negative column."""
    if not isinstance(check, cst.Call):
        return []
    found = []
    for arg in check.args:
        if arg.keyword is None:
            found += _non_negative_checks(arg.value)
            continue
        column, _, lookup = arg.keyword.value.partition("__")
        if lookup in {"gte", "gt"} and isinstance(arg.value, cst.Integer) and int(arg.value.value) == 0:
            found.append(column)
    return found


def _string_list(node: cst.BaseExpression) -> list[str] | None:
    """The field names of a literal `update_fields=[...]`; None when not literal."""
    if not isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return None
    names: list[str] = []
    for element in node.elements:
        if not isinstance(element.value, cst.SimpleString) or not isinstance(element.value.evaluated_value, str):
            return None
        names.append(element.value.evaluated_value)
    return names


def _is_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"
