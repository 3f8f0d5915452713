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
value>` on row k is a candidate when, earlier in the same transaction (or in
autocommit statements on the same connection since the last transaction
ended) and in the same request, a SELECT read column c of row k (the same
equality keys with the same bound values, `ir_queries.writes_row_of`) without
a lock; a read made by a test's own code is no candidate for a write the
application sends. The application's source then decides (`SourceFacts`,
when given): the function that sent the write computes c from database values
(linked, any column), or surely does not (a constant, an input: not linked).
Where the source cannot tell or there is none, the values do: the bound value
is a number and
- the value that read returned for c is known (a source reports fetched rows,
  or the ORM's loaded state) and is a different number; or
- that value is unknown and c is a money-like column (config
  `money-columns`).
A write of text, of the value that was read, or of a non-money column whose
old value is unknown is not linked by values: when unsure, silent. The written
row counts as protected, and nothing is linked, when the transaction
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

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path
from types import FrameType
from typing import ParamSpec, TypeVar

from txlint.core.config import Config
from txlint.core.ftypes import Finding
from txlint.core.index import ProjectIndex, TableDecl, normalise_column
from txlint.core.ir import DiscardCause, ModuleIR
from txlint.core.registry import runtime_rules
from txlint.core.rule import Rule, RuleContext
from txlint.runtime.source_facts import SourceFacts
from txlint.runtime.stack import Site, app_site, app_site_from
from txlint.runtime.trace.records import (
    MAX_CONNECTIONS,
    MAX_RELEASED,
    MAX_SPARE,
    PLAN_CACHE,
    PLAN_TEXT,
    WINDOW,
    ConnectionState,
    Plan,
    Snapshot,
    Traced,
    Where,
    may_matter,
    param_sets,
    plan_of,
)
from txlint.runtime.trace.statements import Statements
from txlint.runtime.trace.values import canonical, is_number, key_column
from txlint.sql import dialect_names, parse_statements
from txlint.sql import facts as sqlfacts

P = ParamSpec("P")
R = TypeVar("R")


class TraceAnalyser(Statements):
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
        source: what the application's source says about a write (`SourceFacts`): whether the
            value written was computed from the one read (TX101), and where it was assigned. None:
            judged by values alone.

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
        source: SourceFacts | None = None,
    ) -> None:
        self.dialect = dialect if dialect in dialect_names() else "postgres"
        self.config = config or Config()
        rules = runtime_rules()  # the rules some op of a trace can trigger
        if enabled is None:
            enabled = [code for code, rule in rules.items() if rule.default_enabled]
        self.enabled = frozenset(code for code in enabled if code in rules)
        self._rules: dict[str, Rule] = {code: rules[code]() for code in self.enabled}
        self._root = _resolved(self.config.root)
        self._decls: dict[str, TableDecl] = {}
        self._context = RuleContext(self.config, ModuleIR("<runtime>"), ProjectIndex())
        self._states: OrderedDict[Hashable, ConnectionState] = OrderedDict()
        self._spare: list[ConnectionState] = []  # states of released connections, emptied, for reuse
        self._released: OrderedDict[Hashable, Snapshot] = OrderedDict()
        self._lock = threading.Lock()
        self._handles = itertools.count(1)
        self._tx_ids = itertools.count(1)
        self._sites = sites
        self._sites_from = app_site_from if sites is app_site else None  # a custom `sites` has no frame to start from
        self._plans: dict[str, tuple[Plan, ...]] = {}
        self._plan_text = 0
        self.show_values = show_values
        self._notify = notify
        self._known = known
        self._source = source
        self._test_files: dict[str, bool] = {}
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
    def _state(self, conn: Hashable) -> ConnectionState:
        state = self._states.get(conn)
        if state is None:
            with self._lock:
                state = self._states.get(conn)
                if state is None:
                    state = self._states[conn] = self._spare.pop() if self._spare else ConnectionState()
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

    # -- events ---------------------------------------------------------------------------
    def begin(self, conn: Hashable, *, autocommit: bool = False, isolation: str | None = None) -> None:
        """A transaction starts (or, on a connection in autocommit mode, a run of autocommit statements)."""
        state = self._state(conn)
        state.autocommit = autocommit
        if autocommit:  # no database transaction: every statement commits on its own
            state.tx_open = False
            return
        self._open(state, isolation)

    def _open(self, state: ConnectionState, isolation: str | None = None, lock: str | None = None) -> None:
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
            return self._statement(state, plan, param_sets(params, executemany), rowcount, lock, autocommit, where)
        sets = param_sets(params, executemany)
        findings: list[Finding] = []
        for plan in plans:  # several statements sent as one: `BEGIN; UPDATE ...` opens the transaction the UPDATE runs in
            autocommit = in_transaction is False or not state.tx_open
            findings += self._statement(state, plan, sets, rowcount, lock, autocommit, where)
        return findings

    def _locate(self, where: Where) -> Site:
        """The application's line of the event being handled (a stack walk unless a source said)."""
        if where is None:
            return self._sites()
        if isinstance(where, Site):
            return where
        if self._sites_from is None:
            return self._sites()
        return self._sites_from(where)

    def _plan(self, sql: str) -> tuple[Plan, ...]:
        """What the analyser needs of a statement text, parsed once (DDL and the like: nothing).

        The cache is bounded in entries and in text: a program that sends that many distinct
        texts inlines its values, and starting again costs one parse per text."""
        plans: tuple[Plan, ...] = ()
        if may_matter(sql):
            parsed = parse_statements(sql, self.dialect)
            if isinstance(parsed, sqlfacts.SqlError):
                self.unparsed += 1
                if self._notify is not None:
                    self._notify(parsed)
            else:
                plans = tuple(plan_of(statement) for statement in parsed)
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

    @staticmethod
    def wants_row(token: object) -> bool:
        """Whether the read behind `token` still has no row recorded (only its first row is kept)."""
        return isinstance(token, Traced) and token.values is None

    def record_row(self, token: object, row: Mapping[str, object]) -> None:
        """The first row a read returned (column name → value), when the source can see it."""
        if isinstance(token, Traced) and token.values is None:
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
            identity = frozenset((key_column(c), canonical(v)) for c, v in key.items())
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
            state.discarded = Snapshot(state.first_write, state.writes)
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
        snapshot = Snapshot(state.first_write, state.writes) if state.tx_open and state.first_write is not None else None
        if snapshot is None and discarded:
            snapshot = state.discarded
        if snapshot is not None:
            return self._unbalanced(snapshot, site, DiscardCause.RELEASED)
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
        snapshot: Snapshot | None = None
        if state is not None:
            if state.tx_open and state.first_write is not None:
                snapshot = Snapshot(state.first_write, state.writes)
            else:
                snapshot, state.discarded = state.discarded, None
        if snapshot is None:
            with self._lock:
                snapshot = self._released.pop(conn, None)
        if snapshot is None:
            return []
        return self._unbalanced(snapshot, site, DiscardCause.CLOSED)


def forgetting(analyser: TraceAnalyser, conn: Hashable, step: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a transaction-boundary event of `conn`; if it fails, forget the connection and re-raise.

    A state that missed a commit or a rollback would judge the next transaction together with
    the last one (a write-back across them, writes "left open" that were committed): after an
    error of txlint, nothing is known of the connection rather than something wrong."""
    try:
        return step(*args, **kwargs)
    except Exception:
        analyser.forget(conn)
        raise


def _resolved(root: Path) -> Path | None:
    """The project root findings' fingerprints are relative to; None when it cannot be resolved."""
    try:
        return root.resolve()
    except OSError:
        return None
