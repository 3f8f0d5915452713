"""Pass 1, SQLAlchemy Core: module-level `Table` objects and engines.

`wallets = Table("wallets", metadata, Column("id", Integer, primary_key=True), Column("balance",
Integer, CheckConstraint("balance >= 0")), UniqueConstraint("owner", "currency"))` declares the table
`wallets`: its columns, its keys (a primary key or a unique column, `UniqueConstraint`,
`PrimaryKeyConstraint`, a unique `Index`) and its CHECK (c >= 0) constraints. The declaration is
filed under the name the module binds it to, which the recogniser finds it by
(`recognisers.sqlalchemy_core.evidence`). A class mapped to a `Table` (`__table__ = Table(...)` in
its body) is declared under the class's name, with its bases (it is a model like any other).

`engine = create_engine(url, isolation_level="AUTOCOMMIT")` is an engine whose connections are in
autocommit: the project symbol table files it (`engines`), so the modules importing it know.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import replace

from txlint.core.index import ColumnDecl, TableDecl
from txlint.frontends.python.declarations.sqlalchemy_models import _table_args
from txlint.frontends.python.declarations.syntax import dotted, is_true, keyword, last_part, module_statements, positional, text
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.recognisers.sqlalchemy_core.names import AUTOCOMMIT, AUTOCOMMIT_ENGINE, ENGINE, ENGINE_FACTORIES, TABLE_TYPES

CONSTRAINTS = frozenset({"UniqueConstraint", "CheckConstraint", "PrimaryKeyConstraint", "Index"})


def table_decls(tree: ast.Module, imports: ImportTable, path: str) -> list[TableDecl]:
    """The module-level `Table(...)` objects of a module, each under the name it is bound to, and the
    classes mapped to one (`__table__ = Table(...)` in the class body), under the class's name."""
    decls = []
    for target, value in _bindings(tree):
        found = _table(value, imports, target, path)
        if found is not None:
            decls.append(found)
    for statement in module_statements(tree.body):
        if not isinstance(statement, ast.ClassDef):
            continue
        for member in statement.body:
            if isinstance(member, ast.Assign) and [dotted(t) for t in member.targets] == ["__table__"] and isinstance(member.value, ast.Call):
                mapped = _table(member.value, imports, statement.name, path)
                if mapped is not None:
                    bases = tuple(b for b in (last_part(base) for base in positional(statement)) if b)
                    decls.append(replace(mapped, bases=bases))
    return decls


def _table(call: ast.Call, imports: ImportTable, name: str, path: str) -> TableDecl | None:
    """The declaration of `Table("table", metadata, ...)` bound to `name`; None for any other call."""
    if imports.resolve_name(dotted(call.func)) not in TABLE_TYPES:
        return None
    args = positional(call)
    table = text(args[0]) if args else None
    if table is None:
        return None
    columns, unique_sets, non_negative = _schema(args[1:])
    # A table read from the database (`autoload_with=engine`) has constraints this code does not show.
    reflected = keyword(call, "autoload_with") is not None or is_true(keyword(call, "autoload"))
    complete = bool(columns) and not reflected
    return TableDecl(name, table, path, call.lineno, columns=columns, unique_sets=unique_sets, non_negative=non_negative, complete=complete)


def _schema(items: list[ast.expr]) -> tuple[tuple[ColumnDecl, ...], tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """The columns, unique column sets and non-negative columns the arguments of `Table(...)` after
    its name declare. A primary key of several columns is unique as a whole, not column by column."""
    columns: list[tuple[str, bool, bool]] = []  # name, unique, part of the primary key
    constraints: list[ast.expr] = []
    for item in items:
        if not isinstance(item, ast.Call):
            continue
        kind = last_part(item.func)
        if kind == "Column":
            args = positional(item)
            name = text(args[0]) if args else None
            if name is not None:
                columns.append((name, is_true(keyword(item, "unique")), is_true(keyword(item, "primary_key"))))
                constraints += [a for a in args[1:] if isinstance(a, ast.Call) and last_part(a.func) == "CheckConstraint"]
        elif kind in CONSTRAINTS:
            constraints.append(item)
    keys = [name for name, _, key in columns if key]
    checks: list[ast.expr] = [c for c in constraints if isinstance(c, ast.Call) and last_part(c.func) != "Index"]
    non_negative, unique_sets = _table_args(ast.Tuple(elts=checks, ctx=ast.Load()))
    unique_sets += tuple(_unique_indexes(constraints))
    if len(keys) > 1:
        unique_sets += (tuple(keys),)
    decls = tuple(ColumnDecl(name, unique=unique or (key and len(keys) == 1)) for name, unique, key in columns)
    return decls, tuple(unique_sets), tuple(non_negative)


def _unique_indexes(constraints: list[ast.expr]) -> Iterator[tuple[str, ...]]:
    """`PrimaryKeyConstraint("a", "b")` and `Index("ix", "a", "b", unique=True)`."""
    for call in constraints:
        if not isinstance(call, ast.Call):
            continue
        kind = last_part(call.func)
        names = [found for argument in positional(call) if (found := text(argument)) is not None]
        if kind == "PrimaryKeyConstraint" and names:
            yield tuple(names)
        elif kind == "Index" and is_true(keyword(call, "unique")) and len(names) > 1:
            yield tuple(names[1:])


def instances(tree: ast.Module, imports: ImportTable) -> Iterator[tuple[str, str]]:
    """`(name, kind)` of each module-level `Table` (its class) and engine: `create_engine(...)`, or
    `engine.execution_options(...)` of one bound before; `kind` says whether its connections are in
    autocommit."""
    autocommit: dict[str, bool] = {}
    for target, value in _bindings(tree):
        called = imports.resolve_name(dotted(value.func))
        if called in TABLE_TYPES:
            yield target, called
            continue
        if called in ENGINE_FACTORIES:
            autocommit[target] = _asks_autocommit(value, False)
        elif isinstance(value.func, ast.Attribute) and value.func.attr == "execution_options" and isinstance(value.func.value, ast.Name):
            base = autocommit.get(value.func.value.id)
            if base is None:
                continue
            autocommit[target] = _asks_autocommit(value, base)
        else:
            continue
        yield target, AUTOCOMMIT_ENGINE if autocommit[target] else ENGINE


def _asks_autocommit(call: ast.Call, default: bool) -> bool:
    """`isolation_level="AUTOCOMMIT"` (or in an `execution_options={...}` mapping); another level: no."""
    level = keyword(call, "isolation_level")
    options = keyword(call, "execution_options")
    if level is None and isinstance(options, ast.Dict):
        level = next((v for k, v in zip(options.keys, options.values, strict=True) if text(k) == "isolation_level"), None)
    if level is None:
        return default
    found = text(level)
    return found is not None and found.upper() == AUTOCOMMIT


def _bindings(tree: ast.Module) -> Iterator[tuple[str, ast.Call]]:
    """Module-level `name = call(...)` and `name: T = call(...)`."""
    for statement in module_statements(tree.body):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name) and isinstance(value, ast.Call):
            yield target.id, value
