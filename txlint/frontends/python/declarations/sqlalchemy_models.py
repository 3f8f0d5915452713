"""Pass 1, SQLAlchemy: declarative bases and the classes they map, with their constraints.

`__tablename__`, columns (`mapped_column`/`Column` with `unique` or
`primary_key`), `__table_args__` (`UniqueConstraint`, `CheckConstraint("c >= 0")`)
and `__mapper_args__["version_id_col"]`.
"""

from __future__ import annotations

import ast

from txlint.core.index import ColumnDecl, TableDecl
from txlint.frontends.python.declarations.syntax import dotted, is_true, keyword, last_part, module_statements, positional, text
from txlint.frontends.python.imports import ImportTable

DECLARATIVE_BASES = {"sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta"}
SQLMODEL = "sqlmodel.SQLModel"  # a table when declared with `table=True`; its columns are `Field(...)` or annotations
DECLARATIVE_FACTORIES = {"sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base"}


def table_decls(tree: ast.Module, imports: ImportTable, path: str) -> list[TableDecl]:
    """Pass 1: declarative bases and mapped classes (`__tablename__`, unique, CHECK, `version_id_col`)."""
    decls: list[TableDecl] = []
    for statement in module_statements(tree.body):
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.value, ast.Call)
            and imports.resolve_name(dotted(statement.value.func)) in DECLARATIVE_FACTORIES
            and isinstance(statement.targets[0], ast.Name)
        ):
            name = statement.targets[0].id
            decls.append(TableDecl(name, name, path, 1, is_root=True))
        if not isinstance(statement, ast.ClassDef):
            continue
        sqlmodel_table = _sqlmodel_table(statement, imports)
        is_root = sqlmodel_table or any(imports.resolve_name(dotted(base)) in DECLARATIVE_BASES for base in positional(statement))
        bases = tuple(last_part(base) for base in positional(statement))
        facts = _class_facts(statement, annotated_columns=sqlmodel_table)
        if not is_root and facts.table is None:
            continue  # not a mapped class as far as this file can tell (Django models are read elsewhere)
        decls.append(
            TableDecl(
                name=statement.name,
                table=facts.table or (statement.name.lower() if sqlmodel_table else statement.name),
                path=path,
                line=1,  # declaration lines are not needed by any rule
                bases=tuple(b for b in bases if b),
                is_root=is_root,
                columns=facts.columns,
                version_column=facts.version,
                non_negative=facts.non_negative,
                unique_sets=facts.unique_sets,
            )
        )
    return decls


def _sqlmodel_table(cls: ast.ClassDef, imports: ImportTable) -> bool:
    """`class Hero(SQLModel, table=True)`: SQLModel maps the class to a table."""
    table = next((k.value for k in cls.keywords if k.arg == "table"), None)
    return is_true(table) and any(imports.resolve_name(dotted(base)) == SQLMODEL for base in positional(cls))


class _ClassFacts:
    def __init__(self) -> None:
        self.table: str | None = None
        self.version: str | None = None
        self.columns: tuple[ColumnDecl, ...] = ()
        self.non_negative: tuple[str, ...] = ()
        self.unique_sets: tuple[tuple[str, ...], ...] = ()


def _class_facts(cls: ast.ClassDef, annotated_columns: bool = False) -> _ClassFacts:
    """The table, columns and constraints a class declares; `annotated_columns`: every annotated
    attribute is a column (SQLModel), `Field(...)` among them."""
    facts = _ClassFacts()
    columns: list[ColumnDecl] = []
    column_calls = {"mapped_column", "Column", "Field"} if annotated_columns else {"mapped_column", "Column"}
    for statement in cls.body:
        target: ast.expr
        value: ast.expr | None
        if isinstance(statement, ast.Assign):
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign):
            target, value = statement.target, statement.value
        else:
            continue
        is_column = isinstance(value, ast.Call) and last_part(value.func) in column_calls
        if annotated_columns and isinstance(statement, ast.AnnAssign) and isinstance(target, ast.Name) and not target.id.startswith("_") and not is_column:
            if not _is_relationship(value):
                columns.append(ColumnDecl(target.id))  # `name: str` or `name: str = "x"` in a SQLModel table
            continue
        if not isinstance(target, ast.Name) or value is None:
            continue
        name = target.id
        if name == "__tablename__" and text(value) is not None:
            facts.table = text(value)
        elif name == "__mapper_args__" and isinstance(value, ast.Dict):
            facts.version = _version_id_col(value)
        elif name == "__table_args__":
            facts.non_negative, facts.unique_sets = _table_args(value)
        elif isinstance(value, ast.Call) and is_column:
            unique = keyword(value, "unique") or keyword(value, "primary_key")
            columns.append(ColumnDecl(name, unique=is_true(unique)))
    facts.columns = tuple(columns)
    return facts


def _is_relationship(value: ast.expr | None) -> bool:
    return isinstance(value, ast.Call) and last_part(value.func) == "Relationship"


def _version_id_col(mapping: ast.Dict) -> str | None:
    for key, value in zip(mapping.keys, mapping.values, strict=True):
        if text(key) == "version_id_col":
            return last_part(value) or None
    return None


def _table_args(value: ast.expr) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """`CheckConstraint("balance >= 0")` and `UniqueConstraint("a", "b")` in `__table_args__`."""
    non_negative: list[str] = []
    unique_sets: list[tuple[str, ...]] = []
    elements = value.elts if isinstance(value, (ast.Tuple, ast.List)) else []
    for call in elements:
        if not isinstance(call, ast.Call):
            continue
        kind = last_part(call.func)
        found = [text(argument) for argument in positional(call)]
        literal = [value for value in found if value is not None]
        if kind == "CheckConstraint" and literal:
            parts = literal[0].split()
            if len(parts) == 3 and parts[1] in {">=", ">"} and parts[2] == "0":
                non_negative.append(parts[0])
        elif kind == "UniqueConstraint" and literal:
            unique_sets.append(tuple(literal))
    return tuple(non_negative), tuple(unique_sets)
