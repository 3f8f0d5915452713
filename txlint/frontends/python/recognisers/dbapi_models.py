"""What the DB-API and asyncio database drivers do, as data: the tables `dbapi_drivers` reads.

A driver is known by the names its connections, pools and cursors come
from (`FACTORIES`, `ANNOTATIONS`) and by what a connection of it does
(`Driver`): whether a statement outside a transaction block opens a
transaction that lasts until `commit()` (PEP 249: psycopg2, psycopg 3,
sqlite3, aiosqlite, pymysql, aiomysql) or commits on its own (asyncpg and
`databases` outside `transaction()`), what `with conn:` does on exit,
what `conn.execute()` gives back, how a statement's parameters are passed.
The methods are tables too: `CONNECTION_METHODS` (connections, and
asyncpg/`databases` pools, which run a statement on a connection of their
own), `CURSOR_METHODS`, `POOL_METHODS`.

The values the recogniser tracks (`Connection`, `Cursor`, `Pool`,
`TransactionHandle`) are defined here with the tables they are read from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Literal

from txlint.frontends.python.interpret.values import Handle

Gives = Literal["cursor", "status", "rowcount"]
Passing = Literal["sequence", "args", "values"]


class Mode(enum.Enum):
    """How the statements of a connection relate to transactions outside a transaction block."""

    IMPLICIT = "implicit"  # PEP 249: the first statement opens a transaction that lasts until commit/rollback
    AUTOCOMMIT = "autocommit"  # every statement commits on its own (asyncpg, `databases`, `autocommit=True`)
    # a passed-in connection of an autocommit driver, or one of unknown type awaited (most often an
    # application's wrapper, its transaction opened by the caller): whether one is open is the caller's
    CALLER = "caller"


@dataclass(frozen=True)
class Driver:
    """What a connection of one driver does.

    `with_commits`: `with conn:` / `with connect(...) as conn:` commits on a normal exit and rolls
    back on an exception (psycopg2, psycopg 3, sqlite3); pymysql's, aiosqlite's and aiomysql's close
    the connection instead. `execute_gives`: what `conn.execute()` returns (a cursor of its own, a
    status string such as `UPDATE 1`, a row count); `passing`: how parameters follow the SQL (one
    sequence or mapping, the remaining positional arguments, `values=`)."""

    name: str
    mode: Mode = Mode.IMPLICIT
    with_commits: bool = False
    execute_gives: Gives = "cursor"
    passing: Passing = "sequence"


DBAPI = Driver("dbapi", with_commits=True)  # a connection whose driver is not known: psycopg2's behaviour
PSYCOPG2 = Driver("psycopg2", with_commits=True)
PSYCOPG = Driver("psycopg", with_commits=True)
SQLITE3 = Driver("sqlite3", with_commits=True)
MYSQL = Driver("mysql")  # pymysql, MySQLdb, mysql-connector: `with` closes
AIOSQLITE = Driver("aiosqlite")
AIOMYSQL = Driver("aiomysql")
ASYNCPG = Driver("asyncpg", Mode.AUTOCOMMIT, execute_gives="status", passing="args")
DATABASES = Driver("databases", Mode.AUTOCOMMIT, execute_gives="rowcount", passing="values")
# A connection lent by a pool of unknown type (`async with app.state.pool.acquire() as conn`): fresh, in
# no transaction; its first statement's method says whose it is (`LENT_AS`).
LENT = Driver("lent")


class Kind(enum.Enum):
    """What a factory call or an annotation gives."""

    CONNECTION = "connection"
    POOL = "pool"


# The calls a connection or pool comes from, by qualified name.
FACTORIES: dict[str, tuple[Kind, Driver]] = {
    **dict.fromkeys(("psycopg2.connect",), (Kind.CONNECTION, PSYCOPG2)),
    **dict.fromkeys(("psycopg.connect", "psycopg.Connection.connect", "psycopg.AsyncConnection.connect"), (Kind.CONNECTION, PSYCOPG)),
    "sqlite3.connect": (Kind.CONNECTION, SQLITE3),
    **dict.fromkeys(("pymysql.connect", "MySQLdb.connect", "mysql.connector.connect"), (Kind.CONNECTION, MYSQL)),
    "aiosqlite.connect": (Kind.CONNECTION, AIOSQLITE),
    "aiomysql.connect": (Kind.CONNECTION, AIOMYSQL),
    "asyncpg.connect": (Kind.CONNECTION, ASYNCPG),
    **dict.fromkeys(("databases.Database", "databases.core.Database"), (Kind.CONNECTION, DATABASES)),
    **dict.fromkeys(("asyncpg.create_pool", "asyncpg.pool.create_pool"), (Kind.POOL, ASYNCPG)),
    "aiomysql.create_pool": (Kind.POOL, AIOMYSQL),
    **dict.fromkeys(("psycopg_pool.ConnectionPool", "psycopg_pool.AsyncConnectionPool"), (Kind.POOL, PSYCOPG)),
    **dict.fromkeys(
        ("psycopg2.pool.SimpleConnectionPool", "psycopg2.pool.ThreadedConnectionPool", "psycopg2.pool.PersistentConnectionPool"),
        (Kind.POOL, PSYCOPG2),
    ),
}  # fmt: skip

# The types a parameter or module-level name is annotated with.
ANNOTATIONS: dict[str, tuple[Kind, Driver]] = {
    **dict.fromkeys(("psycopg.Connection", "psycopg.AsyncConnection", "psycopg.connection.Connection"), (Kind.CONNECTION, PSYCOPG)),
    **dict.fromkeys(("psycopg2.extensions.connection",), (Kind.CONNECTION, PSYCOPG2)),
    "sqlite3.Connection": (Kind.CONNECTION, SQLITE3),
    **dict.fromkeys(("pymysql.Connection", "pymysql.connections.Connection"), (Kind.CONNECTION, MYSQL)),
    "aiosqlite.Connection": (Kind.CONNECTION, AIOSQLITE),
    **dict.fromkeys(("aiomysql.Connection", "aiomysql.connection.Connection"), (Kind.CONNECTION, AIOMYSQL)),
    **dict.fromkeys(("asyncpg.Connection", "asyncpg.connection.Connection", "asyncpg.pool.PoolConnectionProxy"), (Kind.CONNECTION, ASYNCPG)),
    **dict.fromkeys(("databases.Database", "databases.core.Database", "databases.core.Connection"), (Kind.CONNECTION, DATABASES)),
    **dict.fromkeys(("asyncpg.Pool", "asyncpg.pool.Pool"), (Kind.POOL, ASYNCPG)),
    **dict.fromkeys(("aiomysql.Pool", "aiomysql.pool.Pool"), (Kind.POOL, AIOMYSQL)),
    **dict.fromkeys(("psycopg_pool.ConnectionPool", "psycopg_pool.AsyncConnectionPool"), (Kind.POOL, PSYCOPG)),
    **dict.fromkeys(("psycopg2.pool.SimpleConnectionPool", "psycopg2.pool.ThreadedConnectionPool"), (Kind.POOL, PSYCOPG2)),
}  # fmt: skip

# The keyword that switches a connection (or a pool's connections) to autocommit, and the values that do.
AUTOCOMMIT_KEYWORDS = {"autocommit": "True", "isolation_level": "None"}


class Op(enum.Enum):
    """What a method of a connection, cursor or pool does."""

    EXECUTE = "execute"  # runs one statement (or a text of several)
    EXECUTE_MANY = "execute_many"  # runs one statement once per parameter set
    SCRIPT = "script"  # sqlite3's `executescript`: commits first, then runs a script with its own transaction control
    ROW = "row"  # runs a statement and gives its first row (asyncpg `fetchrow`, `databases` `fetch_one`)
    ROWS = "rows"  # runs a statement and gives its rows
    VALUE = "value"  # runs a statement and gives the first column of its first row
    FETCH_ONE = "fetch_one"  # a cursor's next row of the last statement it ran
    FETCH_MANY = "fetch_many"
    CURSOR = "cursor"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    BEGIN = "begin"  # pymysql / aiomysql `conn.begin()`
    TRANSACTION = "transaction"  # a transaction object (a block when used in `with`)
    ACQUIRE = "acquire"  # a pool lends a connection
    CONNECTION_BLOCK = "connection_block"  # psycopg_pool `with pool.connection() as conn`: commits on exit


CONNECTION_METHODS: dict[str, Op] = {
    "execute": Op.EXECUTE,
    **dict.fromkeys(("executemany", "execute_many"), Op.EXECUTE_MANY),
    "executescript": Op.SCRIPT,
    # `fetchone(sql, values)`/`fetchall(sql, values)`: an application's own wrapper (lnbits, nutshell)
    **dict.fromkeys(("fetchrow", "fetch_one", "fetchone"), Op.ROW),
    **dict.fromkeys(("fetch", "fetch_all", "execute_fetchall", "fetchall"), Op.ROWS),
    **dict.fromkeys(("fetchval", "fetch_val"), Op.VALUE),
    "cursor": Op.CURSOR,
    "commit": Op.COMMIT,
    "rollback": Op.ROLLBACK,
    "begin": Op.BEGIN,
    "transaction": Op.TRANSACTION,
}
CURSOR_METHODS: dict[str, Op] = {
    "execute": Op.EXECUTE,
    "executemany": Op.EXECUTE_MANY,
    "executescript": Op.SCRIPT,
    "fetchone": Op.FETCH_ONE,
    **dict.fromkeys(("fetchall", "fetchmany"), Op.FETCH_MANY),
}
# What a result handed back by `execute` answers besides the cursor methods (SQLAlchemy's and
# `databases`' results, for a receiver whose library is not known).
RESULT_METHODS: dict[str, Op] = {
    **dict.fromkeys(("first", "one", "one_or_none"), Op.FETCH_ONE),
    "all": Op.FETCH_MANY,
}
POOL_METHODS: dict[str, Op] = {
    **dict.fromkeys(("acquire", "getconn"), Op.ACQUIRE),
    "connection": Op.CONNECTION_BLOCK,
}
# Pools that run a statement themselves on a connection they lend for it (asyncpg's `pool.fetchrow`).
POOL_STATEMENTS = {Op.EXECUTE, Op.EXECUTE_MANY, Op.ROW, Op.ROWS, Op.VALUE}
# What a method of a receiver of unknown type that is sent SQL tells about its driver.
EVIDENCE: dict[str, Driver] = {
    **dict.fromkeys(("execute", "executemany", "executescript", "fetchone", "fetchall"), DBAPI),
    **dict.fromkeys(("fetchrow", "fetchval", "fetch"), ASYNCPG),
    **dict.fromkeys(("fetch_one", "fetch_val", "fetch_all", "execute_many"), DATABASES),
}


# What a lent connection of unknown driver turns out to be, by the first method it is sent.
LENT_AS: dict[str, Driver] = {
    **dict.fromkeys(("execute", "executemany", "cursor", "commit", "rollback", "begin"), DBAPI),
    **dict.fromkeys(("fetchrow", "fetchval", "fetch", "transaction"), ASYNCPG),
}


@dataclass(frozen=True)
class Connection(Handle):
    """A database connection (or a `databases.Database`): its driver, and how its statements relate
    to transactions outside a transaction block."""

    name: str
    autocommit: bool = False
    driver: Driver = DBAPI
    caller: bool = False  # whether a transaction is open on it is its caller's to know (`Mode.CALLER`)

    @property
    def mode(self) -> Mode:
        if self.autocommit:
            return Mode.AUTOCOMMIT
        return Mode.CALLER if self.caller else self.driver.mode

    def switched(self, autocommit: bool) -> Connection:
        """The same connection after `conn.autocommit = ...` (`isolation_level = None`)."""
        return replace(self, autocommit=autocommit)


@dataclass(frozen=True)
class Cursor(Handle):
    """A cursor of a connection (named by the variable holding the connection).

    `key` names where its last result lives when it is not a variable
    (the implicit cursor `conn.execute(...)` returns); `of` is the connection
    it came from, for when the name no longer holds it (a module-level one)."""

    connection: str
    key: str = ""
    of: Connection | None = None


@dataclass(frozen=True)
class Pool(Handle):
    """A connection pool of one driver (`autocommit`: it lends connections in autocommit mode)."""

    name: str
    driver: Driver
    autocommit: bool = False

    def lends(self, name: str) -> Connection:
        return Connection(name, self.autocommit, self.driver)


@dataclass(frozen=True)
class TransactionHandle(Handle):
    """`tr = conn.transaction()` (asyncpg, `databases`) used without `with`: `start()`, `commit()`, `rollback()`."""

    connection: str
