"""DB-API source: a wrapper around a psycopg (2 or 3), PyMySQL or sqlite3 connection.

    from txlint.runtime.sources.dbapi_wrapper import wrap

    conn = wrap(psycopg.connect(dsn), mode="warn")
    cur = conn.cursor()            # a wrapped cursor: execute/executemany/fetch* are traced
    ...

The wrapper behaves as the connection it wraps (every other attribute is
passed through, and assignments such as `conn.autocommit = True` reach the
driver). What it adds:

- each `execute()`/`executemany()` (of a cursor, or the connection's own
  `execute()` where the driver has one) is handed to the analyser with its
  parameters, the cursor's `rowcount`, and whether the driver ran it inside a
  transaction (psycopg's `info.transaction_status`, sqlite3's
  `in_transaction`; otherwise PEP 249: outside autocommit, from the first
  statement until `commit()`/`rollback()`);
- the first row a read returns (`fetchone`/`fetchmany`/`fetchall`/iteration)
  tells the analyser what was read, so TX101 sees a value that changed;
- `commit()` judges the transaction before it commits (mode "raise" stops
  the commit), `rollback()` and `close()` end it; closing with uncommitted
  writes is TX104. `with conn:` follows the driver: sqlite3 and psycopg
  commit (or roll back) at the end of the block, psycopg 3 and PyMySQL close
  the connection (PyMySQL without committing).

Everything the wrapper adds is contained: an error of txlint is counted and
logged once (`monitor.errors`), and the driver's call runs and returns as if
unwrapped; only mode "raise" raises, and only `TransactionSafetyError`.

Known limits: PyMySQL's `rowcount` counts changed rows, not matched ones, so
an UPDATE that writes the value a row already has looks like one that matched
nothing (TX108 needs `CLIENT.FOUND_ROWS`, which SQLAlchemy sets). A monitor
has one SQL dialect: wrap connections of one kind of database per monitor.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from types import FrameType
from typing import Any, Unpack

from txlint.core.ftypes import Finding
from txlint.runtime.monitor import Monitor
from txlint.runtime.options import OptionFields, RuntimeOptions
from txlint.runtime.sources import drivers
from txlint.runtime.trace import forgetting

__all__ = ["DBAPIMonitor", "MonitoredConnection", "MonitoredCursor", "wrap"]

_COMMIT_ON_EXIT = frozenset({"sqlite3", "psycopg", "psycopg2"})


def wrap(
    connection: Any, mode: str = "warn", *, monitor: DBAPIMonitor | None = None, dialect: str | None = None, **options: Unpack[OptionFields]
) -> MonitoredConnection:
    """Wrap one DB-API connection; a new monitor is made unless one is given (`conn.txlint_monitor`).

    Args:
        connection: a psycopg, psycopg2, PyMySQL or sqlite3 connection.
        mode, select, ignore, config, show_values: for a new monitor; see
            `txlint.runtime.options.RuntimeOptions`.
        monitor: an existing monitor to report to (several connections, one list of findings).
        dialect: the SQL dialect; guessed from the driver by default.
    """
    if monitor is None:
        if isinstance(connection, MonitoredConnection):
            return connection  # wrapping twice adds nothing (give a monitor to watch it a second time)
        dialect = dialect or drivers.dialect_of(connection) or "postgres"
        monitor = DBAPIMonitor(RuntimeOptions.of(mode, **options), dialect=dialect)
    return monitor.wrap(connection)


def unwrapped(connection: Any) -> Any:
    """The driver's own connection under any number of txlint wrappers."""
    while isinstance(connection, MonitoredConnection):
        connection = connection.wrapped
    return connection


class DBAPIMonitor(Monitor):
    """One analyser for any number of wrapped connections of one kind of database."""

    def __init__(self, options: RuntimeOptions, *, dialect: str = "postgres") -> None:
        super().__init__(options)
        self.analyser = self.new_analyser(dialect)

    def wrap(self, connection: Any) -> MonitoredConnection:
        """The connection, wrapped once by this monitor (wrapping it again returns it). A connection
        another monitor wraps is wrapped once more: both see its statements (the pytest plugin's
        monitor and a test's own `txlint_monitor`)."""
        if isinstance(connection, MonitoredConnection) and connection.txlint_monitor is self:
            return connection
        return MonitoredConnection(connection, self)

    # After close() the wrappers pass everything straight through: there is nothing to remove.


class MonitoredConnection:
    """A DB-API connection whose statements and transaction boundaries are traced."""

    # Set with `object.__setattr__` (assignments to the wrapper reach the driver's connection).
    _txlint_conn: Any
    _txlint_raw: Any
    _txlint_monitor: DBAPIMonitor
    _txlint_key: int

    def __init__(self, connection: Any, monitor: DBAPIMonitor) -> None:
        raw = unwrapped(connection)
        object.__setattr__(self, "_txlint_conn", connection)
        object.__setattr__(self, "_txlint_raw", raw)  # the driver's connection: what `drivers` asks
        object.__setattr__(self, "_txlint_monitor", monitor)
        object.__setattr__(self, "_txlint_key", id(raw))

    # -- pass-through -------------------------------------------------------------------------
    @property
    def wrapped(self) -> Any:
        """The driver's own connection."""
        return self._txlint_conn

    @property
    def txlint_monitor(self) -> DBAPIMonitor:
        return self._txlint_monitor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._txlint_conn, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._txlint_conn, name, value)

    def __repr__(self) -> str:
        return f"<txlint MonitoredConnection of {self._txlint_conn!r}>"

    # -- cursors and statements ---------------------------------------------------------------
    def cursor(self, *args: Any, **kwargs: Any) -> MonitoredCursor:
        return MonitoredCursor(self._txlint_conn.cursor(*args, **kwargs), self)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        """The driver's `connection.execute()` (sqlite3, psycopg 3), traced; its cursor wrapped."""
        execute = self._txlint_conn.execute  # AttributeError for drivers that have none, as unwrapped
        self._txlint_before()
        cursor = execute(sql, *args, **kwargs)
        wrapped = MonitoredCursor(cursor, self)
        params = args[0] if args else kwargs.get("parameters", kwargs.get("params"))
        wrapped._txlint_read = self._txlint_after(sql, params, False, cursor, sys._getframe(1))
        return wrapped

    def _txlint_before(self) -> None:
        """A transaction the driver ended where the wrapper could not see it is over."""
        monitor = self._txlint_monitor
        if not monitor.closed:
            monitor.collect(self._txlint_check_ended)

    def _txlint_check_ended(self) -> None:
        if drivers.in_transaction(self._txlint_raw) is False:
            self._txlint_monitor.analyser.ended(self._txlint_key)

    def _txlint_after(self, sql: Any, params: Any, many: bool, cursor: Any, origin: FrameType | None) -> object | None:
        """Trace one executed statement (`origin`: the frame that called the driver through the
        wrapper); return a token for recording the row it read, if it read."""
        monitor = self._txlint_monitor
        if monitor.closed or not isinstance(sql, str):
            return None
        token: list[object] = []
        monitor.call(self._txlint_analyse, sql, params, many, cursor, origin, token)
        return token[0] if token else None

    def _txlint_analyse(self, sql: str, params: Any, many: bool, cursor: Any, origin: FrameType | None, token: list[object]) -> list[Finding]:
        raw = self._txlint_raw
        analyser = self._txlint_monitor.analyser
        inside = drivers.in_transaction(raw)
        if inside is None:
            auto = drivers.autocommit(raw)
            inside = None if auto is None else not auto
        rowcount = getattr(cursor, "rowcount", None)
        if not isinstance(rowcount, int) or rowcount < 0:
            rowcount = None
        before = analyser.last_read(self._txlint_key)
        findings = analyser.execute(self._txlint_key, sql, params, rowcount=rowcount, executemany=many, in_transaction=inside, origin=origin)
        after = analyser.last_read(self._txlint_key)
        if after is not before:
            token.append(after)
        return findings

    def _txlint_record(self, token: object, row: Any, description: Any) -> None:
        def record() -> None:
            if isinstance(row, Mapping):
                values = dict(row)
            elif hasattr(row, "keys"):  # sqlite3.Row
                values = {key: row[key] for key in row}
            else:
                names = [d[0] for d in description or ()]
                values = dict(zip(names, row, strict=False))
            self._txlint_monitor.analyser.record_row(token, values)

        self._txlint_monitor.collect(record)

    # -- transaction boundaries -----------------------------------------------------------------
    def commit(self) -> Any:
        monitor = self._txlint_monitor
        if not monitor.closed:
            analyser, key = monitor.analyser, self._txlint_key
            monitor.call(forgetting, analyser, key, analyser.commit, key)  # raise mode: before the commit
        return self._txlint_conn.commit()

    def rollback(self) -> Any:
        try:
            return self._txlint_conn.rollback()
        finally:
            monitor = self._txlint_monitor
            if not monitor.closed:
                analyser, key = monitor.analyser, self._txlint_key
                monitor.collect(forgetting, analyser, key, analyser.rollback, key)

    def close(self) -> Any:
        monitor = self._txlint_monitor
        findings = None
        if not monitor.closed:
            self._txlint_before()
            findings = monitor.collect(monitor.analyser.released, self._txlint_key)
        result = self._txlint_conn.close()
        monitor.report(findings)  # after the close: raise mode must not keep the connection open
        return result

    def __enter__(self) -> MonitoredConnection:
        self._txlint_conn.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        monitor = self._txlint_monitor
        findings: list[Finding] = []
        if not monitor.closed:
            findings += monitor.collect(self._txlint_block_ends, exc_type is None) or []
        result = self._txlint_conn.__exit__(exc_type, exc, tb)
        if not monitor.closed:
            findings += monitor.collect(self._txlint_released_if_closed) or []
        if exc_type is None:
            monitor.report(findings)
        return result

    def _txlint_block_ends(self, ok: bool) -> list[Finding]:
        """What the driver's `with` block does to the transaction, before it does it."""
        if drivers.driver_module(self._txlint_raw) not in _COMMIT_ON_EXIT:
            return []
        analyser, key = self._txlint_monitor.analyser, self._txlint_key
        if ok:
            return forgetting(analyser, key, analyser.commit, key)
        forgetting(analyser, key, analyser.rollback, key)
        return []

    def _txlint_released_if_closed(self) -> list[Finding]:
        return self._txlint_monitor.analyser.released(self._txlint_key) if _closed(self._txlint_raw) else []


class MonitoredCursor:
    """A DB-API cursor whose statements are traced and whose first fetched row is recorded."""

    def __init__(self, cursor: Any, connection: MonitoredConnection) -> None:
        object.__setattr__(self, "_txlint_cursor", cursor)
        object.__setattr__(self, "_txlint_owner", connection)
        object.__setattr__(self, "_txlint_read", None)

    @property
    def wrapped(self) -> Any:
        return self._txlint_cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._txlint_cursor, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_txlint_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._txlint_cursor, name, value)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        cursor = self._txlint_cursor
        self._txlint_owner._txlint_before()
        result = cursor.execute(sql, *args, **kwargs)
        params = args[0] if args else kwargs.get("args", kwargs.get("params", kwargs.get("parameters")))
        self._txlint_read = self._txlint_owner._txlint_after(sql, params, False, cursor, sys._getframe(1))
        return self if result is cursor else result

    def executemany(self, sql: Any, seq: Any, *args: Any, **kwargs: Any) -> Any:
        cursor = self._txlint_cursor
        if not isinstance(seq, Sequence):
            seq = list(seq)  # an iterator would be consumed by the driver before the analyser saw it
        self._txlint_owner._txlint_before()
        result = cursor.executemany(sql, seq, *args, **kwargs)
        self._txlint_read = self._txlint_owner._txlint_after(sql, seq, True, cursor, sys._getframe(1))
        return self if result is cursor else result

    def _txlint_first(self, row: Any) -> None:
        token = self._txlint_read
        if token is not None and row is not None:
            self._txlint_read = None
            self._txlint_owner._txlint_record(token, row, getattr(self._txlint_cursor, "description", None))

    def fetchone(self) -> Any:
        row = self._txlint_cursor.fetchone()
        self._txlint_first(row)
        return row

    def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
        rows = self._txlint_cursor.fetchmany(*args, **kwargs)
        if rows:
            self._txlint_first(rows[0])
        return rows

    def fetchall(self) -> Any:
        rows = self._txlint_cursor.fetchall()
        if rows:
            self._txlint_first(rows[0])
        return rows

    def __iter__(self) -> Iterator[Any]:
        for row in self._txlint_cursor:
            self._txlint_first(row)
            yield row

    def __enter__(self) -> MonitoredCursor:
        self._txlint_cursor.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._txlint_cursor.__exit__(*exc)


def _closed(connection: Any) -> bool:
    closed = getattr(connection, "closed", None)
    if isinstance(closed, bool):  # psycopg 3 (psycopg2 uses an int)
        return closed
    if isinstance(closed, int) and not isinstance(closed, bool):
        return closed != 0
    is_open = getattr(connection, "open", None)  # PyMySQL
    return is_open is False
