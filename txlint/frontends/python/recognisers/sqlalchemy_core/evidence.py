"""Where a Core engine or `Table` comes from when the function does not build it: the evidence.

An engine is one when the code says so: `create_engine(...)`/`create_async_engine(...)` (here, at
module level in this file, or in the project module a name is imported from), a parameter or class
attribute annotated `Engine`/`AsyncEngine`, a `self.<attr>` assigned one in the class. Its
isolation level comes with it (`isolation_level="AUTOCOMMIT"`, also through `execution_options`).
A name that says nothing else but is called `engine` is still taken for one (as before any of this
evidence was read): `engine.begin()` and `engine.connect()` are SQLAlchemy's.

A `Table` is one when pass 1 read its declaration (`declarations.sqlalchemy_tables`): a module-level
`name = Table("table", metadata, ...)` of this file or of the project module it is imported from,
or `Model.__table__`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from txlint.core.summaries import module_of
from txlint.frontends.python.imports import annotation_alternatives, dotted_name, keyword_arg
from txlint.frontends.python.interpret.context import Context, FileContext
from txlint.frontends.python.interpret.values import ModelClass, Parameter, Unknown, Value
from txlint.frontends.python.literals import text_value
from txlint.frontends.python.recognisers import class_members
from txlint.frontends.python.recognisers.sqlalchemy_core.names import (
    AUTOCOMMIT,
    AUTOCOMMIT_ENGINE,
    CONNECTION_TYPES,
    ENGINE,
    ENGINE_FACTORIES,
    ENGINE_NAMES,
    ENGINE_TYPES,
    TABLE_TYPES,
)
from txlint.frontends.python.recognisers.sqlalchemy_core.values import CoreColumns, CoreConnection, CoreTable, Engine


def autocommit_of(call: cst.Call, default: bool = False) -> bool:
    """Whether `create_engine(...)`/`execution_options(...)` asks for autocommit: `isolation_level=`
    (or an `execution_options={"isolation_level": ...}` mapping); another level turns it off, none
    given keeps `default`."""
    level = keyword_arg(call, "isolation_level")
    options = keyword_arg(call, "execution_options")
    if level is None and isinstance(options, cst.Dict):
        level = next((e.value for e in options.elements if isinstance(e, cst.DictElement) and text_value(e.key) == "isolation_level"), None)
    if level is None:
        return default
    text = text_value(level)
    return text is not None and text.upper() == AUTOCOMMIT


def annotated(ctx: Context | FileContext, annotation: cst.BaseExpression) -> Value | None:
    """The value a parameter or attribute annotated with `annotation` holds: an engine or a
    connection (`Engine`, `AsyncConnection`, also `Optional[...]`/`... | None`)."""
    for part in annotation_alternatives(annotation, frozenset({"Optional"})):
        qualified = ctx.imports.resolve(part)
        if qualified in ENGINE_TYPES:
            return Engine()
        if qualified in CONNECTION_TYPES:
            return CoreConnection(dotted_name(part) or "connection")
    return None


# -- engines -------------------------------------------------------------------------------------


def engine_of(ctx: Context, node: cst.BaseExpression, value: Value | None) -> Engine | None:
    """The engine `node` (whose value is `value`) is, when there is evidence it is one."""
    if isinstance(value, Engine):
        return value
    if value is not None and not isinstance(value, (Unknown, Parameter)):
        return None
    if isinstance(node, cst.Name) and ctx.lookup(node.value) is None:
        found = _module_facts(ctx.file).engines.get(node.value) or _engine_symbol(ctx.file, _qualified(ctx, node))
        if found is not None:
            return found
    name = (dotted_name(node) or "").rsplit(".", 1)[-1]
    return Engine() if name in ENGINE_NAMES else None


def owned(ctx: Context, node: cst.Attribute) -> Value | None:
    """`self.engine` / `self.conn` of a class whose methods assign it an engine or a connection, or
    whose body annotates it; `module.engine` of an imported project module."""
    if isinstance(node.value, cst.Name) and node.value.value in {"self", "cls"}:
        if ctx.class_name is None:
            return None
        return _module_facts(ctx.file).attributes.get((ctx.class_name, node.attr.value)) or _held(ctx, node)
    head = (dotted_name(node) or "").split(".", 1)[0]
    if not head or ctx.lookup(head) is not None:
        return None  # a local variable, whatever a module-level import of the same name is
    qualified = ctx.imports.resolve(node)
    if qualified is None or not ctx.imports.in_project(qualified):
        return None
    return _engine_symbol(ctx.file, qualified) or _table_symbol(ctx.file, qualified)


def _held(ctx: Context, node: cst.Attribute) -> Value | None:
    """`self.conn`/`self.engine` a project base of the class declares or assigns (annotated, or made
    by `create_engine(...)`)."""
    found = class_members.held(ctx, node)
    if found is None:
        return None
    if found.kind == class_members.CALL:
        return Engine() if found.target in ENGINE_FACTORIES else None
    if found.target in ENGINE_TYPES:
        return Engine()
    return CoreConnection(dotted_name(node) or "connection") if found.target in CONNECTION_TYPES else None


def _engine_symbol(file: FileContext, qualified: str | None) -> Engine | None:
    """A module-level engine of a project module (pass 1 files it as an instance)."""
    if qualified is None:
        return None
    kind = file.index.instances.get(qualified)
    return Engine(autocommit=kind == AUTOCOMMIT_ENGINE) if kind in (ENGINE, AUTOCOMMIT_ENGINE) else None


def _qualified(ctx: Context, node: cst.Name) -> str | None:
    """The project name a module-level name of this file or an import stands for."""
    imported = ctx.imports.resolve(node)
    if imported is not None:
        return imported if ctx.imports.in_project(imported) else None
    return f"{ctx.file.module_name}.{node.value}" if ctx.file.module_name else None


# -- tables ----------------------------------------------------------------------------------------


def table_of(ctx: Context, node: cst.BaseExpression) -> str | None:
    """The table `node` is a `Table` object of (`wallets`, `Wallet.__table__`, a variable holding
    one), without evaluating anything but names; None when it is not one."""
    if isinstance(node, cst.Name):
        bound = ctx.lookup(node.value)
        if bound is not None:
            return bound.table if isinstance(bound, CoreTable) else None
        found = _table_symbol(ctx.file, _qualified(ctx, node))
        return found.table if found is not None else None
    if isinstance(node, cst.Attribute):
        if node.attr.value == "__table__":
            model = ctx.eval(node.value)
            return ctx.file.index.table_of(model.name) if isinstance(model, ModelClass) else None
        owner = owned(ctx, node)
        return owner.table if isinstance(owner, CoreTable) else None
    return None


def column_of(ctx: Context, node: cst.BaseExpression) -> str | None:
    """The table whose column `node` names (`t.c.balance`, `t.columns.balance`, `t.c["balance"]`)."""
    if not (isinstance(node, cst.Attribute) or (isinstance(node, cst.Subscript) and len(node.slice) == 1)):
        return None
    owner = node.value
    if isinstance(owner, cst.Attribute) and owner.attr.value in {"c", "columns"}:
        return table_of(ctx, owner.value)
    if isinstance(owner, cst.Name):
        bound = ctx.lookup(owner.value)
        return bound.table if isinstance(bound, CoreColumns) else None
    return None


def _table_symbol(file: FileContext, qualified: str | None) -> CoreTable | None:
    """A module-level `Table` of a project module: pass 1 filed it as an instance of `Table`, and its
    declaration under the name it is bound to, in that module."""
    if qualified is None or "." not in qualified:
        return None
    kind = file.index.instances.get(qualified)
    if kind not in TABLE_TYPES:
        return None
    module, name = qualified.rsplit(".", 1)
    tables = {d.table for d in file.index.decls.get(name, []) if module_of(d.path, file.config.root)[0] == module}
    return CoreTable(tables.pop()) if len(tables) == 1 else None


# -- the facts of one file ---------------------------------------------------------------------------


@dataclass
class _ModuleFacts:
    """The engines a module binds at module level, and the engines and connections its classes keep
    in attributes (`(class, attribute)`)."""

    engines: dict[str, Engine] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Value] = field(default_factory=dict)


def _module_facts(file: FileContext) -> _ModuleFacts:
    return file.facts(_ModuleFacts, _read_module)


def _read_module(file: FileContext) -> _ModuleFacts:
    facts = _ModuleFacts()
    for statement in file.module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for target, value in _assignments(statement):
                found = _engine_made(file, value, facts.engines) if isinstance(target, cst.Name) else None
                if found is not None and isinstance(target, cst.Name):
                    facts.engines[target.value] = found
        elif isinstance(statement, cst.ClassDef):
            _read_class(file, statement, facts)
    return facts


def _read_class(file: FileContext, cls: cst.ClassDef, facts: _ModuleFacts) -> None:
    """`engine: Engine` in the class body; `self.engine = create_engine(...)`, or `= engine` where
    the parameter `engine` is annotated, in its methods."""
    for member in cls.body.body:
        if isinstance(member, cst.SimpleStatementLine):
            for small in member.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    found = annotated(file, small.annotation.annotation)
                    if found is not None:
                        facts.attributes[(cls.name.value, small.target.value)] = found
        elif isinstance(member, cst.FunctionDef):
            params = {p.name.value: p for p in member.params.params}
            for line in _simple_lines(member.body):
                for target, value in _assignments(line):
                    if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"):
                        continue
                    found = _engine_made(file, value, facts.engines)
                    param = params.get(value.value) if isinstance(value, cst.Name) else None
                    if found is None and param is not None and param.annotation is not None:
                        found = annotated(file, param.annotation.annotation)
                    if found is not None:
                        facts.attributes[(cls.name.value, target.attr.value)] = found


def _engine_made(file: FileContext, value: cst.BaseExpression, engines: dict[str, Engine]) -> Engine | None:
    """`create_engine(...)`, or an engine bound before (`engine`, `engine.execution_options(...)`)."""
    if isinstance(value, cst.Name):
        return engines.get(value.value)
    if not isinstance(value, cst.Call):
        return None
    if file.imports.resolve(value.func) in ENGINE_FACTORIES:
        return Engine(autocommit=autocommit_of(value))
    func = value.func
    if isinstance(func, cst.Attribute) and func.attr.value == "execution_options" and isinstance(func.value, cst.Name):
        base = engines.get(func.value.value)
        if base is not None:
            return Engine(autocommit=autocommit_of(value, base.autocommit))
    return None


def _assignments(line: cst.SimpleStatementLine) -> Iterator[tuple[cst.BaseExpression, cst.BaseExpression]]:
    for small in line.body:
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            yield small.targets[0].target, small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            yield small.target, small.value


def _simple_lines(body: cst.BaseSuite) -> Iterator[cst.SimpleStatementLine]:
    """The simple statement lines of a function body, at any depth of `if`/`try`/`with` blocks."""
    if isinstance(body, cst.SimpleStatementSuite):
        return
    for statement in body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield statement
        elif isinstance(statement, (cst.If, cst.Try, cst.With)):
            yield from _simple_lines(statement.body)
