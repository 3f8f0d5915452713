"""Pass 1: a module's entries of the project symbol table (`ProjectIndex.set_symbols`), read off CPython's tree.

Imports: what the names a module imports stand for, for the modules that
import them from it (a chain of re-exports: `from .db import AsyncSession`
where `db.py` imports SQLModel's), kept only when they lead to a library a
recogniser knows or on into the project. Instances: a module-level
`name = Class(...)` (`cache = CTFdCache()`), also of the classes with lower-case
names that make sessions (`SessionLocal = sessionmaker(bind=engine)`,
`scoped_session(...)`). Type aliases: `SessionDep = Annotated[Session, Depends(get_db)]`
stands for its type, like an import of it. Bases: the first base of each
module-level class. Settings: framework settings the file turns on.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from txlint.core.summaries import Symbol, SymbolKind, module_of
from txlint.frontends.python.declarations.syntax import dotted, positional
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.recognisers import RECOGNISERS
from txlint.frontends.python.recognisers.sqlalchemy_sessions import ANNOTATED, SCOPED_SESSIONS, SESSION_FACTORIES

# The top-level packages of the libraries the recognisers know: a project name that re-exports one
# of theirs is followed to it.
LIBRARIES = frozenset(name.split(".", 1)[0] for recogniser in RECOGNISERS for name in recogniser.names) | {"sqlmodel"}
LOWER_CASE_CLASSES = SESSION_FACTORIES | SCOPED_SESSIONS  # classes whose instances count, though their names are not capitalised
_ATOMIC_REQUESTS = re.compile(r"""["']?ATOMIC_REQUESTS["']?\s*[:=]\s*True""")


def settings(text: str) -> list[Symbol]:
    """The framework settings a file turns on, read off its text (a settings module often
    mentions nothing else txlint parses a file for)."""
    return [Symbol(SymbolKind.SETTING, "ATOMIC_REQUESTS", "True")] if _ATOMIC_REQUESTS.search(text) else []


def symbols(path: str, text: str, tree: ast.Module, imports: ImportTable, root: Path) -> list[Symbol]:
    """The module's symbols (see the module's docstring); `imports` is `ImportTable.of_tree(tree)`."""
    module, is_package = module_of(path, root)
    top = module.split(".", 1)[0]
    found = [
        Symbol(SymbolKind.IMPORT, name, target)
        for name, target in imports.project_names(module, is_package)
        if target.split(".", 1)[0] in LIBRARIES or target.split(".", 1)[0] == top
    ]
    found += settings(text)
    resolving = imports.for_project(module, is_package, lambda name: None, lambda name: False)
    classes = {s.name for s in tree.body if isinstance(s, ast.ClassDef)}

    def named(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name) and node.id in classes:
            return f"{module}.{node.id}"
        return resolving.resolve_name(dotted(node))

    for statement in tree.body:
        if isinstance(statement, ast.ClassDef):
            bases = positional(statement)
            base = named(bases[0]) if bases else None
            if base is not None:
                found.append(Symbol(SymbolKind.BASE, f"{module}.{statement.name}", base))
        elif (assigned := _assigned(statement)) is not None and isinstance(assigned[1], ast.Call):
            target = named(assigned[1].func)
            if target is not None and (target.rsplit(".", 1)[-1][:1].isupper() or target in LOWER_CASE_CLASSES):
                found.append(Symbol(SymbolKind.INSTANCE, f"{module}.{assigned[0]}", target))
        elif assigned is not None and isinstance(alias := assigned[1], ast.Subscript) and named(alias.value) in ANNOTATED:
            aliased = named(alias.slice.elts[0] if isinstance(alias.slice, ast.Tuple) and alias.slice.elts else alias.slice)
            if aliased is not None and aliased.split(".", 1)[0] in LIBRARIES:
                found.append(Symbol(SymbolKind.IMPORT, f"{module}.{assigned[0]}", aliased))
    return found


def _assigned(statement: ast.stmt) -> tuple[str, ast.expr] | None:
    """`name = value` or `name: T = value` at module level."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id, statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value is not None:
        return statement.target.id, statement.value
    return None
