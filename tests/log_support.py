"""What the statement-log tests share: the database servers' logs, turned on and found."""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"
DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"


def unavailable(reason: str) -> None:
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

