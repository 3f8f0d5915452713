"""Pass 1: the tables a module declares, for the project index (Django models, SQLAlchemy mapped classes)."""

from __future__ import annotations

import libcst as cst

from txlint.core.index import TableDecl
from txlint.frontends.python.declarations import django_models, sqlalchemy_models
from txlint.frontends.python.imports import ImportTable


def table_decls(module: cst.Module, imports: ImportTable, path: str) -> list[TableDecl]:
    """Every model or mapped class the module declares; a class SQLAlchemy maps (it names its
    table) is not also read as a Django model."""
    lines: dict[cst.CSTNode, int] = {}  # declaration lines are not needed by any rule; not worth a position pass
    mapped = sqlalchemy_models.table_decls(module, imports, path, lines)
    names = {decl.name for decl in mapped}
    return mapped + [d for d in django_models.table_decls(module, imports, path, lines) if d.name not in names]
