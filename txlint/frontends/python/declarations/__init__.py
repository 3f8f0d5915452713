"""Pass 1, read off CPython's tree: the tables a module declares (Django models, SQLAlchemy mapped
classes and `Table` objects) and its entries of the project symbol table, for the project index."""

from __future__ import annotations

import ast

from txlint.core.index import TableDecl
from txlint.frontends.python.declarations import django_models, sqlalchemy_models, sqlalchemy_tables
from txlint.frontends.python.declarations.symbols import settings, symbols
from txlint.frontends.python.imports import ImportTable

__all__ = ["settings", "symbols", "table_decls"]


def table_decls(tree: ast.Module, imports: ImportTable, path: str) -> list[TableDecl]:
    """Every model or mapped class the module declares; a class SQLAlchemy maps (it names its
    table) is not also read as a Django model."""
    mapped = sqlalchemy_models.table_decls(tree, imports, path)
    names = {decl.name for decl in mapped}
    return mapped + sqlalchemy_tables.table_decls(tree, imports, path) + [d for d in django_models.table_decls(tree, imports, path) if d.name not in names]
