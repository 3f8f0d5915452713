"""Basic blocks, the steps inside them and the edges between them.

A block is a run of steps that execute one after the other; control leaves
it along its edges. Steps keep the libcst node they come from, so analyses
read the code through them; the graph itself says only how control flows:

- `TRUE`/`FALSE` edges leave a block whose last step is a `Test` (an `if`,
  `while`, `assert` or `case` guard), `NEXT`/`DONE` a `for` loop's head;
- `NORMAL` edges are fall-through and jumps;
- `EXCEPTION` edges leave a block inside a `try` (or a `with` that may
  swallow the exception) for its handlers: an exception can come from any of
  its steps, so analyses send along them the states at every step boundary.

Leaving a function, a loop or a `with`/`finally` region is routed: a
`return`, `raise`, `break` or `continue` tags the paths that take it (see
`Route`), every `finally` body and `with` exit on the way runs for them, and
the edges out of such a region admit only the paths whose route they
continue. Two blocks end every graph: `RETURN_EXIT` (returns and falling
off the end) and `RAISE_EXIT` (exceptions that leave the function).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import libcst as cst


class EdgeKind(enum.Enum):
    NORMAL = "normal"
    TRUE = "true"
    FALSE = "false"
    NEXT = "next"  # a `for` loop takes its next element
    DONE = "done"  # a `for` loop is exhausted
    EXCEPTION = "exception"


class RouteKind(enum.Enum):
    """Why a path leaves the region it is in."""

    RETURN = "return"  # `return`, or the end of the function
    RAISE = "raise"  # an exception
    JUMP = "jump"  # `break`/`continue` to the block `Route.target`


@dataclass(frozen=True)
class Route:
    """Where a path that leaves its region is going."""

    kind: RouteKind
    target: int | None = None  # the block a JUMP goes to

    def __str__(self) -> str:
        return f"{self.kind.value}->{self.target}" if self.target is not None else self.kind.value


RETURN = Route(RouteKind.RETURN)
RAISE = Route(RouteKind.RAISE)


@dataclass(frozen=True)
class Edge:
    """A way out of a block.

    `admits` is the route a path must be on to take the edge (None: any path
    for an ordinary edge, or, out of a `finally`/`with` exit, a path on no
    route). `arrives` clears the path's route: it reached the loop a jump
    went to, a handler caught the exception, a `with` swallowed it.
    `escapes` marks an edge only exceptions nobody raised on purpose take
    (an exception no handler is known to catch): analyses follow it, but it
    does not decide which code runs (control dependence ignores it).
    """

    target: int
    kind: EdgeKind = EdgeKind.NORMAL
    admits: Route | None = None
    routed: bool = False  # the edge leaves a routing region: `admits` None means "on no route"
    arrives: bool = False
    escapes: bool = False
    # Paths taking the edge skip code that ends a transaction here: the `if` whose body they do not
    # run (no `else`), the `except` clause that swallows the exception.
    skips: cst.CSTNode | None = None
    # False: into an `except` clause that catches no error a database call raises (`except ValueError`).
    database: bool = True


# -- steps ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Step:
    """One thing a block does, in order; `order` numbers steps in source order."""

    node: cst.CSTNode
    order: int


@dataclass(frozen=True, eq=False)
class Simple(Step):
    """A small statement: an assignment, an expression, an import, `del`, `pass`, `global`."""

    node: cst.BaseSmallStatement


@dataclass(frozen=True, eq=False)
class Test(Step):
    """The condition a branch decides on (last step of its block): `expression` of an `if`,
    `while`, `assert` or `case ... if` guard (`owner`)."""

    node: cst.BaseExpression
    owner: cst.CSTNode


@dataclass(frozen=True, eq=False)
class Case(Step):
    """A `case` pattern is tried against the match subject; its captures are bound when it matches."""

    node: cst.MatchCase
    subject: cst.Match


@dataclass(frozen=True, eq=False)
class Subject(Step):
    """The subject of a `match` is evaluated."""

    node: cst.Match


@dataclass(frozen=True, eq=False)
class ForIter(Step):
    """A `for` loop's iterable is evaluated (once, before the loop)."""

    node: cst.For


@dataclass(frozen=True, eq=False)
class ForBind(Step):
    """A `for` loop's target is bound to the next element."""

    node: cst.For


@dataclass(frozen=True, eq=False)
class Enter(Step):
    """Item `item` of a `with` is evaluated and entered (`as` target bound)."""

    node: cst.With
    item: int = 0


@dataclass(frozen=True, eq=False)
class Leave(Step):
    """Item `item` of a `with` is left: normally (`exception` False) or by an exception."""

    node: cst.With
    item: int = 0
    exception: bool = False


@dataclass(frozen=True, eq=False)
class Catch(Step):
    """An `except` clause takes the exception (its type evaluated, `as` name bound)."""

    node: cst.ExceptHandler | cst.ExceptStarHandler


@dataclass(frozen=True, eq=False)
class Return(Step):
    """`return [value]`: the value is evaluated, then the path leaves on the RETURN route."""

    node: cst.Return


@dataclass(frozen=True, eq=False)
class End(Step):
    """Control falls off the end of the function (`node` is its last statement, or the function)."""


@dataclass(frozen=True, eq=False)
class Raise(Step):
    """An exception raised on purpose: `raise`, a call that never returns (`sys.exit()`, `abort()`,
    a function annotated `NoReturn`), a failing `assert` (`node`, with `explicit` False: it is an
    exit of the path, not a place that raises on purpose)."""

    explicit: bool = True


@dataclass(frozen=True, eq=False)
class Jump(Step):
    """`break` or `continue` (to block `target`, -1 outside a loop)."""

    node: cst.Break | cst.Continue
    target: int


@dataclass(frozen=True, eq=False)
class Define(Step):
    """A nested `def` or `class` binds its name (its body is a unit of its own)."""

    node: cst.FunctionDef | cst.ClassDef


# -- blocks and the graph ------------------------------------------------------------------------


@dataclass(eq=False)
class Block:
    """A basic block. `label` says what made it (for snapshots and debugging)."""

    id: int
    label: str
    steps: list[Step] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    @property
    def test(self) -> Test | None:
        """The condition this block branches on, when it ends with one."""
        last = self.steps[-1] if self.steps else None
        return last if isinstance(last, Test) else None


@dataclass(eq=False)
class Graph:
    """The control-flow graph of one function. `blocks[0]` is the entry."""

    function: cst.FunctionDef
    blocks: list[Block]
    return_exit: int
    raise_exit: int
    order: list[int] = field(default_factory=list)  # blocks in reverse postorder from the entry
    # One (first block, handler entry) pair per region whose exceptions may be caught (a `try` body,
    # a `with` that may swallow): where control dependence sees the region's exception edges.
    regions: list[tuple[int, int]] = field(default_factory=list)

    @property
    def entry(self) -> Block:
        return self.blocks[0]

    def predecessors(self) -> dict[int, list[tuple[int, Edge]]]:
        found: dict[int, list[tuple[int, Edge]]] = {block.id: [] for block in self.blocks}
        for block in self.blocks:
            for edge in block.edges:
                found[edge.target].append((block.id, edge))
        return found
