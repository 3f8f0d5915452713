"""Pass 1: a module's entries of the project symbol table (`ProjectIndex.set_symbols`), read off CPython's tree.

Imports: what the names a module imports stand for, for the modules that
import them from it (a chain of re-exports: `from .db import AsyncSession`
where `db.py` imports SQLModel's), kept only when they lead to a library a
recogniser knows or on into the project. Instances: a module-level
`name = Class(...)` (`cache = CTFdCache()`), also of the classes with lower-case
names that make sessions (`SessionLocal = sessionmaker(bind=engine)`,
`scoped_session(...)`), a driver's connection or pool (`conn = sqlite3.connect(...)`,
`pool: asyncpg.Pool | None = None`), and SQLAlchemy's `Table`s and engines
(`engine = create_engine(...)`, `declarations.sqlalchemy_tables`). Type aliases:
`SessionDep = Annotated[Session, Depends(get_db)]` stands for its type, like an import of it.
Bases: the first base of each
module-level class; classes and members: `declarations.class_members`. Settings: framework settings the file turns on.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from txlint.core.summaries import Symbol, SymbolKind, module_of
from txlint.frontends.python.declarations import sqlalchemy_tables
from txlint.frontends.python.declarations.class_members import class_members
from txlint.frontends.python.declarations.syntax import dotted, positional
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.recognisers import RECOGNISERS
from txlint.frontends.python.recognisers.dbapi_models import ANNOTATIONS, FACTORIES
from txlint.frontends.python.recognisers.sqlalchemy_sessions import ANNOTATED, SCOPED_SESSIONS, SESSION_FACTORIES

# The top-level packages of the libraries the recognisers know: a project name that re-exports one
# of theirs is followed to it.
LIBRARIES = frozenset(name.split(".", 1)[0] for recogniser in RECOGNISERS for name in recogniser.names) | {"sqlmodel"}
LOWER_CASE_CLASSES = SESSION_FACTORIES | SCOPED_SESSIONS | FACTORIES.keys()  # classes and factories whose instances count, though their names are not capitalised
NEW_TYPES = {"typing.NewType", "typing_extensions.NewType"}
_ATOMIC_REQUESTS = re.compile(r"""["']?ATOMIC_REQUESTS["']?\s*[:=]\s*True""")
# Flask-Caching's default timeout set to 0: an add/set without `timeout` never expires
# (`CACHE_DEFAULT_TIMEOUT = 0`, `{"CACHE_DEFAULT_TIMEOUT": 0}`, `config["CACHE_DEFAULT_TIMEOUT"] = 0`,
# `config.setdefault("CACHE_DEFAULT_TIMEOUT", 0)`).
_NO_CACHE_TIMEOUT = re.compile(r"""\bCACHE_DEFAULT_TIMEOUT["']?\]?\s*[:=,]\s*0(?![.\w])""")


# SQLAlchemy's autoflush turned off anywhere in the project (`sessionmaker(autoflush=False)`,
# Flask-SQLAlchemy's `session_options={"autoflush": False}`): a query no longer tells where changes are written.
_NO_AUTOFLUSH = re.compile(r"""\bautoflush["']?\s*[:=]\s*False\b""")


def settings(text: str) -> list[Symbol]:
    """The framework settings a file turns on, read off its text (a settings module often
    mentions nothing else txlint parses a file for)."""
    found = [Symbol(SymbolKind.SETTING, "ATOMIC_REQUESTS", "True")] if _ATOMIC_REQUESTS.search(text) else []
    if _NO_CACHE_TIMEOUT.search(text):
        found.append(Symbol(SymbolKind.SETTING, "CACHE_DEFAULT_TIMEOUT", "0"))
    if _NO_AUTOFLUSH.search(text):
        found.append(Symbol(SymbolKind.SETTING, "SQLALCHEMY_AUTOFLUSH", "False"))
    return found


def symbols(path: str, text: str, tree: ast.Module, imports: ImportTable, root: Path) -> list[Symbol]:
    """The module's symbols (see the module's docstring); `imports` is `ImportTable.of_tree(tree)`."""
    module, is_package = module_of(path, root)
    tops = set(module.split(".", 2)[:2])  # `server.polar.db` imports its project's names as `polar....`
    found = [
        Symbol(SymbolKind.IMPORT, name, target)
        for name, target in imports.project_names(module, is_package)
        if target.split(".", 1)[0] in LIBRARIES or target.split(".", 1)[0] in tops
    ]
    found += settings(text)
    resolving = imports.for_project(module, is_package, lambda name: None, lambda name: False)
    classes = {s.name for s in tree.body if isinstance(s, ast.ClassDef)}
    functions = {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    aliases = {a[0] for s in tree.body if (a := _assigned(s)) is not None and _new_type(a[1], resolving) is not None}

    def named(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name) and (node.id in classes or node.id in aliases):
            return f"{module}.{node.id}"
        return resolving.resolve_name(dotted(node))

    for statement in tree.body:
        if (assigned := _assigned(statement)) is not None and (new_type := _new_type(assigned[1], resolving)) is not None:
            # `AsyncSession = NewType("AsyncSession", _AsyncSession)`: a name for the type, like an import of it.
            aliased = named(new_type)
            if aliased is not None and (aliased.split(".", 1)[0] in LIBRARIES or aliased.startswith(f"{module}.")):
                found.append(Symbol(SymbolKind.IMPORT, f"{module}.{assigned[0]}", aliased))
        elif isinstance(statement, ast.ClassDef):
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
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            # `pool: asyncpg.Pool | None = None`, assigned at start-up: an instance of the annotated driver type
            typed = next((t for node in _annotation_types(statement.annotation) if (t := named(node)) in ANNOTATIONS), None)
            if typed is not None:
                found.append(Symbol(SymbolKind.INSTANCE, f"{module}.{statement.target.id}", typed))
    found += [Symbol(SymbolKind.INSTANCE, f"{module}.{name}", kind) for name, kind in sqlalchemy_tables.instances(tree, resolving)]

    module_names = functions | {a[0] for s in tree.body if (a := _assigned(s)) is not None}

    def callable_named(node: ast.expr) -> str | None:
        """Also this module's functions and instances: `self.session = SessionLocal()`."""
        if isinstance(node, ast.Name) and node.id in module_names and node.id not in classes and node.id not in aliases:
            return f"{module}.{node.id}" if resolving.resolve_name(node.id) is None else resolving.resolve_name(node.id)
        return named(node)

    found += class_members(module, tree, callable_named)
    return found


def _assigned(statement: ast.stmt) -> tuple[str, ast.expr] | None:
    """`name = value` or `name: T = value` at module level."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id, statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value is not None:
        return statement.target.id, statement.value
    return None


def _new_type(value: ast.expr, imports: ImportTable) -> ast.expr | None:
    """The type `NewType("Name", Type)` derives from, None for any other value."""
    if isinstance(value, ast.Call) and imports.resolve_name(dotted(value.func)) in NEW_TYPES and len(value.args) == 2:
        return value.args[1]
    return None


def _annotation_types(annotation: ast.expr) -> list[ast.expr]:
    """The types an annotation may stand for: itself, either side of `|`, `Optional[...]`'s argument."""
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _annotation_types(annotation.left) + _annotation_types(annotation.right)
    if isinstance(annotation, ast.Subscript):
        return _annotation_types(annotation.slice)
    if isinstance(annotation, ast.Tuple):  # `Union[X, None]`
        return [t for element in annotation.elts for t in _annotation_types(element)]
    return [annotation] if isinstance(annotation, (ast.Name, ast.Attribute)) else []
