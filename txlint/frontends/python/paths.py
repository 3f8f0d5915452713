"""Path-sensitive bookkeeping of open transaction work, for the walker.

The walker is flow-insensitive for data (both arms of an `if` are walked in
turn); whether a transaction is left open, though, is a question about each
path to each exit. This tracker keeps the set of states the paths reaching
the current point can be in — "clean", or "open since op N" (a write or lock
since the last commit/rollback) — forks it at branches, joins it after them,
drops it at `raise` (an exception propagating to the caller is not a leak),
and hands the walker the states that reach each `return` and the end.

The same states also carry the cache locks a path holds (acquired and not yet
released), which, unlike a transaction, an exception does not release.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from txlint.core.ftypes import Span


@dataclass(frozen=True)
class PathState:
    """One path's condition: the op that opened uncommitted work (None: clean), and where
    the path left the code that ends the transaction (the `if` with no `else`, the `except`)."""

    open_since: int | None = None
    site: Span | None = None
    held: frozenset[int] = frozenset()  # ops that acquired a lock this path still holds


States = frozenset[PathState] | None  # None: no path reaches this point

CLEAN: frozenset[PathState] = frozenset({PathState()})


def join(*groups: States) -> States:
    """The states of paths that meet (after an `if`, a `try`, a loop)."""
    reached = [g for g in groups if g is not None]
    return frozenset().union(*reached) if reached else None


def leaving_through(states: States, site: Span) -> States:
    """Paths that skip the code ending the transaction here remember this place."""
    if states is None:
        return None
    return frozenset(s if s.open_since is None or s.site is not None else replace(s, site=site) for s in states)


def holding(states: States, index: int, held: bool) -> States:
    """The paths on which the lock acquired by op `index` is held (`held`) or not."""
    if states is None:
        return None
    return frozenset(replace(s, held=s.held | {index} if held else s.held - {index}) for s in states)


def held_on(states: States) -> frozenset[int]:
    """Locks held on at least one of the paths."""
    return frozenset().union(*(s.held for s in states or ()))


class PathTracker:
    """The current states, and the states collected by `break`/`continue` of enclosing loops."""

    def __init__(self) -> None:
        self.states: States = CLEAN
        self._loops: list[list[States]] = []
        self._tries: list[list[States]] = []  # states seen inside each enclosing `try` body

    def opened(self, index: int) -> None:
        """A write or lock in a transaction the code must end itself."""
        if self.states is not None:
            self.states = frozenset(s if s.open_since is not None else replace(s, open_since=index) for s in self.states)
            self._seen()

    def ended(self) -> None:
        """A commit or rollback: every path is clean again."""
        if self.states is not None:
            self._seen()  # an exception can still come from the commit itself
            self.states = frozenset(PathState(held=s.held) for s in self.states)

    def acquired(self, index: int) -> None:
        """A lock is taken: every path holds it from here on."""
        self.states = holding(self.states, index, True)
        self._seen()

    def released(self, indices: Iterable[int]) -> None:
        """Locks are let go on every path."""
        for index in indices:
            self.states = holding(self.states, index, False)
        self._seen()

    def _seen(self) -> None:
        for frame in self._tries:
            frame.append(self.states)

    def enter_try(self) -> None:
        self._tries.append([self.states])

    def exit_try(self) -> States:
        """The states an exception raised anywhere in the `try` body can carry into a handler."""
        frame = self._tries.pop() if self._tries else []
        return join(*frame, self.states)

    def stop(self) -> None:
        """`return`/`raise`: no path continues past this point."""
        self.states = None

    def enter_loop(self) -> None:
        self._loops.append([])

    def jump(self) -> None:
        """`break`/`continue`: the path goes on after the loop (or round it again)."""
        if self._loops:
            self._loops[-1].append(self.states)
        self.states = None

    def exit_loop(self, before: States) -> None:
        collected = self._loops.pop() if self._loops else []
        self.states = join(before, self.states, *collected)

    def first_open(self, states: States) -> PathState | None:
        """An open state among `states`, preferring one that knows its leaving site."""
        opened = [s for s in states or () if s.open_since is not None]
        return next((s for s in opened if s.site is not None), opened[0] if opened else None)
