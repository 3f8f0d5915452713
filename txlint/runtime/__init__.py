"""Runtime detection: the SQL a program really sends, judged by the same rules as the source.

    from txlint.runtime import watch

    with watch(engine, mode="raise"):      # a SQLAlchemy Engine
        run_the_code_under_test()

`watch(engine, mode="warn")` returns a monitor (also a context manager) whose
`findings` are the same `Finding` values the static side reports, pointing at
the application's own source line. Modes: `warn` (a
`TransactionSafetyWarning`), `log` (the `txlint` logger), `raise`
(`TransactionSafetyError`, for tests), `collect` (only `monitor.findings`);
`select=`/`ignore=` take codes or prefixes; bound values are never shown
unless `show_values=True`. Other sources:
`txlint.runtime.sources.dbapi_wrapper.wrap(connection)` for a psycopg/PyMySQL/sqlite3
connection, `txlint.runtime.sources.django_connections.watch()` for Django, and the pytest plugin
(`pytest --txlint-runtime`).

Importing this package changes nothing: no listener is installed, no library
is patched, SQLAlchemy is not even imported until `watch()` is called.
"""

from __future__ import annotations

from typing import Any

from txlint.runtime.findings import RUNTIME_CODES, TransactionSafetyError, TransactionSafetyWarning, format_finding

__all__ = ["RUNTIME_CODES", "TransactionSafetyError", "TransactionSafetyWarning", "format_finding", "watch", "watch_django", "wrap"]


def watch(engine: Any, mode: str = "warn", **options: Any) -> Any:
    """Watch a SQLAlchemy `Engine` (or `AsyncEngine`); see `txlint.runtime.sources.sqlalchemy_events.watch`."""
    from txlint.runtime.sources.sqlalchemy_events import watch as watch_engine

    return watch_engine(engine, mode, **options)


def wrap(connection: Any, mode: str = "warn", **options: Any) -> Any:
    """Wrap a DB-API connection (psycopg, psycopg2, PyMySQL, sqlite3); see `txlint.runtime.sources.dbapi_wrapper.wrap`."""
    from txlint.runtime.sources.dbapi_wrapper import wrap as wrap_connection

    return wrap_connection(connection, mode, **options)


def watch_django(using: str = "default", mode: str = "warn", **options: Any) -> Any:
    """Watch a Django database alias in every thread; see `txlint.runtime.sources.django_connections.watch`."""
    from txlint.runtime.sources.django_connections import watch as watch_alias

    return watch_alias(using, mode, **options)
