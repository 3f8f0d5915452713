"""The project-index facts one file's analysis asked for, so a cached result knows when it is stale.

A file's findings depend on its own text and on the answers the project index
gave while it was analysed (is `Account` a model, is `(user, day)` unique, who
updates `stock` atomically). `RecordingIndex` answers exactly like the index
it wraps and writes down each question with a digest of the answer. On a
later run the cached result is reused only when every recorded question gets
the same answer from the new index: an edit to one model file re-analyses the
files that asked about that model, and no others.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from txlint.core.index import AtomicWriter, ColumnDecl, ProjectIndex, Relation, TableDecl
from txlint.core.relationships import MappedRelation
from txlint.core.summaries import CallSite, FunctionSummary

Lookup = tuple[str, list[Any], str]  # method name, JSON-ready arguments, digest of the answer

QUESTIONS = (
    "is_model",
    "is_mixin_of_models",
    "declarations_of_table",
    "columns_of",
    "knows_table",
    "is_unique",
    "column_decl",
    "user_model",
    "version_column",
    "is_non_negative",
    "table_of",
    "atomic_writers_of",
    "model_with_fields",
    "relation_of",
    "mapped_relation_of",
    "mapped_relations_of",
    "is_sqlalchemy_model",
    "summary_of",
    "export_of",
    "call_sites_of",
    "library_class_of",
    "project_packages",
    "setting",
    "instance_class_of",
    "lineage_of",
    "subclasses_of",
    "member_of",
)


A = TypeVar("A")


class RecordingIndex(ProjectIndex):
    """A view of `index` that records every question asked from outside the index itself."""

    def __init__(self, index: ProjectIndex) -> None:
        # Share the wrapped index's tables and caches: answers are its answers, computed once.
        for f in dataclasses.fields(ProjectIndex):
            setattr(self, f.name, getattr(index, f.name))
        self.lookups: list[Lookup] = []
        self._seen: set[tuple[str, str]] = set()
        self._depth = 0

    def _ask(self, method: str, args: tuple[Any, ...], answer: Callable[[], A]) -> A:
        self._depth += 1
        try:
            result = answer()
        finally:
            self._depth -= 1
        if self._depth == 0:  # a question the index asks itself is covered by the outer one
            plain_args = [_argument(a) for a in args]
            key = (method, repr(plain_args))
            if key not in self._seen:
                self._seen.add(key)
                self.lookups.append((method, plain_args, digest(result)))
        return result

    def is_model(self, name: str) -> bool:
        return bool(self._ask("is_model", (name,), lambda: super(RecordingIndex, self).is_model(name)))

    def is_mixin_of_models(self, name: str) -> bool:
        return bool(self._ask("is_mixin_of_models", (name,), lambda: super(RecordingIndex, self).is_mixin_of_models(name)))

    def declarations_of_table(self, table: str) -> list[TableDecl]:
        return self._ask("declarations_of_table", (table,), lambda: super(RecordingIndex, self).declarations_of_table(table))

    def columns_of(self, table: str) -> frozenset[str]:
        return self._ask("columns_of", (table,), lambda: super(RecordingIndex, self).columns_of(table))

    def knows_table(self, table: str) -> bool:
        return bool(self._ask("knows_table", (table,), lambda: super(RecordingIndex, self).knows_table(table)))

    def is_unique(self, table: str, columns: Iterable[str]) -> bool:
        given = tuple(columns)
        return bool(self._ask("is_unique", (table, given), lambda: super(RecordingIndex, self).is_unique(table, given)))

    def column_decl(self, table: str, column: str) -> ColumnDecl | None:
        return self._ask("column_decl", (table, column), lambda: super(RecordingIndex, self).column_decl(table, column))

    def user_model(self) -> tuple[str, bool]:
        return self._ask("user_model", (), lambda: super(RecordingIndex, self).user_model())

    def version_column(self, table: str) -> str | None:
        return self._ask("version_column", (table,), lambda: super(RecordingIndex, self).version_column(table))

    def is_non_negative(self, table: str, column: str) -> bool:
        return bool(self._ask("is_non_negative", (table, column), lambda: super(RecordingIndex, self).is_non_negative(table, column)))

    def table_of(self, name: str) -> str:
        return self._ask("table_of", (name,), lambda: super(RecordingIndex, self).table_of(name))

    def relation_of(self, model: str, attribute: str) -> Relation | None:
        return self._ask("relation_of", (model, attribute), lambda: super(RecordingIndex, self).relation_of(model, attribute))

    def mapped_relation_of(self, model: str, attribute: str) -> MappedRelation | None:
        return self._ask("mapped_relation_of", (model, attribute), lambda: super(RecordingIndex, self).mapped_relation_of(model, attribute))

    def mapped_relations_of(self, model: str) -> list[tuple[str, MappedRelation]]:
        return self._ask("mapped_relations_of", (model,), lambda: super(RecordingIndex, self).mapped_relations_of(model))

    def is_sqlalchemy_model(self, table: str) -> bool:
        return bool(self._ask("is_sqlalchemy_model", (table,), lambda: super(RecordingIndex, self).is_sqlalchemy_model(table)))

    def model_with_fields(self, columns: Iterable[str], named: str = "") -> str | None:
        given = tuple(sorted(columns))
        return self._ask("model_with_fields", (given, named), lambda: super(RecordingIndex, self).model_with_fields(given, named))

    def summary_of(self, qualified: str) -> FunctionSummary | None:
        return self._ask("summary_of", (qualified,), lambda: super(RecordingIndex, self).summary_of(qualified))

    def export_of(self, qualified: str) -> str | None:
        return self._ask("export_of", (qualified,), lambda: super(RecordingIndex, self).export_of(qualified))

    def instance_class_of(self, qualified: str) -> str | None:
        return self._ask("instance_class_of", (qualified,), lambda: super(RecordingIndex, self).instance_class_of(qualified))

    def lineage_of(self, cls: str) -> tuple[str, ...]:
        return self._ask("lineage_of", (cls,), lambda: super(RecordingIndex, self).lineage_of(cls))

    def subclasses_of(self, cls: str) -> tuple[str, ...]:
        return self._ask("subclasses_of", (cls,), lambda: super(RecordingIndex, self).subclasses_of(cls))

    def member_of(self, cls: str, attribute: str) -> tuple[str, str] | None:
        return self._ask("member_of", (cls, attribute), lambda: super(RecordingIndex, self).member_of(cls, attribute))

    def setting(self, name: str) -> str | None:
        return self._ask("setting", (name,), lambda: super(RecordingIndex, self).setting(name))

    def project_packages(self) -> frozenset[str]:
        return self._ask("project_packages", (), lambda: super(RecordingIndex, self).project_packages())

    def library_class_of(self, qualified: str) -> str | None:
        return self._ask("library_class_of", (qualified,), lambda: super(RecordingIndex, self).library_class_of(qualified))

    def call_sites_of(self, callee: str) -> list[CallSite]:
        return self._ask("call_sites_of", (callee,), lambda: super(RecordingIndex, self).call_sites_of(callee))

    def atomic_writers_of(self, table: str) -> list[AtomicWriter]:
        return self._ask("atomic_writers_of", (table,), lambda: super(RecordingIndex, self).atomic_writers_of(table))


# What a file asked about the functions it calls: their answers settle over the summary rounds.
SUMMARY_QUESTIONS = frozenset({"summary_of"})


def still_true(index: ProjectIndex, lookups: Iterable[Lookup], but: frozenset[str] = frozenset()) -> bool:
    """Whether `index` answers every recorded question as it was answered then (the questions
    named in `but` aside)."""
    for method, args, answer in lookups:
        if method in but:
            continue
        if method not in QUESTIONS:
            return False
        ask = getattr(index, method)
        try:
            result = ask(*[tuple(a) if isinstance(a, list) else a for a in args])
        except Exception:  # noqa: BLE001 - a question the new index cannot answer means stale
            return False
        if digest(result) != answer:
            return False
    return True


def digest(value: object) -> str:
    """A digest of an answer that does not depend on set order or on the process."""
    return hashlib.sha256(repr(_canonical(value)).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _canonical(value: object) -> object:
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [type(value).__name__, *(_canonical(getattr(value, f.name)) for f in dataclasses.fields(value))]
    return value


def _argument(value: Any) -> Any:
    if isinstance(value, (tuple, list, set, frozenset)):
        return sorted(str(v) for v in value) if isinstance(value, (set, frozenset)) else [str(v) for v in value]
    return value
