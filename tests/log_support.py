"""What the statement-log tests share: the database servers' logs, turned on and found."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

IN_CI = os.environ.get("CI") == "true"
DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"


def unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the database services must run)")
    pytest.skip(reason)


def postgres_log(connection: object) -> Path:
    row = connection.execute("SELECT pg_current_logfile(), current_setting('data_directory'), current_setting('server_version_num')").fetchone()  # type: ignore[attr-defined]
    current, data, version = row
    if current:
        return Path(current) if os.path.isabs(current) else Path(data) / current
    major = int(version) // 10000
    return Path(f"/var/log/postgresql/postgresql-{major}-main.log")


@contextlib.contextmanager
def general_log(cursor: object) -> Iterator[Path]:
    """The server's general query log, on, into a file of its own, for this block (one test at a
    time: the setting is the server's)."""
    with open("/tmp/txlint-general-log.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = Path(f"/tmp/txlint-general-{uuid.uuid4().hex}.log")
        cursor.execute(f"SET GLOBAL general_log_file = '{path}'")  # type: ignore[attr-defined]
        cursor.execute("SET GLOBAL general_log = 1")  # type: ignore[attr-defined]
        try:
            yield path
        finally:
            cursor.execute("SET GLOBAL general_log = 0")  # type: ignore[attr-defined]
            fcntl.flock(lock, fcntl.LOCK_UN)



def postgres_admin() -> tuple[Any, Path]:
    """An autocommit connection to the test PostgreSQL, and the log file it writes (readable)."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(DSN, autocommit=True)
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL is not answering at 127.0.0.1:5432: {error}")
    log = postgres_log(admin)
    if not os.access(log, os.R_OK):
        admin.close()
        unavailable(f"the PostgreSQL log {log} cannot be read")
    return admin, log


def mariadb_admin() -> Any:
    """An autocommit connection to the test MariaDB."""
    pymysql = pytest.importorskip("pymysql")
    try:
        return pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test", autocommit=True, connect_timeout=3)
    except pymysql.err.OperationalError as error:
        unavailable(f"MariaDB is not answering at 127.0.0.1:3306: {error}")


def traced(run_txlint: Callable[..., Any], project: Any, log: str, log_format: str) -> list[dict[str, Any]]:
    """`txlint trace --format json` over a slice of a log, written to the project as `slice.log`."""
    project.write("slice.log", log)
    run = run_txlint("trace", "--log-format", log_format, "--format", "json", "slice.log")
    assert run.exit_code in (0, 1), run.stderr
    found: list[dict[str, Any]] = json.loads(run.stdout)
    return found


def postgres_lines(messages: list[str], pid: int = 4242) -> list[str]:
    """Lines of a PostgreSQL stderr log (Debian's prefix) of one process, a message each
    (`LOG:  statement: SELECT 1`)."""
    return [f"2026-12-05 16:00:11.465 UTC [{pid}] app@shop {message}\n" for message in messages]

