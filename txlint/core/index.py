"""The project index (pass 1): facts about tables that rules and front-ends ask for.

Front-ends summarise each file into `TableDecl`s (Django models, SQLAlchemy
declarative classes, SQL DDL); the index merges the summaries of the whole
project, so a function in one file can ask about a model declared in another.
Model inheritance is resolved across files here, after every summary is in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from txlint.core.classes import ClassTable
from txlint.core.ftypes import Span
from txlint.core.ir import ModuleIR, ValueKind, Write
from txlint.core.relationships import MappedRelation, RelationshipDecl, mapped_relations
from txlint.core.summaries import CallSite, FunctionSummary, Symbol, SymbolKind


@dataclass(frozen=True)
class ColumnDecl:
    """What the schema says about one column."""

    name: str
    unique: bool = False
    non_negative: bool = False
    references: str | None = None  # a foreign key or one-to-one field: the model it points to
    related_name: str | None = None  # the name of the reverse accessor on that model ("+": none)
    one_to_one: bool = False
    field_class: str | None = None  # a project's own field class (`CodeField`): unique when its class makes it so
    temporal: bool = False  # a date or time column (clarification 20: neither a value CAS nor a CAS for TX108)
    collection: bool = False  # a JSON, array or key-value column: a value changed in place (`tags.append(t)`)


# What a foreign key to the configured user model (`settings.AUTH_USER_MODEL`) references: the
# index resolves it to the one project model deriving from Django's user base, else Django's `User`.
AUTH_USER = "<AUTH_USER_MODEL>"
USER_BASE = "AbstractBaseUser"


@dataclass(frozen=True)
class Relation:
    """An attribute of a model that reaches rows of another: `order.user` (one row, loaded on first
    access) or `user.orders` (a manager of the rows pointing back through `column`)."""

    kind: Literal["forward", "reverse"]
    model: str
    column: str | None = None  # reverse: the foreign key of `model` that points back


@dataclass(frozen=True)
class TableDecl:
    """A model class or table declared somewhere in the project.

    `bases` are the simple names of the classes it derives from; `is_root`
    says one of them is a framework model base (so this is a model for sure).
    """

    name: str
    table: str
    path: str
    line: int
    bases: tuple[str, ...] = ()
    is_root: bool = False
    columns: tuple[ColumnDecl, ...] = ()
    version_column: str | None = None
    unique_sets: tuple[tuple[str, ...], ...] = ()  # multi-column unique constraints
    non_negative: tuple[str, ...] = ()  # columns with a CHECK (col >= 0)
    complete: bool = True  # False: only some facts are known (an ALTER TABLE without its CREATE TABLE)
    # Bases imported from a module that may be a library's (not a model base the front-end knows):
    # when the project does not declare one of them, its constraints are unknown.
    opaque_bases: tuple[str, ...] = ()
    unique_field: bool = False  # a field class whose `__init__` makes every field of it unique
    orm: str = ""  # the library mapping the class ("django", "sqlalchemy"; "" for SQL DDL and Core tables)
    relationships: tuple[RelationshipDecl, ...] = ()  # SQLAlchemy `relationship()`s (not columns)
    foreign_tables: tuple[str, ...] = ()  # the tables (or classes) its columns' foreign keys reference
    # The classes (simple names) whose instances the class body assigns besides fields: its managers
    # (`objects = DiscountCodeManager()`, `OrderQuerySet.as_manager()`), methods of which run on its rows.
    managers: tuple[str, ...] = ()
    manager_attributes: tuple[str, ...] = ()  # the attributes they are assigned to (`objects`, `pending`)


@dataclass(frozen=True)
class AtomicWriter:
    """A write somewhere in the project that changes a column arithmetically in the database (`n = n + 1`)."""

    table: str
    column: str
    path: str
    span: Span
    unit: str


@dataclass
class ProjectIndex:
    """Every declared model/table of the project, by class name, and its atomic writers."""

    decls: dict[str, list[TableDecl]] = field(default_factory=dict)
    _models: set[str] = field(default_factory=set)
    _model_bases: frozenset[str] = field(default_factory=frozenset, repr=False)  # the classes models derive from
    writers: dict[str, list[AtomicWriter]] = field(default_factory=dict)
    _by_table: dict[str, list[TableDecl]] = field(default_factory=dict, repr=False)
    _table_names: dict[str, list[TableDecl]] = field(default_factory=dict, repr=False)
    _with_fields: dict[frozenset[str], tuple[str, ...]] = field(default_factory=dict, repr=False)
    _relations: dict[tuple[str, str], Relation] | None = field(default=None, repr=False)
    _mapped_relations: dict[tuple[str, str], MappedRelation] | None = field(default=None, repr=False)
    _unique_fields: frozenset[str] | None = field(default=None, repr=False)
    _users: tuple[str, bool] | None = field(default=None, repr=False)  # answer of `user_model`, kept
    summaries: dict[str, FunctionSummary] = field(default_factory=dict)  # by qualified name
    _by_tail: dict[str, list[str]] = field(default_factory=dict, repr=False)  # last two parts -> qualified names
    _summarised_under: set[str] = field(default_factory=set, repr=False)  # modules and classes holding a summarised function
    _owners: set[str] = field(default_factory=set, repr=False)  # what the summarised functions are in (a class, a module)
    exports: dict[str, str] = field(default_factory=dict)  # a module-level import: `pkg.db.Session` -> what it names
    instances: dict[str, str] = field(default_factory=dict)  # a module-level instance -> its class
    bases: dict[str, str] = field(default_factory=dict)  # a project class -> its first base
    settings: dict[str, str] = field(default_factory=dict)  # framework settings the project turns on
    _packages: frozenset[str] = field(default_factory=frozenset, repr=False)  # the project's top-level modules
    _exported: dict[str, str | None] = field(default_factory=dict, repr=False)  # answers of `export_of`, kept
    _below: dict[str, list[str]] = field(default_factory=dict, repr=False)  # re-exports by their names without the first part
    call_sites: dict[str, list[CallSite]] = field(default_factory=dict)  # by callee
    classes: ClassTable = field(default_factory=ClassTable)  # lineages and members of the project's classes

    def add_call_sites(self, sites: Iterable[CallSite]) -> None:
        for site in sites:
            self.call_sites.setdefault(_tail(site.callee), []).append(site)

    def call_sites_of(self, callee: str) -> list[CallSite]:
        """The project's calls of `callee` (a qualified name, or `Class.method`) that pass rows or
        that its summary asks about. A site names the callee as its import did, which may be the
        end of the name (`oscar.apps.f` for `src.oscar.apps.f`)."""
        return [s for s in self.call_sites.get(_tail(callee), []) if s.callee == callee or callee.endswith("." + s.callee)]

    def set_summaries(self, summaries: Iterable[FunctionSummary]) -> None:
        """The project's function summaries (clarification 15), replacing any before."""
        self.summaries, self._by_tail, self._summarised_under, self._owners = {}, {}, set(), set()
        self.add_summaries(sorted(summaries, key=lambda s: s.name))

    def add_summaries(self, summaries: Iterable[FunctionSummary]) -> None:
        """More summaries, as a round finds them (a later file's calls see them at once)."""
        for summary in summaries:
            if summary.name not in self.summaries:
                self._by_tail.setdefault(_tail(summary.name), []).append(summary.name)
                parts = summary.name.split(".")
                self._summarised_under.update(".".join(parts[:n]) for n in range(1, len(parts)))
                self._owners.add(summary.name.rsplit(".", 1)[0])
            self.summaries[summary.name] = summary

    def summarises_under(self, qualified: str) -> bool:
        """Whether a function of the project module (or class) `qualified` has a summary: code naming
        the module (`crud.get_quote(...)` after `from . import crud`) calls something that operates."""
        return qualified in self._summarised_under

    def summary_of(self, qualified: str) -> FunctionSummary | None:
        """The summary of the project function `qualified` names, None when it says nothing.

        A name is matched exactly, else as the end of one qualified name (code under `src/`,
        or imported by a shorter package path than the project root gives it)."""
        found = self.summaries.get(qualified)
        if found is not None or "." not in qualified:
            return found
        if not self._by_tail:
            return None
        candidates = [n for n in self._by_tail.get(_tail(qualified), ()) if n.endswith("." + qualified)]
        return self.summaries[candidates[0]] if len(candidates) == 1 else None

    def set_symbols(self, symbols: Iterable[Symbol]) -> None:
        """The project symbol table: what module-level names import, are instances of, derive from."""
        tables = {SymbolKind.IMPORT: self.exports, SymbolKind.INSTANCE: self.instances, SymbolKind.BASE: self.bases, SymbolKind.SETTING: self.settings}
        packages = set(self._packages)
        for symbol in symbols:
            if symbol.kind is not SymbolKind.SETTING:
                packages.update(symbol.name.split(".", 2)[:2])  # `src.oscar...` is imported as `oscar...`
            if symbol.kind is SymbolKind.CLASS:
                self.classes.add_class(symbol.name, symbol.target)
            elif symbol.kind is SymbolKind.MEMBER:
                self.classes.members[symbol.name] = symbol.target
            elif symbol.name != symbol.target:
                tables[symbol.kind][symbol.name] = symbol.target
        self._packages = frozenset(packages)
        self._exported = {}
        self._below = {}
        for name, target in self.exports.items():
            self._below.setdefault(name.split(".", 1)[-1], []).append(target)

    def setting(self, name: str) -> str | None:
        """A framework setting some file of the project turns on (`ATOMIC_REQUESTS`)."""
        return self.settings.get(name)

    def project_packages(self) -> frozenset[str]:
        """The top-level modules of the project (`saleor`, `src`): a name under none of them is a
        library's, and the project index has nothing to say about it."""
        return self._packages

    def in_project(self, qualified: str) -> bool:
        return qualified.split(".", 1)[0] in self.project_packages()

    def instance_class_of(self, qualified: str) -> str | None:
        """The project class a module-level instance is of (`app.db.db` -> `app.db.Database`)."""
        found = self.instances.get(qualified)
        return (self.export_of(found) or found) if found is not None else None

    def library_class_of(self, qualified: str) -> str | None:
        """The class outside the project that a project class derives from, or that a module-level
        instance is of (`CTFd.cache.cache`, a `CTFdCache()`, whose base is flask-caching's
        `Cache`); None when the name is neither."""
        current = self.instances.get(qualified, qualified)
        current = self.export_of(current) or current
        seen: set[str] = set()
        while current in self.bases and current not in seen:
            seen.add(current)
            current = self.bases[current]
            current = self.export_of(current) or current
        return current if seen or qualified in self.instances else None

    def lineage_of(self, cls: str) -> tuple[str, ...]:
        """The project class `cls` names and its project bases and mixins, in method resolution order."""
        return self.classes.lineage(cls, self.export_of)

    def subclasses_of(self, cls: str) -> tuple[str, ...]:
        """The project classes deriving from the project class `cls` names."""
        return self.classes.subclasses(cls, self.export_of)

    def class_operates(self, cls: str) -> bool:
        """Whether a method of the project class `cls` names, of a class of its lineage or of a
        subclass, has a summary that says something: an instance of it (a collaborator, a mixin
        derived from) may do something for whoever holds it. Models aside: their methods are
        called on rows, which name their triggers."""
        classes = (*self.lineage_of(cls), *self.subclasses_of(cls))
        return not self.is_model(cls.rsplit(".", 1)[-1]) and any(c in self._owners for c in classes)

    def member_of(self, cls: str, attribute: str) -> tuple[str, str] | None:
        """`(owner, what)` for `cls.attribute`, from the first class of its lineage whose code says
        what it holds: "def" (a method), "type:<qualified>" (several joined by "|"), "call:<qualified>"
        (what calling it gives), the names followed through the project's re-exports and aliases."""
        found = self.classes.member(cls, attribute, self.export_of)
        if found is None:
            return None
        owner, what = found
        kind, _, targets = what.partition(":")
        resolved = "|".join(sorted({self.export_of(t) or t for t in targets.split("|")}))
        return (owner, f"{kind}:{resolved}") if targets else found

    def export_of(self, qualified: str) -> str | None:
        """What a name imported from a project module stands for when that module imported it
        (`from app.db import AsyncSession` where `app/db.py` re-exports sqlmodel's): followed
        through chains of re-exports; None when the module does not re-export it."""
        known = self._exported.get(qualified, "")
        if known != "":
            return known
        found = self._export_of(qualified)
        self._exported[qualified] = found
        return found

    def _export_of(self, qualified: str) -> str | None:
        seen: set[str] = set()
        current = qualified
        while current not in seen and len(seen) < 16:
            seen.add(current)
            head, _, rest = current.rpartition(".")
            target = self.exports.get(current) or self._exported_below(current)
            if target is None:
                # `pkg.db.AsyncSession.begin`: the re-export is its head
                while head and target is None:
                    target = self.exports.get(head)
                    if target is not None:
                        target = f"{target}.{rest}"
                    else:
                        head, _, last = head.rpartition(".")
                        rest = f"{last}.{rest}"
            if target is None:
                break
            current = target
        return current if current != qualified else None

    def _exported_below(self, qualified: str) -> str | None:
        """A re-export named by the end of its qualified name: the project root is a folder above the
        package (`server/polar/...`), whose modules import each other as `polar....` (summaries are
        matched so too, `summary_of`). Only when one name of the project ends so."""
        if qualified.split(".", 1)[0] not in self._packages:
            return None
        found = self._below.get(qualified, [])
        return found[0] if len(found) == 1 else None

    def add_atomic_writers(self, writers: Iterable[AtomicWriter]) -> None:
        for writer in writers:
            self.writers.setdefault(writer.table, []).append(writer)

    def atomic_writers_of(self, table: str) -> list[AtomicWriter]:
        return self.writers.get(table, [])

    @classmethod
    def build(cls, decls: Iterable[TableDecl]) -> ProjectIndex:
        index = cls()
        for decl in decls:
            known = index.decls.setdefault(decl.name, [])
            if decl not in known:  # a library model every file deriving from it declares again
                known.append(decl)
        index._resolve_models()
        index._relations = index._all_relations()
        index._mapped_relations = mapped_relations(index.decls, index.declarations_of_table, index.table_of)
        return index

    def _resolve_models(self) -> None:
        """A class is a model when it derives, directly or through project classes, from a model base."""
        models = {name for name, decls in self.decls.items() if any(d.is_root for d in decls)}
        changed = True
        while changed:
            changed = False
            for name, decls in self.decls.items():
                if name not in models and any(base in models for d in decls for base in d.bases):
                    models.add(name)
                    changed = True
        self._models = models
        # What models derive from, once: asked for `self` of every method a file interprets.
        self._model_bases = frozenset(base for name, decls in self.decls.items() if name in models for d in decls for base in d.bases)

    def is_model(self, name: str) -> bool:
        return name in self._models

    def relation_of(self, model: str, attribute: str) -> Relation | None:
        """What `instance.attribute` reaches when `instance` is a row of `model`: a foreign key's row, or
        the rows of another model whose foreign key points here (by `related_name` or `<model>_set`)."""
        if self._relations is None:
            self._relations = self._all_relations()
        for decl in self.declarations_of_table(model):
            found = self._relations.get((decl.name, attribute))
            if found is not None:
                return found
        # A model the project does not declare (Django's own `User`) still has the reverse accessors
        # of the project's foreign keys to it.
        return self._relations.get((model, attribute))

    def mapped_relation_of(self, model: str, attribute: str) -> MappedRelation | None:
        """What `instance.attribute` reaches through a SQLAlchemy relationship of `model` (a table or
        class name) or of one of its bases, or through a `backref` another class declares on it."""
        if self._mapped_relations is None:
            self._mapped_relations = mapped_relations(self.decls, self.declarations_of_table, self.table_of)
        for decl in self.declarations_of_table(model):
            found = self._mapped_relations.get((decl.name, attribute))
            if found is not None:
                return found
        return None

    def mapped_relations_of(self, model: str) -> list[tuple[str, MappedRelation]]:
        """Every SQLAlchemy relationship attribute of `model` and its bases, by name."""
        if self._mapped_relations is None:
            self._mapped_relations = mapped_relations(self.decls, self.declarations_of_table, self.table_of)
        names = {d.name for d in self.declarations_of_table(model)}
        found: dict[str, MappedRelation] = {}
        for (owner, attribute), relation in sorted(self._mapped_relations.items()):
            if owner in names:
                found.setdefault(attribute, relation)
        return sorted(found.items())

    def is_sqlalchemy_model(self, table: str) -> bool:
        """Whether SQLAlchemy maps the model (`table` a table or class name): its instances are written
        by a session's flush, only their changed columns, never by a Django `save()`. A name both
        libraries declare in one project is not told apart, and is not taken as SQLAlchemy's."""
        orms = {d.orm for d in self.declarations_of_table(table)}
        return "sqlalchemy" in orms and "django" not in orms

    def _all_relations(self) -> dict[tuple[str, str], Relation]:
        forward: dict[tuple[str, str], Relation] = {}
        reverse: dict[tuple[str, str], Relation] = {}
        user_model = self._user_model()
        for name, decls in sorted(self.decls.items()):
            for decl in decls:
                for column in decl.columns:
                    if column.references is None:
                        continue
                    target = name if column.references == "self" else user_model if column.references == AUTH_USER else column.references
                    forward[(name, column.name)] = Relation("forward", target)
                    if column.related_name == "+":
                        continue
                    accessor = column.related_name or (name.lower() if column.one_to_one else f"{name.lower()}_set")
                    reverse.setdefault((target, accessor), Relation("forward" if column.one_to_one else "reverse", name, column.name))
        return {**reverse, **forward}  # a field of the model itself wins over a reverse accessor of the same name

    def user_model(self) -> tuple[str, bool]:
        """The model of the project's users (what `request.user` is) and whether the project declares
        it (else Django's `User`)."""
        if self._users is None:
            found = self._user_model()
            self._users = found, found != "User" or any(not d.path.startswith("<") for d in self.decls.get(found, []))
        return self._users

    def _user_model(self) -> str:
        users = [
            name
            for name, decls in sorted(self.decls.items())
            if name != USER_BASE and not decls[0].path.startswith("<") and USER_BASE in {d.name for d in self.declarations_of_table(name)}
        ]
        return users[0] if len(users) == 1 else "User"

    def model_with_fields(self, columns: Iterable[str], named: str = "") -> str | None:
        """The one model declaring every one of `columns` (itself or through its bases), when exactly one
        family of models does: the most derived of them. When several unrelated families do, the one
        the variable is named after (`voucher`: `Voucher` or `AbstractVoucher`). None otherwise."""
        wanted = frozenset(normalise_column(c) for c in columns)
        if not wanted:
            return None
        if wanted not in self._with_fields:
            candidates = [name for name in sorted(self._models) if wanted <= {normalise_column(c) for c in self.columns_of(name)}]
            self._with_fields[wanted] = tuple(
                name for name in candidates if not any(name in self._bases_of(other) for other in candidates if other != name)
            )
        leaves = self._with_fields[wanted]
        if len(leaves) == 1:
            return leaves[0]
        hint = named.replace("_", "").lower()
        matching = [name for name in leaves if hint and name.lower().removeprefix("abstract") == hint]
        return matching[0] if len(matching) == 1 else None

    def models_managed_by(self, manager: str) -> list[str]:
        """The models whose class bodies assign an instance of class `manager` (a simple name)."""
        return sorted({d.name for decls in self.decls.values() for d in decls if manager in d.managers and self.is_model(d.name)})

    def is_mixin_of_models(self, name: str) -> bool:
        """A class that is no model but that models derive from (`class Refund(StatusMixin, Model)`):
        its methods run on rows of those models."""
        return name in self._model_bases and not self.is_model(name)

    def is_manager_attribute(self, table: str, attribute: str) -> bool:
        """`Model.<attribute>` is a manager the model (or one of its bases) assigns."""
        return any(attribute in d.manager_attributes for d in self.declarations_of_table(table))

    def managers_of(self, table: str) -> list[str]:
        """The manager classes (simple names) a model, or one of its bases, assigns."""
        return list(dict.fromkeys(m for d in self.declarations_of_table(table) for m in d.managers))

    def _bases_of(self, name: str) -> set[str]:
        return {d.name for d in self.declarations_of_table(name)} - {name}

    def declarations_of_table(self, table: str) -> list[TableDecl]:
        """Every declaration of `table` (by table name or class name), its bases included."""
        cached = self._by_table.get(table)
        if cached is None:
            cached = self._by_table[table] = self._declarations_of_table(table)
        return cached

    def _declarations_of_table(self, table: str) -> list[TableDecl]:
        if not self._table_names:
            for decls in self.decls.values():
                for d in decls:
                    self._table_names.setdefault(d.table, []).append(d)
                    if d.name != d.table:
                        self._table_names.setdefault(d.name, []).append(d)
        found = list(self._table_names.get(table, []))
        seen = {d.name for d in found}
        queue = list(found)
        while queue:
            for base in queue.pop().bases:
                for decl in self.decls.get(base, []):
                    if decl.name not in seen:
                        seen.add(decl.name)
                        found.append(decl)
                        queue.append(decl)
        return found

    def columns_of(self, table: str) -> frozenset[str]:
        """The declared columns of a model/table and its bases (empty: unknown)."""
        return frozenset(c.name for d in self.declarations_of_table(table) for c in d.columns)

    def knows_table(self, table: str) -> bool:
        """Whether the project declares this table (so the absence of a constraint means something):
        not when it derives from a base of a library the project does not declare (clarification 19:
        its constraints are unknown, so silent rather than flagged)."""
        decls = self.declarations_of_table(table)
        if any(base not in self.decls for d in decls for base in d.opaque_bases):
            return False
        return any(d.complete for d in decls)

    def is_unique(self, table: str, columns: Iterable[str]) -> bool:
        """Whether inserting rows with these columns set hits a unique constraint: a unique field (or
        one of a field class that makes itself unique), a unique set, the primary key (`pk`; an `id`
        is named only when a lookup says it is the key, since rows inserted with a generated id each
        get their own)."""
        given = {normalise_column(c) for c in columns}
        if "pk" in given:
            return True
        unique_classes = self._unique_field_classes()
        for decl in self.declarations_of_table(table):
            if any((c.unique or c.field_class in unique_classes) and normalise_column(c.name) in given for c in decl.columns):
                return True
            if any(s and {normalise_column(c) for c in s} <= given for s in decl.unique_sets):
                return True
        return False

    def _unique_field_classes(self) -> frozenset[str]:
        """The project's field classes that make their fields unique, and the classes deriving from them."""
        if self._unique_fields is None:
            found = {name for name, decls in self.decls.items() if any(d.unique_field for d in decls)}
            changed = bool(found)
            while changed:
                derived = {name for name, decls in self.decls.items() if name not in found and any(b in found for d in decls for b in d.bases)}
                found |= derived
                changed = bool(derived)
            self._unique_fields = frozenset(found)
        return self._unique_fields

    def column_decl(self, table: str, column: str) -> ColumnDecl | None:
        """What the schema declares of one column of a model/table (None: not declared)."""
        wanted = normalise_column(column)
        return next((c for d in self.declarations_of_table(table) for c in d.columns if normalise_column(c.name) == wanted), None)

    def version_column(self, table: str) -> str | None:
        return next((d.version_column for d in self.declarations_of_table(table) if d.version_column), None)

    def is_non_negative(self, table: str, column: str) -> bool:
        wanted = normalise_column(column)
        return any(
            wanted in {normalise_column(c) for c in d.non_negative} or any(c.non_negative and normalise_column(c.name) == wanted for c in d.columns)
            for d in self.declarations_of_table(table)
        )

    def table_of(self, name: str) -> str:
        decls = self.decls.get(name)
        return decls[0].table if decls else name


def _tail(qualified: str) -> str:
    return ".".join(qualified.rsplit(".", 2)[-2:])


def normalise_column(name: str) -> str:
    """`account_id` and `account` name the same foreign-key column; case does not matter."""
    lowered = name.lower()
    return lowered[:-3] if lowered.endswith("_id") and len(lowered) > 3 else lowered


def atomic_writers(modules: Iterable[ModuleIR]) -> list[AtomicWriter]:
    """Every arithmetic in-database write of these modules (`F("n") + 1`, `SET n = n - x`)."""
    found = []
    for module in modules:
        for unit in module.units:
            for op in unit.ops:
                if isinstance(op, Write):
                    for a in op.assignments:
                        if a.value.kind is ValueKind.IN_DATABASE and a.value.delta is not None:
                            found.append(AtomicWriter(op.table, a.column, module.path, op.span, unit.name))
    return found
