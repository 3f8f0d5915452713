"""The runtime trace analyser: the SQL a program really sends, judged by the static rules.

One engine, whatever the events come from (SQLAlchemy, Django, a DB-API
wrapper, a test): per connection it keeps the open transaction, its
isolation level, the rows read (table, key columns with their bound values,
columns, lock), the locks held and the writes so far. Each statement goes
through the same SQL package as the static side (`txlint.sql`, cached
by statement text) and the same `to_ir.statement_op`, with the bound
parameters as the placeholders' values, so a runtime trace is the static IR
along one path. The same rule classes then judge small units built from it:

- TX101 (lost update), TX103, TX106, TX107 when an UPDATE runs; TX109 when a
  locking read runs in autocommit; TX105 when the transaction commits (an
  idempotency key may be inserted after the decrement); all by the rules in
  `rules/`.
- TX104 and TX108 are judgements only a trace can make: a connection handed
  back (or a session closed) with uncommitted writes that are then thrown
  away; a compare-and-swap UPDATE that matched no row while the transaction
  went on to write and commit anyway.

How TX101 learns that a written value depends on a read one. The static side
follows the data flow; a trace has only values. An UPDATE's `SET c = <bound
value>` on row k is taken as computed from the read when, earlier in the same
transaction (or in autocommit statements on the same connection since the
last transaction ended), a SELECT read column c of row k (the same equality
keys with the same bound values, `ir_queries.writes_row_of`) without a lock,
the bound value is a number, and
- the value that read returned for c is known (a source reports fetched rows,
  or the ORM's loaded state) and is a different number; or
- that value is unknown and c is a money-like column (config
  `money-columns`).
A write of text, of the value that was read, or of a non-money column whose
old value is unknown is not linked: when unsure, silent. A number overwritten
with a value that merely differs (`user.age = form_age` after loading the
user) is linked too; that is the price of not seeing the arithmetic. The
written row counts as protected, and nothing is linked, when the transaction
holds an exclusive lock on it from another read, a `LOCK TABLE` on its table,
any advisory lock (its key cannot be matched), SQLite's `BEGIN IMMEDIATE`, or
runs at SERIALIZABLE or REPEATABLE READ on PostgreSQL with the read in the
same transaction (PostgreSQL aborts the second writer of a row there).

Bounded: at most `MAX_CONNECTIONS` connection states (oldest dropped), a
window of `WINDOW` reads per connection, dropped when its transaction ends or
the connection is released, `PLAN_CACHE` parsed statement texts. Bound values
are kept only for the statements a later one may look back at, and never
appear in findings: the SQL shown is the statement text with its placeholders
and its literals masked (`redact`), unless the user asked for the values
(`show_values=True`).

Cheap where it runs most: a statement's application line is a stack walk, done
for reads (a later finding may point back at them) and for the writes a
finding points at now or may later; the walk starts at the frame the source's
event came from (`origin`). A finding already reported is not built again
(`known`).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import FrameType
from typing import Any

from txlint.core.config import Config
from txlint.core.ftypes import Finding, Related, Span
from txlint.core.index import ProjectIndex, TableDecl, normalise_column
from txlint.core.ir import Delta, Dependency, LockMode, ModuleIR, Read, RowOrigin, RowRef, Unit, Value, ValueKind, Write
from txlint.core.queries import KEY_ALIASES, cas_guards, decrements, is_money_column, is_state_column, writes_row_of
from txlint.core.registry import all_rules
from txlint.core.rule import Report, Rule, RuleContext
from txlint.runtime.findings import RUNTIME_CODES
from txlint.runtime.redact import mask_literals, params_text
from txlint.runtime.stack import UNKNOWN_SITE, Site, app_site, app_site_from
from txlint.sql import dialect_names, parse_statements, to_ir
from txlint.sql import facts as sqlfacts

MAX_CONNECTIONS = 4096
WINDOW = 256  # reads remembered per connection (autocommit run + current transaction)
MAX_BATCH = 64  # parameter sets of one executemany() that are analysed
MAX_LOCKS = 16  # locking reads per transaction handed to TX103
PLAN_CACHE = 4096  # statement texts whose facts are kept
PLAN_TEXT = 8_000_000  # characters of statement text the plan cache may hold (bulk INSERTs are long)
MAX_RELEASED = 256  # connections whose discarded writes a session-close event may still ask about
MAX_SPARE = 64  # emptied connection states kept for reuse
SQL_SHOWN = 400  # characters of SQL in a finding's related context

# Statements whose first word is none of these are never parsed (DDL, SHOW, PRAGMA, ...).
_FIRST_WORDS = frozenset(
    {"select", "with", "update", "insert", "replace", "delete", "begin", "start", "commit", "rollback", "end", "set", "lock", "savepoint", "release", "("}
)
_PROTECTIVE_ISOLATION = frozenset({"serializable", "repeatable read"})
_LOCKS = {"exclusive": LockMode.EXCLUSIVE, "share": LockMode.SHARE}

# Where a statement comes from, as a source knows it: the application's line itself, the frame its
# event was raised from (the application's line is the first one outside the libraries from there
# out), or None (look from the analyser's caller).
Where = Site | FrameType | None


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def is_number(value: object) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def canonical(value: object) -> str:
    """A bound value as an IR expression: equal values of one row key give equal strings.

    `1`, `1.0` and `Decimal("1")` are all "1", so an id bound as an int in the
    SELECT and as a Decimal in the UPDATE still names one row; numbers are
    written as the static side writes literals (TX106 compares with "0").
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, Decimal)):
        try:
            if value == int(value):
                return str(int(value))
            return repr(float(value))
        except (ValueError, OverflowError, ArithmeticError):  # nan, inf
            return repr(value)
    if isinstance(value, (str, bytes)):
        if len(value) > 256:
            digest = hashlib.sha1(value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value).hexdigest()
            return f"{type(value).__name__}#{len(value)}:{digest}"
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(canonical(v) for v in value[:32]) + ")"
    try:
        text = str(value)
    except Exception:  # a value whose __str__ fails matches nothing
        return f"<{type(value).__name__} {id(value)}>"
    return f"{type(value).__name__}:{text[:256]}"


def _bound(params: object, key: sqlfacts.PlaceholderKey) -> object:
    """The value bound to one placeholder, or MISSING."""
    if params is None:
        return MISSING
    kind = type(params)
    if kind is dict or kind is tuple or kind is list:  # the usual shapes, without ABC checks
        try:
            return params[key]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return MISSING
    try:
        if isinstance(params, Mapping):
            return params[key]
        if isinstance(key, int) and isinstance(params, Sequence) and not isinstance(params, (str, bytes)):
            return params[key]
    except (KeyError, IndexError, TypeError):
        return MISSING
    return MISSING


def _key_column(column: str) -> str:
    normal = normalise_column(column)
    return "pk" if normal in KEY_ALIASES else normal


@dataclass(eq=False, slots=True)
class _Traced:
    """One statement (one parameter set) as the analyser remembers it.

    Its IR op is built when a rule first needs it: most statements are reads
    that no write ever looks back at, and building IR costs more than
    remembering the few bound values it needs.
    """

    handle: int  # unique; it is the line of the op's span inside the small units handed to rules
    statement: sqlfacts.Statement
    site: Site | None  # None: not looked up (a write no finding can ever point at; see `_placed`)
    tx: int
    autocommit: bool = False
    bound: dict[sqlfacts.PlaceholderKey, object] | None = None  # the values the op needs, by placeholder
    lock: str | None = None  # a lock request the SQL does not show
    rowcount: int | None = None
    values: dict[str, object] | None = None  # a read: the first row it returned, by normalised column
    followed_by: _Traced | None = None  # a CAS write that matched no row: the next write of its transaction
    params: str | None = None  # the bound values as shown, kept only when the user asked to see them
    _op: Any = MISSING

    @property
    def op(self) -> Any:
        """Read | Write | Insert | None (a DELETE: a write that has no IR op)."""
        if self._op is MISSING:
            self._op = self._build()
        return self._op

    @op.setter
    def op(self, value: Any) -> None:
        self._op = value

    def _build(self) -> Any:
        bound = self.bound or {}
        handle = self.handle

        def resolve(key: sqlfacts.PlaceholderKey) -> Value:
            value = bound.get(key, MISSING)
            if value is MISSING:  # never equal to anything: an unknown key names no row
                return Value(ValueKind.UNKNOWN, expression=f"<unbound {handle}:{key}>")
            return Value(ValueKind.INDEPENDENT, expression=canonical(value))

        op = to_ir.statement_op(self.statement, Span.point(handle), self.tx, resolve, autocommit=self.autocommit)
        if isinstance(op, Read) and op.lock is None and self.lock in _LOCKS:
            op = replace(op, lock=_LOCKS[self.lock])
        return op

    def locks(self) -> str | None:
        """The row lock a read asks for, from its SQL or from the source."""
        return self.statement.lock or (self.lock if self.lock in _LOCKS else None)


@dataclass(frozen=True)
class _Plan:
    """A statement text's facts, and the placeholders whose values a read must keep."""

    statement: sqlfacts.Statement
    read_keys: tuple[sqlfacts.PlaceholderKey, ...]
    plain_read: bool = False  # a SELECT of a table that takes no advisory lock: the common case, fast path


@dataclass
class _Snapshot:
    """What a transaction that was rolled back had done: for TX104 when the rollback came from a close."""

    first_write: _Traced
    writes: int


@dataclass(eq=False)
class _Connection:
    """Everything the analyser knows about one connection, between its check-out and check-in."""

    tx_open: bool = False
    tx_id: int = 0
    autocommit: bool = False
    isolation: str | None = None  # of the current transaction, or set for the next one
    begin_lock: bool = False  # SQLite BEGIN IMMEDIATE/EXCLUSIVE: the database write lock is taken
    advisory: bool = False
    table_locks: set[str] = field(default_factory=set)
    window: deque[_Traced] = field(default_factory=lambda: deque(maxlen=WINDOW))
    locked_reads: deque[_Traced] = field(default_factory=lambda: deque(maxlen=MAX_LOCKS))
    first_write: _Traced | None = None
    writes: int = 0
    cas_zero: list[_Traced] = field(default_factory=list)
    decrements: list[_Traced] = field(default_factory=list)
    inserts: list[_Traced] = field(default_factory=list)
    observed: dict[str, list[tuple[frozenset[tuple[str, str]], dict[str, object]]]] = field(default_factory=dict)
    last_read: _Traced | None = None
    discarded: _Snapshot | None = None

    def end_transaction(self) -> None:
        """Drop what the transaction did (its window too); the connection's settings stay."""
        self.tx_open = False
        self.isolation = None
        self.begin_lock = self.advisory = False
        self.first_write = self.last_read = None
        self.writes = 0
        for bag in (self.table_locks, self.window, self.locked_reads, self.cas_zero, self.decrements, self.inserts, self.observed):
            if bag:
                bag.clear()

    def reset(self) -> _Connection:
        """As new, for the next connection (a pool checks out and in on every request: making
        the containers anew each time is a cost the hook need not pay)."""
        self.end_transaction()
        self.tx_id = 0
        self.autocommit = False
        self.discarded = None
        return self


class TraceAnalyser:
    """Turns connection events into findings. Thread-safe across connections; each connection is
    used by one thread at a time (as database connections are).

    Args:
        dialect: the sqlglot dialect of the SQL (`postgres`, `mysql`, `sqlite`, ...).
        config: naming conventions (money, version, non-negative columns); defaults when None.
        enabled: the codes to judge (default: the runtime codes that are on by default).
        sites: returns the application's current source line; `stack.app_site` by default.
        show_values: show the bound values of the statements a finding names (and literals in
            their SQL). Off by default: values are card numbers and passwords as often as ids.
        notify: called with the error of each statement text that cannot be parsed.
        known: `known(code, path, line)` says a finding there was already reported and need not
            be built again (a bug in a hot loop would cost its full report on every pass).

    >>> analyser = TraceAnalyser("sqlite", sites=lambda: Site("shop.py", 7))
    >>> analyser.execute("c1", "SELECT id, balance FROM accounts WHERE id = ?", (1,))
    []
    >>> [f.code for f in analyser.execute("c1", "UPDATE accounts SET balance = ? WHERE id = ?", (90, 1))]
    ['TX101']
    """

    def __init__(
        self,
        dialect: str = "postgres",
        config: Config | None = None,
        *,
        enabled: Iterable[str] | None = None,
        sites: Callable[[], Site] = app_site,
        show_values: bool = False,
        notify: Callable[[sqlfacts.SqlError], None] | None = None,
        known: Callable[[str, str, int], bool] | None = None,
    ) -> None:
        self.dialect = dialect if dialect in dialect_names() else "postgres"
        self.config = config or Config()
        rules = all_rules()
        if enabled is None:
            enabled = [code for code in RUNTIME_CODES if code in rules and rules[code].default_enabled]
        self.enabled = frozenset(code for code in enabled if code in RUNTIME_CODES and code in rules)
        self._rules: dict[str, Rule] = {code: rules[code]() for code in self.enabled}
        self._classes: dict[str, type[Rule]] = {code: rules[code] for code in RUNTIME_CODES if code in rules}
        self._decls: dict[str, TableDecl] = {}
        self._context = RuleContext(self.config, ModuleIR("<runtime>"), ProjectIndex())
        self._states: OrderedDict[Hashable, _Connection] = OrderedDict()
        self._spare: list[_Connection] = []  # states of released connections, emptied, for reuse
        self._released: OrderedDict[Hashable, _Snapshot] = OrderedDict()
        self._lock = threading.Lock()
        self._handles = itertools.count(1)
        self._tx_ids = itertools.count(1)
        self._sites = sites
        self._sites_from = app_site_from if sites is app_site else None  # a custom `sites` has no frame to start from
        self._plans: dict[str, tuple[_Plan, ...]] = {}
        self._plan_text = 0
        self.show_values = show_values
        self._notify = notify
        self._known = known
        self.unparsed = 0  # statement texts that could not be parsed (their statements are not judged)

    # -- schema ---------------------------------------------------------------------------
    def add_tables(self, decls: Iterable[TableDecl]) -> None:
        """Teach the analyser constraints (unique keys, CHECK (c >= 0)) of tables it meets."""
        new = {d.table: d for d in decls if d.table not in self._decls}
        if not new:
            return
        with self._lock:
            self._decls.update(new)
            index = ProjectIndex.build(self._decls.values())
            self._context = RuleContext(self.config, self._context.module, index)

    def knows_table(self, table: str) -> bool:
        return table in self._decls

    # -- connection state -----------------------------------------------------------------
    def _state(self, conn: Hashable) -> _Connection:
        state = self._states.get(conn)
        if state is None:
            with self._lock:
                state = self._states.get(conn)
                if state is None:
                    state = self._states[conn] = self._spare.pop() if self._spare else _Connection()
                    while len(self._states) > MAX_CONNECTIONS:
                        self._states.popitem(last=False)
        return state

    def knows(self, conn: Hashable) -> bool:
        """Whether events of this connection have been seen since its last release."""
        return conn in self._states

    def forget(self, conn: Hashable) -> None:
        with self._lock:
            self._states.pop(conn, None)
            self._released.pop(conn, None)

    def connections(self) -> int:
        return len(self._states)

    def in_transaction(self, conn: Hashable) -> bool:
        state = self._states.get(conn)
        return state is not None and state.tx_open

    def transaction_id(self, conn: Hashable) -> int | None:
        """An id of the connection's open transaction (None: none open); a new one per transaction."""
        state = self._states.get(conn)
        return state.tx_id if state is not None and state.tx_open else None

    # -- events ---------------------------------------------------------------------------
    def begin(self, conn: Hashable, *, autocommit: bool = False, isolation: str | None = None) -> None:
        """A transaction starts (or, on a connection in autocommit mode, a run of autocommit statements)."""
        state = self._state(conn)
        state.autocommit = autocommit
        if autocommit:  # no database transaction: every statement commits on its own
            state.tx_open = False
            return
        self._open(state, isolation)

    def _open(self, state: _Connection, isolation: str | None = None, lock: str | None = None) -> None:
        if not state.tx_open:
            pending = state.isolation
            state.tx_open = True
            state.tx_id = next(self._tx_ids)
            state.discarded = None
            state.isolation = pending
        if isolation:
            state.isolation = isolation.lower().replace("_", " ")
        if lock == "exclusive":
            state.begin_lock = True

    def execute(
        self,
        conn: Hashable,
        sql: str,
        params: object = None,
        *,
        rowcount: int | None = None,
        executemany: bool = False,
        lock: str | None = None,
        in_transaction: bool | None = None,
        site: Site | None = None,
        origin: FrameType | None = None,
    ) -> list[Finding]:
        """A statement ran. `lock` is a lock request the SQL does not show ("exclusive"/"share");
        `in_transaction` says whether the driver ran it inside a transaction (None: as the
        analyser's own state says); `site` is the application's line when the source knows it,
        `origin` the frame the source's event was raised from (the line is looked up from there,
        only when a finding may need it)."""
        plans = self._plans.get(sql)
        if plans is None:
            plans = self._plan(sql)
        if not plans:
            return []
        state = self._state(conn)
        if in_transaction and not state.tx_open and not state.autocommit:
            self._open(state)
        autocommit = in_transaction is False or not state.tx_open
        where: Where = site if site is not None else origin
        if len(plans) == 1:
            plan = plans[0]
            if plan.plain_read and not executemany:
                return self._read(state, plan, params, lock, autocommit, self._locate(where))
            return self._statement(state, plan, _param_sets(params, executemany), rowcount, lock, autocommit, where)
        sets = _param_sets(params, executemany)
        findings: list[Finding] = []
        for plan in plans:
            findings += self._statement(state, plan, sets, rowcount, lock, autocommit, where)
        return findings

    def _locate(self, where: Where) -> Site:
        """The application's line of the event being handled (a stack walk unless a source said)."""
        if where is None:
            return self._sites()
        if type(where) is Site:
            return where
        if self._sites_from is None:
            return self._sites()
        return self._sites_from(where)  # type: ignore[arg-type]

    def _plan(self, sql: str) -> tuple[_Plan, ...]:
        """What the analyser needs of a statement text, parsed once (DDL and the like: nothing).

        The cache is bounded in entries and in text: a program that sends that many distinct
        texts inlines its values, and starting again costs one parse per text."""
        plans: tuple[_Plan, ...] = ()
        if _may_matter(sql):
            parsed = parse_statements(sql, self.dialect)
            if isinstance(parsed, sqlfacts.SqlError):
                self.unparsed += 1
                if self._notify is not None:
                    self._notify(parsed)
            else:
                plans = tuple(_plan_of(statement) for statement in parsed)
        if len(self._plans) >= PLAN_CACHE or self._plan_text + len(sql) > PLAN_TEXT:
            self._plans.clear()
            self._plan_text = 0
        self._plans[sql] = plans
        self._plan_text += len(sql)
        return plans

    def cached_plans(self) -> int:
        """How many statement texts the analyser keeps the facts of (bounded by `PLAN_CACHE`)."""
        return len(self._plans)

    def last_read(self, conn: Hashable) -> object | None:
        """A token for the connection's latest read, for `record_row`."""
        state = self._states.get(conn)
        return state.last_read if state is not None else None

    def record_row(self, token: object, row: Mapping[str, object]) -> None:
        """The first row a read returned (column name → value), when the source can see it."""
        if isinstance(token, _Traced) and token.values is None:
            # Only numbers are ever compared (TX101: did the written number change?); text and
            # blobs are not kept, so a long-lived connection holds no large or secret values.
            token.values = {normalise_column(str(k)): v for k, v in row.items() if is_number(v)}

    def observe(self, conn: Hashable, table: str, key: Mapping[str, object], old: Mapping[str, object]) -> None:
        """The values a row had when it was loaded (an ORM's committed state), before it is written."""
        state = self._states.get(conn)
        if state is None or not key:
            return
        rows = state.observed.setdefault(table, [])
        if len(rows) < WINDOW:
            identity = frozenset((_key_column(c), canonical(v)) for c, v in key.items())
            rows.append((identity, {normalise_column(c): v for c, v in old.items()}))

    def commit(self, conn: Hashable, *, site: Site | None = None) -> list[Finding]:
        """The transaction commits: TX105 and TX108, which need the whole transaction, are judged."""
        state = self._states.get(conn)
        if state is None or not state.tx_open:
            return []
        findings = self._at_commit(state, site)
        state.end_transaction()
        state.discarded = None
        return findings

    def rollback(self, conn: Hashable) -> None:
        """The transaction rolls back; what it wrote is kept aside in case a close caused it."""
        state = self._states.get(conn)
        if state is None:
            return
        if state.tx_open and state.first_write is not None:
            state.discarded = _Snapshot(state.first_write, state.writes)
        else:
            state.discarded = None
        state.end_transaction()

    def ended(self, conn: Hashable) -> None:
        """The driver reports no open transaction although one was seen to begin: it was ended where
        the analyser could not see it (a driver's own `with` block). Outcome unknown: nothing judged."""
        state = self._states.get(conn)
        if state is not None and state.tx_open:
            state.end_transaction()
            state.discarded = None

    def released(self, conn: Hashable, *, discarded: bool = False, site: Site | None = None) -> list[Finding]:
        """The connection goes back to the pool or is closed. `discarded`: the pool (or close) rolled
        back a transaction the application left open. TX104 when that threw writes away."""
        with self._lock:
            state = self._states.pop(conn, None)
        if state is None:
            return []
        snapshot = _Snapshot(state.first_write, state.writes) if state.tx_open and state.first_write is not None else None
        if snapshot is None and discarded:
            snapshot = state.discarded
        if snapshot is not None:
            return self._unbalanced(snapshot, site, "the connection is handed back with its transaction open: its uncommitted writes are rolled back")
        with self._lock:
            if state.discarded is not None:
                self._released[conn] = state.discarded
                while len(self._released) > MAX_RELEASED:
                    self._released.popitem(last=False)
            else:
                self._released.pop(conn, None)
            if len(self._spare) < MAX_SPARE:
                self._spare.append(state.reset())
        return []

    def session_closed(self, conn: Hashable, *, site: Site | None = None) -> list[Finding]:
        """A session (unit of work) ended its transaction with neither commit nor rollback: TX104
        when the rollback that came with it threw writes away."""
        state = self._states.get(conn)
        snapshot: _Snapshot | None = None
        if state is not None:
            if state.tx_open and state.first_write is not None:
                snapshot = _Snapshot(state.first_write, state.writes)
            else:
                snapshot, state.discarded = state.discarded, None
        if snapshot is None:
            with self._lock:
                snapshot = self._released.pop(conn, None)
        if snapshot is None:
            return []
        return self._unbalanced(snapshot, site, "the session is closed without commit or rollback: its uncommitted writes are rolled back")

    # -- one statement --------------------------------------------------------------------
    def _statement(
        self,
        state: _Connection,
        plan: _Plan,
        sets: list[object],
        rowcount: int | None,
        lock: str | None,
        autocommit: bool,
        where: Where,
    ) -> list[Finding]:
        statement = plan.statement
        kind = statement.kind
        if kind in {"begin", "commit", "rollback", "set", "lock_table"}:
            return self._control(state, statement, where)
        if kind == "select" and statement.advisory_lock and state.tx_open:
            state.advisory = True
        if kind not in {"select", "update", "insert", "delete"} or statement.table is None:
            return []
        if kind == "select":
            # A read's line is always looked up: a later write may make it the "read here" of a finding.
            return self._read(state, plan, sets[0], lock, autocommit, self._locate(where))
        if len(sets) == 1:
            return self._write(state, statement, sets[0], rowcount, autocommit, where)
        findings: list[Finding] = []
        for params in sets[: MAX_BATCH if kind == "update" else 1]:
            findings += self._write(state, statement, params, None, autocommit, where)
        return findings

    def _control(self, state: _Connection, statement: sqlfacts.Statement, where: Where) -> list[Finding]:
        kind = statement.kind
        if kind == "begin":
            self._open(state, statement.isolation, statement.lock)
        elif kind == "commit":
            findings = self._at_commit(state, where) if state.tx_open else []
            state.end_transaction()
            return findings
        elif kind == "rollback":
            state.end_transaction()
        elif kind == "set":
            if statement.isolation:
                state.isolation = statement.isolation.lower()
            if statement.autocommit is not None:
                state.autocommit = statement.autocommit
        elif kind == "lock_table" and statement.lock == "exclusive" and state.tx_open:
            state.table_locks.update(t.lower() for t in statement.lock_tables)
        return []

    def _read(self, state: _Connection, plan: _Plan, params: object, lock: str | None, autocommit: bool, site: Site) -> list[Finding]:
        tx = next(self._tx_ids) if autocommit else state.tx_id
        bound: dict[sqlfacts.PlaceholderKey, object] | None = None
        if plan.read_keys:
            bound = {}
            for key in plan.read_keys:
                bound[key] = _bound(params, key)
        traced = _Traced(next(self._handles), plan.statement, site, tx, autocommit, bound, lock)
        if self.show_values:
            traced.params = params_text(params)
        state.window.append(traced)
        state.last_read = traced
        if plan.statement.lock is None and lock not in _LOCKS:
            return []
        if not autocommit:
            state.locked_reads.append(traced)
            return []
        return self._judge(("TX109",), [traced], traced)

    def _placed(self, traced: _Traced, where: Where) -> _Traced:
        """The statement with its application line looked up. The stack walk is the dearest step of
        a statement (one frame object per library frame), so a write pays for it only when a
        finding points at it now or may later: not an INSERT in the middle of a transaction."""
        if traced.site is None:
            traced.site = self._locate(where)
        return traced

    def _write(self, state: _Connection, statement: sqlfacts.Statement, params: object, rowcount: int | None, autocommit: bool, where: Where) -> list[Finding]:
        tx = next(self._tx_ids) if autocommit else state.tx_id
        bound = {key: _bound(params, key) for key in statement.placeholders}
        site = where if type(where) is Site else None
        traced = _Traced(next(self._handles), statement, site, tx, autocommit, bound, rowcount=rowcount)
        if self.show_values:
            traced.params = params_text(params)
        findings: list[Finding] = []
        if statement.kind == "update" and (_decrements(statement) or (not self._locked_for(state, tx, statement.table or "") and self._unlocked_reads(state, statement.table or "", tx))):
            op = traced.op
            if isinstance(op, Write):
                traced.op = _with_bound_amounts(op, statement, params)
                findings = self._judge_write(state, traced, statement, params, autocommit, where)
        if not autocommit:
            self._note_write(state, traced, where)
        # Not added to the window: later statements look back at reads only.
        return findings

    def _note_write(self, state: _Connection, traced: _Traced, where: Where) -> None:
        """Remember what the commit (TX105, TX108) and a close (TX104) will ask about this write."""
        state.writes += 1
        if state.first_write is None:
            state.first_write = self._placed(traced, where)
        for earlier in state.cas_zero:
            if earlier.followed_by is None:
                earlier.followed_by = self._placed(traced, where)
        statement = traced.statement
        if statement.kind == "update":
            if traced.rowcount == 0 and statement.predicates:
                op = traced.op
                cas = isinstance(op, Write) and cas_guards(op, self.config, self._context.index.version_column(op.table))
                if cas and len(state.cas_zero) < MAX_BATCH:
                    state.cas_zero.append(self._placed(traced, where))
            if _decrements(statement) and len(state.decrements) < MAX_BATCH:
                op = traced.op
                if isinstance(op, Write) and decrements(op, self.config):
                    state.decrements.append(self._placed(traced, where))
        elif statement.kind == "insert" and len(state.inserts) < MAX_BATCH:
            state.inserts.append(traced)

    # -- TX101 and friends: an UPDATE ---------------------------------------------------------
    def _judge_write(self, state: _Connection, traced: _Traced, statement: sqlfacts.Statement, params: object, autocommit: bool, where: Where) -> list[Finding]:
        write: Write = traced.op
        reads = self._unlocked_reads(state, write.table, write.tx if write.tx is not None else -1)
        reads = [t for t in reads if isinstance(t.op, Read)]
        locks = [t for t in state.locked_reads if t.tx == write.tx and t not in reads]
        context = [*locks, *reads]
        position = {t.handle: i for i, t in enumerate(context)}
        linked = self._link(state, write, statement, params, reads, position)
        codes = self._relevant(write, linked, bool(locks), autocommit)
        if not codes:
            return []
        judged = _Traced(traced.handle, statement, self._placed(traced, where).site, traced.tx, traced.autocommit, rowcount=traced.rowcount, params=traced.params, _op=linked)
        return self._judge(codes, [*context, judged], judged)

    @staticmethod
    def _unlocked_reads(state: _Connection, table: str, tx: int) -> list[_Traced]:
        """The latest reads of `table` that a write in transaction `tx` may have computed from: those
        whose rows the transaction holds an exclusive lock on are out."""
        reads = [t for t in state.window if t.statement.kind == "select" and t.statement.table == table]
        return [t for t in reads if not (t.tx == tx and t.locks() == "exclusive")][-16:]

    def wants_old_values(self, conn: Hashable, table: str) -> bool:
        """Whether loaded values of `table`'s rows could matter to this connection's next write
        (a source may skip the work of collecting them otherwise)."""
        state = self._states.get(conn)
        if state is None:
            return False
        tx = state.tx_id if state.tx_open else -1
        return bool(self._unlocked_reads(state, table, tx))

    def _relevant(self, write: Write, linked: Write, locks: bool, autocommit: bool) -> list[str]:
        """The rules that can fire on this write: the others are not run (most writes need none)."""
        codes = []
        derived = any(a.value.kind is ValueKind.DERIVED for a in linked.assignments)
        if derived:
            codes.append("TX101")
        if locks and (derived or write.table.lower() in {t.lower() for t in self.config.core_tables}):
            codes.append("TX103")
        if any(g.value.kind is ValueKind.DERIVED for g in linked.guards):
            codes.append("TX107")
        if any(a.value.delta is not None and a.value.delta.sign == "-" for a in write.assignments):
            codes += ["TX106", "TX105"] if autocommit else ["TX106"]
        return codes

    def _link(
        self, state: _Connection, write: Write, statement: sqlfacts.Statement, params: object, reads: list[_Traced], position: dict[int, int]
    ) -> Write:
        """The write with the values it is inferred to have computed from earlier reads marked DERIVED."""
        if not reads:
            return write
        assignments = list(write.assignments)
        for i, (fact, assignment) in enumerate(zip(statement.sets, write.assignments)):
            if assignment.value.kind is not ValueKind.INDEPENDENT or fact.operand.kind != "placeholder" or fact.operand.placeholder is None:
                continue
            new = _bound(params, fact.operand.placeholder)
            if not is_number(new):
                continue
            source = self._read_of(state, write, assignment.column, reads)
            if source is None:
                continue
            old = self._value_read(state, source, write, assignment.column)
            depends = is_money_column(assignment.column, self.config) if old is MISSING else is_number(old) and old != new
            if depends:
                dependency = Dependency(RowRef(RowOrigin.READ, position[source.handle], ""), assignment.column)
                assignments[i] = replace(assignment, value=replace(assignment.value, kind=ValueKind.DERIVED, depends_on=frozenset({dependency})))
        guards = list(write.guards)
        written = {normalise_column(a.column) for a in write.assignments}
        facts = [g for g in statement.predicates if g.table is None or g.table == statement.table]
        for i, (condition, guard) in enumerate(zip(facts, write.guards)):
            if guard.op != "=" or normalise_column(guard.column) not in written or is_state_column(guard.column):
                continue
            if guard.value.kind is not ValueKind.INDEPENDENT or condition.operand.kind != "placeholder" or condition.operand.placeholder is None:
                continue
            source = self._read_of(state, write, guard.column, reads, protected_counts=False)
            if source is None:
                continue
            old = self._value_read(state, source, write, guard.column)
            if old is MISSING or canonical(old) == guard.value.expression:
                dependency = Dependency(RowRef(RowOrigin.READ, position[source.handle], ""), guard.column)
                guards[i] = replace(guard, value=replace(guard.value, kind=ValueKind.DERIVED, depends_on=frozenset({dependency})))
        return replace(write, assignments=tuple(assignments), guards=tuple(guards))

    def _read_of(self, state: _Connection, write: Write, column: str, reads: list[_Traced], *, protected_counts: bool = True) -> _Traced | None:
        """The latest read of `column` of the row `write` changes; None when there is none or the
        transaction protects that row otherwise."""
        wanted = normalise_column(column)
        for traced in reversed(reads):
            read: Read = traced.op
            if "*" not in read.columns and wanted not in {normalise_column(c) for c in read.columns}:
                continue
            if not writes_row_of(read, 0, write):
                continue
            if protected_counts and (self._protected(state, traced, write) or (read.lock is LockMode.EXCLUSIVE and read.tx == write.tx)):
                return None  # the row is locked by this transaction: nothing to link
            return traced
        return None

    @staticmethod
    def _locked_for(state: _Connection, tx: int, table: str) -> bool:
        """The transaction holds a lock that keeps every other writer off `table` (SQLite's
        `BEGIN IMMEDIATE`, `LOCK TABLE`, an advisory lock): no write of it is linked to a read."""
        return state.tx_open and tx == state.tx_id and (state.begin_lock or state.advisory or table.lower() in state.table_locks)

    def _protected(self, state: _Connection, read: _Traced, write: Write) -> bool:
        """The transaction of `write` keeps others off the row by something else than `read`'s own lock."""
        if not state.tx_open or write.tx != state.tx_id:
            return False
        if state.advisory or state.begin_lock or write.table.lower() in state.table_locks:
            return True
        if self.dialect == "postgres" and state.isolation in _PROTECTIVE_ISOLATION and read.tx == write.tx:
            return True
        return any(
            t.op.lock is LockMode.EXCLUSIVE and t.tx == write.tx and writes_row_of(t.op, 0, write) for t in state.locked_reads
        )

    def _value_read(self, state: _Connection, read: _Traced, write: Write, column: str) -> object:
        wanted = normalise_column(column)
        if read.values is not None and wanted in read.values:
            return read.values[wanted]
        rows = state.observed.get(write.table)
        if rows:
            keys = {(_key_column(g.column), g.value.expression) for g in write.guards if g.op == "="}
            for identity, values in reversed(rows):
                if identity <= keys and wanted in values:
                    return values[wanted]
        return MISSING

    # -- transaction end ---------------------------------------------------------------------
    def _at_commit(self, state: _Connection, where: Where) -> list[Finding]:
        findings: list[Finding] = []
        if "TX105" in self.enabled and state.decrements:
            inserts = state.inserts
            # An insert into a table whose constraints are unknown may be the idempotency key.
            if not any(not i.op.on_conflict and not self.knows_table(i.op.table) for i in inserts):
                findings += self._judge(("TX105",), [*inserts, *state.decrements], None)
        if "TX108" in self.enabled:
            here: Site | None = None
            for cas in state.cas_zero:
                if cas.followed_by is None:
                    continue
                here = here or self._locate(where)
                unchecked = _Traced(cas.handle, cas.statement, cas.site, cas.tx, params=cas.params, _op=replace(cas.op, result_checked=False))
                extra = [
                    Related(_site(cas.followed_by).display_path(), _site(cas.followed_by).line, 1, f"the transaction went on to write here: {self._shown(cas.followed_by)}"),
                    Related(here.display_path(), here.line, 1, "and committed here"),
                ]
                found = self._judge(("TX108",), [unchecked], unchecked, extra)
                findings += [
                    replace(f, message=f"{f.message.split(':')[0]} matched no row, and the transaction still went on to write and commit")
                    for f in found
                ]
        return findings

    def _unbalanced(self, snapshot: _Snapshot, site: Site | None, message: str) -> list[Finding]:
        if "TX104" not in self.enabled:
            return []
        here = site or self._sites()
        write = snapshot.first_write
        related = (Related(_site(write).display_path(), _site(write).line, 1, f"first uncommitted write ({snapshot.writes} in all): {self._shown(write)}"),)
        return [self._make(self._classes["TX104"], message, here, related)]

    # -- rules → findings --------------------------------------------------------------------
    def _shown(self, traced: _Traced) -> str:
        """A statement as a finding shows it: placeholders, literals masked; with its bound
        values only when the user asked for them (`show_values`)."""
        if not self.show_values:
            return _shorter(mask_literals(traced.statement.text, self.dialect))
        shown = _shorter(traced.statement.text)
        return f"{shown} -- values: {traced.params}" if traced.params is not None else shown

    def _judge(self, codes: Iterable[str], traced: list[_Traced], focus: _Traced | None, extra: Iterable[Related] = ()) -> list[Finding]:
        """Run the rules on a small unit made of `traced`; keep the reports that involve `focus`."""
        rules = [self._rules[code] for code in codes if code in self._rules]
        if not rules:
            return []
        by_handle = {t.handle: t for t in traced}
        unit = Unit("<runtime>", Span.point(traced[-1].handle), ops=[t.op for t in traced])
        findings: list[Finding] = []
        for rule in rules:
            for report in rule.check(unit, self._context):
                if focus is not None and focus.handle not in {report.span.line, *(r.span.line for r in report.related)}:
                    continue
                finding = self._from_report(rule, report, by_handle, focus, extra)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _from_report(self, rule: Rule, report: Report, by_handle: dict[int, _Traced], focus: _Traced | None, extra: Iterable[Related]) -> Finding | None:
        primary = by_handle.get(report.span.line) or focus or next(iter(by_handle.values()))
        where = _site(primary)
        if self._known is not None and self._known(rule.code, where.display_path(), where.line):
            return None
        related = [Related(where.display_path(), where.line, 1, f"SQL: {self._shown(primary)}")]
        for r in report.related:
            other = by_handle.get(r.span.line)
            if other is not None:
                there = _site(other)
                related.append(Related(there.display_path(), there.line, 1, f"{r.message}: {self._shown(other)}"))
        related += extra
        return self._make(type(rule), report.message, where, tuple(related))

    @staticmethod
    def _make(rule: type[Rule], message: str, site: Site, related: tuple[Related, ...]) -> Finding:
        path = site.display_path()
        fingerprint = hashlib.sha256(f"{rule.code}\0{site.path}\0{site.line}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return Finding(rule.code, rule.name, rule.severity, message, path, site.line, 1, site.line, 1, related, fingerprint=fingerprint)


def forgetting(analyser: TraceAnalyser, conn: Hashable, step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a transaction-boundary event of `conn`; if it fails, forget the connection and re-raise.

    A state that missed a commit or a rollback would judge the next transaction together with
    the last one (a write-back across them, writes "left open" that were committed): after an
    error of txlint, nothing is known of the connection rather than something wrong."""
    try:
        return step(*args, **kwargs)
    except Exception:
        analyser.forget(conn)
        raise


def _may_matter(sql: str) -> bool:
    """A cheap look at the first word: only DML and transaction control are parsed."""
    head = sql.lstrip()[:16].lower()
    if head.startswith(("/*", "--")):
        return True  # a leading comment: let the parser see past it
    word = head.split(None, 1)[0] if head else ""
    return word.rstrip(";") in _FIRST_WORDS or word.startswith("(")


def _decrements(statement: sqlfacts.Statement) -> bool:
    """The statement subtracts from a column in the database (`SET c = c - x`)."""
    return any(a.change is not None and a.change.sign == "-" for a in statement.sets)


def _plan_of(statement: sqlfacts.Statement) -> _Plan:
    plain_read = statement.kind == "select" and statement.table is not None and not statement.advisory_lock
    return _Plan(statement, _guard_keys(statement), plain_read)


def _guard_keys(statement: sqlfacts.Statement) -> tuple[sqlfacts.PlaceholderKey, ...]:
    """The placeholders of a statement's WHERE: all a read's op needs (its key values)."""
    keys: dict[sqlfacts.PlaceholderKey, None] = {}
    for guard in statement.predicates:
        for key in guard.operand.placeholders or ((guard.operand.placeholder,) if guard.operand.placeholder is not None else ()):
            keys[key] = None
    return tuple(keys)


def _param_sets(params: object, executemany: bool) -> list[object]:
    if not executemany:
        return [params]
    if isinstance(params, Sequence) and not isinstance(params, (str, bytes)) and params:
        return list(params[:MAX_BATCH])
    return [None]


def _with_bound_amounts(write: Write, statement: sqlfacts.Statement, params: object) -> Write:
    """`SET c = c - ?` with a bound 1 is a decrement by exactly 1 (TX106's `c > 0` guard covers it)."""
    changed = False
    assignments = list(write.assignments)
    for i, (fact, assignment) in enumerate(zip(statement.sets, write.assignments)):
        delta = assignment.value.delta
        if delta is None or fact.change is None or fact.change.amount.kind != "placeholder" or fact.change.amount.placeholder is None:
            continue
        amount = _bound(params, fact.change.amount.placeholder)
        if is_number(amount):
            bounded = Delta(delta.column, delta.sign, float(amount))  # type: ignore[arg-type]
            assignments[i] = replace(assignment, value=replace(assignment.value, delta=bounded))
            changed = True
    return replace(write, assignments=tuple(assignments)) if changed else write


def _site(traced: _Traced) -> Site:
    return traced.site or UNKNOWN_SITE


def _shorter(text: str) -> str:
    return text if len(text) <= SQL_SHOWN else text[: SQL_SHOWN - 3] + "..."
