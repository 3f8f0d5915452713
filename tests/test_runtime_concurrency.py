"""Threads and asyncio tasks on their own connections never mix their state in the analyser.

Against PostgreSQL, for a bounded run: 32 threads (a SQLAlchemy engine, then
psycopg connections through the DB-API wrapper) and 200 asyncio tasks (an
async SQLAlchemy engine on psycopg), half of them running flagged code (a
read without lock, written back: TX101), half clean code (the same rows, read
`FOR UPDATE`). Every worker is a module of its own, so a finding's file names
the worker it belongs to. Flagged and clean workers share rows: a state mixed
across connections would link a clean worker's write to a flagged worker's
unlocked read of the same row, and report TX101 in a clean worker's file; a
finding whose "read here" is in another worker's file is a mix too.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from runtime_support import POSTGRES_URL, server_engine, unavailable, unique_name

THREADS = 32
TASKS = 200
ROUNDS = 10  # transactions per thread
ROWS = 8  # rows shared by all workers
TIMEOUT = 120.0

SQLALCHEMY_WORKER = '''
from sqlalchemy import text


def run(conn, table, key):
    with conn.begin():
        balance = conn.execute(text(f"SELECT balance FROM {table} WHERE id = :id{LOCK}"), {"id": key}).scalar_one()  # READ
        conn.execute(text(f"UPDATE {table} SET balance = :balance WHERE id = :id"), {"balance": balance - 1, "id": key})  # WRITE


async def run_async(conn, table, key):
    async with conn.begin():
        balance = (await conn.execute(text(f"SELECT balance FROM {table} WHERE id = :id{LOCK}"), {"id": key})).scalar_one()  # READ
        await conn.execute(text(f"UPDATE {table} SET balance = :balance WHERE id = :id"), {"balance": balance - 1, "id": key})  # WRITE
'''

DBAPI_WORKER = '''
def run(conn, table, key):
    cur = conn.cursor()
    cur.execute(f"SELECT id, balance FROM {table} WHERE id = %s{LOCK}", (key,))  # READ
    _, balance = cur.fetchone()
    cur.execute(f"UPDATE {table} SET balance = %s WHERE id = %s", (balance - 1, key))  # WRITE
    conn.commit()
'''


def workers(folder: Path, source: str, count: int) -> list[tuple[ModuleType, bool]]:
    """`count` worker modules, each in a file of its own; every other one is flagged (no lock)."""
    made = []
    for n in range(count):
        flagged = n % 2 == 0
        path = folder / f"worker_{n:03d}_{'flagged' if flagged else 'clean'}.py"
        path.write_text(source.replace("{LOCK}", "" if flagged else " FOR UPDATE"), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"txlint_worker_{folder.name}_{n}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        made.append((module, flagged))
    return made


def line_with(module: ModuleType, marker: str, function: str = "run") -> int:
    lines = Path(module.__file__ or "").read_text(encoding="utf-8").splitlines()
    start = next(i for i, text in enumerate(lines) if text.startswith((f"def {function}(", f"async def {function}(")))
    return 1 + next(i for i in range(start, len(lines)) if marker in lines[i])


def assert_attributed(findings: list[Any], made: list[tuple[ModuleType, bool]], function: str = "run") -> None:
    """One TX101 per flagged worker, at its own write, pointing back at its own read; nothing else."""
    expected = {
        os.path.realpath(module.__file__ or ""): (line_with(module, "# WRITE", function), line_with(module, "# READ", function))
        for module, flagged in made
        if flagged
    }
    got: dict[str, tuple[int, int]] = {}
    for finding in findings:
        assert finding.code == "TX101", finding
        path = os.path.realpath(finding.path)
        reads = [r for r in finding.related if "read here" in r.message]
        assert len(reads) == 1 and os.path.realpath(reads[0].path) == path, f"read of another worker: {finding}"
        assert path not in got, f"two findings for one worker: {finding}"
        got[path] = (finding.line, reads[0].line)
    assert got == expected


@pytest.fixture
def pg_rows() -> Any:
    engine = server_engine(POSTGRES_URL)
    table = unique_name("txl_conc")
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id int PRIMARY KEY, balance int NOT NULL)"))
        conn.execute(text(f"INSERT INTO {table} SELECT g, 1000000 FROM generate_series(0, {ROWS - 1}) g"))
    yield table
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
    engine.dispose()


def run_threads(target: Any, count: int) -> None:
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            target(n)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(n,), name=f"txlint-conc-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "threads still running"
    assert not errors, errors[0]


def test_32_threads_on_sqlalchemy_connections_keep_their_findings_apart(pg_rows: str, tmp_path: Path) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from txlint.runtime import watch

    made = workers(tmp_path, SQLALCHEMY_WORKER, THREADS)
    engine = sqlalchemy.create_engine(POSTGRES_URL, pool_size=THREADS, max_overflow=0, pool_timeout=60)
    barrier = threading.Barrier(THREADS)

    def thread(n: int) -> None:
        module, _ = made[n]
        with engine.connect() as conn:  # its own connection for the whole run
            barrier.wait(TIMEOUT)
            for round_ in range(ROUNDS):
                module.run(conn, pg_rows, (n + round_) % ROWS)

    with watch(engine, mode="collect") as monitor:
        run_threads(thread, THREADS)
    engine.dispose()
    assert monitor.errors == 0
    assert_attributed(monitor.findings, made)
    assert monitor.analyser.connections() == 0  # every state dropped when its connection went back


def test_32_threads_on_dbapi_connections_keep_their_findings_apart(pg_rows: str, tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    from sqlalchemy.engine import make_url

    from txlint.runtime.options import RuntimeOptions
    from txlint.runtime.sources.dbapi_wrapper import DBAPIMonitor

    url = make_url(POSTGRES_URL)
    made = workers(tmp_path, DBAPI_WORKER, THREADS)
    monitor = DBAPIMonitor(RuntimeOptions("collect"), dialect="postgres")
    barrier = threading.Barrier(THREADS)

    def thread(n: int) -> None:
        module, _ = made[n]
        raw = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password, dbname=url.database, connect_timeout=10)
        conn = monitor.wrap(raw)
        try:
            barrier.wait(TIMEOUT)
            for round_ in range(ROUNDS):
                module.run(conn, pg_rows, (n + round_) % ROWS)
        finally:
            conn.close()

    run_threads(thread, THREADS)
    assert monitor.errors == 0
    assert_attributed(monitor.findings, made)
    assert monitor.analyser.connections() == 0


def test_200_asyncio_tasks_on_async_connections_keep_their_findings_apart(pg_rows: str, tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    try:
        import greenlet  # noqa: F401 - SQLAlchemy's asyncio layer needs it
    except ImportError:
        unavailable("greenlet is not installed: SQLAlchemy's asyncio layer needs it")
    from sqlalchemy.ext.asyncio import create_async_engine

    from txlint.runtime import watch

    made = workers(tmp_path, SQLALCHEMY_WORKER, 20)
    # PostgreSQL allows 100 connections here, shared with other tests: the tasks take turns on 20.
    engine = create_async_engine(POSTGRES_URL, pool_size=20, max_overflow=0, pool_timeout=60)

    async def task(n: int) -> None:
        module, _ = made[n % len(made)]
        async with engine.connect() as conn:  # its own connection while it runs
            for round_ in range(3):
                await module.run_async(conn, pg_rows, (n + round_) % ROWS)

    async def main() -> None:
        try:
            await asyncio.wait_for(asyncio.gather(*(task(n) for n in range(TASKS))), TIMEOUT)
        finally:
            await engine.dispose()

    with watch(engine, mode="collect") as monitor:
        asyncio.run(main())
    assert monitor.errors == 0
    assert_attributed(monitor.findings, made, "run_async")
    assert monitor.analyser.connections() == 0
