"""Django source: `connection.execute_wrapper`-style wrappers feed the trace analyser.

    from txlint.runtime.sources.django_connections import watch

    with watch(using="default", mode="raise"):
        client.post("/withdraw/", {"amount": 10})

Django keeps one connection object per thread and alias. `watch()` adds its
wrapper to the `execute_wrappers` of the current thread's connection and, by
the public `connection_created` signal, of every connection of that alias
opened later (other threads); `close()` removes it from all of them and
disconnects the signal. Installing twice adds nothing.

Transaction state comes from the connection, not from the SQL: `atomic()`
sends `BEGIN` through the wrappers on some backends but never the `COMMIT`,
so a statement runs in a transaction when `in_atomic_block` is set or
autocommit is off. Where a transaction ends is learnt from the connection's
own `commit()`, `rollback()` and `close()` (what `atomic()`, `transaction.commit()`
and the end of a request call): each attached connection object gets
wrappers of these three as instance attributes, removed at `close()` (a
wrapper some other code put on top of them is left, and passes calls
straight through once the monitor is closed). So:

- TX105/TX108 are judged when a transaction commits, right after the commit
  (mode "raise" raises from there, out of the `atomic()` block);
- TX104: the connection is closed while the analyser has seen writes that
  were neither committed nor rolled back. In Django that is a transaction
  under `set_autocommit(False)` whose code did not commit on every path (the
  end of the request closes the connection, and the database throws the
  writes away), or `connection.close()` inside an `atomic()` block. An
  `atomic()` block on its own always ends in a commit or a rollback, and a
  statement in autocommit mode commits itself: neither is TX104.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, Unpack

from django.db import connections
from django.db.backends.signals import connection_created

from txlint.core.ftypes import Finding
from txlint.runtime.monitor import Monitor
from txlint.runtime.options import OptionFields, RuntimeOptions
from txlint.runtime.sources import django_loads, drivers
from txlint.runtime.trace import forgetting

__all__ = ["DjangoMonitor", "watch"]

# Django `connection.vendor` → sqlglot dialect.
DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite", "oracle": "oracle"}


def watch(using: str = "default", mode: str = "warn", **options: Unpack[OptionFields]) -> DjangoMonitor:
    """Watch the database alias `using` in every thread until the monitor is closed
    (`mode`, `select`, `ignore`, `config`, `show_values`: see `txlint.runtime.options.RuntimeOptions`)."""
    monitor = DjangoMonitor(using, RuntimeOptions.of(mode, **options))
    monitor.install()
    return monitor


class DjangoMonitor(Monitor):
    """One execute wrapper, on every connection of one database alias."""

    def __init__(self, using: str, options: RuntimeOptions) -> None:
        super().__init__(options)
        self.using = using
        dialect = DIALECTS.get(connections[using].vendor, "postgres")
        self.analyser = self.new_analyser(dialect)
        self._attached: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._installed = False
        self._uid = f"txlint-runtime-{id(self)}"
        self._awaiting = _Awaiting()  # per thread: the read whose first row `django_loads` records

    def install(self) -> DjangoMonitor:
        """Attach to this thread's connection and to every connection of the alias opened later."""
        if self._installed:
            return self
        connection_created.connect(self._on_created, weak=False, dispatch_uid=self._uid)
        self._attach(connections[self.using])
        django_loads.follow(self)
        self._installed = True
        self.closed = False
        return self

    def _uninstall(self) -> None:
        connection_created.disconnect(dispatch_uid=self._uid)
        django_loads.unfollow(self)
        with self._lock:
            attached = list(self._attached)
            self._attached = weakref.WeakSet()
        for connection in attached:
            while self._wrapper in connection.execute_wrappers:
                connection.execute_wrappers.remove(self._wrapper)
            for name in _BOUNDARIES:
                self._unwrap(connection, name)
        self._installed = False

    def installed(self) -> bool:
        return any(self._wrapper in c.execute_wrappers or _ours(c, self) for c in list(self._attached))

    def _on_created(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        if getattr(connection, "alias", None) == self.using:
            self.collect(self._attach, connection)

    def _attach(self, connection: Any) -> None:
        with self._lock:
            if self._wrapper not in connection.execute_wrappers:
                connection.execute_wrappers.append(self._wrapper)
            for name in _BOUNDARIES:
                if not _ours(connection, self, name):
                    connection.__dict__[name] = _Boundary(self, connection, name, connection.__dict__.get(name))
            self._attached.add(connection)

    def _unwrap(self, connection: Any, name: str) -> None:
        """Take this monitor's wrapper of `connection.<name>` away, if nothing was put on top of it."""
        current = connection.__dict__.get(name)
        if isinstance(current, _Boundary) and current.monitor is self:
            if current.previous is None:
                del connection.__dict__[name]  # the class's own method again
            else:
                connection.__dict__[name] = current.previous

    # -- the execute wrapper -------------------------------------------------------------------
    def _wrapper(self, execute: Any, sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
        result = execute(sql, params, many, context)
        if not self.closed and isinstance(sql, str):
            self.call(self._trace, sql, params, many, context, sys._getframe(1))
        return result

    def _trace(self, sql: str, params: Any, many: bool, context: dict[str, Any], origin: Any) -> list[Finding]:
        connection = context["connection"]
        key = id(connection)
        analyser = self.analyser
        inside = bool(connection.in_atomic_block or not connection.get_autocommit())
        if not inside:
            analyser.ended(key)  # a transaction ended where no wrapper saw it (`set_autocommit(True)`)
        cursor = context.get("cursor")
        rowcount = getattr(cursor, "rowcount", None)
        if not isinstance(rowcount, int) or rowcount < 0:
            rowcount = None
        lock = None
        if not connection.features.has_select_for_update and sql.lstrip()[:6].upper() == "SELECT":
            lock = _lock_request(origin)
        findings = analyser.execute(key, sql, params, rowcount=rowcount, executemany=many, in_transaction=inside, lock=lock, origin=origin)
        token = analyser.last_read(key)
        self._awaiting.token = token if analyser.wants_row(token) else None  # the rows Django builds next are its
        return findings

    def awaiting_row(self) -> object | None:
        """The read of this thread's connection whose first loaded row is still to be recorded."""
        return self._awaiting.token

    def row_recorded(self) -> None:
        self._awaiting.token = None

    # -- transaction boundaries ----------------------------------------------------------------
    def _committed(self, connection: Any) -> list[Finding]:
        key = id(connection)
        return forgetting(self.analyser, key, self.analyser.commit, key)

    def _rolled_back(self, connection: Any) -> None:
        key = id(connection)
        forgetting(self.analyser, key, self.analyser.rollback, key)

    def _closing(self, connection: Any) -> list[Finding]:
        """TX104 when the connection is closed with writes neither committed nor rolled back (and
        the driver, where it says, agrees that a transaction is open)."""
        key = id(connection)
        raw = getattr(connection, "connection", None)
        if raw is None:
            self.analyser.forget(key)  # not connected: nothing of it can be lost
            return []
        if drivers.in_transaction(raw) is False:
            self.analyser.ended(key)
        return self.analyser.released(key)


class _Awaiting(threading.local):
    token: object | None = None


_BOUNDARIES = ("commit", "rollback", "close")
_COMPILER_DEPTH = 6  # frames from the execute wrapper's caller up to Django's `SQLCompiler.execute_sql`


def _lock_request(origin: Any) -> str | None:
    """The row lock `select_for_update()` asked for, on a backend that drops it from the SQL.

    SQLite has no `FOR UPDATE`, and Django leaves it out without a word; the test suites of
    many projects run there. The query that asked for it is in the frame of the compiler that
    runs it, a few frames up from the execute wrapper: without it, locked code would look
    like a lost update."""
    frame = origin
    for _ in range(_COMPILER_DEPTH):
        if frame is None:
            return None
        if frame.f_code.co_name == "execute_sql":
            query = getattr(frame.f_locals.get("self"), "query", None)
            if query is None:
                return None
            return "exclusive" if getattr(query, "select_for_update", False) else None
        frame = frame.f_back
    return None


def _ours(connection: Any, monitor: DjangoMonitor, name: str | None = None) -> bool:
    names = (name,) if name else _BOUNDARIES
    return any(isinstance(w, _Boundary) and w.monitor is monitor for w in (connection.__dict__.get(n) for n in names))


class _Boundary:
    """`connection.commit`/`rollback`/`close` of one Django connection object, seen by a monitor.

    Calls the original first for commit and rollback (the analyser learns the outcome), and
    judges before a close (the state is gone after it) but reports after it: raise mode must
    not keep a connection open. Once the monitor is closed it only passes calls through."""

    def __init__(self, monitor: DjangoMonitor, connection: Any, name: str, previous: Callable[..., Any] | None) -> None:
        self.monitor = monitor
        self.connection_ref = weakref.ref(connection)  # the connection's own __dict__ holds this object
        self.name = name
        self.previous = previous  # what the instance had before (another wrapper), None: the class's method

    def original(self, connection: Any, *args: Any, **kwargs: Any) -> Any:
        if self.previous is not None:
            return self.previous(*args, **kwargs)
        return getattr(type(connection), self.name)(connection, *args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        monitor = self.monitor
        connection = self.connection_ref()
        if connection is None:  # pragma: no cover - the connection owns this wrapper
            raise ReferenceError("the Django connection of this wrapper is gone")
        if monitor.closed:
            return self.original(connection, *args, **kwargs)
        if self.name == "close":
            findings = monitor.collect(monitor._closing, connection)
            result = self.original(connection, *args, **kwargs)
            monitor.report(findings)
            return result
        result = self.original(connection, *args, **kwargs)
        if self.name == "commit":
            monitor.call(monitor._committed, connection)
        else:
            monitor.collect(monitor._rolled_back, connection)
        return result
