"""What a recogniser sees: the file being analysed, and the interpreter of one function.

Recognisers (`txlint.frontends.python.recognisers`) turn library calls into
IR through this surface only; they never reach into the interpreter's state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import libcst as cst

from txlint.core.config import Config
from txlint.core.ftypes import Span
from txlint.core.index import ProjectIndex
from txlint.core.ir import Assignment, Op, ReadKind, RowRef
from txlint.core.ir import Value as IRValue
from txlint.core.summaries import Passed
from txlint.frontends.python.imports import ImportTable, dotted_name
from txlint.frontends.python.interpret.paths import Paths
from txlint.frontends.python.interpret.state import F
from txlint.frontends.python.interpret.values import Query, Record, Row, Rows, Value
from txlint.frontends.python.positions import LazyPositions

if TYPE_CHECKING:
    from txlint.frontends.python.interpret.uses import FunctionUses
    from txlint.frontends.python.recognisers.base import Recogniser

T = TypeVar("T")


@dataclass
class FileContext:
    """What every function of one file shares."""

    path: str
    module: cst.Module
    imports: ImportTable
    index: ProjectIndex
    config: Config
    positions: LazyPositions
    recognisers: Sequence[Recogniser] = ()
    constants: dict[str, str] = field(default_factory=dict)  # module-level `NAME = "text"` (SQL kept in constants)
    never_returns: frozenset[str] = frozenset()  # module functions annotated `NoReturn`/`Never`
    text: str = ""  # the module's source, for a cheap look before walking its tree
    module_name: str = ""  # the dotted module the file is (`saleor.core.tracing`), for project names
    is_package: bool = False  # an `__init__.py`: its relative imports start from itself
    _facts: dict[type[Any], Any] = field(default_factory=dict)

    def span(self, node: cst.CSTNode) -> Span:
        return self.positions.span(node)

    def class_name(self, node: cst.BaseExpression) -> str | None:
        """The model class `node` names, when the project index knows it as a model."""
        name = dotted_name(node)
        if name is None:
            return None
        simple = name.rsplit(".", 1)[-1]
        return simple if self.index.is_model(simple) else None

    def facts(self, kind: type[T], build: Callable[[FileContext], T]) -> T:
        """Module-level facts of one kind (a recogniser's), built once per file on first use."""
        found = self._facts.get(kind)
        if found is None:
            found = self._facts[kind] = build(self)
        return found


class Context(Protocol):
    """The interpreter of one function, as recognisers use it."""

    file: FileContext
    func: cst.FunctionDef
    class_name: str | None
    imports: ImportTable

    # -- reading the code -------------------------------------------------------------------
    def span(self, node: cst.CSTNode) -> Span: ...
    def eval(self, node: cst.BaseExpression) -> Value:
        """The abstract value of an expression; emits the ops its evaluation performs."""
        ...
    def value_of(self, node: cst.BaseExpression) -> IRValue:
        """The IR value of an expression written to a column or compared in a filter."""
        ...
    def lookup(self, name: str) -> Value | None:
        """The value of a local variable, None when it is not bound here."""
        ...
    def rebind(self, name: str, value: Value) -> None:
        """Give a variable a better-known value (`conn.autocommit = True` makes it a connection in autocommit)."""
        ...
    def record_sql_parameter(self, sql: str, values: str) -> None:
        """The SQL a parameter holds is executed here, with the values another holds ("" none): the
        function is a database wrapper for its callers."""
        ...
    def record_call(self, callee: str, node: cst.CSTNode, rows: tuple[tuple[str, Passed], ...], locks: tuple[str, ...] = ()) -> None:
        """A call of the project function `callee` here, with the rows it passes and the arguments
        that are keys of locks held here (`CallSite`)."""
        ...
    def is_discarded(self, node: cst.CSTNode) -> bool:
        """Whether `node` is a call whose result the code throws away (an expression statement)."""
        ...
    @property
    def uses(self) -> FunctionUses: ...

    # -- ops --------------------------------------------------------------------------------
    def emit(self, op: Op) -> int: ...
    def op(self, index: int) -> Op: ...
    def evaluate_query(self, query: Query, node: cst.CSTNode, row_var: str | None = None, kind: ReadKind = ReadKind.ROWS) -> int: ...
    def row_from_read(self, read: int, table: str, name: str = "") -> Row: ...
    def element_of(self, rows: Rows, name: str = "") -> Row | Record:
        """One of a collection of rows: an instance, or a cursor's tuple of the read's columns."""
        ...
    def joined_read(self, read: int, attribute: str) -> tuple[int, str] | None:
        """The read (and table) of the related row `attribute` that read `read` joined (`select_related`)."""
        ...

    # -- transactions -----------------------------------------------------------------------
    @property
    def tx(self) -> int | None: ...
    def tx_for(self, database: str | None) -> int | None: ...
    def begin_manual(self, node: cst.CSTNode, database: str | None = None) -> None: ...
    def end_manual(self) -> None: ...
    def autobegin(self, node: cst.CSTNode) -> None: ...

    # -- rows changed in memory -------------------------------------------------------------
    def take_pending(self, ref: RowRef, columns: Sequence[str] | None) -> tuple[Assignment, ...]: ...
    def pending_columns(self, ref: RowRef) -> list[str]:
        """The columns of a row assigned and not yet saved."""
        ...
    def pending_value(self, ref: RowRef, column: str) -> str | None:
        """The source of the value a column was assigned and not yet saved (None: not assigned)."""
        ...
    def changed_rows(self, table: str | None, read: int | None = None) -> list[RowRef]:
        """The in-memory rows of `table` with unsaved changes (only those of read `read` when given;
        `table` None: the parameters of unknown type the code changed fields of)."""
        ...
    def type_row(self, ref: RowRef, table: str) -> None:
        """A changed row of unknown type is a row of `table` (a flush writes it there)."""
        ...
    def forget_pending(self, ref: RowRef) -> None: ...
    def forget_all_pending(self) -> None: ...
    def pending_tables(self) -> set[str]:
        """The tables of the in-memory rows with unsaved changes (rows of known type only)."""
        ...
    def flush_rows(self, node: cst.CSTNode) -> None: ...

    # -- row counts -------------------------------------------------------------------------
    def track_result(self, key: str, index: int) -> None: ...
    def mark_checked(self, key: str) -> frozenset[int]: ...

    # -- locks a path holds -----------------------------------------------------------------
    def hold(self, index: int) -> None: ...
    def let_go(self, indices: Iterable[int]) -> None: ...
    @property
    def paths(self) -> Paths: ...

    # -- recognisers' own state -------------------------------------------------------------
    def facet(self, kind: type[F], default: F) -> F:
        """A recogniser's path-sensitive state here (forked and joined with the paths)."""
        ...
    def set_facet(self, facet: F) -> None: ...
    def memo(self, kind: type[T], build: Callable[[], T]) -> T:
        """A recogniser's per-function state that does not depend on the path (built on first use)."""
        ...
