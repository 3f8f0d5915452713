"""The parts of the interpreter every other part uses: the state being changed, ops, names, spans.

`InterpreterCore` is the base of `FunctionInterpreter`; `expressions.Expressions`
and `effects.Effects` add to it. One instance interprets one function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import libcst as cst

from txlint.core.ftypes import Span
from txlint.core.ir import Condition, Op, Unit
from txlint.core.summaries import Passed
from txlint.frontends.python.flow.cfg import Graph
from txlint.frontends.python.flow.reaching import reaching_loads
from txlint.frontends.python.imports import ImportTable
from txlint.frontends.python.interpret.context import FileContext
from txlint.frontends.python.interpret.ops import OpTable
from txlint.frontends.python.interpret.paths import START, Paths
from txlint.frontends.python.interpret.state import Binding, F, State, TxFrame
from txlint.frontends.python.interpret.uses import FunctionUses
from txlint.frontends.python.interpret.values import Query, Value

T = TypeVar("T")


class InterpreterCore:
    """The state of one function's interpretation, and the operations on it that need nothing else."""

    def __init__(self, file: FileContext, func: cst.FunctionDef, class_name: str | None, graph: Graph) -> None:
        self.file = file
        self.func = func
        self.class_name = class_name  # the class the function is a method of, if any
        self.graph = graph
        self.imports: ImportTable = file.imports  # copied on the first import inside the function
        self.unit = Unit(name=func.name.value, span=file.span(func))
        self.table = OpTable()
        self.state = State({}, {}, (), START, {}, {}, {})
        self.site = 0  # order of the step being interpreted (bindings made now carry it)
        self.conditions: dict[int, Condition] = {}  # by block: the condition it branches on
        self.discarded: set[int] = set()  # ids of calls whose result the code throws away
        self.transactions: dict[int, int] = {}  # id of the node that opened a transaction -> its id
        self.closing: set[int] = set()  # ids of `with` items whose block closes a session it was given (`with Session(engine) as s:`)
        self.holdable: set[int] = set()  # ops that took a lock
        self.let_go_in_step: set[int] = set()  # locks the step being interpreted releases
        self.checked: set[int] = set()  # writes whose row count some path reads
        self.bound_results: set[int] = set()  # writes whose row count was kept in a variable
        self.lost_results: set[int] = set()  # writes whose row count a later statement on the same cursor replaced
        self.lazy: dict[Span, tuple[Query, int | None]] = {}  # locking queries kept in a variable
        self.lazy_used: set[Span] = set()
        self.joined: dict[tuple[int, str], tuple[int, str]] = {}  # (read, attribute) -> the read of the row it joined, its table
        self.fields_in_test: dict[int, Value] | None = None  # while a branch test is evaluated: its attributes' values, by node id
        # For the function's summary (`summarise`): the values its `return`s give, and for each
        # `yield` whether a transaction is open there (the block a context manager wraps runs in it).
        self.returned: list[Value] = []
        self.yields: list[TxFrame | None] = []
        self.yielded: list[Value] = []  # the values its `yield`s hand out
        self.first_yield_op: int | None = None  # how many ops there were at the first `yield` (ops after it follow it)
        # Calls of project functions their callees' judgement asks about (`CallSite`), by callee and place.
        self.sql_parameters: list[tuple[str, str]] = []  # (parameter holding SQL, parameter holding its values) run here
        self.calls: dict[tuple[str, Span], tuple[bool, tuple[tuple[str, Passed], ...], tuple[str, ...]]] = {}
        self._memos: dict[type[Any], Any] = {}
        self._uses: FunctionUses | None = None

    # -- spans, names, values ------------------------------------------------------------------
    def span(self, node: cst.CSTNode) -> Span:
        return self.file.span(node)

    def lookup(self, name: str) -> Value | None:
        binding = self.state.env.get(name)
        return binding.value if binding is not None else None

    def rebind(self, name: str, value: Value) -> None:
        self.state.env[name] = Binding(value, self.site)

    def is_discarded(self, node: cst.CSTNode) -> bool:
        return id(node) in self.discarded

    @property
    def uses(self) -> FunctionUses:
        if self._uses is None:
            self._uses = FunctionUses(self.func, reaching_loads(self.graph))
        return self._uses

    # -- ops -----------------------------------------------------------------------------------
    def op(self, index: int) -> Op:
        return self.table.ops[index]

    def emit(self, op: Op) -> int:
        index = self.table.emit(op)
        self._emitted(index, self.table.ops[index])
        return index

    def _emitted(self, index: int, op: Op) -> None:
        """What an op does to the paths (`effects.Effects` says)."""

    def record_sql_parameter(self, sql: str, values: str) -> None:
        self.sql_parameters.append((sql, values))

    def record_call(self, callee: str, node: cst.CSTNode, rows: tuple[tuple[str, Passed], ...], locks: tuple[str, ...] = ()) -> None:
        self.calls[(callee, self.span(node))] = (self.tx is not None, rows, locks)

    # -- transactions --------------------------------------------------------------------------
    @property
    def tx(self) -> int | None:
        frames = self.state.transactions
        return frames[0].id if frames else None  # nested blocks are savepoints of the outermost

    def tx_for(self, database: str | None) -> int | None:
        """The transaction covering a query on `database` (a transaction on another alias does not)."""
        for frame in self.state.transactions:
            if frame.database is None or database is None or frame.database == database:
                return frame.id
        return None

    def frame_of(self, opener: cst.CSTNode) -> TxFrame | None:
        return next((f for f in self.state.transactions if f.opener == id(opener)), None)

    # -- recognisers' own state ----------------------------------------------------------------
    def facet(self, kind: type[F], default: F) -> F:
        found = self.state.facets.get(kind)
        return found if isinstance(found, kind) else default

    def set_facet(self, facet: F) -> None:
        self.state.facets[type(facet)] = facet

    def memo(self, kind: type[T], build: Callable[[], T]) -> T:
        found = self._memos.get(kind)
        if found is None:
            found = self._memos[kind] = build()
        return found

    @property
    def paths(self) -> Paths:
        return self.state.paths
