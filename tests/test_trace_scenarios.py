"""`txlint trace` on logs as servers are really set up: prefixes in common use, statements logged
after they ran, errors, server restarts, several statements sent as one, rotated and compressed logs."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import Project, Run
from log_support import postgres_lines
from txlint.runtime.logs import mysql, postgres

LOST_UPDATE = ["BEGIN", "SELECT id, balance FROM accounts WHERE id = 7", "UPDATE accounts SET balance = 90 WHERE id = 7", "COMMIT"]
LOCKED = ["BEGIN", "SELECT id, balance FROM accounts WHERE id = 7 FOR UPDATE", "UPDATE accounts SET balance = 90 WHERE id = 7", "COMMIT"]


def _found(run: Run) -> list[tuple[str, int]]:
    assert run.exit_code in (0, 1), run.stderr
    return [(finding["code"], finding["line"]) for finding in json.loads(run.stdout)]


# Each prefix as its server writes a line: `{}` is where the message goes.
PREFIXED = {
    "debian": "2026-12-05 16:00:11.465 UTC [4242] app@shop {}",
    "postgres-own": "2026-12-05 16:00:11.465 UTC [4242] {}",
    "debian-before-10": "2026-12-05 16:00:11 UTC [4242-3] app@shop {}",
    "rds": "2026-12-05 16:00:11 UTC:10.0.3.7(53422):app@shop:[4242]:{}",
    "pgbadger": "2026-12-05 16:00:11 UTC [4242]: [3-1] user=app,db=shop,app=[unknown],client=10.0.3.7 {}",
    "cloud-sql": "2026-12-05 16:00:11.465 UTC [4242]: [3-1] db=shop,user=app {}",
    "azure": "2026-12-05 16:00:11 UTC-6571f2a1.1092-{}",
}


@pytest.mark.parametrize("server", sorted(PREFIXED))
def test_a_prefix_in_common_use_is_read_without_being_given(project: Project, run_txlint: Callable[..., Run], server: str) -> None:
    """Without --log-line-prefix, the prefixes of Debian, PostgreSQL, RDS, pgBadger, Cloud SQL and
    Azure are told apart by the log's first lines; the lost update is found, the locked one not."""
    bad = [PREFIXED[server].format(f"LOG:  statement: {sql}") + "\n" for sql in LOST_UPDATE]
    good = [PREFIXED[server].format(f"LOG:  statement: {sql}").replace("4242", "4343").replace("1092", "10a3") + "\n" for sql in LOCKED]
    project.write("db.log", "".join(good + bad))
    assert _found(run_txlint("trace", "--log-format", "postgres", "--format", "json", "db.log")) == [("TX101", 7)]


def test_a_prefix_no_one_uses_is_asked_for(project: Project, run_txlint: Callable[..., Run]) -> None:
    """A log whose prefix is none of those: a usage error that says what to give, not a silent
    "0 statements"; given, it is read."""
    lines = [f"<4242 2026-12-05 16:00:11 shop> LOG:  statement: {sql}\n" for sql in LOST_UPDATE]
    project.write("db.log", "".join(lines))
    run = run_txlint("trace", "--log-format", "postgres", "db.log")
    assert run.exit_code == 2 and "--log-line-prefix" in run.stderr and "SHOW log_line_prefix" in run.stderr
    run = run_txlint("trace", "--log-format", "postgres", "--format", "json", "--log-line-prefix", "<%p %t %d> ", "db.log")
    assert _found(run) == [("TX101", 3)]


def test_statements_logged_after_they_ran_by_their_duration(project: Project, run_txlint: Callable[..., Run]) -> None:
    """log_min_duration_statement = 0 instead of log_statement = 'all': a statement is logged when it
    has run, with its duration (the extended protocol's parse and bind steps too, which are not
    statements); an error after one is another statement's, not its."""
    head = "2026-12-05 16:00:11.465 UTC [4242] app@shop "
    log = [
        f"{head}LOG:  duration: 0.031 ms  statement: BEGIN\n",
        f"{head}LOG:  duration: 0.012 ms  parse <unnamed>: SELECT id, balance FROM accounts WHERE id = $1\n",
        f"{head}LOG:  duration: 0.020 ms  bind <unnamed>: SELECT id, balance FROM accounts WHERE id = $1\n",
        f"{head}DETAIL:  parameters: $1 = '7'\n",
        f"{head}LOG:  duration: 0.045 ms  execute <unnamed>: SELECT id, balance FROM accounts WHERE id = $1\n",
        f"{head}DETAIL:  parameters: $1 = '7'\n",
        f"{head}ERROR:  column \"nope\" does not exist at character 8\n",
        f"{head}STATEMENT:  SELECT nope FROM accounts\n",
        f"{head}LOG:  duration: 0.050 ms  statement: UPDATE accounts SET balance = 90 WHERE id = 7\n",
        f"{head}LOG:  duration: 0.020 ms  statement: COMMIT\n",
    ]
    events = [(e.line, e.kind, e.sql) for e in postgres.events(log)]
    assert [kind for _, kind, _ in events] == ["statement", "statement", "failed", "statement", "statement"]
    assert events[1] == (5, "statement", "SELECT id, balance FROM accounts WHERE id = $1")
    project.write("db.log", "".join(log))
    assert _found(run_txlint("trace", "--log-format", "postgres", "--format", "json", "db.log")) == [("TX101", 9)]


def test_an_error_belongs_to_the_statement_its_statement_line_names() -> None:
    """With log_statement = 'all' a statement is logged before it runs, except one with a syntax
    error: the ERROR that follows a logged statement is its own only if the STATEMENT line after the
    error (past its DETAIL, HINT and CONTEXT) names it."""
    head = "2026-12-05 16:00:11.465 UTC [4242] app@shop "
    log = [
        f"{head}LOG:  statement: SELECT balance FROM accounts WHERE id = 7\n",
        f"{head}ERROR:  syntax error at or near \"SELEC\" at character 1\n",
        f"{head}STATEMENT:  SELEC 1\n",
        f"{head}LOG:  statement: UPDATE accounts SET balance = 90 WHERE id = 7\n",
        f"{head}ERROR:  new row for relation \"accounts\" violates check constraint \"positive\"\n",
        f"{head}DETAIL:  Failing row contains (7, -10).\n",
        f"{head}HINT:  Is the balance right?\n",
        f"{head}STATEMENT:  UPDATE accounts SET balance = 90 WHERE id = 7\n",
        f"{head}LOG:  statement: COMMIT\n",
    ]
    assert [(e.line, e.kind) for e in postgres.events(log)] == [(1, "statement"), (4, "failed"), (9, "statement")]


def test_several_statements_sent_as_one_end_their_transaction(project: Project, run_txlint: Callable[..., Run]) -> None:
    """`UPDATE ...; COMMIT` in one query string ends the transaction as a COMMIT of its own does:
    the next request on the connection is judged as a new transaction, the lost update found."""
    head = "2026-12-05 16:00:11.465 UTC [4242] app@shop LOG:  statement: "
    requests = []
    for account in (7, 8):
        requests += [
            f"{head}BEGIN; SELECT id, balance FROM accounts WHERE id = {account}\n",
            f"{head}UPDATE accounts SET balance = {account * 10} WHERE id = {account}; COMMIT\n",
        ]
    project.write("db.log", "".join(requests))
    run = run_txlint("trace", "--log-format", "postgres", "--format", "json", "db.log")
    assert _found(run) == [("TX101", 2)]  # the second request has the first's shape: reported once
    assert "4 statements read" in run.stderr


def test_several_statements_sent_as_one_open_the_transaction_they_begin(project: Project, run_txlint: Callable[..., Run]) -> None:
    """`BEGIN; UPDATE ...` in one query string: the UPDATE is in the transaction, left open by the
    disconnection (TX104), in either database's log."""
    project.write("pg.log", _postgres(["LOG:  statement: BEGIN; UPDATE accounts SET balance = 6 WHERE id = 2", "LOG:  disconnection: session time: 0:00:00.006"]))
    assert _found(run_txlint("trace", "--log-format", "postgres", "--format", "json", "pg.log")) == [("TX104", 2)]
    project.write("my.log", "\t\t     9 Query\tBEGIN; UPDATE accounts SET balance = 6 WHERE id = 2\n\t\t     9 Quit\t\n")
    assert _found(run_txlint("trace", "--log-format", "mysql", "--format", "json", "my.log")) == [("TX104", 2)]


def test_mysql_server_restarts_and_timestamps_with_a_zone_and_set_lists() -> None:
    """A server that starts again writes its header in the middle of the log: no part of the
    statement before it. MySQL 8 under log_timestamps = SYSTEM writes the zone's offset. A client
    turns autocommit off among other assignments (`SET NAMES utf8mb4, autocommit=0`)."""
    log = [
        "2026-12-05T17:02:30.123456+01:00\t   185 Query\tSET NAMES utf8mb4, autocommit=0\n",
        "2026-12-05T17:02:30.123500+01:00\t   185 Query\tUPDATE accounts SET balance = 5\n",
        "/usr/sbin/mysqld, Version: 8.0.40 (MySQL Community Server - GPL). started with:\n",
        "Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\n",
        "Time                 Id Command    Argument\n",
        "2026-12-05T17:03:00.000001+01:00\t     8 Connect\troot@localhost on shop using Socket\n",
        "2026-12-05T17:03:00.000002+01:00\t     8 Query\tset session autocommit := OFF\n",
        "2026-12-05T17:03:00.000003+01:00\t     8 Query\tSET @autocommit_note = 1, sql_mode = ''\n",
    ]
    assert [(e.conn, e.line, e.kind, e.sql) for e in mysql.events(log)] == [
        ("185", 1, "autocommit-off", ""),
        ("185", 2, "statement", "UPDATE accounts SET balance = %s"),
        ("8", 6, "connect", ""),
        ("8", 7, "autocommit-off", ""),
        ("8", 8, "statement", "SET @autocommit_note = %s, sql_mode = %s"),
    ]


def test_a_rotated_log_compressed_by_logrotate_is_read(project: Project, run_txlint: Callable[..., Run]) -> None:
    head = "2026-12-05 16:00:11.465 UTC [4242] app@shop LOG:  statement: "
    with gzip.open(project.root / "postgresql-15-main.log.2.gz", "wt") as out:
        out.writelines(f"{head}{sql}\n" for sql in LOST_UPDATE)
    run = run_txlint("trace", "--log-format", "postgres", "--format", "json", "postgresql-15-main.log.2.gz")
    assert _found(run) == [("TX101", 3)]
    run = run_txlint("trace", "--log-format", "postgres", "--follow", "postgresql-15-main.log.2.gz")
    assert run.exit_code == 2 and "compressed" in run.stderr


def test_a_log_with_no_statement_or_no_log_at_all_says_so(project: Project, run_txlint: Callable[..., Run]) -> None:
    project.write("empty.log", "")
    run = run_txlint("trace", "--log-format", "postgres", "empty.log")
    assert run.exit_code == 0 and "empty.log: no statement in it" in run.stderr and "log_statement = 'all'" in run.stderr
    project.write("general.log", "\t\t   184 Query\tSELECT 1\n")
    run = run_txlint("trace", "--log-format", "postgres", "general.log")  # the wrong --log-format
    assert run.exit_code == 2 and "general.log: it is a MySQL or MariaDB general query log: --log-format mysql" in run.stderr
    project.write("db.log", "".join(f"2026-12-05 16:00:11.465 UTC [4242] app@shop LOG:  statement: {sql}\n" for sql in LOST_UPDATE))
    run = run_txlint("trace", "--log-format", "mysql", "db.log")
    assert run.exit_code == 0 and "db.log: no statement in it: it is a PostgreSQL log: --log-format postgres" in run.stderr
    run = run_txlint("trace", "--log-format", "postgres", "--log-line-prefix", "%m [%c] ", "db.log")  # a prefix it does not have
    assert run.exit_code == 0 and "no line of it starts with the log_line_prefix '%m [%c] '" in run.stderr
    (project.root / "logs").mkdir()
    run = run_txlint("trace", "--log-format", "mysql", "logs")
    assert run.exit_code == 2 and "logs: is a folder" in run.stderr
    (project.root / "random.bin").write_bytes(bytes(range(256)) * 8)
    run = run_txlint("trace", "--log-format", "mysql", "random.bin")
    assert run.exit_code == 2 and "random.bin: not a text log" in run.stderr


def test_logs_compressed_by_bzip2_or_xz_are_read_and_a_lone_carriage_return_breaks_no_line(project: Project, run_txlint: Callable[..., Run]) -> None:
    """Line numbers are as `grep -n` counts them: a carriage return alone, in a value a client
    sent, is no line break."""
    import bz2
    import lzma

    head = "\t\t     8 Query\t"
    text = f"{head}SET autocommit=0\n{head}INSERT INTO notes (body) VALUES ('a\rb')\n{head}SELECT id, balance FROM accounts WHERE id = 7\n{head}UPDATE accounts SET balance = 90 WHERE id = 7\n{head}COMMIT\n"
    (project.root / "general.log.1.bz2").write_bytes(bz2.compress(text.encode()))
    (project.root / "general.log.2.xz").write_bytes(lzma.compress(text.encode()))
    project.write("general.log", text)
    for name in ("general.log", "general.log.1.bz2", "general.log.2.xz"):
        assert _found(run_txlint("trace", "--log-format", "mysql", "--format", "json", name)) == [("TX101", 4)], name


def test_a_log_of_only_slow_statements_is_refused_and_one_of_only_writes_is_warned_of(project: Project, run_txlint: Callable[..., Run]) -> None:
    """log_min_duration_statement = 200: the FOR UPDATE that waited is logged, its fast BEGIN not;
    judged, it would be a lock taken outside a transaction. log_statement = 'mod': only writes."""
    head = "2026-12-05 16:00:11.465 UTC [4242] app@shop LOG:  "
    project.write("slow.log", f"{head}duration: 493.819 ms  statement: SELECT id, balance FROM accounts WHERE id = 7 FOR UPDATE\n{head}duration: 250.002 ms  statement: UPDATE accounts SET note = 'x' WHERE id = 8\n")
    run = run_txlint("trace", "--log-format", "postgres", "slow.log")
    assert run.exit_code == 2 and "log_min_duration_statement" in run.stderr and "TX109" not in run.stdout
    writes = [f"{head}statement: UPDATE accounts SET balance = balance - 5 WHERE id = {n} AND balance >= 5\n" for n in range(3)]
    project.write("mod.log", "".join(writes))
    run = run_txlint("trace", "--log-format", "postgres", "mod.log")
    assert "log_statement = 'mod'" in run.stderr


def _postgres(lines: list[str], pid: int = 4242) -> str:
    return "".join(postgres_lines(lines, pid))


def test_how_a_transaction_ends_when_the_server_ends_it(project: Project, run_txlint: Callable[..., Run]) -> None:
    """A COMMIT that fails (a serialization failure, a deferred foreign key) rolls back: no
    transaction is left open. A COMMIT after a statement failed is a rollback. COMMIT AND CHAIN
    opens the next transaction. A connection killed by idle_in_transaction_session_timeout had
    run its write: the FATAL names no statement, and the transaction it left open is TX104."""
    failed_commit = _postgres(
        ["LOG:  statement: BEGIN", "LOG:  statement: UPDATE accounts SET balance = 5 WHERE id = 2", "LOG:  statement: COMMIT",
         "ERROR:  could not serialize access due to read/write dependencies among transactions", "STATEMENT:  COMMIT", "LOG:  disconnection: session time: 0:00:00.010"],
    )  # fmt: skip
    chained = _postgres(
        ["LOG:  statement: BEGIN", "LOG:  statement: UPDATE accounts SET balance = 5 WHERE id = 2", "LOG:  statement: COMMIT AND CHAIN",
         "LOG:  statement: UPDATE accounts SET balance = 6 WHERE id = 2", "LOG:  disconnection: session time: 0:00:00.010"],
        pid=4343,
    )  # fmt: skip
    killed = _postgres(
        ["LOG:  statement: BEGIN", "LOG:  statement: UPDATE accounts SET balance = 11 WHERE id = 2",
         "FATAL:  terminating connection due to idle-in-transaction timeout", "LOG:  disconnection: session time: 0:00:00.302"],
        pid=4444,
    )  # fmt: skip
    project.write("db.log", failed_commit + chained + killed)
    run = run_txlint("trace", "--log-format", "postgres", "--format", "json", "db.log")
    assert _found(run) == [("TX104", 11), ("TX104", 15)]


def test_a_read_before_the_transaction_is_no_read_of_it(project: Project, run_txlint: Callable[..., Run]) -> None:
    """A pooled connection serves one request after another: a read in autocommit is another
    request's, not the one of the transaction that writes after it (clarification 24). The same
    read inside the transaction is."""
    before = _postgres(["LOG:  statement: SELECT id, balance FROM accounts WHERE id = 1", "LOG:  statement: BEGIN", "LOG:  statement: UPDATE accounts SET balance = 0 WHERE id = 1", "LOG:  statement: COMMIT"])
    inside = _postgres(["LOG:  statement: BEGIN", "LOG:  statement: SELECT id, balance FROM accounts WHERE id = 1", "LOG:  statement: UPDATE accounts SET balance = 0 WHERE id = 1", "LOG:  statement: COMMIT"], pid=4343)
    project.write("db.log", before + inside)
    assert _found(run_txlint("trace", "--log-format", "postgres", "--format", "json", "db.log")) == [("TX101", 7)]


def test_statements_prepared_with_sql_and_values_written_beside_bound_ones(project: Project, run_txlint: Callable[..., Run]) -> None:
    """`EXECUTE setbal(90, 1)` is the statement its DETAIL's PREPARE shows, with those values; a
    client that binds the new balance but writes the id (`... = $1 WHERE id = 1`) has both read."""
    prepared = _postgres(
        ["LOG:  statement: BEGIN", "LOG:  statement: EXECUTE getbal(1)", "DETAIL:  prepare: PREPARE getbal(int) AS SELECT id, balance FROM accounts WHERE id = $1",
         "LOG:  statement: EXECUTE setbal(90, 1)", "DETAIL:  prepare: PREPARE setbal(int, int) AS UPDATE accounts SET balance = $1 WHERE id = $2", "LOG:  statement: COMMIT"],
    )  # fmt: skip
    mixed = _postgres(
        ["LOG:  statement: BEGIN", "LOG:  execute <unnamed>: SELECT balance FROM accounts WHERE id = $1", "DETAIL:  parameters: $1 = '1'",
         "LOG:  execute <unnamed>: UPDATE accounts SET balance = $1 WHERE id = 1", "DETAIL:  parameters: $1 = '80'", "LOG:  statement: COMMIT"],
        pid=4343,
    )  # fmt: skip
    project.write("db.log", prepared + mixed)
    assert _found(run_txlint("trace", "--log-format", "postgres", "--format", "json", "db.log")) == [("TX101", 4), ("TX101", 10)]


def test_csvlog_and_jsonlog_name_the_statement_an_error_is_about() -> None:
    """csvlog's `query` column and jsonlog's `statement` key are the stderr log's STATEMENT line:
    the statement logged before a syntax error still ran."""
    row = '2026-12-05 16:00:11.465 UTC,"app","shop",4242,"127.0.0.1:5000",6571f2a1.1092,{n},"",2026-12-05 16:00:10 UTC,3/7,0,{level},00000,"{message}",,,,,,"{query}",,,"psql","client backend",,0\n'
    csv = (
        row.format(n=1, level="LOG", message="statement: SELECT id, balance FROM accounts WHERE id = 7", query="")
        + row.format(n=2, level="ERROR", message='syntax error at or near ""SELEC""', query="SELEC 1")
        + row.format(n=3, level="LOG", message="statement: UPDATE accounts SET balance = 90 WHERE id = 7", query="")
    )
    records = [
        {"message": "statement: SELECT id, balance FROM accounts WHERE id = 7", "error_severity": "LOG"},
        {"message": 'syntax error at or near "SELEC"', "error_severity": "ERROR", "statement": "SELEC 1"},
        {"message": "statement: UPDATE accounts SET balance = 90 WHERE id = 7", "error_severity": "LOG"},
    ]
    jsonlog = "".join(json.dumps({"session_id": "6571f2a1.1092", "pid": 4242, **record}) + "\n" for record in records)
    for log in (csv, jsonlog):
        assert [(e.line, e.kind) for e in postgres.any_events(log.splitlines(True))] == [(1, "statement"), (3, "statement")]


def test_mysql_xa_implicit_commits_and_autocommit_as_clients_write_it() -> None:
    """XA START/COMMIT are a transaction's start and end; DDL and LOCK TABLES commit what is open
    first (a write before TRUNCATE is not left open); autocommit turned off after a tag comment,
    with a quoted value, with a comment after."""
    head = "\t\t     9 Query\t"
    log = [
        f"{head}/* app:web */ SET autocommit=0\n",
        f"{head}SET autocommit='OFF'\n",
        f"{head}SET autocommit = 0 -- turn off\n",
        f"{head}XA START 'x1'\n",
        f"{head}UPDATE accounts SET balance = 5 WHERE id = 2\n",
        f"{head}XA END 'x1'\n",
        f"{head}XA COMMIT 'x1' ONE PHASE\n",
        f"{head}TRUNCATE TABLE imports\n",
        f"{head}CREATE TEMPORARY TABLE t (id int)\n",
    ]
    assert [(e.line, e.kind, e.sql) for e in mysql.events(log)] == [
        (1, "autocommit-off", ""),
        (2, "autocommit-off", ""),
        (3, "autocommit-off", ""),
        (4, "statement", "BEGIN"),
        (5, "statement", "UPDATE accounts SET balance = %s WHERE id = %s"),
        (7, "statement", "COMMIT"),
        (8, "statement", "COMMIT"),
        (8, "statement", "TRUNCATE TABLE imports"),
        (9, "statement", "CREATE TEMPORARY TABLE t (id int)"),
    ]


def test_prefixes_with_spaced_command_tags_and_padded_escapes(project: Project, run_txlint: Callable[..., Run]) -> None:
    """`%i` is the command tag (`idle in transaction` has spaces); `%-6p` pads the process id."""
    lines = [f"2026-12-05 16:00:11.465 UTC [4242  ] idle in transaction app LOG:  statement: {sql}\n" for sql in LOST_UPDATE]
    project.write("db.log", "".join(lines))
    run = run_txlint("trace", "--log-format", "postgres", "--format", "json", "--log-line-prefix", "%m [%-6p] %i %u ", "db.log")
    assert _found(run) == [("TX101", 3)]


@pytest.mark.parametrize("rotation", ["rename", "truncate"])
def test_follow_goes_on_after_the_log_is_rotated(tmp_path: Path, rotation: str) -> None:
    """logrotate renames the log and the server writes a new one under its name (or, with
    copytruncate, the log is emptied in place): what is written after is still judged."""
    log = tmp_path / "postgresql.log"
    head = "2026-12-05 16:00:11.465 UTC [4242] app@shop LOG:  statement: "
    log.write_text("".join(f"{head}{sql}\n" for sql in LOCKED))
    command = [str(Path(sys.executable).parent / "txlint"), "trace", "--log-format", "postgres", "--follow", str(log)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            time.sleep(1.5)  # the locked request is read
            if rotation == "rename":
                log.rename(tmp_path / "postgresql.log.1")
                log.write_text("")
            else:
                log.write_text("")
            time.sleep(1.0)
            with log.open("a") as out:
                for sql in LOST_UPDATE:
                    out.write(f"{head}{sql}\n")
                    out.flush()
            assert process.stdout is not None
            line = process.stdout.readline()  # blocks until the finding is printed
            assert ":3:1: TX101 [lost-update]" in line
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def test_a_log_line_prefix_changed_by_a_reload_is_followed() -> None:
    """The server logs the new log_line_prefix when a reload changes it: the lines before are read
    with the old one, the lines after with the new."""
    log = [
        "2026-12-05 18:08:41.588 UTC [17914] app@shop LOG:  statement: SELECT 1\n",
        "2026-12-05 18:08:10.001 UTC [1234] LOG:  parameter \"log_line_prefix\" changed to \"%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h \"\n",
        "2026-12-05 18:08:14 UTC [17707]: [3-1] user=app,db=shop,app=my app v2,client=127.0.0.1 LOG:  statement: SELECT 2\n",
    ]
    assert [(e.conn, e.line, e.params) for e in postgres.any_events(log)] == [("17914", 1, (1,)), ("17707", 3, (2,))]


def test_mysql_commits_what_is_open_when_a_transaction_starts(project: Project, run_txlint: Callable[..., Run]) -> None:
    """START TRANSACTION with a transaction open commits it first (MySQL's implicit commit): the
    write before it is kept; only the one after is rolled back when the connection quits."""
    head = "\t\t     9 Query\t"
    project.write("my.log", f"{head}START TRANSACTION\n{head}UPDATE accounts SET balance = 5 WHERE id = 2\n{head}START TRANSACTION\n{head}UPDATE accounts SET note = 'x' WHERE id = 3\n\t\t     9 Quit\t\n")
    run = run_txlint("trace", "--log-format", "mysql", "--format", "json", "my.log")
    [finding] = json.loads(run.stdout)
    assert finding["code"] == "TX104" and [note["line"] for note in finding["related"]] == [4]


def test_mysql_lines_read_from_the_shape_of_one_alike_read_as_the_first_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """A general log's line alike but for its digits to one read before is read from that one's
    shape: the same events as reading every line anew, whatever the lines around it (a statement
    that goes on over the next line, names and e-mails that change, ids of another width)."""
    head = "\t\t    {} Query\t"
    lines: list[str] = []
    for n in range(300):
        conn = 10 + n % 3 if n % 7 else 1000 + n % 3
        lines += [
            head.format(conn) + f"UPDATE accounts SET balance = {n * 7 % 1000} WHERE id = {n % 97}\n",
            head.format(conn) + f"UPDATE accounts SET balance = {n}\n",
            f"WHERE id = {n % 89}\n",
            head.format(conn) + f"SELECT id FROM users WHERE email = 'u{n % 50}@example.com'\n",
            head.format(conn) + f"INSERT INTO t (a, b) VALUES ('{n % 10}', {n}.{n % 100})\n",
            head.format(conn) + f"SET autocommit={n % 2}\n",
        ]
    mysql._LINES.clear()
    shaped = list(mysql.events(lines))
    assert mysql._LINES  # shapes were kept, and used for the lines after
    monkeypatch.setattr(mysql, "_remember_line", lambda *args: None)
    mysql._LINES.clear()
    assert shaped == list(mysql.events(lines))
    assert len(shaped) == 1500 and shaped[1].sql == "UPDATE accounts SET balance = %s\nWHERE id = %s"


def test_an_episode_is_known_by_the_state_it_starts_in_too(project: Project, run_txlint: Callable[..., Run]) -> None:
    """The same statements judge otherwise in autocommit and inside a transaction: a lost update
    run after `SET autocommit=0` is found though the same statements ran before in autocommit
    (where each commits alone: nothing to find)."""
    autocommit = ["SELECT id, balance FROM accounts WHERE id = 7", "UPDATE accounts SET balance = 90 WHERE id = 7", "COMMIT"]
    log = [f"\t\t     2 Query\t{sql}\n" for sql in autocommit] + [f"\t\t     1 Query\t{sql}\n" for sql in ["SET autocommit=0", "COMMIT", *autocommit]]
    project.write("my.log", "".join(log))
    assert _found(run_txlint("trace", "--log-format", "mysql", "--format", "json", "my.log")) == [("TX101", 7)]


def test_a_rollback_to_a_savepoint_written_in_full_goes_on_with_the_transaction(project: Project, run_txlint: Callable[..., Run]) -> None:
    """`ROLLBACK TRANSACTION TO SAVEPOINT` ends no transaction: the read before it is still the
    transaction's when another connection ran a transaction that began alike."""
    def request(pid: int, written: int) -> str:
        return _postgres(
            ["LOG:  statement: BEGIN", "LOG:  statement: SELECT id, balance FROM accounts WHERE id = 7", "LOG:  statement: SAVEPOINT s1",
             "LOG:  statement: ROLLBACK TRANSACTION TO SAVEPOINT s1", f"LOG:  statement: UPDATE accounts SET balance = 90 WHERE id = {written}", "LOG:  statement: COMMIT"],
            pid=pid,
        )  # fmt: skip

    project.write("db.log", request(100, 8) + request(200, 7))
    assert _found(run_txlint("trace", "--log-format", "postgres", "--format", "json", "db.log")) == [("TX101", 11)]


def test_connections_the_log_shows_no_start_of_take_the_server_s_autocommit(project: Project, run_txlint: Callable[..., Run]) -> None:
    """`--autocommit-default off`: a pooled connection opened before the log began runs in a
    transaction too, not only one whose Connect the log shows."""
    project.write("my.log", "".join(f"\t\t     3 Query\t{sql}\n" for sql in ["SELECT id, balance FROM accounts WHERE id = 7", "UPDATE accounts SET balance = 90 WHERE id = 7", "COMMIT"]))
    assert _found(run_txlint("trace", "--log-format", "mysql", "--autocommit-default", "off", "--format", "json", "my.log")) == [("TX101", 2)]
    assert _found(run_txlint("trace", "--log-format", "mysql", "--format", "json", "my.log")) == []


def test_state_is_kept_for_open_connections_only() -> None:
    """A connection that disconnected leaves nothing behind, its episodes judged or known by shape
    (a log of per-request connections has a new process id each time)."""
    from txlint.runtime.logs.replay import LogReplay

    def lines(count: int) -> Iterator[str]:
        for pid in range(10_000, 10_000 + count):
            yield from _postgres(["LOG:  connection authorized: user=app database=shop", *(f"LOG:  statement: {sql}" for sql in LOCKED), "LOG:  disconnection: session time: 0:00:00.01"], pid=pid).splitlines(True)

    replay = LogReplay("db.log", "postgres")
    assert list(replay.feed(postgres.any_events(lines(3000)))) == []
    assert replay.repeated == 2 * 3000 - 2  # its transaction and its disconnection, each known by shape after the first
    assert not (replay._after_repeat or replay._seen or replay._opens or replay._starts or replay._episodes or replay.analyser.connections())


def test_csvlog_followed_keeps_its_line_numbers_and_flushes_when_it_pauses() -> None:
    row = '2026-12-05 16:00:11.465 UTC,"app","shop",4242,"127.0.0.1:5000",6571f2a1.1092,{n},"",2026-12-05 16:00:10 UTC,3/7,0,LOG,00000,"statement: {sql}",,,,,,,,,"psql","client backend",,0\n'
    lines = [row.format(n=1, sql="BEGIN"), postgres.IDLE_LINE, row.format(n=2, sql="SELECT 1"), postgres.IDLE_LINE]
    events = postgres.any_events(iter(lines))
    assert [(e.line, e.sql) for e in events] == [(1, "BEGIN"), (2, "SELECT $1")]


def test_odd_input_gets_a_clear_answer(project: Project, run_txlint: Callable[..., Run]) -> None:
    """A prefix whose `%%p` is a percent sign: a usage error, no traceback. A compressed log cut
    short: judged as if it ended where it stops, said so. An escape string with an escaped quote."""
    project.write("db.log", "x\n")
    run = run_txlint("trace", "--log-format", "postgres", "--log-line-prefix", "%t %%p ", "db.log")
    assert run.exit_code == 2 and "names no connection" in run.stderr
    text = _postgres([f"LOG:  statement: SELECT id FROM t WHERE n = {n}" for n in range(3000)] + [f"LOG:  statement: {sql}" for sql in LOST_UPDATE], pid=4343)
    tail = _postgres([f"LOG:  statement: SELECT id FROM t WHERE n = {n * 7919 % 100_003}" for n in range(3000)], pid=4444)
    data = gzip.compress((text + tail).encode())
    (project.root / "cut.log.gz").write_bytes(data[: len(data) * 3 // 4])
    run = run_txlint("trace", "--log-format", "postgres", "--format", "json", "cut.log.gz")
    assert _found(run) == [("TX101", 3003)] and "cut.log.gz: read up to where it stops being readable" in run.stderr
    from txlint.runtime.logs.literals import normalised

    assert normalised("SELECT E'a\\'b', 5 FROM t", "postgres") == ("SELECT $1, $2 FROM t", ("a\\'b", 5))


def test_values_read_by_the_shape_of_their_statement_are_those_read_anew() -> None:
    """Integers of a statement read before by its digits key are read at once; a quoted code keeps
    its zeros; a number too long for Python's int stays text."""
    from txlint.runtime.logs.literals import normalised

    for digits in ("1234", "0012", "9" * 5000):
        for round_ in range(3):  # the second time, the key is kept; the third, it is used
            sql, values = normalised(f"UPDATE t SET a = {digits}, b = '{digits}' WHERE id = {round_}", "mysql")
            assert sql == "UPDATE t SET a = %s, b = %s WHERE id = %s"
            bare = int(digits) if len(digits) < 100 else digits
            quoted = digits if digits.startswith("0") or len(digits) > 100 else int(digits)
            assert values == (bare, quoted, round_), (digits, round_)
