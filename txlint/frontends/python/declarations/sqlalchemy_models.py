"""Pass 1, SQLAlchemy: declarative bases and the classes they map, with their constraints.

`__tablename__`, columns (`mapped_column`/`Column` with `unique` or
`primary_key`), `__table_args__` (`UniqueConstraint`, `CheckConstraint("c >= 0")`)
and `__mapper_args__["version_id_col"]`.
"""

from __future__ import annotations

import libcst as cst

from txlint.core.index import ColumnDecl, TableDecl
from txlint.frontends.python.declarations.statements import module_statements
from txlint.frontends.python.imports import ImportTable, dotted_name, keyword_arg

DECLARATIVE_BASES = {"sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta"}
SQLMODEL = "sqlmodel.SQLModel"  # a table when declared with `table=True`; its columns are `Field(...)` or annotations
DECLARATIVE_FACTORIES = {"sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base"}


def table_decls(module: cst.Module, imports: ImportTable, path: str, line_of: dict[cst.CSTNode, int]) -> list[TableDecl]:
    """Pass 1: declarative bases and mapped classes (`__tablename__`, unique, CHECK, `version_id_col`)."""
    decls: list[TableDecl] = []
    for statement in module_statements(module.body):
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
        sqlmodel_table = _sqlmodel_table(statement, imports)
        is_root = sqlmodel_table or any(imports.resolve(arg.value) in DECLARATIVE_BASES for arg in statement.bases)
        bases = tuple((dotted_name(a.value) or "").rsplit(".", 1)[-1] for a in statement.bases if a.keyword is None)
        facts = _class_facts(statement, annotated_columns=sqlmodel_table)
        if not is_root and facts.table is None:
            continue  # not a mapped class as far as this file can tell (Django models are read elsewhere)
        decls.append(
            TableDecl(
                name=statement.name.value,
                table=facts.table or (statement.name.value.lower() if sqlmodel_table else statement.name.value),
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


def _sqlmodel_table(cls: cst.ClassDef, imports: ImportTable) -> bool:
    """`class Hero(SQLModel, table=True)`: SQLModel maps the class to a table."""
    table = next((arg.value for arg in (*cls.keywords, *cls.bases) if arg.keyword is not None and arg.keyword.value == "table"), None)
    return isinstance(table, cst.Name) and table.value == "True" and any(imports.resolve(arg.value) == SQLMODEL for arg in cls.bases if arg.keyword is None)


class _ClassFacts:
    def __init__(self) -> None:
        self.table: str | None = None
        self.version: str | None = None
        self.columns: tuple[ColumnDecl, ...] = ()
        self.non_negative: tuple[str, ...] = ()
        self.unique_sets: tuple[tuple[str, ...], ...] = ()


def _class_facts(cls: cst.ClassDef, annotated_columns: bool = False) -> _ClassFacts:
    """The table, columns and constraints a class declares; `annotated_columns`: every annotated
    attribute is a column (SQLModel), `Field(...)` among them."""
    facts = _ClassFacts()
    columns: list[ColumnDecl] = []
    column_calls = {"mapped_column", "Column", "Field"} if annotated_columns else {"mapped_column", "Column"}
    for statement in cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ():
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            target = small.targets[0].target if isinstance(small, cst.Assign) else small.target if isinstance(small, cst.AnnAssign) else None
            value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
            annotated = annotated_columns and isinstance(small, cst.AnnAssign) and isinstance(target, cst.Name) and not target.value.startswith("_")
            if annotated and isinstance(target, cst.Name) and not (isinstance(value, cst.Call) and (dotted_name(value.func) or "").rsplit(".", 1)[-1] in column_calls):
                if not _is_relationship(value):
                    columns.append(ColumnDecl(target.value))  # `name: str` or `name: str = "x"` in a SQLModel table
                continue
            if not isinstance(target, cst.Name) or value is None:
                continue
            name = target.value
            if name == "__tablename__" and isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
                facts.table = value.evaluated_value
            elif name == "__mapper_args__" and isinstance(value, cst.Dict):
                facts.version = _version_id_col(value)
            elif name == "__table_args__":
                facts.non_negative, facts.unique_sets = _table_args(value)
            elif isinstance(value, cst.Call) and (dotted_name(value.func) or "").rsplit(".", 1)[-1] in column_calls:
                unique = keyword_arg(value, "unique") or keyword_arg(value, "primary_key")
                columns.append(ColumnDecl(name, unique=isinstance(unique, cst.Name) and unique.value == "True"))
    facts.columns = tuple(columns)
    return facts


def _is_relationship(value: cst.BaseExpression | None) -> bool:
    return isinstance(value, cst.Call) and (dotted_name(value.func) or "").rsplit(".", 1)[-1] == "Relationship"


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
