"""Path states: what each path reaching a point carries that decides whether leaving there is a bug.

A path may have uncommitted work in a transaction the function ends by hand
("open since op N", and the place it skipped the code that would have ended
it: the `if` without `else`, the `except` that swallows), and hold cache
locks it took (which, unlike a transaction, an exception does not release).
It knows the local flags it set to a literal (`changed = True`): a later `if
changed:` lets through only the paths that agree (RULES clarification 7: the
path that changed nothing and so commits nothing is not left open).
While it leaves its region (a `return`, a `raise`, a `break`), it carries
the route it is on: the graph's exit regions send it on accordingly, and
where it leaves the function the route names the exit (the `return`
statement, the `raise`, the end).

The interpreter keeps the set of states of the paths reaching the current
point: it forks at branches, is joined where paths meet (set union) and is
filtered by the edges out of exit regions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from txlint.core.ftypes import Span
from txlint.frontends.python.flow.cfg import Edge, Route, RouteKind


@dataclass(frozen=True)
class Leaving:
    """The route a path is on and where it took it (`span` None for an exception nobody raised on
    purpose), with what the exit it leads to records: the transaction open there, whether the
    function falls off its end, hands a session or connection back to its caller."""

    route: Route
    span: Span | None = None
    end: bool = False
    hands_over: bool = False
    tx: int | None = None
    order: int = 0  # the step that took the route, to list exits in source order
    database: bool = False  # an exception a database call raised (`commit()` failing)


@dataclass(frozen=True)
class PathState:
    """One path's condition."""

    open_since: int | None = None  # the op that opened uncommitted work
    site: Span | None = None  # where the path left the code that ends the transaction
    held: frozenset[int] = frozenset()  # ops that took a lock this path still holds
    leaving: Leaving | None = None
    flags: frozenset[tuple[str, bool]] = frozenset()  # local names this path set to a literal, and its truth


Paths = frozenset[PathState]

START: Paths = frozenset({PathState()})


def opened(paths: Paths, index: int) -> Paths:
    """A write or lock in a transaction the code must end itself: clean paths are open from here."""
    return frozenset(p if p.open_since is not None else replace(p, open_since=index) for p in paths)


def ended(paths: Paths) -> Paths:
    """A commit or rollback: every path is clean again (its locks and route stay)."""
    return frozenset(PathState(held=p.held, leaving=p.leaving, flags=p.flags) for p in paths)


def skipping(paths: Paths, site: Span) -> Paths:
    """Open paths that skip the code ending the transaction here remember this place."""
    return frozenset(p if p.open_since is None or p.site is not None else replace(p, site=site) for p in paths)


def holding(paths: Paths, index: int, held: bool) -> Paths:
    """The paths on which the lock taken by op `index` is held (`held`) or not."""
    return frozenset(replace(p, held=p.held | {index} if held else p.held - {index}) for p in paths)


def flagged(paths: Paths, name: str, truth: bool | None) -> Paths:
    """`name` is set to a literal of this truth on every path (None: to a value of unknown truth)."""
    if truth is None and not any(flag[0] == name for p in paths for flag in p.flags):
        return paths
    kept = {p: frozenset(flag for flag in p.flags if flag[0] != name) for p in paths}
    return frozenset(replace(p, flags=flags | {(name, truth)} if truth is not None else flags) for p, flags in kept.items())


def assuming(paths: Paths, name: str, truth: bool) -> Paths:
    """The paths on which `name` may have this truth (those that set it to the opposite are cut)."""
    return frozenset(p for p in paths if (name, not truth) not in p.flags)


def unwritten(paths: Paths, writes: frozenset[int]) -> Paths:
    """The paths on which these writes matched no row: work they opened is no work."""
    return frozenset(replace(p, open_since=None, site=None) if p.open_since in writes else p for p in paths)


def released(paths: Paths, indices: Iterable[int]) -> Paths:
    for index in indices:
        paths = holding(paths, index, False)
    return paths


def held_on(paths: Iterable[PathState]) -> frozenset[int]:
    """Locks held on at least one of the paths."""
    return frozenset().union(*(p.held for p in paths))


def leave(paths: Paths, leaving: Leaving) -> Paths:
    return frozenset(replace(p, leaving=leaving) for p in paths)


def raising(paths: Paths, database: bool = False) -> Paths:
    """The paths as an exception nobody raised on purpose takes them out of a block (`database`:
    one the database call they are about to make raises)."""
    unplanned = Leaving(Route(RouteKind.RAISE), database=database)
    return frozenset(p if p.leaving is not None else replace(p, leaving=unplanned) for p in paths)


def through(paths: Paths, edge: Edge) -> Paths:
    """The paths an edge lets through: out of an exit region only those on the route it continues;
    where a route ends (the loop a jump went to, a handler), the paths are on no route again."""
    if edge.routed:
        wanted = edge.admits
        paths = frozenset(p for p in paths if _on(p, wanted))
    if not edge.database:  # a handler of the program's own errors: a failed database call is not caught here
        paths = frozenset(p for p in paths if p.leaving is None or not p.leaving.database)
    if edge.arrives:
        paths = frozenset(replace(p, leaving=None) if p.leaving is not None else p for p in paths)
    return paths


def _on(path: PathState, route: Route | None) -> bool:
    if route is None:
        return path.leaving is None
    if path.leaving is None:
        return False
    if route.kind is RouteKind.RAISE:
        return path.leaving.route.kind is RouteKind.RAISE
    return path.leaving.route == route


def first_open(paths: Iterable[PathState]) -> PathState | None:
    """An open path, preferring one that knows where it left the code ending the transaction."""
    opened_paths = sorted((p for p in paths if p.open_since is not None), key=_order)
    return next((p for p in opened_paths if p.site is not None), opened_paths[0] if opened_paths else None)


def _order(path: PathState) -> tuple[int, int]:
    return (path.open_since or 0, path.site.line if path.site else 0)
