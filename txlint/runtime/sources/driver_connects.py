"""Every DB-API connection a process opens, wrapped: the pytest plugin's view of plain drivers.

`ConnectHooks(wrap).install()` replaces the `connect` function of the
drivers imported so far (`sqlite3.connect`, `psycopg.connect`,
`psycopg2.connect`, `pymysql.connect`) by one that returns the connection
wrapped by `wrap` (the plugin wraps with `txlint.runtime.sources.dbapi_wrapper`, one monitor
per SQL dialect); installing again patches drivers imported since (the plugin
does it before each test); `uninstall()` puts every original back.

Connections that SQLAlchemy or Django open through the same functions are
left alone: their own sources watch them (a second wrapper would report every
finding twice, and would hand SQLAlchemy's pool an object it does not expect).
They are told apart by the stack: a call from inside `sqlalchemy` or
`django.db` gets the driver's own connection.

Known limits: code that took a reference before the driver was patched
(`from psycopg import connect` in a module imported before the driver was)
keeps the original function; `sqlite3.dbapi2.connect` and psycopg's
`Connection.connect` are not replaced; a wrapped connection is not an
instance of the driver's connection class (`isinstance` checks fail).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any

# Driver module → the attribute holding its connect function.
DRIVERS = {"sqlite3": "connect", "psycopg": "connect", "psycopg2": "connect", "pymysql": "connect"}
# Callers whose connections another source watches (module name prefixes).
OWN_SOURCES = ("sqlalchemy.", "django.db.")
_STACK_LOOKED_AT = 64  # frames examined for such a caller


class ConnectHooks:
    """The replaced `connect` functions of one pytest session (or any other scope)."""

    def __init__(self, wrap: Callable[[Any], Any]) -> None:
        """`wrap(connection)` returns the connection wrapped by the right monitor."""
        self._wrap = wrap
        self._originals: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()

    def install(self) -> ConnectHooks:
        """Patch the drivers imported so far (again: those imported since)."""
        for name in DRIVERS:
            module = sys.modules.get(name)
            if module is not None:
                self._patch(module)
        return self

    def uninstall(self) -> None:
        with self._lock:
            originals, self._originals = self._originals, {}
        for name, original in originals.items():
            module = sys.modules.get(name)
            if module is not None and getattr(getattr(module, DRIVERS[name], None), "_txlint_hook", None) is self:
                setattr(module, DRIVERS[name], original)

    def patched(self) -> list[str]:
        """The driver modules whose connect function is replaced now."""
        return sorted(self._originals)

    def _patch(self, module: ModuleType) -> None:
        name = module.__name__
        attribute = DRIVERS[name]
        with self._lock:
            original = getattr(module, attribute, None)
            if original is None or name in self._originals or getattr(original, "_txlint_hook", None) is not None:
                return
            self._originals[name] = original
            setattr(module, attribute, self._replacement(original))

    def _replacement(self, original: Callable[..., Any]) -> Callable[..., Any]:
        wrap = self._wrap

        def connect(*args: Any, **kwargs: Any) -> Any:
            connection = original(*args, **kwargs)
            if _called_by_own_source():
                return connection
            try:
                return wrap(connection)
            except Exception:  # noqa: BLE001 - never break the connect: an unwatched connection is still a connection
                return connection

        connect.__dict__.update(_txlint_hook=self, __wrapped__=original)
        connect.__doc__ = getattr(original, "__doc__", None)
        return connect


def _called_by_own_source() -> bool:
    frame: FrameType | None = sys._getframe(2)
    for _ in range(_STACK_LOOKED_AT):
        if frame is None:
            return False
        name = frame.f_globals.get("__name__", "")
        if isinstance(name, str) and name.startswith(OWN_SOURCES):
            return True
        frame = frame.f_back
    return False

