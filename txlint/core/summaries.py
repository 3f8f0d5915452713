"""Function summaries: what a project function does for whoever calls it, in IR terms.

Real code reaches its rows, transactions and locks through its own helpers:
`voucher = self._get_voucher()`, `with traced_atomic_transaction():`,
`page_qs_select_for_update().filter(...)`. A front-end that analyses one
function at a time sees none of that, so each analysed function leaves a
summary (what it returns, whether it opens a transaction for the block it
wraps), and a call to it is read as what the summary says (clarification 15).

Summaries are computed bottom-up over the call graph: the engine analyses
every file, merges the summaries into the project index, and analyses again
the files whose questions (`ProjectIndex.summary_of`) are now answered
differently, until nothing changes or a bound of rounds is reached (cycles).
Only summaries that say something are kept: a function whose summary is
empty is answered None, like a function the project does not define.

Names are qualified by the module a file is (`saleor/core/tracing.py` is
`saleor.core.tracing`) and the class a method is in:
`saleor.checkout.core.Checkout._get_voucher`.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from txlint.core.ir import CacheKind, Guard, LockMode


class ReturnedKind(enum.StrEnum):
    """What a function hands back to its caller."""

    ROW = "row"  # one row it read (`M.objects.get(...)`, `get_object_or_404(...)`)
    # One record a SELECT fetched (`return cur.fetchone()`), handed back as it is or as an object built
    # from it (`Model(**row)`, `Model.from_row(row)`): its attributes are the columns of that row of
    # `table`, and no ORM session writes it back (only an UPDATE does).
    RECORD = "record"
    ROWS = "rows"  # the rows of an evaluated query (`list(qs)`)
    QUERY = "query"  # a lazy query, not yet run (`M.objects.select_for_update()`)
    TUPLE = "tuple"  # a tuple whose items are described one by one
    SESSION = "session"  # a session (or connection) it made: its caller owns it and its transaction


@dataclass(frozen=True)
class Returned:
    """The value a function returns on every path that returns something (None aside)."""

    kind: ReturnedKind
    table: str = ""
    lock: LockMode | None = None  # ROW/ROWS: read with this lock; QUERY: it locks when run
    api: str = ""  # QUERY: the library that built it (its recogniser knows the query's methods); SESSION: "core" for a connection
    items: tuple[Returned | None, ...] = ()  # TUPLE: each item, None when it says nothing
    guards: tuple[Guard, ...] = ()  # QUERY: the conditions it filters on with constants (`exclude(uses_remaining=0)`)
    columns: tuple[str, ...] = ()  # RECORD: the columns its SELECT lists ("*": all)


@dataclass(frozen=True)
class KeyEffect:
    """A lock the function takes or releases on a key its caller gives it (seed 004's helpers):
    `kind` is ACQUIRE, DELETE (whoever holds it) or RELEASE (owner-checked); `expires`, for ACQUIRE,
    whether the key gets an expiry (None: cannot tell)."""

    param: str
    kind: CacheKind
    expires: bool | None = True


@dataclass(frozen=True)
class RowWrite:
    """An UPDATE of the row a parameter holds (`update_quote(quote)`: `UPDATE quotes SET state =
    :state WHERE quote = :quote` with `quote.state`, `quote.quote`): the WHERE keys the row by an
    attribute of the parameter, so the caller's call writes the caller's row.

    `columns` are the columns it sets, each with where its value comes from: "attr:<name>" (that
    attribute of the row: what the caller assigned to it), "param:<name>" (another argument of the
    call), "constant:<text>" (a literal). `guards` are the WHERE's other conditions, from the same
    sources (`AND state = :old`: a compare-and-swap). `checked`: who looks at its row count,
    "helper" (the helper itself), "returned" (the helper hands it to its caller), "" (nobody)."""

    param: str
    table: str
    columns: tuple[tuple[str, str], ...] = ()
    guards: tuple[tuple[str, str, str], ...] = ()  # (column, op, source)
    checked: str = ""


@dataclass(frozen=True)
class FunctionSummary:
    """What a call of one project function means to its caller."""

    name: str  # the qualified name
    returns: Returned | None = None
    # A context manager (`@contextmanager`) whose `yield` runs inside a transaction it opened, or a
    # decorator that runs the function it wraps so: the caller's block runs in that transaction.
    opens_transaction: bool = False
    database: str | None = None  # the database alias of that transaction, when one is named
    acts: str = ""  # what it does beyond its caller's rows, when it writes, inserts or acts ("writes `Flip`")
    keys: tuple[KeyEffect, ...] = ()  # locks it takes or releases on keys it is given
    locks_rows: bool = False  # it takes a row lock outside any transaction of its own: its callers' decides (TX109)
    # An application's database wrapper (item 6 of issue 13): it runs the SQL string its parameter
    # `executes` holds on a connection, with the values of `executes_with`, and returns what it
    # fetched ("one": a row, "many": rows, "": nothing read back).
    executes: str = ""
    executes_with: str = ""
    fetches: str = ""
    params: tuple[str, ...] = ()  # its parameters in order, when `keys` or `executes` needs them
    path: str = ""  # the file that defines it
    # What every `yield` hands out, when they agree: what `with f() as x` binds for a context manager,
    # what FastAPI's `Depends(f)` injects for a generator (a session: `yield SessionLocal()`).
    yields: Returned | None = None
    # It flushes or commits an ORM session it shares with its caller (Flask's `db.session`, one it is
    # handed): a call of it writes the caller's changed instances too (a project's `save()` helper).
    flushes: bool = False
    # The columns of the row it is a method of (`self`) that it assigns and saves (`set_status(s)`:
    # `self.status = s; self.save()`), each with where the value comes from: "param:<name>" (that
    # argument of the call), "constant:<text>" (a literal), "" (anything else).
    saves: tuple[tuple[str, str], ...] = ()
    # The rows its parameters hold that it writes back by an UPDATE keyed by their attributes.
    row_writes: tuple[RowWrite, ...] = ()

    @property
    def says_something(self) -> bool:
        return (
            self.returns is not None or self.yields is not None or self.opens_transaction or bool(self.acts) or bool(self.keys) or self.locks_rows
            or bool(self.executes) or self.flushes or bool(self.saves) or bool(self.row_writes)
        )  # fmt: skip


N = TypeVar("N", bound=Hashable)


def callees_first(nodes: Iterable[N], callees: Callable[[N], Iterable[N]]) -> list[N]:
    """`nodes` in an order where each comes after the nodes it calls (`callees`), as far as cycles
    allow (a depth-first post-order): summaries are computed bottom-up, so a helper is summarised
    before the functions and modules that call it are analysed."""
    ordered: list[N] = []
    done: set[N] = set()
    for start in nodes:
        if start in done:
            continue
        done.add(start)
        stack = [(start, iter(callees(start)))]
        while stack:
            node, pending = stack[-1]
            following = next((c for c in pending if c not in done), None)
            if following is None:
                stack.pop()
                ordered.append(node)
            else:
                done.add(following)
                stack.append((following, iter(callees(following))))
    return ordered


def module_of(path: str, root: Path) -> tuple[str, bool]:
    """The module a file is, named by its path below the project root (as given when it is
    elsewhere), and whether it is a package's `__init__.py`."""
    try:
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        relative = path
    return module_name(relative), relative.endswith("__init__.py")


def absolute(qualified: str, module: str, is_package: bool) -> str:
    """An import's qualified name made absolute: `..core.tracing.f` in module `saleor.page.search`
    is `saleor.core.tracing.f`; an absolute name is returned as it is."""
    level = len(qualified) - len(qualified.lstrip("."))
    if level == 0:
        return qualified
    package = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        package = package[: max(0, len(package) - (level - 1))]
    rest = qualified[level:]
    return ".".join([*package, rest]) if rest else ".".join(package)


def module_name(path: str) -> str:
    """The dotted module name of a file by its path relative to the project root
    (`saleor/core/tracing.py` is `saleor.core.tracing`, a package's `__init__.py` the package)."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if parts and parts[-1].endswith(".py"):
        parts[-1] = parts[-1][: -len(".py")]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class SymbolKind(enum.StrEnum):
    """What a module-level name of a project module is, for the modules that use it."""

    IMPORT = "import"  # it imports another name (`from sqlmodel import Session`): a re-export
    INSTANCE = "instance"  # an instance of a class (`cache = CTFdCache()`)
    BASE = "base"  # a class deriving from another (`class CTFdCache(Cache)`)
    SETTING = "setting"  # a framework setting the project turns on (`ATOMIC_REQUESTS: True`)


@dataclass(frozen=True)
class Symbol:
    """One module-level fact of the project symbol table: `name` (qualified) and its `target`
    (qualified): what it imports, the class it is an instance of, or its first base."""

    kind: SymbolKind
    name: str
    target: str


class Passed(enum.StrEnum):
    """What a call site hands a callee for one of its parameters, as far as rows go."""

    LOCKED = "locked"  # a row read with an exclusive row lock
    CREATED = "created"  # a row built by the caller and not yet shared with anyone
    UNLOCKED = "unlocked"  # a row read without a lock
    PASSED = "passed"  # the caller's own parameter: the caller's callers decide


@dataclass(frozen=True)
class CallSite:
    """One call of a project function, as its callee's judgement needs it (clarification 16).

    `callee` is the qualified name of a module function, or `Class.method` for a method called on
    a row of that class (one site per class of the row's model and its bases, so the method is
    found where it is defined). `rows` names what each row argument is: by position ("0", "1"),
    by keyword, or "self" for the row the method is called on."""

    callee: str
    path: str
    line: int
    column: int
    caller: str
    in_transaction: bool
    rows: tuple[tuple[str, Passed], ...] = ()
    locks: tuple[str, ...] = ()  # the arguments ("0", keyword) that are keys of locks the caller holds there
    caller_entry: str = ""  # the caller is an entry point (`Unit.entry`): nothing calls it in a transaction

    def passes(self, params: tuple[str, ...], name: str) -> Passed | None:
        """What this site hands the callee's parameter `name` (`params`: the callee's parameters in
        order, `self` first for a method), None when it hands no row there."""
        keys = argument_labels(params, name)
        return next((state for key, state in self.rows if key in keys), None)

    def holds_lock_on(self, params: tuple[str, ...], name: str) -> bool:
        """Whether the key this site hands the callee's parameter `name` is a lock the caller holds."""
        return bool(argument_labels(params, name) & set(self.locks))


def argument_labels(params: tuple[str, ...], name: str) -> set[str]:
    """How a call site may name the argument of parameter `name`: its keyword, its position
    (counted after `self`/`cls`), or "self" for the row a method is called on."""
    labels = {name}
    if name in params:
        position = params.index(name) - (1 if params and params[0] in ("self", "cls") else 0)
        labels.add("self" if position < 0 else str(position))
    return labels
