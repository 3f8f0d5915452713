"""SQLAlchemy source: public engine, pool, session and mapper events feed the trace analyser.

Events used (all public; installed by `watch()`, every one removed by
`close()`, the shape of SQLAlchemy's own `testing/assertsql.py`):

- engine `after_cursor_execute`: each statement as sent, with its bound
  parameters and the cursor's `rowcount`;
- engine `begin`, `commit`, `rollback`: the transaction (a connection with
  `isolation_level="AUTOCOMMIT"` still fires `begin`, but has no database
  transaction: every statement there commits on its own);
- pool `reset`: the connection goes back to the pool. A Core connection
  closed with its transaction open fires `rollback` from `close()` and then
  `reset` with `transaction_was_reset=True` (SQLAlchemy 2.x; see below for 1.4);
- session `after_begin`, `after_commit`, `after_rollback`,
  `after_transaction_end` (on the `Session` class, filtered to this engine's
  connections): a session closed without commit shows
  `after_transaction_end` with no `after_commit`/`after_rollback` before it;
- mapper `before_update` (on `Mapper`, filtered likewise): the values an
  instance had when it was loaded, so that `a.balance -= 10`, which flushes
  as `SET balance=?` with the value Python computed, is known to change the
  number it read.

One private attribute is read, guarded (missing means "not known"):
`_for_update_arg` of the compiled SELECT (`context.compiled.statement`),
because SQLite and SQL Server drop `FOR UPDATE` from the SQL and the lock
request is then only there; a test checks it on every supported minor
(`tests/test_runtime_sqlalchemy_versions.py`: 1.4, 2.0 and 2.1). The `table`
of a compiled DML statement, public, gives the table's constraints (from its
`CREATE TABLE`, read once per table).

SQLAlchemy 1.4 differs in two places, both handled here: its pool `reset`
event hands over the pool's proxy (`_ConnectionFairy`) instead of the DB-API
connection and has no `reset_state`, so whether `close()` already rolled an
open transaction back is read from the `transaction_was_reset` argument of the
proxy's `_reset`, the frame that dispatches the event (private, guarded:
unknown means "not rolled back by close", which only loses a TX104); and the
proxy's `dbapi_connection` exists from 1.4.24 on (`connection` before).
A 1.4 engine made without `future=True` commits a DML statement run outside a
transaction by itself ("library autocommit"): no `begin` is fired, only the
`commit`, which the analyser sees as the end of the implicit transaction.

`watch(engine)` watches one engine; `watch_all()` (the pytest plugin's)
listens on the `Engine` and `Pool` classes, so engines created later are
covered, with one analyser per SQL dialect.
"""

from __future__ import annotations

import operator
import sys
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from types import FrameType
from typing import Any, Unpack

from sqlalchemy import event, inspect
from sqlalchemy.pool.base import _ConnectionFairy
from sqlalchemy.schema import CreateTable, Table

from txlint.core.ftypes import Finding
from txlint.runtime.monitor import Monitor
from txlint.runtime.options import OptionFields, RuntimeOptions
from txlint.runtime.sources import drivers
from txlint.runtime.trace import TraceAnalyser, forgetting
from txlint.sql import to_ir

MAX_SESSIONS = 4096  # sessions (and mappers) whose state a monitor keeps at once

# SQLAlchemy dialect name → sqlglot dialect name.
DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite", "mssql": "tsql", "oracle": "oracle"}

__all__ = ["SQLAlchemyMonitor", "watch", "watch_all"]

# The DB-API connection under a Core `Connection`: the pool proxy's `dbapi_connection` (SQLAlchemy
# 1.4.24 and later), its `connection` before. A C-level getter: this runs for every statement.
_dbapi_of = operator.attrgetter("connection.dbapi_connection" if hasattr(_ConnectionFairy, "dbapi_connection") else "connection.connection")


def watch(engine: Any, mode: str = "warn", **options: Unpack[OptionFields]) -> SQLAlchemyMonitor:
    """Watch every connection of `engine` until the monitor is closed.

    Args:
        engine: a SQLAlchemy `Engine` (an `AsyncEngine` is watched through its `sync_engine`).
        mode, select, ignore, config, show_values: see `txlint.runtime.options.RuntimeOptions`.

    Returns:
        The installed monitor; `monitor.findings` lists what it saw; `monitor.close()` (or the
        end of a `with` block) removes every listener.
    """
    monitor = SQLAlchemyMonitor(engine, RuntimeOptions.of(mode, **options))
    monitor.install()
    return monitor


def watch_all(mode: str = "warn", **options: Unpack[OptionFields]) -> SQLAlchemyMonitor:
    """Watch every engine of the process, those created later included (the pytest plugin's way):
    the listeners go on the `Engine` and `Pool` classes, one analyser per SQL dialect."""
    monitor = SQLAlchemyMonitor(None, RuntimeOptions.of(mode, **options))
    monitor.install()
    return monitor


@dataclass
class _SessionTrace:
    connections: set[int] = field(default_factory=set)
    ended: bool = False  # committed or rolled back by the application


class SQLAlchemyMonitor(Monitor):
    """Listeners on one engine (or on every engine: `engine=None`) and on the session and mapper
    classes, feeding one `TraceAnalyser` per SQL dialect."""

    def __init__(self, engine: Any, options: RuntimeOptions) -> None:
        super().__init__(options)
        from sqlalchemy.engine import Engine
        from sqlalchemy.pool import Pool

        self.engine = getattr(engine, "sync_engine", engine)
        self._analysers: dict[str, TraceAnalyser] = {}
        self._by_dialect: dict[int, tuple[Any, TraceAnalyser]] = {}
        self._analysers_lock = threading.Lock()
        self._single: TraceAnalyser | None = None  # the one analyser of a monitor of one engine
        if self.engine is not None:
            self._single = self._analyser_for(self.engine.dialect)
        self._described: set[tuple[str, str]] = set()
        # Keyed by id with a weak reference to check identity: cheaper than a WeakKeyDictionary on
        # the path of every transaction (no weak reference is made to look one up).
        self._numeric: dict[int, tuple[weakref.ref[Any], list[tuple[str, str, str]]]] = {}
        self._sessions: OrderedDict[int, tuple[weakref.ref[Any], _SessionTrace]] = OrderedDict()
        self._sessions_lock = threading.Lock()
        self._installed = False
        engines = self.engine if self.engine is not None else Engine
        pools = self.engine if self.engine is not None else Pool
        self._listeners: list[tuple[Any, str, Any]] = [
            (engines, "begin", self._on_begin),
            (engines, "after_cursor_execute", self._on_execute),
            (engines, "commit", self._on_commit),
            (engines, "rollback", self._on_rollback),
            (pools, "reset", self._on_reset),
        ]
        try:
            from sqlalchemy.orm import Mapper, Session
        except ImportError:  # pragma: no cover - the ORM ships with SQLAlchemy
            return
        self._listeners += [
            (Session, "after_begin", self._after_begin),
            (Session, "after_commit", self._after_end),
            (Session, "after_rollback", self._after_end),
            (Session, "after_transaction_end", self._after_transaction_end),
            (Mapper, "before_update", self._before_update),
        ]

    @property
    def analyser(self) -> TraceAnalyser:
        """The analyser of the watched engine (of the first dialect seen, when watching all)."""
        with self._analysers_lock:
            if not self._analysers:
                self._analysers["postgres"] = self.new_analyser("postgres")
            return next(iter(self._analysers.values()))

    def _analyser_for(self, dialect: Any) -> TraceAnalyser:
        if self._single is not None:
            return self._single
        known = self._by_dialect.get(id(dialect))
        if known is not None and known[0] is dialect:
            return known[1]
        name = DIALECTS.get(dialect.name, dialect.name)
        analyser = self._analysers.get(name)
        if analyser is None:
            with self._analysers_lock:
                analyser = self._analysers.get(name)
                if analyser is None:
                    analyser = self._analysers[name] = self.new_analyser(name)
        self._by_dialect[id(dialect)] = (dialect, analyser)  # the dialect is kept: its id stays its own
        return analyser

    def _analyser_knowing(self, key: int) -> TraceAnalyser | None:
        """The analyser that has seen this connection (None: not one of the watched engines')."""
        if self._single is not None:
            return self._single if self._single.knows(key) else None
        for analyser in list(self._analysers.values()):
            if analyser.knows(key):
                return analyser
        return None

    # -- install / uninstall ------------------------------------------------------------------
    def install(self) -> SQLAlchemyMonitor:
        """Add the listeners; a second call does nothing."""
        if self._installed:
            return self
        for target, name, fn in self._listeners:
            event.listen(target, name, fn)
        self._installed = True
        self.closed = False
        return self

    def _uninstall(self) -> None:
        for target, name, fn in self._listeners:
            if event.contains(target, name, fn):
                event.remove(target, name, fn)
        self._installed = False

    def installed(self) -> bool:
        """Whether any of this monitor's listeners is still registered."""
        return any(event.contains(target, name, fn) for target, name, fn in self._listeners)

    # -- engine and pool events ---------------------------------------------------------------
    def _on_begin(self, conn: Any) -> None:
        self.call(self._begin, conn)

    def _begin(self, conn: Any) -> None:
        dbapi = _dbapi_of(conn)
        level = conn.get_execution_options().get("isolation_level")
        autocommit = level == "AUTOCOMMIT" or drivers.autocommit(dbapi) is True
        isolation = level if level and level != "AUTOCOMMIT" else drivers.isolation(dbapi)
        self._analyser_for(conn.dialect).begin(id(dbapi), autocommit=autocommit, isolation=isolation)

    def _on_execute(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        # The hottest path of the hook: `call()` inlined. The application's line is looked for from
        # SQLAlchemy's frame that called this listener outwards (txlint's own frames are not walked).
        try:
            findings = self._execute(conn, cursor, statement, parameters, context, executemany, sys._getframe(1))
        except Exception as error:  # noqa: BLE001
            self.internal_error(error)
            return
        if findings:
            self.report(findings)

    def _execute(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool, origin: Any = None) -> list[Finding]:
        analyser = self._analyser_for(conn.dialect)
        lock = None
        compiled = context.compiled
        if compiled is not None:
            element = compiled.statement
            if getattr(element, "is_select", False):
                lock = _lock_request(element)
            elif getattr(element, "is_dml", False):
                table = getattr(element, "table", None)
                if isinstance(table, Table) and (analyser.dialect, table.name) not in self._described:
                    self._describe(table, conn.dialect, analyser)
        dbapi = _dbapi_of(conn)
        return analyser.execute(id(dbapi), statement, parameters, rowcount=cursor.rowcount, executemany=executemany, lock=lock, origin=origin)

    def _on_commit(self, conn: Any) -> None:
        self.call(self._commit, conn)

    def _commit(self, conn: Any) -> list[Finding]:
        analyser, key = self._analyser_for(conn.dialect), id(_dbapi_of(conn))
        return forgetting(analyser, key, analyser.commit, key)

    def _on_rollback(self, conn: Any) -> None:
        self.call(self._rollback, conn)

    def _rollback(self, conn: Any) -> None:
        analyser, key = self._analyser_for(conn.dialect), id(_dbapi_of(conn))
        forgetting(analyser, key, analyser.rollback, key)

    def _on_reset(self, dbapi_connection: Any, connection_record: Any, reset_state: Any = None) -> None:
        # Raising here would reach SQLAlchemy's pool, which logs it and throws the connection away.
        if reset_state is None:  # SQLAlchemy 1.4: the pool's proxy, and no reset state
            self.call(self._legacy_reset, dbapi_connection, sys._getframe(1), can_raise=False)
        else:
            self.call(self._reset, dbapi_connection, getattr(reset_state, "transaction_was_reset", False), can_raise=False)

    def _legacy_reset(self, connection: Any, dispatcher: FrameType | None) -> list[Finding]:
        if isinstance(connection, _ConnectionFairy):
            connection = getattr(connection, "dbapi_connection", None) or connection.connection
        return self._reset(connection, _transaction_was_reset(dispatcher))

    def _reset(self, dbapi_connection: Any, was_reset: bool) -> list[Finding]:
        analyser = self._analyser_knowing(id(dbapi_connection))
        if analyser is None:
            return []
        return analyser.released(id(dbapi_connection), discarded=bool(was_reset))

    def _describe(self, table: Table, dialect: Any, analyser: TraceAnalyser) -> None:
        """The table's constraints (unique keys, CHECK (c >= 0)), from its DDL as this dialect writes it."""
        self._described.add((analyser.dialect, table.name))
        try:
            ddl = str(CreateTable(table).compile(dialect=dialect))
            analyser.add_tables(to_ir.table_decls("<sqlalchemy>", ddl, analyser.dialect))
        except Exception as error:  # noqa: BLE001 - unknown constraints only make the analyser more cautious
            self.internal_error(error)

    # -- session events -----------------------------------------------------------------------
    def _after_begin(self, session: Any, transaction: Any, connection: Any) -> None:
        self.call(self._session_begins, session, connection)

    def _session_begins(self, session: Any, connection: Any) -> None:
        key = id(_dbapi_of(connection))
        if self._analyser_knowing(key) is None:
            return  # another engine's connection
        with self._sessions_lock:
            trace = self._session_trace(session)
            if trace is None:
                self._sessions[id(session)] = (weakref.ref(session), _SessionTrace({key}))
                while len(self._sessions) > MAX_SESSIONS:  # sessions dropped in a transaction never end it
                    self._sessions.popitem(last=False)
            else:
                trace.connections.add(key)
                trace.ended = False

    def _session_trace(self, session: Any) -> _SessionTrace | None:
        entry = self._sessions.get(id(session))
        if entry is None:
            return None
        if entry[0]() is not session:  # a session that went away without ending its transaction
            self._sessions.pop(id(session), None)
            return None
        return entry[1]

    def _after_end(self, session: Any) -> None:
        self.call(self._session_ends, session)

    def _session_ends(self, session: Any) -> None:
        trace = self._session_trace(session)
        if trace is not None:
            trace.ended = True

    def _after_transaction_end(self, session: Any, transaction: Any) -> None:
        self.call(self._session_transaction_ends, session, transaction, can_raise=False)

    def _session_transaction_ends(self, session: Any, transaction: Any) -> list[Finding]:
        if getattr(transaction, "parent", None) is not None or getattr(transaction, "nested", False):
            return []
        with self._sessions_lock:
            trace = self._session_trace(session)
            if trace is not None:
                self._sessions.pop(id(session), None)
        if trace is None or trace.ended:
            return []
        # Raising from a session's close() would leave the session half closed: kept pending instead.
        return [f for key in trace.connections for analyser in list(self._analysers.values()) for f in analyser.session_closed(key)]

    # -- mapper events ------------------------------------------------------------------------
    def _before_update(self, mapper: Any, connection: Any, target: Any) -> None:
        self.call(self._loaded_values, mapper, connection, target)

    def _loaded_values(self, mapper: Any, connection: Any, target: Any) -> None:
        """Tell the analyser what each changed number held when the instance was loaded."""
        key = id(_dbapi_of(connection))
        analyser = self._analyser_knowing(key)
        if analyser is None:
            return
        columns = self._numeric_columns(mapper)
        wanted = {table for table in {table for _, table, _ in columns} if analyser.wants_old_values(key, table)}
        if not wanted:
            return  # the rows read are locked (or none were read): no old value can matter
        state = inspect(target)
        identity = state.identity
        if not identity:
            return
        old: dict[str, dict[str, object]] = {}
        attrs = state.attrs
        for attribute, table, column in columns:
            if table not in wanted:
                continue
            deleted = attrs[attribute].history.deleted
            if deleted:
                old.setdefault(table, {})[column] = deleted[0]
        primary = {column.name: value for column, value in zip(mapper.primary_key, identity, strict=False)}
        for table, values in old.items():
            analyser.observe(key, table, primary, values)

    def _numeric_columns(self, mapper: Any) -> list[tuple[str, str, str]]:
        """(attribute, table, column) of a mapper's plain numeric columns, worked out once per mapper:
        only a number's old value can tell the analyser that a write changed what was read."""
        entry = self._numeric.get(id(mapper))
        if entry is not None and entry[0]() is mapper:
            return entry[1]
        cached: list[tuple[str, str, str]] = []
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            table = getattr(getattr(column, "table", None), "name", None)
            try:
                numeric = issubclass(column.type.python_type, (int, float, Decimal)) and column.type.python_type is not bool
            except (NotImplementedError, AttributeError):
                numeric = False
            if table and numeric and getattr(column, "name", None):
                cached.append((prop.key, table, column.name))
        if len(self._numeric) > MAX_SESSIONS:  # mappers made on the fly (tests): forget the old ones
            self._numeric.clear()
        self._numeric[id(mapper)] = (weakref.ref(mapper), cached)
        return cached


def _lock_request(element: Any) -> str | None:
    """The row lock a compiled SELECT asked for (`with_for_update()`), whether or not the dialect wrote it."""
    arg = getattr(element, "_for_update_arg", None)  # private in SQLAlchemy: absent means unknown
    if arg is None:
        return None
    return "share" if getattr(arg, "read", False) else "exclusive"


def _transaction_was_reset(frame: FrameType | None) -> bool:
    """SQLAlchemy 1.4: whether `Connection.close()` rolled back the transaction it found open before
    handing the connection back (2.x says so in the `reset` event's `reset_state`). It is the
    `transaction_was_reset` argument of `_ConnectionFairy._reset`, which dispatches the event: looked
    for in the few frames above the listener. Not found: False (a TX104 missed, never a false one)."""
    for _ in range(4):
        if frame is None:
            return False
        code = frame.f_code
        if code.co_name == "_reset" and "transaction_was_reset" in code.co_varnames:
            return frame.f_locals.get("transaction_was_reset") is True
        frame = frame.f_back
    return False
