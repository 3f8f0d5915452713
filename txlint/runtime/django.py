"""Django source: `connection.execute_wrapper`-style wrappers feed the trace analyser.

    from txlint.runtime.django import watch

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
autocommit is off, and a transaction is over when neither holds any more.
Whether it committed is learnt from `transaction.on_commit()`, registered
when the analyser sees it begin: only a commit runs it, so TX105/TX108 are
judged for committed transactions only, right after the commit (mode "raise"
raises from there, out of the `atomic()` block). Django closes connections
itself, so TX104 is not reported here.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.db import connections, transaction
from django.db.backends.signals import connection_created

from txlint.config import Config
from txlint.runtime.monitor import Monitor, enabled_runtime_codes, project_config
from txlint.runtime.trace import TraceAnalyser

__all__ = ["DjangoMonitor", "watch"]

# Django `connection.vendor` → sqlglot dialect.
DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "sqlite": "sqlite", "oracle": "oracle"}


def watch(
    using: str = "default",
    mode: str = "warn",
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    config: Config | None = None,
) -> DjangoMonitor:
    """Watch the database alias `using` in every thread until the monitor is closed."""
    monitor = DjangoMonitor(using, mode, select=select, ignore=ignore, config=config)
    monitor.install()
    return monitor


class DjangoMonitor(Monitor):
    """One execute wrapper, on every connection of one database alias."""

    def __init__(
        self,
        using: str = "default",
        mode: str = "warn",
        *,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] = (),
        config: Config | None = None,
    ) -> None:
        super().__init__(mode)
        self.using = using
        vendor = connections[using].vendor
        self.analyser = TraceAnalyser(DIALECTS.get(vendor, "postgres"), config or project_config(), enabled=enabled_runtime_codes(select, ignore))
        self._attached: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._installed = False
        self._uid = f"txlint-runtime-{id(self)}"
        self._commit_hooks: dict[int, int] = {}  # connection → the transaction whose commit it awaits

    def install(self) -> DjangoMonitor:
        """Attach to this thread's connection and to every connection of the alias opened later."""
        if self._installed:
            return self
        connection_created.connect(self._on_created, weak=False, dispatch_uid=self._uid)
        self._attach(connections[self.using])
        self._installed = True
        self.closed = False
        return self

    def _uninstall(self) -> None:
        connection_created.disconnect(dispatch_uid=self._uid)
        with self._lock:
            attached = list(self._attached)
            self._attached = weakref.WeakSet()
        for connection in attached:
            while self._wrapper in connection.execute_wrappers:
                connection.execute_wrappers.remove(self._wrapper)
        self._installed = False

    def installed(self) -> bool:
        return any(self._wrapper in c.execute_wrappers for c in list(self._attached))

    def _on_created(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        if getattr(connection, "alias", None) == self.using:
            self.collect(self._attach, connection)

    def _attach(self, connection: Any) -> None:
        with self._lock:
            if self._wrapper not in connection.execute_wrappers:
                connection.execute_wrappers.append(self._wrapper)
            self._attached.add(connection)

    # -- the wrapper ---------------------------------------------------------------------------
    def _wrapper(self, execute: Any, sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
        result = execute(sql, params, many, context)
        if not self.closed and isinstance(sql, str):
            self.call(self._trace, sql, params, many, context)
        return result

    def _trace(self, sql: str, params: Any, many: bool, context: dict[str, Any]) -> list:
        connection = context["connection"]
        key = id(connection)
        analyser = self.analyser
        inside = bool(connection.in_atomic_block or not connection.get_autocommit())
        if not inside:
            analyser.ended(key)  # the transaction seen before is over (committed or not: on_commit knows)
        cursor = context.get("cursor")
        rowcount = getattr(cursor, "rowcount", None)
        if not isinstance(rowcount, int) or rowcount < 0:
            rowcount = None
        findings = analyser.execute(key, sql, params, rowcount=rowcount, executemany=many, in_transaction=inside)
        tx = analyser.transaction_id(key)
        if tx is not None and connection.in_atomic_block and self._commit_hooks.get(key) != tx:
            if len(self._commit_hooks) > 4096:
                self._commit_hooks.clear()
            self._commit_hooks[key] = tx
            transaction.on_commit(partial(self.call, analyser.commit, key), using=connection.alias)
        return findings
