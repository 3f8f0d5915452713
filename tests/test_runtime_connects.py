"""The drivers' `connect` functions, replaced for a pytest session and put back: what lets
`pytest --txlint-runtime` watch plain DB-API connections (sqlite3, psycopg, PyMySQL)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runtime_support import MARIADB_URL, POSTGRES_URL, unavailable
from txlint.runtime.options import RuntimeOptions
from txlint.runtime.sources.dbapi_wrapper import DBAPIMonitor, MonitoredConnection
from txlint.runtime.sources.driver_connects import ConnectHooks


@pytest.fixture
def hooks() -> Any:
    monitors: dict[str, DBAPIMonitor] = {}

    def wrap(connection: Any) -> Any:
        from txlint.runtime.sources import drivers

        dialect = drivers.dialect_of(connection) or "postgres"
        return monitors.setdefault(dialect, DBAPIMonitor(RuntimeOptions("collect"), dialect=dialect)).wrap(connection)

    installed = ConnectHooks(wrap).install()
    yield installed, monitors
    installed.uninstall()


def test_sqlite3_connect_is_wrapped_and_put_back(hooks: Any, tmp_path: Path) -> None:
    installed, monitors = hooks
    original = sqlite3.connect.__wrapped__
    conn = sqlite3.connect(tmp_path / "x.db")
    assert isinstance(conn, MonitoredConnection)
    conn.execute("CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER)")
    conn.execute("UPDATE stock SET qty = qty - ? WHERE id = ?", (1, 1))
    conn.close()
    assert "TX106" in {f.code for f in monitors["sqlite"].findings}
    assert "sqlite3" in installed.patched()
    installed.uninstall()
    assert sqlite3.connect is original and installed.patched() == []


def test_connections_sqlalchemy_opens_are_left_to_its_own_source(hooks: Any, tmp_path: Path) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'x.db'}", creator=lambda: sqlite3.connect(tmp_path / "x.db"))
    with engine.connect() as conn:
        assert type(conn.connection.dbapi_connection) is sqlite3.Connection  # even through a creator function
    engine.dispose()


def test_psycopg_connect_is_wrapped(hooks: Any) -> None:
    psycopg = pytest.importorskip("psycopg")
    installed, monitors = hooks
    installed.install()  # psycopg may have been imported after the hooks went in
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    try:
        conn = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password, dbname=url.database, connect_timeout=3)
    except Exception as error:  # noqa: BLE001 - no server: skipped (failed under CI)
        unavailable(f"PostgreSQL not available: {error}")
    assert isinstance(conn, MonitoredConnection) and conn.txlint_monitor is monitors["postgres"]
    conn.close()


def test_pymysql_connect_is_wrapped(hooks: Any) -> None:
    pymysql = pytest.importorskip("pymysql")
    installed, monitors = hooks
    installed.install()
    from sqlalchemy.engine import make_url

    url = make_url(MARIADB_URL)
    try:
        conn = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "", database=url.database, connect_timeout=3)
    except Exception as error:  # noqa: BLE001 - no server: skipped (failed under CI)
        unavailable(f"MariaDB not available: {error}")
    assert isinstance(conn, MonitoredConnection) and conn.txlint_monitor is monitors["mysql"]
    conn.close()
