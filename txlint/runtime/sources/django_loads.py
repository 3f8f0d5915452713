"""The rows Django loads, for the trace: a read by one key, a save by another.

`Check.objects.get(code=code)` reads `WHERE code = %s`; `check.save()` writes
`WHERE id = %s`. Nothing in the SQL says they name one row: the row the read
returned does, and Django's execute wrappers never see returned rows (the
compiler fetches them after `execute()` returns). `Model.from_db`, which
builds every instance a query loads, does: while a monitor of the database
alias is installed, `Model.from_db` is wrapped and hands the first row of the
connection's latest read to the analyser (`TraceAnalyser.record_row`), by
column name. A subclass's own `from_db` that calls `super()` goes through it.

One wrapper for the process, put on when the first monitor installs and
taken off when the last one closes; an error of txlint in it is contained by
the monitor, never raised into the query that loaded the row.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from django.db.models import Model

if TYPE_CHECKING:
    from txlint.runtime.sources.django_connections import DjangoMonitor

_monitors: list[DjangoMonitor] = []
_lock = threading.Lock()
_original: Any = None  # Model.from_db as Django defines it, while the wrapper is on
_columns: dict[type, dict[str, str]] = {}  # model -> attname -> column


def follow(monitor: DjangoMonitor) -> None:
    """`monitor` learns the rows its alias loads (the wrapper goes on with the first one)."""
    global _original
    with _lock:
        if monitor in _monitors:
            return
        _monitors.append(monitor)
        if _original is None:
            _original = Model.__dict__["from_db"]
            Model.from_db = classmethod(_from_db)


def unfollow(monitor: DjangoMonitor) -> None:
    """`monitor` stops learning loaded rows; the last one takes the wrapper off."""
    global _original
    with _lock:
        if monitor in _monitors:
            _monitors.remove(monitor)
        if not _monitors and _original is not None:
            Model.from_db = _original
            _original = None


def _from_db(cls: type[Model], db: str, field_names: Any, values: Any, *args: Any, **kwargs: Any) -> Model:
    """Django's `from_db`, whatever arguments its version passes (6.1 adds `fetch_mode=`), then the
    row handed to the monitors that wait for one (a read's first row only: most calls cost a check)."""
    original = _original
    instance = (original.__func__ if original is not None else Model.from_db.__func__)(cls, db, field_names, values, *args, **kwargs)
    for monitor in _monitors:
        token = monitor.awaiting_row()
        if token is not None and monitor.using == db and not monitor.closed:
            monitor.collect(_record, monitor, token, cls, field_names, values)
    return instance


def _record(monitor: DjangoMonitor, token: object, cls: type[Model], field_names: Any, values: Any) -> None:
    monitor.row_recorded()
    analyser = monitor.analyser
    if not analyser.wants_row(token):
        return
    columns = _columns.get(cls)
    if columns is None:
        columns = _columns[cls] = {f.attname: f.column for f in cls._meta.concrete_fields}
    analyser.record_row(token, {columns.get(name, name): value for name, value in zip(field_names, values, strict=False)})
