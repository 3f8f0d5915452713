"""Where a SQLAlchemy session comes from, when no parameter is annotated `Session`.

Real applications make their sessions once, at module level, and use them
everywhere: `SessionLocal = sessionmaker(bind=engine)` then `with
SessionLocal() as session:` or `with SessionLocal.begin() as session:`
(also `async_sessionmaker`, and imported from the project's `db` module);
`db_session = scoped_session(sessionmaker(...))`, a session itself;
Flask-SQLAlchemy's extension object `db` (`db.session`, `db.get_or_404`);
FastAPI's `session: Session = Depends(get_db)`, `Annotated[Session,
Depends(get_db)]` and the project's alias of it, where `get_db` yields a
session. The project symbol table (`ProjectIndex.library_class_of`) says what
a module-level name is an instance of; function summaries say what a project
function returns or yields.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from txlint.core.ir import RowOrigin
from txlint.core.summaries import ReturnedKind
from txlint.frontends.python.imports import dotted_name
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.values import Session, Value
from txlint.frontends.python.recognisers import class_members
from txlint.frontends.python.recognisers.project_names import summary_called

# Calling one gives a new session; `.begin()` on one gives a session in a transaction that the block commits.
SESSION_FACTORIES = {
    "sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker",
    "sqlalchemy.ext.asyncio.async_sessionmaker", "sqlalchemy.ext.asyncio.session.async_sessionmaker",
}  # fmt: skip
# A registry of one session per thread (or task): it is used as the session itself, and calling it gives that session.
SCOPED_SESSIONS = {
    "sqlalchemy.orm.scoped_session", "sqlalchemy.orm.scoping.scoped_session",
    "sqlalchemy.ext.asyncio.async_scoped_session", "sqlalchemy.ext.asyncio.scoping.async_scoped_session",
}  # fmt: skip
FLASK_EXTENSIONS = {"flask_sqlalchemy.SQLAlchemy", "flask_sqlalchemy.extension.SQLAlchemy"}
DEPENDS = {"fastapi.Depends", "fastapi.params.Depends"}
# `Annotated[Session, ...]` and the dependency injectors' forms of it (dishka's `FromDishka[Session]`):
# the type is the first argument.
ANNOTATED = {"typing.Annotated", "typing_extensions.Annotated", "dishka.FromDishka", "dishka.integrations.base.FromDishka"}
CORE = "core"  # `Returned(SESSION, api=CORE)`: a Core connection, not an ORM session


@dataclass(frozen=True)
class SessionFactory(Value):
    """A `sessionmaker`/`async_sessionmaker` instance."""


@dataclass
class SharedFlushes:
    """Whether the function being interpreted flushes or commits an ORM session it shares with its
    caller (not one it made): its summary says so (`FunctionSummary.flushes`)."""

    seen: bool = False


def shared(ctx: Context, receiver: cst.BaseExpression) -> bool:
    """A session expression the caller shares: `db.session`, `self.session`, a module's scoped session,
    a parameter; not a local variable the function bound itself (`with SessionLocal() as s:`)."""
    if not isinstance(receiver, cst.Name):
        return True
    params = ctx.func.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    return receiver.value in names or ctx.lookup(receiver.value) is None


def module_class(ctx: Context, node: cst.BaseExpression) -> str | None:
    """The library class of the module-level instance `node` names (one of this module's, or
    imported from another module of the project), None for anything else (a local variable)."""
    name = dotted_name(node)
    if name is None or ctx.lookup(name.split(".", 1)[0]) is not None:
        return None
    qualified = ctx.imports.resolve(node)
    if qualified is None:
        if "." in name or not ctx.file.module_name:
            return None
        qualified = f"{ctx.file.module_name}.{name}"  # a module-level name of this module
    elif not ctx.imports.in_project(qualified):
        return None
    return ctx.file.index.library_class_of(qualified)


def factory(ctx: Context, node: cst.BaseExpression) -> bool:
    """`node` names a session factory: a local one, or a module-level instance of one."""
    if isinstance(node, cst.Name) and isinstance(ctx.lookup(node.value), SessionFactory):
        return True
    return module_class(ctx, node) in SESSION_FACTORIES


def module_session(ctx: Context, node: cst.BaseExpression) -> Session | None:
    """`db_session` where the module (or the project module it is imported from) made it a
    `scoped_session(...)`: the session of the current thread."""
    if module_class(ctx, node) in SCOPED_SESSIONS:
        return Session(dotted_name(node) or "session")
    return None


def held(ctx: Context, node: cst.Attribute, session_types: frozenset[str]) -> Session | None:
    """`self.session` of a class (or a project base of it) that keeps a session: assigned an annotated
    parameter or declared (`session: Session`, also `Optional`, a `NewType`, a property's return type),
    made by a session factory (`SessionLocal()`, `sessionmaker(...)()`), a `scoped_session`, or a
    project function returning one (`new_session()`)."""
    found = class_members.held(ctx, node)
    if found is None:
        return None
    name = dotted_name(node) or "session"
    if found.all_in(session_types):  # annotated so, or made by calling the class (`Session(engine)`)
        return Session(name)
    if found.kind != class_members.CALL:
        return None
    made = ctx.file.index.library_class_of(found.target)
    if made in SESSION_FACTORIES or made in SCOPED_SESSIONS:
        return Session(name)
    summary = ctx.file.index.summary_of(found.target)
    given = summary.returns if summary is not None else None  # what calling it gives (a generator's yields are not)
    return Session(name, orm=given.api != CORE) if given is not None and given.kind is ReturnedKind.SESSION else None


def flask_extension(ctx: Context, node: cst.BaseExpression) -> bool:
    """Flask-SQLAlchemy's extension object: an instance of `SQLAlchemy` the project made, or a name
    `db` bound nowhere in the function (the extension's name by convention)."""
    name = dotted_name(node)
    if name is None or ctx.lookup(name.split(".", 1)[0]) is not None:
        return False
    return name.rsplit(".", 1)[-1] == "db" or module_class(ctx, node) in FLASK_EXTENSIONS


def injected(ctx: Context, param: cst.Param) -> Session | None:
    """A parameter FastAPI fills with a session: `= Depends(get_db)` or annotated
    `Annotated[..., Depends(get_db)]`, where the project's `get_db` yields or returns one."""
    calls: list[cst.BaseExpression] = [param.default] if param.default is not None else []
    annotation = param.annotation.annotation if param.annotation is not None else None
    if isinstance(annotation, cst.Subscript) and ctx.imports.resolve(annotation.value) in ANNOTATED:
        calls += [element.slice.value for element in annotation.slice[1:] if isinstance(element.slice, cst.Index)]
    for call in calls:
        if isinstance(call, cst.Call) and ctx.imports.resolve(call.func) in DEPENDS and call.args:
            found = summary_called(ctx, call.args[0].value)
            given = found.yields or found.returns if found is not None else None
            if given is not None and given.kind is ReturnedKind.SESSION:
                return Session(param.name.value, orm=given.api != CORE)
    return None


def annotated_type(ctx: Context, annotation: cst.BaseExpression) -> str | None:
    """The qualified type an annotation names: `Session`, `Optional[Session]`'s argument is not
    looked into, `Annotated[Session, ...]`'s first argument is, and so is a project alias of one
    (`SessionDep = Annotated[Session, Depends(get_db)]`, which the symbol table records as the type)."""
    if isinstance(annotation, cst.Subscript):
        if ctx.imports.resolve(annotation.value) in ANNOTATED and annotation.slice and isinstance(annotation.slice[0].slice, cst.Index):
            return annotated_type(ctx, annotation.slice[0].slice.value)
        annotation = annotation.value
    qualified = ctx.imports.resolve(annotation)
    if qualified is None and isinstance(annotation, cst.Name) and ctx.file.module_name:
        qualified = ctx.file.index.export_of(f"{ctx.file.module_name}.{annotation.value}")
    return qualified


def flush(ctx: Context, node: cst.CSTNode) -> None:
    """A flush (or commit, or a project helper doing one) of a session: every changed instance is
    written, its changed columns only. A parameter of unknown type whose changed fields are columns
    the project declares together on exactly one SQLAlchemy model is an instance of it
    (clarification 15: a parameter known by the fields it saves), handed in by the caller."""
    index = ctx.file.index
    for ref in ctx.changed_rows(None):
        if ref.origin is not RowOrigin.PARAMETER:
            continue
        model = index.model_with_fields(ctx.pending_columns(ref), ref.name)
        if model is not None and index.is_sqlalchemy_model(model):
            ctx.type_row(ref, index.table_of(model))
    ctx.flush_rows(node)
