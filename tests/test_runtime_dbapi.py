"""The DB-API wrapper: sqlite3 (always), psycopg on PostgreSQL and PyMySQL on MariaDB."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from runtime_support import MARIADB_URL, POSTGRES_URL, line_of, unavailable, unique_name
from txlint.runtime import TransactionSafetyError
from txlint.runtime.options import RuntimeOptions
from txlint.runtime.sources.dbapi_wrapper import DBAPIMonitor, MonitoredConnection, wrap


def codes(conn: MonitoredConnection) -> list[str]:
    return sorted(f.code for f in conn.txlint_monitor.findings)


@pytest.fixture
def lite(tmp_path: Path) -> MonitoredConnection:
    yield from shop(tmp_path)


@pytest.fixture
def lite_by_values(tmp_path: Path) -> MonitoredConnection:
    """The source not read: what was written is judged by the values the wrapper saw alone."""
    yield from shop(tmp_path, read_source=False)


def shop(tmp_path: Path, **options: Any) -> Iterator[MonitoredConnection]:
    path = tmp_path / "shop.db"
    setup = sqlite3.connect(path)
    setup.executescript(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER, hits INTEGER);"
        "INSERT INTO accounts VALUES (1, 100, 0), (2, 100, 0);"
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT);"
        "INSERT INTO orders VALUES (1, 'paid');"
        "CREATE TABLE shipments (id INTEGER PRIMARY KEY, order_id INTEGER);"
    )
    setup.commit()
    setup.close()
    conn = wrap(sqlite3.connect(path), mode="collect", **options)
    yield conn
    conn.wrapped.close()


def bump_hits(conn: Any, fetch: bool) -> None:
    cur = conn.cursor()
    cur.execute("SELECT id, hits FROM accounts WHERE id = ?", (1,))
    hits = cur.fetchone()[1] if fetch else 0
    cur.execute("UPDATE accounts SET hits = ? WHERE id = ?", (hits + 1, 1))  # <- TX101
    conn.commit()


def test_fetched_row_shows_the_value_that_changed(lite: MonitoredConnection) -> None:
    bump_hits(lite, fetch=True)
    assert [(f.code, f.line) for f in lite.txlint_monitor.findings] == [("TX101", line_of(bump_hits, "<- TX101"))]


def test_without_the_row_a_non_money_column_is_not_linked(lite_by_values: MonitoredConnection) -> None:
    """Judged by values alone: a hit count whose old value is unknown is not taken for one computed from it."""
    bump_hits(lite_by_values, fetch=False)
    assert lite_by_values.txlint_monitor.findings == []


def test_connection_execute_iteration_and_fetchall_record_rows(lite_by_values: MonitoredConnection) -> None:
    lite = lite_by_values
    (row,) = list(lite.execute("SELECT id, balance FROM accounts WHERE id = ?", (1,)))
    lite.execute("UPDATE accounts SET balance = ? WHERE id = ?", (row[1] - 5, 1))
    lite.commit()
    cur = lite.cursor()
    cur.execute("SELECT id, hits FROM accounts WHERE id = ?", (2,))
    rows = cur.fetchall()
    assert rows == [(2, 0)]
    cur.execute("UPDATE accounts SET hits = ? WHERE id = ?", (rows[0][1] + 9, 2))
    lite.commit()
    assert codes(lite) == ["TX101", "TX101"]


def test_close_with_uncommitted_writes_is_tx104(lite: MonitoredConnection) -> None:
    def leaky(conn: Any) -> None:
        conn.execute("UPDATE accounts SET hits = hits + 1 WHERE id = 1")
        conn.close()  # <- TX104

    leaky(lite)
    assert [(f.code, f.line) for f in lite.txlint_monitor.findings] == [("TX104", line_of(leaky, "<- TX104"))]


def test_with_block_commits_on_sqlite(lite: MonitoredConnection) -> None:
    with lite:
        lite.execute("UPDATE accounts SET hits = hits + 1 WHERE id = 1")
    lite.close()
    assert lite.txlint_monitor.findings == []


def test_cas_that_lost_then_commit_is_tx108_and_raise_mode_stops_the_commit(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    setup = sqlite3.connect(path)
    setup.executescript("CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT); INSERT INTO orders VALUES (1, 'paid');"
                        "CREATE TABLE shipments (id INTEGER PRIMARY KEY, order_id INTEGER);")
    setup.close()
    conn = wrap(sqlite3.connect(path), mode="raise")
    cur = conn.cursor()
    cur.execute("UPDATE orders SET status = ? WHERE id = ? AND status = ?", ("shipped", 1, "pending"))
    cur.execute("INSERT INTO shipments (order_id) VALUES (?)", (1,))
    with pytest.raises(TransactionSafetyError, match="TX108"):
        conn.commit()
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM shipments").fetchone() == (0,)
    conn.close()


def test_wrapper_passes_everything_through(lite: MonitoredConnection) -> None:
    assert wrap(lite) is lite
    lite.isolation_level = None  # reaches the driver
    assert lite.wrapped.isolation_level is None
    cur = lite.cursor()
    cur.executemany("UPDATE accounts SET hits = ? WHERE id = ?", ((n, n) for n in (1, 2)))
    assert cur.rowcount == 2 and cur.wrapped.rowcount == 2
    cur.execute("SELECT id FROM accounts ORDER BY id")
    assert [d[0] for d in cur.description] == ["id"] and cur.fetchmany(1) == [(1,)]
    assert "MonitoredConnection" in repr(lite)


def test_errors_of_the_analyser_never_reach_the_program(lite: MonitoredConnection) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in txlint")

    monitor = lite.txlint_monitor
    monitor.analyser.execute = broken  # type: ignore[method-assign]
    monitor.analyser.commit = broken  # type: ignore[method-assign]
    bump_hits(lite, fetch=True)
    assert monitor.errors == 3 and monitor.findings == []
    assert lite.execute("SELECT hits FROM accounts WHERE id = 1").fetchone() == (1,)


def test_closed_monitor_passes_statements_straight_through(lite: MonitoredConnection) -> None:
    lite.txlint_monitor.close()
    bump_hits(lite, fetch=True)
    assert lite.txlint_monitor.findings == []


# -- psycopg on PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture
def pg() -> Any:
    psycopg = pytest.importorskip("psycopg")
    url = make_url(POSTGRES_URL)
    try:
        raw = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password, dbname=url.database, connect_timeout=3)
    except Exception as error:  # noqa: BLE001
        unavailable(f"PostgreSQL not available: {error}")
    table = unique_name("txl_dbapi")
    raw.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, balance int, status text)")
    raw.execute(f"INSERT INTO {table} VALUES (1, 100, 'paid')")
    raw.commit()
    monitor = DBAPIMonitor(RuntimeOptions("collect"), dialect="postgres")
    yield monitor, raw, table
    raw.rollback()
    raw.autocommit = True
    raw.execute(f"DROP TABLE {table}")
    raw.close()


def test_psycopg_lock_in_autocommit_is_tx109_not_in_a_transaction_block(pg: Any) -> None:
    monitor, raw, table = pg
    conn = monitor.wrap(raw)
    conn.autocommit = True
    with conn.transaction():
        conn.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", (1,))
    assert monitor.findings == []
    conn.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", (1,))  # <- TX109
    assert [f.code for f in monitor.findings] == ["TX109"]


def test_psycopg_lost_update_and_discarded_writes(pg: Any) -> None:
    monitor, raw, table = pg
    conn = monitor.wrap(raw)
    cur = conn.cursor()
    cur.execute(f"SELECT id, balance FROM {table} WHERE id = %s", (1,))
    (_, balance) = cur.fetchone()
    cur.execute(f"UPDATE {table} SET balance = %s WHERE id = %s", (balance - 30, 1))
    conn.commit()
    cur.execute(f"UPDATE {table} SET status = %s WHERE id = %s", ("void", 1))
    monitor.report(monitor.analyser.released(id(raw)))  # what close() would report, keeping the fixture's connection
    assert sorted(f.code for f in monitor.findings) == ["TX101", "TX104"]
    assert all("%s" in r.message for f in monitor.findings for r in f.related)


# -- PyMySQL on MariaDB ------------------------------------------------------------------------------


def test_pymysql_with_block_closes_without_commit_tx104() -> None:
    pymysql = pytest.importorskip("pymysql")
    url = make_url(MARIADB_URL)
    settings = {"host": url.host, "port": url.port or 3306, "user": url.username, "password": url.password or "", "database": url.database}
    try:
        setup = pymysql.connect(**settings, connect_timeout=3)
    except Exception as error:  # noqa: BLE001
        unavailable(f"MariaDB not available: {error}")
    table = unique_name("txl_dbapi")
    with setup.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, hits int)")
        cur.execute(f"INSERT INTO {table} VALUES (1, 0)")
    setup.commit()
    try:
        conn = wrap(pymysql.connect(**settings), mode="collect")

        def leaky() -> None:
            with conn:  # <- TX104
                with conn.cursor() as cur:
                    cur.execute(f"UPDATE {table} SET hits = hits + 1 WHERE id = %s", (1,))

        leaky()
        assert [(f.code, f.line) for f in conn.txlint_monitor.findings] == [("TX104", line_of(leaky, "<- TX104"))]
        with setup.cursor() as cur:
            cur.execute(f"SELECT hits FROM {table} WHERE id = 1")
            assert cur.fetchone() == (0,)  # PyMySQL's `with` closed the connection: the write is gone
    finally:
        with setup.cursor() as cur:
            cur.execute(f"DROP TABLE {table}")
        setup.close()
