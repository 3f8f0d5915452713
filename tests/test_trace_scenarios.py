"""`txlint trace` on logs as servers are really set up: prefixes in common use, statements logged
after they ran, errors, server restarts, several statements sent as one, rotated and compressed logs."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Project, Run
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
    assert run.exit_code == 2 and "--log-line-prefix" in run.stderr
    (project.root / "logs").mkdir()
    run = run_txlint("trace", "--log-format", "mysql", "logs")
    assert run.exit_code == 2 and "logs: is a folder" in run.stderr


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
