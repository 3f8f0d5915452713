"""SQLAlchemy relationships: what `instance.attribute` reaches when the attribute is a `relationship()`.

A mapped class declares `forum = relationship("Forum")` (also `db.relationship`,
`forum: Mapped["Forum"] = relationship(...)`, SQLModel's `Relationship()`), and a
`backref="topics"` declares the reverse attribute on the other class. Whether the
attribute holds one row or a collection is what the declaration says (`Mapped[list[...]]`,
`uselist=`, `lazy="dynamic"`), else what the foreign keys say: the class holding the
foreign key to the other's table is the many side, its attribute one row (many-to-one);
the other side's attribute is a collection (one-to-many); with an association table
(`secondary=`) both sides are collections. When the declarations tell neither, the
relationship is left out: nothing is known of what it holds.

How the attribute loads matters to locks (`lazy=`): "select" (the default) reads the
related rows on first access, in a statement of their own that takes no lock;
"joined" reads them in the owner's own statement; "selectin"/"subquery"/"immediate"
in a statement of their own right after the owner's; "dynamic" gives a query;
"raise"/"raise_on_sql"/"noload"/"write_only" give nothing a function can read without
an explicit loader option, so they are not followed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

# `lazy=` values whose attribute is read by a statement (of the owner's, or its own).
LOADED = frozenset({"select", "joined", "selectin", "subquery", "immediate"})
DYNAMIC = "dynamic"  # the attribute is a query of the related rows (an `AppenderQuery`)


@dataclass(frozen=True)
class RelationshipDecl:
    """One `relationship()` of a mapped class, as its class body declares it."""

    name: str
    target: str  # the class it reaches, by its simple name
    many: bool | None = None  # a collection (True), one row (False), not declared (None)
    loading: str = "select"  # its `lazy=` ("" when not a literal)
    secondary: bool = False  # through an association table (many-to-many)
    backref: str | None = None  # the reverse attribute it declares on `target`
    backref_many: bool | None = None  # the backref's `uselist=`, when given
    backref_loading: str = "select"


@dataclass(frozen=True)
class MappedRelation:
    """What the attribute of a row reaches: rows of `model`, one (`many` False) or a collection."""

    model: str
    many: bool
    loading: str


class _Declared(Protocol):
    """What the resolution needs of a model's declaration (`index.TableDecl`)."""

    @property
    def name(self) -> str: ...
    @property
    def table(self) -> str: ...
    @property
    def relationships(self) -> tuple[RelationshipDecl, ...]: ...
    @property
    def foreign_tables(self) -> tuple[str, ...]: ...


def mapped_relations(
    decls: Mapping[str, Sequence[_Declared]], family: Callable[[str], Sequence[_Declared]], table_of: Callable[[str], str]
) -> dict[tuple[str, str], MappedRelation]:
    """Every relationship attribute of the project's mapped classes, by (class, attribute): the ones
    declared, and the reverse ones their `backref`s declare (a class's own declaration wins).
    `family(name)` gives a class's declarations and its bases'."""
    found: dict[tuple[str, str], MappedRelation] = {}
    reverse: dict[tuple[str, str], MappedRelation] = {}
    for name, declared in sorted(decls.items()):
        for decl in declared:
            for relation in decl.relationships:
                many = relation.many if relation.many is not None else _collection(name, relation, family, table_of)
                if many is not None:
                    found.setdefault((name, relation.name), MappedRelation(relation.target, many, relation.loading))
                if relation.backref is None:
                    continue
                back = relation.backref_many
                if back is None:
                    back = True if relation.secondary else (not many) if many is not None else None
                if back is not None:
                    reverse.setdefault((relation.target, relation.backref), MappedRelation(name, back, relation.backref_loading))
    return {**reverse, **found}


def _collection(owner: str, relation: RelationshipDecl, family: Callable[[str], Sequence[_Declared]], table_of: Callable[[str], str]) -> bool | None:
    """Whether an undeclared relationship is a collection, by the foreign keys: None when they do not tell."""
    if relation.secondary:
        return True
    holds = _references(family(owner), {relation.target, table_of(relation.target)})
    held = _references(family(relation.target), {owner, table_of(owner)})
    if holds and not held:
        return False  # many-to-one: the owner holds the key
    if held and not holds:
        return True  # one-to-many: the other side holds the key back to the owner
    return None


def _references(declared: Iterable[_Declared], names: set[str]) -> bool:
    return any(table in names for decl in declared for table in decl.foreign_tables)
