"""Pass 1: what the members of a module's classes are, for the project symbol table.

Real code reaches its session, connection and collaborators through `self`:
a repository keeps the session its `__init__` was given (`self.session =
session`, `session: Session`), a service keeps a repository (`self.crud =
crud`, `crud: LedgerCrud`, or `self.crud = LedgerCrud()`), a class-based view
calls a helper a mixin defines (`self.current_order_line()`). Each module-level
class leaves:

- one `CLASS` symbol: its qualified name and every base it names, qualified
  (`BASE` keeps only the first, for `library_class_of`), joined by `,`;
- one `MEMBER` symbol per member: `module.Class.attr` and what the class's own
  code says it holds, `type:<qualified>` (an annotation: of the class body, of
  the parameter assigned to it, a `cast`, a property's return type) or
  `call:<qualified>` (the result of calling that: a session factory, a project
  function or class), or `def` for a method (so that a method defined lower in
  the lineage hides a base's of the same name). An annotation naming several
  types (`AsyncSession | AsyncReadSession`) records them all, joined by `|`.

Only evidence counts: an attribute assigned values of two different kinds of
evidence is left out (unknown), and one assigned something else (a literal,
`None`, an expression) records nothing. What the names stand for (a re-export,
a session factory, a project function returning a session) is the index's and
the recognisers' to resolve (`ProjectIndex.member_of`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from txlint.core.summaries import Symbol, SymbolKind
from txlint.frontends.python.declarations.syntax import dotted, module_statements, positional

METHOD = "def"
TYPE = "type:"
CALL = "call:"
CASTS = frozenset({"typing.cast", "typing_extensions.cast"})
# `sessionmaker(...)()`: calling what the factory call made gives a session of this type.
MADE_BY_FACTORY = {
    "sqlalchemy.orm.sessionmaker": "sqlalchemy.orm.Session",
    "sqlalchemy.orm.session.sessionmaker": "sqlalchemy.orm.Session",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.session.async_sessionmaker": "sqlalchemy.ext.asyncio.AsyncSession",
}
_PROPERTIES = frozenset({"property", "cached_property", "functools.cached_property"})
_NOT_A_TYPE = frozenset({"None", "Optional", "Union", "Annotated"})

Named = Callable[[ast.expr], "str | None"]


def class_members(module: str, tree: ast.Module, named: Named) -> list[Symbol]:
    """The `CLASS` and `MEMBER` symbols of the module's classes; `named` qualifies a name of the module."""
    found: list[Symbol] = []
    for statement in module_statements(tree.body):
        if isinstance(statement, ast.ClassDef):
            qualified = f"{module}.{statement.name}"
            bases = [b for base in positional(statement) if (b := named(_unsubscripted(base))) is not None]
            found.append(Symbol(SymbolKind.CLASS, qualified, ",".join(bases)))
            found += [Symbol(SymbolKind.MEMBER, f"{qualified}.{attr}", what) for attr, what in sorted(_members(statement, named).items())]
    return found


def _members(cls: ast.ClassDef, named: Named) -> dict[str, str]:
    methods: dict[str, str] = {}
    seen: dict[str, set[str]] = {}
    for statement in cls.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            methods[statement.name] = _method(statement, named)
            for attr, what in _assigned_in(statement, named):
                seen.setdefault(attr, set()).add(what)
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            typed = annotated(statement.annotation, named)  # `session: Session` (dataclasses, attrs, pydantic)
            if typed is not None:
                seen.setdefault(statement.target.id, set()).add(TYPE + typed)
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            value = _value(statement.value, {}, named)
            if value is not None:
                seen.setdefault(statement.targets[0].id, set()).add(value)
    found = {attr: next(iter(whats)) for attr, whats in seen.items() if len(whats) == 1}
    return {**found, **methods}  # a method of the class body is what the name is


def _method(function: ast.FunctionDef | ast.AsyncFunctionDef, named: Named) -> str:
    """A method, or a property whose return annotation names what it gives."""
    is_property = any(dotted(d) in _PROPERTIES or (dotted(d) or "").endswith(".cached_property") for d in function.decorator_list)
    typed = annotated(function.returns, named) if is_property and function.returns is not None else None
    return TYPE + typed if typed is not None else METHOD


def _assigned_in(function: ast.FunctionDef | ast.AsyncFunctionDef, named: Named) -> Iterator[tuple[str, str]]:
    """`self.attr = <evidence>` anywhere in a method (not in functions nested in it)."""
    if not function.args.args:
        return
    this = function.args.args[0].arg
    params = {a.arg: a.annotation for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs) if a.annotation is not None}
    for node in _statements(function.body):
        targets: list[ast.expr]
        value: ast.expr | None
        annotation: ast.expr | None
        if isinstance(node, ast.Assign):
            targets, value, annotation = node.targets, node.value, None
        elif isinstance(node, ast.AnnAssign):
            targets, value, annotation = [node.target], node.value, node.annotation
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == this:
                typed = annotated(annotation, named) if annotation is not None else None
                what = TYPE + typed if typed is not None else _value(value, params, named) if value is not None else None
                if what is not None:
                    yield target.attr, what


def _value(value: ast.expr, params: dict[str, ast.expr], named: Named) -> str | None:
    """What an assigned value says it is: an annotated parameter, a call (a `cast`, a factory's product)."""
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, ast.Name) and value.id in params:
        typed = annotated(params[value.id], named)
        return TYPE + typed if typed is not None else None
    if not isinstance(value, ast.Call):
        return None
    if isinstance(value.func, ast.Call):  # `sessionmaker(bind=engine)()`
        made = MADE_BY_FACTORY.get(named(value.func.func) or "")
        return TYPE + made if made is not None else None
    callee = named(value.func)
    if callee is None:
        return None
    if callee in CASTS and value.args:
        typed = annotated(value.args[0], named)
        return TYPE + typed if typed is not None else None
    return CALL + callee


def annotated(annotation: ast.expr | None, named: Named) -> str | None:
    """The types an annotation names, joined by `|`: itself, those that are not `None` of `X | Y`/
    `Optional[X]`/`Union[X, None]`, the first argument of `Annotated[X, ...]`, a string's expression;
    None when one of them is not a name this module knows (a builtin, a type variable)."""
    alternatives = _alternatives(annotation)
    found = [named(node) for node in alternatives]
    if not found or any(q is None for q in found):
        return None
    return "|".join(sorted({q for q in found if q is not None}))


def _alternatives(annotation: ast.expr | None) -> list[ast.expr]:
    if annotation is None:
        return []
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            return _alternatives(ast.parse(annotation.value, mode="eval").body)
        except SyntaxError:
            return []
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _alternatives(annotation.left) + _alternatives(annotation.right)
    if isinstance(annotation, ast.Subscript):
        wrapper = (dotted(annotation.value) or "").rsplit(".", 1)[-1]
        elements = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        if wrapper in {"Annotated", "FromDishka"}:
            return _alternatives(elements[0]) if elements else []
        if wrapper in {"Optional", "Union"}:
            return [t for element in elements for t in _alternatives(element)]
        return []  # `list[X]`, `type[X]`: not an X
    if isinstance(annotation, (ast.Name, ast.Attribute)) and dotted(annotation) not in _NOT_A_TYPE:
        return [annotation]
    return []


def _unsubscripted(base: ast.expr) -> ast.expr:
    """`Generic[T]`, `BaseRepository[Wallet]`: the class is the subscripted name."""
    return base.value if isinstance(base, ast.Subscript) else base


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            yield from _statements(getattr(statement, name, []))
        for clause in (*getattr(statement, "handlers", ()), *getattr(statement, "cases", ())):
            yield from _statements(clause.body)
