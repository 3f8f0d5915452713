"""SQLAlchemy related objects: `topic.forum` and `topic.posts` through a `relationship()`.

A relationship attribute (`core.relationships`) of a mapped instance is loaded on first
access by a statement of its own, which takes no lock (lazy loading never locks), and the
instance keeps what it loaded: `topic.forum` is one row read here without a lock
(clarification 15: a related object is a row), `topic.posts` the rows of a read, and a
`lazy="dynamic"` attribute a query of them. Rows the owner's own statement read with it
(`options(joinedload(Topic.forum))`, `lazy="joined"`) are read under the owner's lock when
it locks (`with_for_update()` without `of=` locks every table of the statement in
PostgreSQL); `selectinload`/`subqueryload` read them in statements of their own, unlocked.
Assigning the attribute (`topic.forum = new_forum`) makes it the assigned row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import libcst as cst

from txlint.core.ir import Dependency, Read, RowOrigin, RowRef
from txlint.core.relationships import DYNAMIC, LOADED
from txlint.frontends.python.imports import dotted_name, keyword_arg
from txlint.frontends.python.interpret.context import Context
from txlint.frontends.python.interpret.state import Facet
from txlint.frontends.python.interpret.values import ModelClass, Parameter, Query, Row, Rows, Value
from txlint.frontends.python.literals import text_value

JOINED_LOADERS = {"joinedload", "contains_eager"}  # loader options reading the related rows in the owner's statement
JOINED = "joined"


@dataclass(frozen=True)
class LoadedRelations(Facet):
    """Related objects an instance holds on this path, by (owner, attribute): loaded here, or assigned."""

    held: frozenset[tuple[RowRef, str, Value]] = frozenset()

    def of(self, owner: RowRef, name: str) -> Value | None:
        return next((value for ref, attribute, value in self.held if ref == owner and attribute == name), None)

    def with_value(self, owner: RowRef, name: str, value: Value | None) -> LoadedRelations:
        kept = frozenset((r, a, v) for r, a, v in self.held if (r, a) != (owner, name))
        return LoadedRelations(kept | {(owner, name, value)} if value is not None else kept)

    def join(self, other: Facet) -> Facet:
        if not isinstance(other, LoadedRelations) or other == self:
            return self
        return LoadedRelations(self.held & other.held)  # held on both paths


@dataclass(frozen=True)
class AwaitableAttributes(Value):
    """`topic.awaitable_attrs` (asyncio's `AsyncAttrs`): `await topic.awaitable_attrs.forum` lazy-loads
    `topic.forum` as reading the attribute does in sync code."""

    row: Row


def related(ctx: Context, node: cst.Attribute, row: Row) -> Value | None:
    """`topic.forum`: the related row (read here without a lock, unless the owner's statement joined
    it), `topic.posts`: its rows, or the query of them for a dynamic relationship; None when the
    attribute is no relationship or how it loads is not known."""
    name = node.attr.value
    if name == "awaitable_attrs":
        return AwaitableAttributes(row)
    relation = ctx.file.index.mapped_relation_of(row.table, name)
    if relation is None:
        return None
    loaded = ctx.facet(LoadedRelations, LoadedRelations())
    known = loaded.of(row.ref, name)
    if known is not None:
        return known
    if name in ctx.pending_columns(row.ref):
        return None  # assigned here: its value is what was assigned
    table = ctx.file.index.table_of(relation.model)
    if relation.loading == DYNAMIC:
        return Query(table, ctx.span(node), api="sqlalchemy")  # run when asked (`.filter(...).first()`, `.all()`)
    if relation.loading not in LOADED:
        return None  # "raise", "noload", "write_only": loaded, if at all, by the caller's options
    holder = (dotted_name(node) or name).replace(".awaitable_attrs.", ".")
    joined = ctx.joined_read(row.ref.read, name) if row.ref.origin is RowOrigin.READ and row.ref.read is not None else None
    if joined is not None:
        read, table = joined
    else:
        read = ctx.emit(Read(ctx.span(node), ctx.tx, table, row_var=holder))
    value: Value = Rows(read, table) if relation.many else Row(RowRef(RowOrigin.READ, read, holder), table, via=Dependency(row.ref, name))
    ctx.set_facet(loaded.with_value(row.ref, name, value))
    return value


def assigned(ctx: Context, target: cst.Attribute, source: cst.BaseExpression) -> None:
    """`topic.forum = new_forum`: reading `topic.forum` now gives `new_forum` (a row or a parameter
    named here); any other value is what the interpreter keeps for the assigned field."""
    if not isinstance(target.value, cst.Name):
        return
    owner = ctx.lookup(target.value.value)
    if not isinstance(owner, Row) or ctx.file.index.mapped_relation_of(owner.table, target.attr.value) is None:
        return
    value = ctx.lookup(source.value) if isinstance(source, cst.Name) else None
    given = value if isinstance(value, (Row, Parameter)) else None
    ctx.set_facet(ctx.facet(LoadedRelations, LoadedRelations()).with_value(owner.ref, target.attr.value, given))


def joined_options(ctx: Context, node: cst.Call, query: Query) -> Query:
    """`options(joinedload(Topic.forum), contains_eager(Topic.user))`: the relationships the statement
    reads with its own rows (a nested `joinedload(A.b).joinedload(B.c)` is followed for its first step)."""
    found = dict(query.joined)
    for arg in node.args:
        option = arg.value
        while isinstance(option, cst.Call) and isinstance(option.func, cst.Attribute) and isinstance(option.func.value, cst.Call):
            option = option.func.value  # `joinedload(A.b).joinedload(B.c)`: its first step
        if not (isinstance(option, cst.Call) and (dotted_name(option.func) or "").rsplit(".", 1)[-1] in JOINED_LOADERS and option.args):
            ctx.eval(arg.value)
            continue
        name = _attribute_named(ctx, option.args[0].value)
        relation = ctx.file.index.mapped_relation_of(query.table, name) if name else None
        if name and relation is not None and not relation.many:
            found.setdefault(name, ctx.file.index.table_of(relation.model))
    return replace(query, joined=tuple(found.items()))


def declared_joined(ctx: Context, query: Query) -> Query:
    """A locking statement of a model whose many-to-one relationships load `lazy="joined"`: they are
    read by the statement itself."""
    found = dict(query.joined)
    for name, relation in ctx.file.index.mapped_relations_of(query.table):
        if relation.loading == JOINED and not relation.many:
            found.setdefault(name, ctx.file.index.table_of(relation.model))
    return replace(query, joined=tuple(found.items())) if len(found) != len(query.joined) else query


def lock_of(ctx: Context, node: cst.Call, query: Query) -> frozenset[str] | None:
    """`with_for_update(of=Topic)` (or a tuple of classes): the rows the lock covers, "" for the
    statement's own and the joined relationships whose class is named; None without `of=`."""
    given = keyword_arg(node, "of")
    if given is None:
        return None
    elements = [e.value for e in given.elements] if isinstance(given, (cst.Tuple, cst.List)) else [given]
    named = set()
    for element in elements:
        value = ctx.eval(element.value if isinstance(element, cst.Attribute) else element)  # `of=Topic.id` names Topic's table
        if isinstance(value, ModelClass):
            named.add(ctx.file.index.table_of(value.name))
    if not named:
        return None  # classes not known here: taken as covering every row (silent rather than wrong)
    covered = {path for path, table in query.joined if table in named}
    return frozenset(covered | ({""} if query.table in named else set()))


def _attribute_named(ctx: Context, node: cst.BaseExpression) -> str | None:
    """`Topic.forum` -> "forum", `"forum"` -> "forum" (the old string form)."""
    if isinstance(node, cst.Attribute):
        return node.attr.value
    text = text_value(node) if isinstance(node, cst.SimpleString) else None
    return text if text and "." not in text else None
