"""The ops of one unit, emitted as the interpreter goes, each in a slot that re-visits reuse.

The solver interprets a block again when its entry state grows (a loop, a
`finally` reached on several routes), so the same code emits the same op
more than once. Each op has a key: the step that emitted it, its kind, the
node it is about and its rank among such ops of that step. The first
emission takes a new index (so indices follow the order code is first
reached, which is source order for structured code); a later one replaces
the op in its slot, keeping the index every other op refers to it by.

Facts only known once every path has been seen are settled at the end
(`settle`): the branch conditions each op runs under, the writes whose row
count nobody reads, the locking queries that never run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from txlint.core.ftypes import Span
from txlint.core.ir import Condition, Insert, Op, Read, Write
from txlint.frontends.python.interpret.values import Query

_Key = tuple[int, type[Op], Span, int]


class OpTable:
    """The ops of a unit and where each was emitted."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.blocks: list[int | None] = []  # the block each op was emitted in (None: at the end)
        self._slots: dict[_Key, int] = {}
        self._ranks: dict[tuple[type[Op], Span], int] = {}
        self._step = 0
        self._block: int | None = None

    def start_step(self, step: int, block: int) -> None:
        """Ops emitted from now on belong to this step (by identity) in this block."""
        self._step, self._block = step, block
        self._ranks.clear()

    def emit(self, op: Op) -> int:
        kind = (type(op), op.span)
        rank = self._ranks.get(kind, 0)
        self._ranks[kind] = rank + 1
        key = (self._step, type(op), op.span, rank)
        index = self._slots.get(key)
        if index is None:
            index = self._slots[key] = len(self.ops)
            self.ops.append(op)
            self.blocks.append(self._block)
        else:
            self.ops[index] = op
            self.blocks[index] = self._block
        return index

    def append(self, op: Op) -> int:
        """An op only known at the end (an exit, a query that never ran): no slot, no block."""
        self.ops.append(op)
        self.blocks.append(None)
        return len(self.ops) - 1

    def emitted_in_blocks(self) -> bool:
        """Whether any op was emitted in a block (so has branch conditions to settle)."""
        return any(block is not None for block in self.blocks)

    # -- settling ---------------------------------------------------------------------------
    def settle_conditions(self, dependences: Mapping[int, tuple[tuple[int, bool | None], ...]], conditions: Mapping[int, Condition]) -> None:
        """Every op runs under the conditions of the branches its block depends on, each with the way it went."""
        for index, block in enumerate(self.blocks):
            if block is None:
                continue
            found = tuple(replace(conditions[branch], holds=way) for branch, way in dependences.get(block, ()) if branch in conditions)
            if found:  # after any condition the op carries from its own statement (a data-modifying CTE)
                self.ops[index] = replace(self.ops[index], conditions=found + self.ops[index].conditions)

    def settle_results(self, unchecked: Iterable[int]) -> None:
        """Writes whose affected-row count no path reads; inserts whose outcome none does."""
        for index in unchecked:
            op = self.ops[index]
            if isinstance(op, Write):
                self.ops[index] = replace(op, result_checked=False)
            elif isinstance(op, Insert):
                self.ops[index] = replace(op, outcome_read=False)

    def never_run(self, queries: Iterable[tuple[Query, int | None]]) -> None:
        """Locking queries built and kept in a variable that nothing runs or hands on."""
        for query, tx in queries:
            self.append(Read(query.span, tx, query.table, lock=query.lock, evaluated=False))
