"""What holds at one point of a function: the interpreter's abstract state, and how states meet.

- `env`: each local variable's value, with the step that bound it (where
  paths meet and two values have nothing in common, the later binding wins);
- `rows`: fields the function assigned on in-memory rows: what reading one
  gives now, and the change a save would write;
- `transactions`: the stack of open transactions (the outermost is the one
  that counts; the others are savepoints of it);
- `paths`: the path states (`paths.PathState`);
- `results`: writes whose row count is still to be read, by cursor;
- `elements`: the element a `for` loop binds and the subject a `match`
  tests, by node;
- `facets`: recognisers' own state that forks and joins with the paths
  (where other code last ran, a cursor's last read).

A state is changed in place while one block is interpreted; everything in
it is immutable, so `copy` is shallow.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from txlint.core.ir import Assignment, Dependency, RowRef, ValueKind
from txlint.core.ir import Value as IRValue
from txlint.frontends.python.interpret.paths import Paths
from txlint.frontends.python.interpret.values import Data, Value, join_values


@dataclass(frozen=True)
class Binding:
    """A variable's value and the step that bound it (its order in the source; 0: a parameter)."""

    value: Value
    site: int


@dataclass(frozen=True)
class FieldState:
    """A field of an in-memory row that the function assigned.

    `seen` is what reading it gives; `pending` the change a save would write
    (None once saved). `column` says the field may be a column of the row:
    where paths meet and only one of them assigned it, a read may still see
    the value loaded with the row.
    """

    seen: Data
    pending: Assignment | None
    column: bool = True


@dataclass(frozen=True)
class RowChanges:
    """The assigned fields of one in-memory row (`fields` is never changed in place)."""

    table: str | None
    fields: Mapping[str, FieldState]


class TxKind(enum.Enum):
    """How a transaction was opened, which says how it ends."""

    BLOCK = "block"  # a `with` block or decorator: ends itself
    MANUAL = "manual"  # opened by hand (`conn.begin()`, `set_autocommit(False)`): the code must end it
    AUTO = "auto"  # begun by the first statement (a session, a DB-API connection): the code must end it


@dataclass(frozen=True)
class TxFrame:
    """One open transaction (or savepoint): its id in the unit, database alias, kind, the node that
    opened it (the `with` item leaving it ends it), and whether ending it flushes a session."""

    id: int
    database: str | None
    kind: TxKind
    opener: int
    flushes: bool = False


class Facet:
    """Base of recognisers' path-sensitive state: immutable, joined where paths meet."""

    def join(self, other: Facet) -> Facet:
        return self if self == other else other


F = TypeVar("F", bound=Facet)


@dataclass
class State:
    env: dict[str, Binding]
    rows: dict[RowRef, RowChanges]
    transactions: tuple[TxFrame, ...]
    paths: Paths
    results: dict[str, frozenset[int]]
    elements: dict[int, Value]
    facets: dict[type[Facet], Facet]

    def copy(self) -> State:
        return State(
            dict(self.env), dict(self.rows), self.transactions, self.paths, dict(self.results), dict(self.elements), dict(self.facets)
        )

    def with_paths(self, paths: Paths) -> State:
        """The same state on other paths (the dicts are shared: states are copied before they change)."""
        return State(self.env, self.rows, self.transactions, paths, self.results, self.elements, self.facets)

    def join(self, other: State) -> State:
        return State(
            _join_env(self.env, other.env),
            _join_rows(self.rows, other.rows),
            max(self.transactions, other.transactions, key=lambda frames: (len(frames), tuple(f.id for f in frames))),
            self.paths | other.paths,
            _union(self.results, other.results),
            _join_elements(self.elements, other.elements),
            _join_facets(self.facets, other.facets),
        )

    def same(self, other: State) -> bool:
        return (
            self.paths == other.paths
            and self.transactions == other.transactions
            and self.env == other.env
            and self.rows == other.rows
            and self.results == other.results
            and self.elements == other.elements
            and self.facets == other.facets
        )


def _join_env(left: dict[str, Binding], right: dict[str, Binding]) -> dict[str, Binding]:
    merged = dict(left)
    for name, binding in right.items():
        mine = merged.get(name)
        if mine is None or mine == binding:
            merged[name] = binding if mine is None else mine
            continue
        value = join_values(mine.value, binding.value)
        later = mine if mine.site >= binding.site else binding
        merged[name] = later if value is None else Binding(value, later.site)
    return merged


def _join_rows(left: dict[RowRef, RowChanges], right: dict[RowRef, RowChanges]) -> dict[RowRef, RowChanges]:
    merged = dict(left)
    for ref, changes in right.items():
        mine = merged.get(ref)
        if mine != changes:  # a row changed on one path only was not changed on the other
            merged[ref] = _join_changes(ref, mine or RowChanges(changes.table, {}), changes)
    for ref, changes in left.items():
        if ref not in right:
            merged[ref] = _join_changes(ref, changes, RowChanges(changes.table, {}))
    return merged


def _join_changes(ref: RowRef, left: RowChanges, right: RowChanges) -> RowChanges:
    fields: dict[str, FieldState] = {}
    for name in dict.fromkeys([*left.fields, *right.fields]):
        mine, theirs = left.fields.get(name), right.fields.get(name)
        if mine is None or theirs is None:
            only = mine or theirs
            assert only is not None
            # Assigned on one path only: the other still holds what was loaded with the row.
            read = Data(frozenset({Dependency(ref, name)})) if only.column else Data()
            fields[name] = replace(only, seen=_data(only.seen.join(read)))
            continue
        fields[name] = FieldState(_data(mine.seen.join(theirs.seen)), _join_pending(mine.pending, theirs.pending), mine.column or theirs.column)
    return RowChanges(left.table or right.table, fields)


def _join_pending(left: Assignment | None, right: Assignment | None) -> Assignment | None:
    if left is None or right is None or left == right:
        return left or right
    return Assignment(left.column, join_ir_values(left.value, right.value), min(left.span, right.span, key=lambda s: (s.line, s.column)))


_KIND_RANK = {ValueKind.DERIVED: 3, ValueKind.IN_DATABASE: 2, ValueKind.UNKNOWN: 1, ValueKind.INDEPENDENT: 0}


def join_ir_values(left: IRValue, right: IRValue) -> IRValue:
    """The value written when either may be: derived from a read if either is."""
    if left == right:
        return left
    kind = max(left.kind, right.kind, key=_KIND_RANK.__getitem__)
    return IRValue(
        kind,
        left.depends_on | right.depends_on,
        left.delta if left.delta == right.delta else None,
        left.expression if left.expression == right.expression else None,
    )


def _data(value: Value | None) -> Data:
    return value if isinstance(value, Data) else Data()


def _union(left: dict[str, frozenset[int]], right: dict[str, frozenset[int]]) -> dict[str, frozenset[int]]:
    merged = dict(left)
    for key, indices in right.items():
        merged[key] = merged.get(key, frozenset()) | indices
    return merged


def _join_elements(left: dict[int, Value], right: dict[int, Value]) -> dict[int, Value]:
    merged = dict(left)
    for key, value in right.items():
        mine = merged.get(key)
        merged[key] = value if mine is None else join_values(mine, value) or mine
    return merged


def _join_facets(left: dict[type[Facet], Facet], right: dict[type[Facet], Facet]) -> dict[type[Facet], Facet]:
    merged = dict(left)
    for kind, facet in right.items():
        mine = merged.get(kind)
        merged[kind] = facet if mine is None else mine.join(facet)
    return merged
