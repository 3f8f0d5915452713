"""Where a connection or pool comes from: a driver's factory, an annotation, a module-level or
`self.` name bound to one, another project module's instance, or evidence from its use.

A function rarely opens its own connection. Real code passes one in
(annotated `psycopg.Connection`, or not annotated at all), keeps one at
module level (`conn = sqlite3.connect(...)`, `pool = psycopg_pool.ConnectionPool(...)`,
`database = Database(url)`, a `global pool` assigned at start-up), keeps one
on `self` (`self.pool = await asyncpg.create_pool(...)`), or imports one from
another project module (the project symbol table's module-level instances).

Without any of these, the evidence is the use: a receiver of unknown type
that is sent SQL that parses (`db.execute("SELECT ...")`,
`await conn.fetchrow("...")`) is a connection; the method says which kind
(`EVIDENCE`). Nothing else makes one: a string that is not SQL
(`client.execute(url)`) is not evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import libcst as cst

from txlint.frontends.python.imports import ImportTable, annotation_alternatives, dotted_name, keyword_arg
from txlint.frontends.python.interpret.context import Context, FileContext
from txlint.frontends.python.interpret.values import Parameter, Unknown, Value
from txlint.frontends.python.recognisers import class_members
from txlint.frontends.python.recognisers.dbapi_models import (
    ANNOTATIONS,
    AUTOCOMMIT_KEYWORDS,
    FACTORIES,
    Connection,
    Cursor,
    Kind,
    Mode,
    Pool,
    TransactionHandle,
)

PACKAGES = frozenset(name.split(".", 1)[0] for name in (*FACTORIES, *ANNOTATIONS))


def made(imports: ImportTable, call: cst.Call, name: str) -> Connection | Pool | None:
    """The connection or pool a factory call gives (`psycopg.connect(dsn, autocommit=True)`), or None."""
    found = FACTORIES.get(imports.resolve(call.func) or "")
    if found is None:
        return None
    kind, driver = found
    autocommit = any(_is(keyword_arg(call, keyword), literal) for keyword, literal in AUTOCOMMIT_KEYWORDS.items())
    return Connection(name, autocommit, driver) if kind is Kind.CONNECTION else Pool(name, driver, autocommit)


def annotated(imports: ImportTable, annotation: cst.BaseExpression, name: str, passed: bool) -> Connection | Pool | None:
    """The connection or pool an annotation names (also inside `X | None`, `Optional[X]`). A passed-in
    connection of an autocommit driver may be inside its caller's transaction (`Mode.CALLER`)."""
    for candidate in annotation_alternatives(annotation):
        found = ANNOTATIONS.get(imports.resolve(candidate) or "")
        if found is not None:
            kind, driver = found
            if kind is Kind.POOL:
                return Pool(name, driver)
            return Connection(name, driver=driver, caller=passed and driver.mode is Mode.AUTOCOMMIT)
    return None


def known(ctx: Context, node: cst.BaseExpression, value: Value | None) -> Value | None:
    """What a receiver is: its value when the function knows it as a driver's, else a module-level,
    `self.` or imported name bound to a connection or pool."""
    if isinstance(value, (Connection, Cursor, Pool, TransactionHandle)):
        return value
    if value is not None and not isinstance(value, (Unknown, Parameter)):
        return value
    found = outer(ctx, node)
    return found if found is not None else value


def outer(ctx: Context, node: cst.BaseExpression) -> Connection | Pool | Cursor | None:
    """A connection or pool bound outside the function: at module level (here or in another
    project module) or on `self` in a method of the class that assigned it."""
    name = dotted_name(node)
    if name is None:
        return None
    facts = ctx.file.facts(OuterBindings, _outer_bindings)
    head, _, attribute = name.partition(".")
    if head in {"self", "cls"} and ctx.class_name is not None and "." not in attribute:
        return _shared(facts.attributes.get((ctx.class_name, attribute)) or _held(ctx, node, attribute))
    if ctx.lookup(head) is not None:
        return None  # a local name
    if name in facts.names:
        return _shared(facts.names[name])
    qualified = ctx.imports.resolve(node)
    if qualified is None or not ctx.imports.in_project(qualified):
        return None
    factory = ctx.file.index.instance_class_of(qualified) or ""
    found = FACTORIES.get(factory) or ANNOTATIONS.get(factory)
    if found is None:
        return None
    kind, driver = found
    short = name.rsplit(".", 1)[-1]
    return _shared(Connection(short, driver=driver) if kind is Kind.CONNECTION else Pool(short, driver))


def _held(ctx: Context, node: cst.BaseExpression, attribute: str) -> Connection | Pool | None:
    """`self.conn` that a project base of the class (or the class, in another way than this module's
    assignments show) declares or assigns: annotated with a driver's type, or made by its factory."""
    found = class_members.held(ctx, node)
    if found is None:
        return None
    kind, driver = (ANNOTATIONS if found.kind == class_members.TYPE else FACTORIES).get(found.target, (None, None))
    if kind is None or driver is None:
        return None
    return Connection(attribute, driver=driver) if kind is Kind.CONNECTION else Pool(attribute, driver)


def _shared(value: Connection | Pool | Cursor | None) -> Connection | Pool | Cursor | None:
    """A connection kept outside the function serves other functions too: one of an autocommit driver
    may be inside a transaction another opened on it (`databases` keeps them per task)."""
    if isinstance(value, Connection) and value.driver.mode is Mode.AUTOCOMMIT and not value.autocommit:
        return replace(value, caller=True)
    return value


@dataclass
class OuterBindings:
    """A module's names bound to connections or pools: module-level assignments and annotations,
    `global` names assigned in its functions, and `self.<attr>` assigned in its classes' methods."""

    names: dict[str, Connection | Pool | Cursor] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Connection | Pool] = field(default_factory=dict)


def _outer_bindings(file: FileContext) -> OuterBindings:
    found = OuterBindings()
    if not any(file.imports.mentions(package) for package in PACKAGES):
        return found  # every binding below is made by a driver's name the module imports
    for statement in file.module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for line in statement.body:
                for target, value in _bound(file.imports, line):
                    if isinstance(target, cst.Name):
                        found.names.setdefault(target.value, value)
                cursor = _module_cursor(line, found.names)
                if cursor is not None:
                    found.names.setdefault(cursor[0], cursor[1])
                switched = _switched(line)
                if switched is not None and isinstance(found.names.get(switched[0]), Connection):
                    connection = found.names[switched[0]]
                    assert isinstance(connection, Connection)
                    found.names[switched[0]] = connection.switched(switched[1])
        elif isinstance(statement, cst.FunctionDef):
            smalls = list(_small_statements(statement.body))
            declared = {item.name.value for g in smalls if isinstance(g, cst.Global) for item in g.names}
            for small in smalls if declared else ():
                for target, value in _bound(file.imports, small):
                    if isinstance(target, cst.Name) and target.value in declared:
                        found.names.setdefault(target.value, value)
        elif isinstance(statement, cst.ClassDef):
            _class_bindings(file.imports, statement, found.attributes)
    return found


def _class_bindings(imports: ImportTable, cls: cst.ClassDef, attributes: dict[tuple[str, str], Connection | Pool]) -> None:
    """`pool: asyncpg.Pool` in the class body, `self.pool = await asyncpg.create_pool(...)` or
    `self.pool = pool` (an annotated parameter) in its methods."""
    for statement in cls.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                for target, value in _bound(imports, small):
                    if isinstance(target, cst.Name):
                        attributes.setdefault((cls.name.value, target.value), value)
        elif isinstance(statement, cst.FunctionDef):
            for attribute, given in _given(imports, statement):
                attributes.setdefault((cls.name.value, attribute), given)
            for small in _small_statements(statement.body):
                for target, value in _bound(imports, small):
                    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value in {"self", "cls"}:
                        attributes.setdefault((cls.name.value, target.attr.value), value)


def _bound(imports: ImportTable, small: cst.CSTNode) -> Iterator[tuple[cst.BaseExpression, Connection | Pool]]:
    """`name = factory(...)`, `name = await factory(...)`, `name: Annotation = ...`."""
    if isinstance(small, cst.Assign):
        assigned = small.value.expression if isinstance(small.value, cst.Await) else small.value
        if isinstance(assigned, cst.Call) and len(small.targets) == 1:
            target = small.targets[0].target
            found = made(imports, assigned, dotted_name(target) or "connection")
            if found is not None:
                yield target, found
    elif isinstance(small, cst.AnnAssign):
        value = small.value.expression if isinstance(small.value, cst.Await) else small.value
        name = dotted_name(small.target) or "connection"
        found = made(imports, value, name) if isinstance(value, cst.Call) else None
        if found is None:
            found = annotated(imports, small.annotation.annotation, name, passed=False)
        if found is not None:
            yield small.target, found


def _module_cursor(small: cst.CSTNode, names: dict[str, Connection | Pool | Cursor]) -> tuple[str, Cursor] | None:
    """`cursor = conn.cursor()` at module level, `conn` a module-level connection."""
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
        return None
    call = small.value
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "cursor"):
        return None
    owner = call.func.value
    connection = names.get(owner.value) if isinstance(owner, cst.Name) else None
    if not isinstance(connection, Connection) or not isinstance(owner, cst.Name):
        return None
    return small.targets[0].target.value, Cursor(owner.value, of=connection)


def _switched(small: cst.CSTNode) -> tuple[str, bool] | None:
    """`conn.autocommit = True` (sqlite3's `conn.isolation_level = None`) at module level: the name, and
    whether it is now in autocommit."""
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
        return None
    target = small.targets[0].target
    if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)):
        return None
    literal = {"autocommit": "True", "isolation_level": "None"}.get(target.attr.value)
    if literal is None:
        return None
    return target.value.value, _is(small.value, literal)


def _given(imports: ImportTable, method: cst.FunctionDef) -> Iterator[tuple[str, Connection | Pool]]:
    """`def __init__(self, pool: asyncpg.Pool): self.pool = pool`: an attribute given an annotated parameter."""
    params = [*method.params.posonly_params, *method.params.params, *method.params.kwonly_params]
    typed = {
        p.name.value: found
        for p in params
        if p.annotation is not None and (found := annotated(imports, p.annotation.annotation, p.name.value, passed=True)) is not None
    }
    if not typed:
        return
    for node in _small_statements(method.body):
        if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.value, cst.Name) and node.value.value in typed:
            target = node.targets[0].target
            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
                yield target.attr.value, typed[node.value.value]


def _small_statements(suite: cst.BaseSuite) -> Iterator[cst.BaseSmallStatement]:
    """The simple statements of a body at any depth of `if`/`for`/`while`/`with`/`try`/`match`, not
    inside nested functions or classes (read off the statements, not every node: a module's walk
    must cost little)."""
    if isinstance(suite, cst.SimpleStatementSuite):
        yield from suite.body
        return
    for statement in suite.body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
        elif not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            yield from _compound_parts(statement)


def _compound_parts(statement: cst.CSTNode) -> Iterator[cst.BaseSmallStatement]:
    for name in ("body", "orelse", "finalbody"):
        part = getattr(statement, name, None)
        if isinstance(part, cst.If):  # `elif`
            yield from _compound_parts(part)
        elif isinstance(part, (cst.Else, cst.Finally)):
            yield from _small_statements(part.body)
        elif isinstance(part, cst.BaseSuite):
            yield from _small_statements(part)
    for clause in (*getattr(statement, "handlers", ()), *getattr(statement, "cases", ())):
        yield from _small_statements(clause.body)


def _is(node: cst.BaseExpression | None, literal: str) -> bool:
    return isinstance(node, cst.Name) and node.value == literal
