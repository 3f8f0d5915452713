"""What a DB-API connection object says about its transaction, without a round trip.

Each question reads an attribute the driver keeps locally (psycopg's
`info.transaction_status`, sqlite3's `in_transaction`, PyMySQL's
`autocommit_mode`); None means this driver does not say, and the caller falls
back on PEP 249 (outside autocommit, a transaction is open from the first
statement until `commit()`/`rollback()`).
"""

from __future__ import annotations

from typing import Any

# sqlglot dialect of each driver's top-level module.
DIALECTS = {
    "sqlite3": "sqlite",
    "psycopg": "postgres",
    "psycopg2": "postgres",
    "pymysql": "mysql",
    "MySQLdb": "mysql",
    "mysql": "mysql",
}

# psycopg2's isolation constants (psycopg 3 uses an enum that has names).
_PSYCOPG2_ISOLATION = {2: "repeatable read", 3: "serializable", 1: "read committed", 4: "read uncommitted"}


_MODULES: dict[type, str] = {}


def driver_module(connection: Any) -> str:
    """The top-level module of the connection's class (`psycopg`, `sqlite3`, ...)."""
    kind = type(connection)
    module = _MODULES.get(kind)
    if module is None:
        module = _MODULES[kind] = kind.__module__.split(".", 1)[0]
    return module


def dialect_of(connection: Any) -> str | None:
    return DIALECTS.get(driver_module(connection))


def autocommit(connection: Any) -> bool | None:
    """Whether the connection commits every statement on its own."""
    module = driver_module(connection)
    if module == "sqlite3":
        flag = getattr(connection, "autocommit", -1)  # Python 3.12+: True/False, or -1 for the legacy mode
        if isinstance(flag, bool):
            return flag
        return connection.isolation_level is None
    value = getattr(connection, "autocommit", None)
    if isinstance(value, bool):  # psycopg 2 and 3
        return value
    mode = getattr(connection, "autocommit_mode", None)  # PyMySQL
    if isinstance(mode, bool):
        return mode
    return None


def in_transaction(connection: Any) -> bool | None:
    """Whether a transaction is open on the connection right now."""
    module = driver_module(connection)
    if module == "sqlite3":
        return bool(connection.in_transaction)
    if module in {"psycopg", "psycopg2"}:
        status = getattr(getattr(connection, "info", None), "transaction_status", None)
        if status is None:
            return None
        name = getattr(status, "name", None)
        if name is not None:  # psycopg 3: an enum
            return name in {"ACTIVE", "INTRANS", "INERROR"}
        return int(status) in {1, 2, 3}  # psycopg2: STATUS ACTIVE/INTRANS/INERROR
    return None


def isolation(connection: Any) -> str | None:
    """The isolation level set on a PostgreSQL connection ("serializable", ...), None for the default."""
    if driver_module(connection) not in {"psycopg", "psycopg2"}:
        return None
    level = getattr(connection, "isolation_level", None)
    if level is None:
        return None
    name = getattr(level, "name", None)
    if name is not None:
        return str(name).lower().replace("_", " ")
    return _PSYCOPG2_ISOLATION.get(int(level)) if isinstance(level, int) else None
