"""Pass 1, SQLAlchemy: declarative bases and the classes they map, with their constraints.

`__tablename__`, columns (`mapped_column`/`Column` with `unique` or
`primary_key`), `__table_args__` (`UniqueConstraint`, `CheckConstraint("c >= 0")`)
and `__mapper_args__["version_id_col"]`.
"""

from __future__ import annotations

import libcst as cst

from txlint.core.index import ColumnDecl, TableDecl
from txlint.frontends.python.imports import ImportTable, dotted_name, keyword_arg

DECLARATIVE_BASES = {"sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta"}
DECLARATIVE_FACTORIES = {"sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base"}


def table_decls(module: cst.Module, imports: ImportTable, path: str, line_of: dict[cst.CSTNode, int]) -> list[TableDecl]:
    """Pass 1: declarative bases and mapped classes (`__tablename__`, unique, CHECK, `version_id_col`)."""
    decls: list[TableDecl] = []
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign)
                    and isinstance(small.value, cst.Call)
                    and imports.resolve(small.value.func) in DECLARATIVE_FACTORIES
                    and isinstance(small.targets[0].target, cst.Name)
                ):
                    name = small.targets[0].target.value
                    decls.append(TableDecl(name, name, path, 1, is_root=True))
        if not isinstance(statement, cst.ClassDef):
            continue
        is_root = any(imports.resolve(arg.value) in DECLARATIVE_BASES for arg in statement.bases)
        bases = tuple((dotted_name(a.value) or "").rsplit(".", 1)[-1] for a in statement.bases if a.keyword is None)
        facts = _class_facts(statement)
        if not is_root and facts.table is None:
            continue  # not a mapped class as far as this file can tell (Django models are read elsewhere)
        decls.append(
            TableDecl(
                name=statement.name.value,
                table=facts.table or statement.name.value,
                path=path,
                line=line_of.get(statement, 1),
                bases=tuple(b for b in bases if b),
                is_root=is_root,
                columns=facts.columns,
                version_column=facts.version,
                non_negative=facts.non_negative,
                unique_sets=facts.unique_sets,
            )
        )
    return decls


class _ClassFacts:
    def __init__(self) -> None:
        self.table: str | None = None
        self.version: str | None = None
        self.columns: tuple[ColumnDecl, ...] = ()
        self.non_negative: tuple[str, ...] = ()
        self.unique_sets: tuple[tuple[str, ...], ...] = ()


def _class_facts(cls: cst.ClassDef) -> _ClassFacts:
    facts = _ClassFacts()
    columns: list[ColumnDecl] = []
    for statement in cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ():
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            target = small.targets[0].target if isinstance(small, cst.Assign) else small.target if isinstance(small, cst.AnnAssign) else None
            value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
            if not isinstance(target, cst.Name) or value is None:
                continue
            name = target.value
            if name == "__tablename__" and isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
                facts.table = value.evaluated_value
            elif name == "__mapper_args__" and isinstance(value, cst.Dict):
                facts.version = _version_id_col(value)
            elif name == "__table_args__":
                facts.non_negative, facts.unique_sets = _table_args(value)
            elif isinstance(value, cst.Call) and (dotted_name(value.func) or "").rsplit(".", 1)[-1] in {"mapped_column", "Column"}:
                unique = keyword_arg(value, "unique") or keyword_arg(value, "primary_key")
                columns.append(ColumnDecl(name, unique=isinstance(unique, cst.Name) and unique.value == "True"))
    facts.columns = tuple(columns)
    return facts


def _version_id_col(mapping: cst.Dict) -> str | None:
    for element in mapping.elements:
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString) and element.key.evaluated_value == "version_id_col":
            return (dotted_name(element.value) or "").rsplit(".", 1)[-1] or None
    return None


def _table_args(value: cst.BaseExpression) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """`CheckConstraint("balance >= 0")` and `UniqueConstraint("a", "b")` in `__table_args__`."""
    non_negative: list[str] = []
    unique_sets: list[tuple[str, ...]] = []
    elements = value.elements if isinstance(value, (cst.Tuple, cst.List)) else ()
    for element in elements:
        call = element.value
        if not isinstance(call, cst.Call):
            continue
        kind = (dotted_name(call.func) or "").rsplit(".", 1)[-1]
        strings = [a.value.evaluated_value for a in call.args if a.keyword is None and isinstance(a.value, cst.SimpleString)]
        if kind == "CheckConstraint" and strings:
            parts = str(strings[0]).split()
            if len(parts) == 3 and parts[1] in {">=", ">"} and parts[2] == "0":
                non_negative.append(parts[0])
        elif kind == "UniqueConstraint" and strings:
            unique_sets.append(tuple(str(s) for s in strings))
    return tuple(non_negative), tuple(unique_sets)
