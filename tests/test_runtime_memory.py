"""A connection that lives for 100 000 statements keeps bounded state.

One wrapped SQLite connection (in memory) runs 100 000 statements: flagged
transactions (a read written back: TX101, at one line), clean inserts,
commits, runs of autocommit statements, and statement texts with inlined
values (each one new to the plan cache). The analyser drops a connection's
statements when its transaction ends, keeps at most `WINDOW` of an autocommit
run, at most `PLAN_CACHE` parsed texts, and one finding per line; the peak
memory growth (tracemalloc) after a warm-up must stay under a bound that
keeping every statement, or every parsed text, would exceed many times over.
"""

from __future__ import annotations

import sqlite3
import time
import tracemalloc

import pytest

from txlint.runtime import trace
from txlint.runtime.sources.dbapi_wrapper import wrap

STATEMENTS = 100_000
WARM_UP = 6_000  # sends each of the TEXTS once: sqlglot's parse cache (4096 texts) is full before measuring
TEXTS = 1_000  # statement texts with an inlined value
PLAN_CACHE = 512  # smaller than the default and than TEXTS: the run goes round the analyser's cache
BOUND = 1024 * 1024  # bytes (about 200 KiB measured); keeping each statement's trace would take ~40 MB


def test_a_connection_living_for_100000_statements_keeps_bounded_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace.analyser, "PLAN_CACHE", PLAN_CACHE)
    conn = wrap(sqlite3.connect(":memory:"), mode="collect")
    conn.executescript(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER);"
        "CREATE TABLE ledger (id INTEGER PRIMARY KEY, account_id INTEGER, amount INTEGER);"
    )
    conn.executemany("INSERT INTO accounts VALUES (?, ?)", [(n, 10**9) for n in range(100)])
    conn.commit()
    cur = conn.cursor()
    analyser = conn.txlint_monitor.analyser
    state_of = analyser._states  # the per-connection states, to check they are emptied
    sent = 0

    def withdraw(n: int) -> int:
        flagged = n % 20 == 0  # the others take SQLite's write lock first: nothing to judge
        if not flagged:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute("SELECT id, balance FROM accounts WHERE id = ?", (n % 100,))
        (_, balance) = cur.fetchone()
        cur.execute("UPDATE accounts SET balance = ? WHERE id = ?", (balance - 1, n % 100))  # TX101 when flagged
        cur.execute("INSERT INTO ledger (account_id, amount) VALUES (?, ?)", (n % 100, -1))
        cur.execute(f"SELECT balance FROM accounts WHERE id = {n % TEXTS}")  # noqa: S608 - a text the plan cache may have dropped
        conn.commit()
        return 4 if flagged else 5  # statements sent (the commit is not one)

    def autocommit_run(n: int) -> int:
        conn.isolation_level = None
        for k in range(20):
            cur.execute("SELECT id, balance FROM accounts WHERE id = ?", ((n + k) % 100,))
            cur.fetchone()
            cur.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (1, (n + k) % 100))
        conn.isolation_level = ""
        return 40

    def run(until: int) -> None:
        nonlocal sent
        n = 0
        while sent < until:
            if n % 50 == 49:
                sent += autocommit_run(n)
            else:
                sent += withdraw(n)
            n += 1

    run(WARM_UP)
    tracemalloc.start()
    try:
        start = time.perf_counter()
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        run(STATEMENTS)
        current, peak = tracemalloc.get_traced_memory()
        elapsed = time.perf_counter() - start
    finally:
        tracemalloc.stop()
    growth = peak - baseline
    print(f"\n{sent} statements on one connection in {elapsed:.1f} s (under tracemalloc): peak memory growth {growth / 1024:.0f} KiB, "
          f"retained {(current - baseline) / 1024:.0f} KiB; plan cache {analyser.cached_plans()} texts")
    monitor = conn.txlint_monitor
    assert monitor.errors == 0
    assert [f.code for f in monitor.findings] == ["TX101"]  # one line, one finding, however often
    assert growth < BOUND
    assert analyser.cached_plans() <= PLAN_CACHE
    state = state_of[id(conn.wrapped)]
    assert not state.tx_open and len(state.window) == 0 and state.first_write is None  # dropped at the commit
    conn.close()
    assert analyser.connections() == 0
