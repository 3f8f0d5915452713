"""`txlint trace`: statement logs of real PostgreSQL and MariaDB servers, and the log readers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Project, Run
from log_support import DSN, general_log, mariadb_admin, postgres_admin, postgres_lines, traced
from txlint.runtime.logs import mysql, postgres
from txlint.runtime.logs.literals import normalised

Statement = tuple[str, tuple[object, ...] | None]


def _patterns(acc: str, orders: str, versioned: str, placeholder: str = "%s") -> list[tuple[str, list[Statement]]]:
    """Each pattern's bad and safe variant, as one connection runs it (name: the code it shows)."""
    p = placeholder
    return [
        ("TX101 bad", [("BEGIN", None), (f"SELECT id, balance FROM {acc} WHERE id = {p}", (1,)), (f"UPDATE {acc} SET balance = {p} WHERE id = {p}", (90, 1)), ("COMMIT", None)]),
        ("TX101 safe", [("BEGIN", None), (f"SELECT id, balance FROM {acc} WHERE id = {p} FOR UPDATE", (1,)), (f"UPDATE {acc} SET balance = {p} WHERE id = {p}", (90, 1)), ("COMMIT", None)]),
        ("TX103 bad", [("BEGIN", None), (f"SELECT id FROM {orders} WHERE id = {p} FOR UPDATE", (1,)), (f"SELECT id, balance FROM {acc} WHERE id = {p}", (1,)), (f"UPDATE {acc} SET balance = {p} WHERE id = {p}", (60, 1)), ("COMMIT", None)]),
        ("TX103 safe", [("BEGIN", None), (f"SELECT id, balance FROM {acc} WHERE id = {p} FOR UPDATE", (1,)), (f"UPDATE {acc} SET balance = {p} WHERE id = {p}", (60, 1)), ("COMMIT", None)]),
        ("TX104 bad", [("BEGIN", None), (f"UPDATE {acc} SET balance = {p} WHERE id = {p}", (5, 2))]),
        ("TX104 safe", [("BEGIN", None), (f"UPDATE {acc} SET balance = {p} WHERE id = {p}", (5, 2)), ("COMMIT", None)]),
        ("TX105 bad", [("BEGIN", None), (f"UPDATE {acc} SET balance = balance - {p} WHERE id = {p} AND balance >= {p}", (10, 2, 10)), ("COMMIT", None)]),
        ("TX105 safe", [("BEGIN", None), (f"UPDATE {orders} SET status = {p} WHERE id = {p} AND status = {p}", ("paid", 1, "pending")), (f"UPDATE {acc} SET balance = balance - {p} WHERE id = {p} AND balance >= {p}", (10, 2, 10)), ("COMMIT", None)]),
        ("TX106 bad", [("BEGIN", None), (f"UPDATE {orders} SET status = {p} WHERE id = {p} AND status = {p}", ("paid", 1, "pending")), (f"UPDATE {acc} SET balance = balance - {p} WHERE id = {p}", (10, 2)), ("COMMIT", None)]),
        ("TX106 safe", [("BEGIN", None), (f"UPDATE {orders} SET status = {p} WHERE id = {p} AND status = {p}", ("paid", 1, "pending")), (f"UPDATE {acc} SET balance = balance - {p} WHERE id = {p} AND balance >= {p}", (10, 2, 10)), ("COMMIT", None)]),
        ("TX107 bad", [(f"SELECT id, balance FROM {acc} WHERE id = {p}", (1,)), (f"UPDATE {acc} SET balance = {p} WHERE id = {p} AND balance = {p}", (70, 1, 80))]),
        ("TX107 safe", [(f"SELECT id, balance, version FROM {versioned} WHERE id = {p}", (1,)), (f"UPDATE {versioned} SET balance = {p}, version = version + 1 WHERE id = {p} AND version = {p}", (70, 1, 1))]),
        ("TX109 bad", [(f"SELECT id, balance FROM {acc} WHERE id = {p} FOR UPDATE", (1,))]),
        ("TX109 safe", [("BEGIN", None), (f"SELECT id, balance FROM {acc} WHERE id = {p} FOR UPDATE", (1,)), ("COMMIT", None)]),
    ]


def _judged(run_txlint: Callable[..., Run], project: Project, log: str, log_format: str) -> dict[str, set[str]]:
    """The codes `txlint trace` finds in the log slice, per connection."""
    codes: dict[str, set[str]] = {}
    for finding in traced(run_txlint, project, log, log_format):
        assert finding["path"] == "slice.log"
        codes.setdefault(finding["message"].rsplit("(connection ", 1)[1].rstrip(")"), set()).add(finding["code"])
    return codes


def _check(codes: dict[str, set[str]], runs: list[tuple[str, str]]) -> None:
    for name, conn in runs:
        code, variant = name.split()
        found = codes.get(conn, set())
        if variant == "bad":
            assert code in found, f"{name}: {sorted(found)}"
        else:
            assert code not in found, f"{name}: {sorted(found)}"


# -- PostgreSQL ------------------------------------------------------------------------------------



@pytest.mark.parametrize("inlined", [False, True], ids=["server-side parameters", "values inlined by the client"])
def test_postgres_log_shows_each_pattern_on_its_bad_variant_only(project: Project, run_txlint: Callable[..., Run], inlined: bool) -> None:
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql as pgsql

    admin, log = postgres_admin()
    suffix = uuid.uuid4().hex[:8]
    acc, orders, versioned = f"acc_{suffix}", f"ord_{suffix}", f"ver_{suffix}"
    admin.execute(f"CREATE TABLE {acc} (id int primary key, balance int)")
    admin.execute(f"CREATE TABLE {orders} (id int primary key, status text)")
    admin.execute(f"CREATE TABLE {versioned} (id int primary key, balance int, version int)")
    admin.execute(f"INSERT INTO {acc} VALUES (1, 100), (2, 100)")
    admin.execute(f"INSERT INTO {orders} VALUES (1, 'pending')")
    admin.execute(f"INSERT INTO {versioned} VALUES (1, 100, 1)")
    start = log.stat().st_size
    runs = []
    try:
        for name, statements in _patterns(acc, orders, versioned):
            conn = psycopg.connect(DSN, autocommit=True, options="-c log_statement=all -c log_disconnections=on")
            runs.append((name, str(conn.info.backend_pid)))
            for text, params in statements:
                if inlined and params:
                    conn.execute(pgsql.SQL(text.replace("%s", "{}")).format(*[pgsql.Literal(v) for v in params]))  # type: ignore[arg-type]
                else:
                    conn.execute(text, params)  # type: ignore[arg-type]
            conn.close()
        time.sleep(0.2)  # the server writes its log asynchronously
        with log.open(encoding="utf-8", errors="replace") as stream:
            stream.seek(start)
            written = stream.read()
    finally:
        for table in (acc, orders, versioned):
            admin.execute(f"DROP TABLE IF EXISTS {table}")
        admin.close()
    ours = _lines_of(written, {pid for _, pid in runs})  # (another test may log at the same time)
    assert ("LOG:  statement: UPDATE" in ours) == inlined and ("LOG:  execute" in ours) != inlined
    _check(_judged(run_txlint, project, written, "postgres"), runs)


def _lines_of(log: str, pids: set[str]) -> str:
    """The records of a stderr log written by these processes."""
    kept: list[str] = []
    keep = False
    for line in log.splitlines(True):
        if not line.startswith("\t"):
            keep = any(f"[{pid}]" in line for pid in pids)
        if keep:
            kept.append(line)
    return "".join(kept)


# -- MariaDB ---------------------------------------------------------------------------------------


def test_mariadb_general_log_shows_each_pattern_on_its_bad_variant_only(project: Project, run_txlint: Callable[..., Run]) -> None:
    pymysql = pytest.importorskip("pymysql")
    admin = mariadb_admin()
    cursor = admin.cursor()
    suffix = uuid.uuid4().hex[:8]
    acc, orders, versioned = f"acc_{suffix}", f"ord_{suffix}", f"ver_{suffix}"
    cursor.execute(f"CREATE TABLE {acc} (id int primary key, balance int)")
    cursor.execute(f"CREATE TABLE {orders} (id int primary key, status varchar(20))")
    cursor.execute(f"CREATE TABLE {versioned} (id int primary key, balance int, version int)")
    cursor.execute(f"INSERT INTO {acc} VALUES (1, 100), (2, 100)")
    cursor.execute(f"INSERT INTO {orders} VALUES (1, 'pending')")
    cursor.execute(f"INSERT INTO {versioned} VALUES (1, 100, 1)")
    runs = []
    try:
        with general_log(cursor) as log:
            for name, statements in _patterns(acc, orders, versioned):
                conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test", autocommit=True)
                runs.append((name, str(conn.thread_id())))
                for text, params in statements:
                    conn.cursor().execute(text.replace("BEGIN", "START TRANSACTION"), params)
                conn.close()
            time.sleep(0.2)
        written = log.read_text(encoding="utf-8", errors="replace")
        log.unlink(missing_ok=True)
    finally:
        for table in (acc, orders, versioned):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        admin.close()
    _check(_judged(run_txlint, project, written, "mysql"), runs)


# -- the readers, on logs as the servers write them ------------------------------------------------


def test_postgres_records_parameters_failures_and_multi_line_statements() -> None:
    log = [
        "2026-12-05 16:00:11.465 UTC [25651] app@shop LOG:  execute <unnamed>: UPDATE accounts SET balance = $1\n",
        "\tWHERE id = $2\n",
        "2026-12-05 16:00:11.465 UTC [25651] app@shop DETAIL:  parameters: $1 = '90', $2 = 'it''s'\n",
        "2026-12-05 16:00:11.466 UTC [25652] app@shop LOG:  statement: UPDATE accounts SET balance = 1 WHERE id = 2\n",
        "2026-12-05 16:00:11.466 UTC [25652] app@shop ERROR:  relation \"accounts\" does not exist\n",
        "2026-12-05 16:00:11.466 UTC [25652] app@shop STATEMENT:  UPDATE accounts SET balance = 1 WHERE id = 2\n",
        "2026-12-05 16:00:12.000 UTC [2225] LOG:  checkpoint starting: time\n",
        "2026-12-05 16:00:12.001 UTC [25651] app@shop LOG:  disconnection: session time: 0:00:00.010 user=app database=shop host=127.0.0.1 port=5000\n",
    ]
    got = [(e.conn, e.line, e.kind, e.sql, e.params) for e in postgres.events(log)]
    # A statement is given out when its connection's next record shows it ran (not an ERROR).
    assert got == [
        ("25652", 4, "failed", "UPDATE accounts SET balance = 1 WHERE id = 2", ()),
        ("25651", 1, "statement", "UPDATE accounts SET balance = $1\nWHERE id = $2", (90, "it's")),
        ("25651", 8, "disconnect", "", ()),
    ]


def test_postgres_prefixes_other_than_debian_s() -> None:
    log = ["2026-12-05 16:00:11 UTC:127.0.0.1(5000):app@shop:[6571f2a1.a0b]:LOG:  statement: SELECT balance FROM accounts WHERE id = 7\n"]
    [event] = postgres.events(log, "%t:%r:%u@%d:[%c]:")
    assert (event.conn, event.sql, event.params) == ("6571f2a1.a0b", "SELECT balance FROM accounts WHERE id = $1", (7,))
    with pytest.raises(postgres.PrefixError):
        postgres.prefix_pattern("%m %u@%d ")


def test_mysql_general_log_of_mariadb_and_mysql_8() -> None:
    log = [
        "/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-0+deb12u1 (Debian 12). started with:\n",
        "Time\t\t    Id Command\tArgument\n",
        "261205 16:02:30\t   184 Connect\troot@127.0.0.1 on test using TCP/IP\n",
        "\t\t   184 Query\tUPDATE accounts\n",
        "SET balance = 'a\\'b' WHERE id = 7\n",
        "\t\t   184 Query\tSET autocommit=0\n",
        "2026-12-05T16:02:30.123456Z\t   185 Query\tSELECT 1\n",
        "\t\t   184 Quit\t\n",
    ]
    got = [(e.conn, e.line, e.kind, e.sql, e.params) for e in mysql.events(log)]
    assert got == [
        ("184", 3, "connect", "", ()),
        ("184", 4, "statement", "UPDATE accounts\nSET balance = %s WHERE id = %s", ("a'b", 7)),
        ("184", 6, "autocommit-off", "", ()),
        ("185", 7, "statement", "SELECT %s", (1,)),
        ("184", 8, "disconnect", "", ()),
    ]


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        ("UPDATE t SET c = 'x''y', d = -1.5 WHERE id = 7", "postgres", ("UPDATE t SET c = $1, d = -$2 WHERE id = $3", ("x'y", 1.5, 7))),
        # A minus sign stays an operator: `balance -5` is a subtraction, not `balance $1`.
        ("UPDATE t SET balance = balance -5 WHERE id = 7", "postgres", ("UPDATE t SET balance = balance -$1 WHERE id = $2", (5, 7))),
        # Typed constants and a cast's modifiers are the statement's shape; an escape string is a value.
        ("SELECT 1 FROM t WHERE b = B'01' AND e = E'a\\b' AND n = '9.50'::numeric(12, 2)", "postgres", ("SELECT $1 FROM t WHERE b = B'01' AND e = $2 AND n = $3::numeric(12, 2)", (1, "a\\b", 9.5))),
        # Names quoted as ORMs quote them, digits and all, stay as written.
        ('SELECT "t2"."id", "t2"."2fa" FROM "t2" WHERE "t2"."id" = 5', "postgres", ('SELECT "t2"."id", "t2"."2fa" FROM "t2" WHERE "t2"."id" = $1', (5,))),
        ("select `t`.`c1` from `t` where `t`.`id` = '19773' and note = 'it''s'", "mysql", ("select `t`.`c1` from `t` where `t`.`id` = %s and note = %s", (19773, "it's"))),
        ('SELECT "col 1", t2.c FROM t2 WHERE d > now() - interval \'1 day\' -- id = 3', "postgres", ('SELECT "col 1", t2.c FROM t2 WHERE d > now() - interval \'1 day\'  ', ())),
        ("SELECT a::int FROM t WHERE x = $1", "postgres", ("SELECT a::int FROM t WHERE x = $1", ())),
        ('SELECT `c1` FROM t WHERE s = "q" AND n = 2 # 5', "mysql", ("SELECT `c1` FROM t WHERE s = %s AND n = %s  ", ("q", 2))),
    ],
)
def test_literals_become_placeholders_and_names_stay(sql: str, dialect: str, expected: tuple[str, tuple[object, ...]]) -> None:
    assert normalised(sql, dialect) == expected


def test_statements_alike_but_for_their_names_or_typed_constants_keep_their_own_text() -> None:
    """A statement's template is made once and used again for the next with the same text around its
    values: one that differs only in a quoted name, a typed constant or the kind of a value is not
    given another's text."""
    first = [
        ('SELECT "a" FROM t WHERE id = 5', ('SELECT "a" FROM t WHERE id = $1', (5,))),
        ('SELECT "b" FROM t WHERE id = 6', ('SELECT "b" FROM t WHERE id = $1', (6,))),
        ("SELECT 1 FROM t WHERE b = B'01' AND id = 5", ("SELECT $1 FROM t WHERE b = B'01' AND id = $2", (1, 5))),
        ("SELECT 1 FROM t WHERE b = B'10' AND id = 6", ("SELECT $1 FROM t WHERE b = B'10' AND id = $2", (1, 6))),
        ("SELECT a FROM t WHERE id = 5 /* request 1 */", ("SELECT a FROM t WHERE id = $1  ", (5,))),
        ("SELECT a FROM t WHERE id = 'x' /* request 2 */", ("SELECT a FROM t WHERE id = $1  ", ("x",))),
        ("SELECT a FROM t WHERE id = $1 /* request 3 */", ("SELECT a FROM t WHERE id = $1  ", ())),
    ]
    for sql, expected in first:
        assert normalised(sql, "postgres") == expected, sql
    # The same value written for MySQL, where a backslash escapes.
    assert normalised("SELECT a FROM t WHERE n = 'a\\nb'", "postgres")[1] == ("a\\nb",)
    assert normalised("SELECT a FROM t WHERE n = 'a\\nb'", "mysql")[1] == ("a\nb",)


def test_a_log_that_cannot_be_read_and_a_prefix_without_a_connection_are_usage_errors(project: Project, run_txlint: Callable[..., Run]) -> None:
    run = run_txlint("trace", "--log-format", "postgres", "missing.log")
    assert run.exit_code == 2 and "missing.log: No such file or directory" in run.stderr
    project.write("x.log", "")
    run = run_txlint("trace", "--log-format", "postgres", "--log-line-prefix", "%m ", "x.log")
    assert run.exit_code == 2 and "needs %p" in run.stderr


CSVLOG = (
    '2026-12-05 16:00:11.465 UTC,"app","shop",25651,"127.0.0.1:5000",6571f2a1.6433,3,"BEGIN",2026-12-05 16:00:10 UTC,3/7,0,LOG,00000,'
    '"statement: BEGIN",,,,,,,,,"psql","client backend",,0\n'
    '2026-12-05 16:00:11.466 UTC,"app","shop",25651,"127.0.0.1:5000",6571f2a1.6433,4,"SELECT",2026-12-05 16:00:10 UTC,3/7,0,LOG,00000,'
    '"execute <unnamed>: SELECT id, balance FROM accounts\nWHERE id = $1","parameters: $1 = \'7\'",,,,,,,,"psql","client backend",,0\n'
    '2026-12-05 16:00:11.467 UTC,"app","shop",25651,"127.0.0.1:5000",6571f2a1.6433,5,"UPDATE",2026-12-05 16:00:10 UTC,3/7,0,LOG,00000,'
    '"statement: UPDATE accounts SET balance = 90 WHERE id = 7",,,,,,,,,"psql","client backend",,0\n'
    '2026-12-05 16:00:11.468 UTC,"app","shop",25651,"127.0.0.1:5000",6571f2a1.6433,6,"COMMIT",2026-12-05 16:00:10 UTC,3/7,0,LOG,00000,'
    '"statement: COMMIT",,,,,,,,,"psql","client backend",,0\n'
)
JSONLOG = "".join(
    json.dumps({"timestamp": "2026-12-05 16:00:11.465 UTC", "user": "app", "dbname": "shop", "pid": 25651, "session_id": "6571f2a1.6433", "error_severity": "LOG", **fields}) + "\n"
    for fields in (
        {"message": "statement: BEGIN"},
        {"message": "execute <unnamed>: SELECT id, balance FROM accounts WHERE id = $1", "detail": "parameters: $1 = '7'"},
        {"message": "statement: UPDATE accounts SET balance = 90 WHERE id = 7"},
        {"message": "statement: COMMIT"},
    )
)


@pytest.mark.parametrize(("log", "lines"), [(CSVLOG, [1, 2, 4, 5]), (JSONLOG, [1, 2, 3, 4])], ids=["csvlog", "jsonlog"])
def test_postgres_csvlog_and_jsonlog_are_read_as_the_stderr_log(project: Project, run_txlint: Callable[..., Run], log: str, lines: list[int]) -> None:
    events = list(postgres.any_events(log.splitlines(True)))
    assert [(e.conn, e.line, e.sql.split()[0], e.params) for e in events] == [
        ("6571f2a1.6433", lines[0], "BEGIN", ()),
        ("6571f2a1.6433", lines[1], "SELECT", (7,)),
        ("6571f2a1.6433", lines[2], "UPDATE", (90, 7)),
        ("6571f2a1.6433", lines[3], "COMMIT", ()),
    ]
    project.write("db.log", log)
    run = run_txlint("trace", "--log-format", "postgres", "--format", "json", "db.log")
    assert [(f["code"], f["line"]) for f in json.loads(run.stdout)] == [("TX101", lines[2])]


def test_follow_reports_a_finding_as_the_log_grows(project: Project, tmp_path: Path) -> None:
    """`txlint trace --follow` on a log being written, as on a staging server: the finding appears
    once the statement that completes the pattern is written, without the command ending."""
    import subprocess
    import sys

    log = tmp_path / "growing.log"
    log.write_text("")
    head = "2026-12-05 16:00:11.465 UTC [4242] app@shop LOG:  statement: "
    command = [str(Path(sys.executable).parent / "txlint"), "trace", "--log-format", "postgres", "--follow", str(log)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            with log.open("a") as out:
                for sql in ("BEGIN", "SELECT id, balance FROM accounts WHERE id = 7", "UPDATE accounts SET balance = 90 WHERE id = 7", "COMMIT"):
                    out.write(head + sql + "\n")
                    out.flush()
                    time.sleep(0.1)
            assert process.stdout is not None
            line = process.stdout.readline()  # blocks until the finding is printed
            assert ":3:1: TX101 [lost-update]" in line and "(connection 4242)" in line
            assert process.poll() is None  # still following
        finally:
            process.send_signal(2)  # what Ctrl-C sends
            process.wait(timeout=30)
    assert process.returncode == 1


def _stderr(pid: int, statements: list[str]) -> list[str]:
    return postgres_lines([f"LOG:  statement: {sql}" for sql in statements], pid)


def test_the_same_code_path_is_reported_once_and_a_different_one_is_still_judged() -> None:
    """A log is the same few code paths over and over: an episode (one connection's statements up
    to a transaction's end) of a shape judged before is not judged again; the shape keeps which
    values are equal, so reading one row and writing another is another shape."""
    from txlint.runtime.logs.replay import LogReplay

    lost = ["BEGIN", "SELECT id, balance FROM accounts WHERE id = {0}", "UPDATE accounts SET balance = {1} WHERE id = {0}", "COMMIT"]
    other_row = ["BEGIN", "SELECT id, balance FROM accounts WHERE id = {0}", "UPDATE accounts SET balance = {1} WHERE id = {2}", "COMMIT"]
    log: list[str] = []
    for n in range(50):
        log += _stderr(100 + n, [sql.format(n + 2, 500 + n, n + 1000) for sql in lost])  # (1 and 0 are values of their own)
    log += _stderr(999, [sql.format(7, 90, 8) for sql in other_row])
    replay = LogReplay("pg.log", "postgres")
    findings = list(replay.feed(postgres.events(log)))
    assert [(f.code, f.line) for f in findings] == [("TX101", 3)]  # the first run of the path; not the other row
    assert replay.repeated == 49 and replay.statements == 204


def test_a_long_log_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """State per open connection only: 15 MB of log (200 connections taking turns, a lost update in
    every tenth request, each request's statement tagged with its number in a comment) read in less
    than half its size of memory, every request judged or known by its shape."""
    import tracemalloc

    from txlint.runtime.logs.replay import LogReplay

    log = tmp_path / "big.log"
    with log.open("w") as out:
        for n in range(30_000):
            pid, account = 1000 + n % 200, 2 + n % 9973
            lock = "" if n % 10 == 0 else " FOR UPDATE"
            out.writelines(_stderr(pid, ["BEGIN", f"SELECT id, balance, note FROM accounts WHERE id = {account}{lock}", f"UPDATE accounts SET balance = {n + 2} WHERE id = {account}", "COMMIT", f"SELECT * FROM products WHERE id = {n} AND name = 'item {n}' -- request {n}"]))
    assert log.stat().st_size > 14_000_000  # more than the peak allowed below, twice over
    list(LogReplay(str(log), "postgres").feed(postgres.events(_stderr(1, ["SELECT 1"]))))  # the modules it loads are no part of it
    tracemalloc.start()
    try:
        replay = LogReplay(str(log), "postgres")
        with log.open() as stream:
            findings = list(replay.feed(postgres.events(stream)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert replay.statements == 150_000
    assert {f.code for f in findings} == {"TX101"} and len(findings) < 10  # 3 000 lost updates, a few shapes of them
    assert peak < 7_000_000, peak
