"""The trace analyser on synthetic traces: which statement sequences are findings, which are not.

Every statement is given an explicit site (`app.py:LINE`), so the tests check
that a finding lands on the statement that completes the pattern and points
back at the one that makes it a bug.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from txlint.core.config import Config
from txlint.frontends import sql_script
from txlint.runtime import trace
from txlint.runtime.stack import Site
from txlint.runtime.trace import TraceAnalyser, canonical

SELECT = "SELECT id, balance, hits, name FROM accounts WHERE id = %s"
SELECT_LOCKED = SELECT + " FOR UPDATE"
SET_BALANCE = "UPDATE accounts SET balance = %s WHERE id = %s"


def at(line: int) -> Site:
    return Site("app.py", line)


@pytest.fixture
def pg() -> TraceAnalyser:
    return TraceAnalyser("postgres", sites=lambda: at(999))


def codes(findings: list) -> list[str]:
    return sorted(f.code for f in findings)


def read(analyser: TraceAnalyser, line: int, row: dict | None = None, sql: str = SELECT, key: object = 1, conn: str = "c") -> None:
    assert analyser.execute(conn, sql, (key,), site=at(line)) == []
    if row is not None:
        analyser.record_row(analyser.last_read(conn), row)


# -- TX101 -----------------------------------------------------------------------------------------


def test_read_then_write_back_in_one_transaction_is_tx101_at_the_write(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 10, {"id": 1, "balance": 100})
    [finding] = pg.execute("c", SET_BALANCE, (90, 1), site=at(12))
    assert (finding.code, finding.path, finding.line) == ("TX101", "app.py", 12)
    assert [(r.path, r.line) for r in finding.related] == [("app.py", 12), ("app.py", 10)]
    assert "UPDATE accounts SET balance = %s" in finding.related[0].message
    assert "read here without a row lock" in finding.related[1].message


def test_reads_across_autocommit_statements_count_too(pg: TraceAnalyser) -> None:
    read(pg, 10, {"id": 1, "balance": 100})
    assert codes(pg.execute("c", SET_BALANCE, (90, 1), site=at(11))) == ["TX101"]


@pytest.mark.parametrize(
    ("label", "update", "params"),
    [
        ("another row", SET_BALANCE, (90, 2)),
        ("the value that was read", SET_BALANCE, (100, 1)),
        ("a text column", "UPDATE accounts SET name = %s WHERE id = %s", ("bob", 1)),
        ("a version guard (CAS)", SET_BALANCE + " AND version = %s", (90, 1, 3)),
        ("an in-database delta (TX105/TX106's business)", "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s", (10, 1, 10)),
    ],
)
def test_write_that_does_not_depend_on_the_read_row_is_not_tx101(pg: TraceAnalyser, label: str, update: str, params: tuple) -> None:
    pg.begin("c")
    read(pg, 10, {"id": 1, "balance": 100, "name": "ann"})
    assert "TX101" not in codes(pg.execute("c", update, params, site=at(11))), label


def test_unknown_old_value_links_only_money_like_columns(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 10)  # the source could not see the row
    assert pg.execute("c", "UPDATE accounts SET hits = %s WHERE id = %s", (5, 1), site=at(11)) == []
    assert codes(pg.execute("c", SET_BALANCE, (90, 1), site=at(12))) == ["TX101"]


def test_known_old_value_links_any_number_that_changed(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 10, {"id": 1, "hits": 4})
    assert codes(pg.execute("c", "UPDATE accounts SET hits = %s WHERE id = %s", (5, 1), site=at(11))) == ["TX101"]


def test_orm_loaded_state_stands_in_for_the_row(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 10)
    pg.observe("c", "accounts", {"id": 1}, {"hits": 4})
    assert codes(pg.execute("c", "UPDATE accounts SET hits = %s WHERE accounts.id = %s", (5, 1), site=at(11))) == ["TX101"]


def test_row_keys_match_across_numeric_types(pg: TraceAnalyser) -> None:
    assert canonical(1) == canonical(1.0) == canonical(Decimal("1.00")) == "1"
    assert canonical(True) != canonical(1) and canonical("1") != canonical(1)
    pg.begin("c")
    read(pg, 10, {"id": 1, "balance": 100}, key=Decimal("1"))
    assert codes(pg.execute("c", SET_BALANCE, (90, 1), site=at(11))) == ["TX101"]


@pytest.mark.parametrize(
    "lock",
    [
        pytest.param(lambda a: read(a, 9, sql=SELECT_LOCKED), id="the same row locked by an earlier read"),
        pytest.param(lambda a: a.execute("c", "LOCK TABLE accounts IN EXCLUSIVE MODE", site=at(9)), id="LOCK TABLE"),
        pytest.param(lambda a: a.execute("c", "SELECT pg_advisory_xact_lock(%s)", (7,), site=at(9)), id="an advisory lock"),
    ],
)
def test_row_protected_by_another_lock_of_the_transaction_is_not_tx101(pg: TraceAnalyser, lock) -> None:
    pg.begin("c")
    lock(pg)
    read(pg, 10, {"id": 1, "balance": 100})
    assert pg.execute("c", SET_BALANCE, (90, 1), site=at(11)) == []


def test_locked_read_in_the_transaction_is_not_tx101(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 10, {"id": 1, "balance": 100}, sql=SELECT_LOCKED)
    assert pg.execute("c", SET_BALANCE, (90, 1), site=at(11)) == []


def test_share_lock_does_not_protect_a_write_back(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 10, {"id": 1, "balance": 100}, sql=SELECT + " FOR SHARE")
    [finding] = pg.execute("c", SET_BALANCE, (90, 1), site=at(11))
    assert finding.code == "TX101" and "shared lock" in finding.related[1].message


@pytest.mark.parametrize("level", ["SERIALIZABLE", "REPEATABLE READ"])
def test_postgres_serializable_and_repeatable_read_abort_the_second_writer(pg: TraceAnalyser, level: str) -> None:
    pg.begin("c", isolation=level)
    read(pg, 10, {"id": 1, "balance": 100})
    assert pg.execute("c", SET_BALANCE, (90, 1), site=at(11)) == []


def test_isolation_set_by_sql_counts_and_a_read_before_the_transaction_does_not_profit() -> None:
    analyser = TraceAnalyser("postgres", sites=lambda: at(999))
    read(analyser, 9, {"id": 1, "balance": 100})  # autocommit, before the transaction
    analyser.execute("c", "BEGIN", site=at(10))
    analyser.execute("c", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", site=at(10))
    assert codes(analyser.execute("c", SET_BALANCE, (90, 1), site=at(11))) == ["TX101"]
    read(analyser, 12, {"id": 1, "balance": 90})
    assert analyser.execute("c", SET_BALANCE, (80, 1), site=at(13)) == []


def test_mysql_repeatable_read_does_not_prevent_lost_updates() -> None:
    analyser = TraceAnalyser("mysql", sites=lambda: at(999))
    analyser.begin("c", isolation="REPEATABLE READ")
    read(analyser, 10, {"id": 1, "balance": 100})
    assert codes(analyser.execute("c", SET_BALANCE, (90, 1), site=at(11))) == ["TX101"]


def test_transaction_end_drops_what_was_read(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 10, {"id": 1, "balance": 100})
    assert pg.commit("c") == []
    pg.begin("c")
    assert pg.execute("c", SET_BALANCE, (90, 1), site=at(12)) == []


def test_executemany_judges_each_row(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 10, {"id": 2, "balance": 100}, key=2)
    found = pg.execute("c", SET_BALANCE, [(50, 1), (90, 2)], executemany=True, site=at(11))
    assert codes(found) == ["TX101"]


def test_sql_transaction_control_statements_are_followed() -> None:
    analyser = TraceAnalyser("sqlite", sites=lambda: at(999))
    analyser.execute("c", "BEGIN", site=at(9))
    analyser.execute("c", "SELECT balance FROM accounts WHERE id = ?", (1,), site=at(10))
    analyser.execute("c", "UPDATE accounts SET balance = balance - ? WHERE id = ? AND balance >= ?", (5, 1, 5), rowcount=0, site=at(11))
    analyser.execute("c", "INSERT INTO shipments (account_id) VALUES (?)", (1,), site=at(12))
    assert codes(analyser.execute("c", "COMMIT", site=at(13))) == ["TX108"]


# -- TX103, TX105, TX106, TX107, TX108, TX109 -------------------------------------------------------


def test_lock_on_another_table_only_is_tx103_and_the_write_back_tx101(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 9, sql="SELECT id FROM audit_log WHERE id = %s FOR UPDATE")
    read(pg, 10, {"id": 1, "balance": 100})
    found = pg.execute("c", SET_BALANCE, (90, 1), site=at(11))
    assert codes(found) == ["TX101", "TX103"]
    assert next(f for f in found if f.code == "TX103").line == 9  # reported on the lock


def test_unguarded_decrement_is_tx106_and_a_lower_bound_is_not(pg: TraceAnalyser) -> None:
    pg.begin("c")
    assert codes(pg.execute("c", "UPDATE accounts SET balance = balance - %s WHERE id = %s", (10, 1), site=at(10))) == ["TX106"]
    assert pg.execute("c", "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s", (10, 1, 10), site=at(11)) == []


def test_positive_guard_covers_a_bound_decrement_by_one_only(pg: TraceAnalyser) -> None:
    pg.begin("c")
    guarded = "UPDATE events SET seats = seats - %s WHERE id = %s AND seats > 0"
    assert pg.execute("c", guarded, (1, 7), site=at(10)) == []
    assert codes(pg.execute("c", guarded, (3, 7), site=at(11))) == ["TX106"]


def test_check_constraint_known_from_the_schema_guards_a_decrement(pg: TraceAnalyser) -> None:
    pg.add_tables(sql_script.table_decls("schema.sql", "CREATE TABLE accounts (id int PRIMARY KEY, balance int CHECK (balance >= 0));", "postgres"))
    pg.begin("c")
    assert "TX106" not in codes(pg.execute("c", "UPDATE accounts SET balance = balance - %s WHERE id = %s", (10, 1), site=at(10)))


def test_non_idempotent_decrement_is_judged_at_commit(pg: TraceAnalyser) -> None:
    pg.begin("c")
    pg.execute("c", "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s", (10, 1, 10), rowcount=1, site=at(10))
    [finding] = pg.commit("c", site=at(11))
    assert (finding.code, finding.line) == ("TX105", 10)


@pytest.mark.parametrize(
    "insert",
    [
        "INSERT INTO payments (request_id) VALUES (%s) ON CONFLICT DO NOTHING",
        "INSERT INTO payments (request_id) VALUES (%s)",  # constraints unknown: it may be the key
    ],
)
def test_idempotency_key_in_the_transaction_makes_the_decrement_safe(pg: TraceAnalyser, insert: str) -> None:
    pg.begin("c")
    pg.execute("c", "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s", (10, 1, 10), rowcount=1, site=at(10))
    pg.execute("c", insert, ("req-1",), site=at(11))
    assert pg.commit("c", site=at(12)) == []


REDEEM = "UPDATE vouchers SET state = 'redeemed' WHERE id = %s AND state = 'issued'"
DEBIT = "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s"


@pytest.mark.parametrize(
    ("before", "after", "rowcount", "expected"),
    [
        ([REDEEM], [], 1, []),  # the transition matched its row: a retry matches none (clarification 9)
        (["UPDATE vouchers SET state = %s WHERE id = %s AND version = 3"], [], 1, []),  # a version column too
        ([REDEEM], [], 0, ["TX105", "TX108"]),  # it matched none, and the debit ran anyway
        (["UPDATE vouchers SET used_at = now() WHERE id = %s"], [], 1, ["TX105"]),  # no condition: no transition
        ([], [REDEEM], 1, ["TX105"]),  # after the debit: the retry has already paid again
    ],
)
def test_a_status_transition_that_matched_its_row_gates_the_decrement_after_it(pg: TraceAnalyser, before: list[str], after: list[str], rowcount: int, expected: list[str]) -> None:
    pg.add_tables(sql_script.table_decls("schema.sql", "CREATE TABLE vouchers (id int PRIMARY KEY, state text, version int, used_at timestamp);", "postgres"))
    pg.begin("c")
    line = 10
    for sql in before:
        params = ("redeemed", 7) if sql.count("%s") == 2 else (7,)
        pg.execute("c", sql, params, rowcount=rowcount, site=at(line))
        line += 1
    pg.execute("c", DEBIT, (10, 1, 10), rowcount=1, site=at(line))
    for sql in after:
        pg.execute("c", sql, (7,), rowcount=rowcount, site=at(line + 1))
    assert codes(pg.commit("c", site=at(20))) == expected


def test_insert_into_a_table_known_to_have_no_unique_key_is_no_idempotency_key(pg: TraceAnalyser) -> None:
    pg.add_tables(sql_script.table_decls("schema.sql", "CREATE TABLE audit (id serial PRIMARY KEY, note text);", "postgres"))
    pg.begin("c")
    pg.execute("c", "INSERT INTO audit (note) VALUES (%s)", ("x",), site=at(9))
    pg.execute("c", "UPDATE accounts SET balance = balance - %s WHERE id = %s AND balance >= %s", (10, 1, 10), rowcount=1, site=at(10))
    assert codes(pg.commit("c", site=at(11))) == ["TX105"]


def test_compare_with_the_old_value_is_tx107(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 10, {"id": 1, "balance": 100})
    found = pg.execute("c", "UPDATE accounts SET balance = %s WHERE id = %s AND balance = %s", (90, 1, 100), rowcount=1, site=at(11))
    assert codes(found) == ["TX107"]
    assert pg.execute("c", "UPDATE accounts SET balance = %s, version = %s WHERE id = %s AND balance = %s AND version = %s", (80, 2, 1, 90, 1), rowcount=1, site=at(12)) == []


@pytest.mark.parametrize(
    ("rowcount", "then", "end", "expected"),
    [
        (0, "INSERT INTO shipments (order_id) VALUES (%s)", "commit", ["TX108"]),
        (1, "INSERT INTO shipments (order_id) VALUES (%s)", "commit", []),
        (0, None, "commit", []),
        (0, "INSERT INTO shipments (order_id) VALUES (%s)", "rollback", []),
    ],
)
def test_cas_that_matched_no_row_then_write_and_commit_is_tx108(pg: TraceAnalyser, rowcount: int, then: str | None, end: str, expected: list) -> None:
    pg.begin("c")
    pg.execute("c", "UPDATE orders SET status = %s WHERE id = %s AND status = %s", ("paid", 5, "pending"), rowcount=rowcount, site=at(10))
    if then:
        pg.execute("c", then, (5,), site=at(11))
    if end == "commit":
        found = pg.commit("c", site=at(12))
    else:
        pg.rollback("c")
        found = []
    assert codes(found) == expected
    if expected:
        assert found[0].line == 10
        assert [(r.line, r.message.split(":")[0]) for r in found[0].related][1:] == [(11, "the transaction went on to write here"), (12, "and committed here")]


def test_lock_in_autocommit_is_tx109_and_a_later_write_back_tx101_too(pg: TraceAnalyser) -> None:
    found = pg.execute("c", SELECT_LOCKED, (1,), site=at(10))
    assert (codes(found), found[0].line) == (["TX109"], 10)
    pg.record_row(pg.last_read("c"), {"id": 1, "balance": 100})
    assert codes(pg.execute("c", SET_BALANCE, (90, 1), site=at(11))) == ["TX101"]


def test_lock_the_dialect_dropped_from_the_sql_counts() -> None:
    analyser = TraceAnalyser("sqlite", sites=lambda: at(999))
    assert codes(analyser.execute("c", "SELECT id, balance FROM accounts WHERE id = ?", (1,), lock="exclusive", site=at(10))) == ["TX109"]
    analyser.begin("c")
    analyser.execute("c", "SELECT id, balance FROM accounts WHERE id = ?", (1,), lock="exclusive", site=at(11))
    analyser.record_row(analyser.last_read("c"), {"id": 1, "balance": 100})
    assert analyser.execute("c", "UPDATE accounts SET balance = ? WHERE id = ?", (90, 1), site=at(12)) == []


def test_driver_reported_transaction_state_wins() -> None:
    analyser = TraceAnalyser("sqlite", sites=lambda: at(999))
    analyser.execute("c", "SELECT id FROM accounts WHERE id = ? FOR UPDATE", (1,), in_transaction=True, site=at(10))
    assert codes(analyser.execute("c", "SELECT id FROM accounts WHERE id = ? FOR UPDATE", (1,), in_transaction=False, site=at(11))) == ["TX109"]


# -- TX104 ------------------------------------------------------------------------------------------


def test_connection_released_with_uncommitted_writes_is_tx104(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 9)
    pg.execute("c", "UPDATE accounts SET name = %s WHERE id = %s", ("x", 1), site=at(10))
    pg.execute("c", "DELETE FROM sessions WHERE id = %s", (2,), site=at(11))
    [finding] = pg.released("c", site=at(12))
    assert (finding.code, finding.line) == ("TX104", 12)
    assert finding.related[0].line == 10 and "2 in all" in finding.related[0].message
    assert not pg.knows("c")


def test_rollback_caused_by_a_close_is_tx104_an_explicit_one_is_not(pg: TraceAnalyser) -> None:
    for discarded, expected in [(True, ["TX104"]), (False, [])]:
        pg.begin("c")
        pg.execute("c", "UPDATE accounts SET name = %s WHERE id = %s", ("x", 1), site=at(10))
        pg.rollback("c")
        assert codes(pg.released("c", discarded=discarded, site=at(11))) == expected


def test_read_only_transaction_closed_without_commit_is_fine(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 10)
    assert pg.released("c", site=at(11)) == []
    pg.begin("c")
    read(pg, 12)
    pg.rollback("c")
    assert pg.released("c", discarded=True, site=at(13)) == []


def test_session_closed_without_commit_after_the_pool_took_the_connection_back(pg: TraceAnalyser) -> None:
    pg.begin("c")
    pg.execute("c", "UPDATE accounts SET name = %s WHERE id = %s", ("x", 1), site=at(10))
    pg.rollback("c")  # the session's close rolls back...
    assert pg.released("c", site=at(11)) == []  # ...and returns the connection: nothing wrong yet
    assert codes(pg.session_closed("c", site=at(11))) == ["TX104"]  # the session had not ended it
    assert pg.session_closed("c", site=at(11)) == []  # reported once


def test_committed_transaction_then_release_is_fine(pg: TraceAnalyser) -> None:
    pg.begin("c")
    pg.execute("c", "UPDATE accounts SET name = %s WHERE id = %s", ("x", 1), site=at(10))
    pg.commit("c")
    assert pg.released("c", discarded=True, site=at(11)) == []


# -- selection, bounds, robustness, privacy ---------------------------------------------------------


def test_enabled_codes_limit_what_is_judged() -> None:
    analyser = TraceAnalyser("postgres", enabled=["TX106"], sites=lambda: at(999))
    analyser.begin("c")
    read(analyser, 9, {"id": 1, "balance": 100})
    assert analyser.execute("c", SET_BALANCE, (90, 1), site=at(10)) == []
    assert codes(analyser.execute("c", "UPDATE accounts SET balance = balance - %s WHERE id = %s", (1, 1), site=at(11))) == ["TX106"]
    assert analyser.released("c", site=at(12)) == []


def test_bound_values_never_appear_in_findings(pg: TraceAnalyser) -> None:
    pg.begin("c")
    read(pg, 9, {"id": "tok-SECRET", "balance": 123456}, key="tok-SECRET")
    found = pg.execute("c", SET_BALANCE, (987654, "tok-SECRET"), site=at(10))
    found += pg.execute("c", "UPDATE accounts SET balance = balance - %s WHERE id = %s", (555777, "tok-SECRET"), site=at(11))
    found += pg.released("c", site=at(12))
    assert codes(found) == ["TX101", "TX104", "TX106"]
    text = repr(found)
    for value in ("SECRET", "123456", "987654", "555777"):
        assert value not in text


def test_money_columns_come_from_the_config() -> None:
    analyser = TraceAnalyser("postgres", Config(money_columns=("karma",)), sites=lambda: at(999))
    analyser.begin("c")
    read(analyser, 9, sql="SELECT karma, balance FROM users WHERE id = %s")
    assert codes(analyser.execute("c", "UPDATE users SET karma = %s WHERE id = %s", (3, 1), site=at(10))) == ["TX101"]
    assert analyser.execute("c", "UPDATE users SET balance = %s WHERE id = %s", (3, 1), site=at(11)) == []


@pytest.mark.parametrize("sql", ["CREATE TABLE x (id int)", "SELEKT broken FROM", "UPDATE accounts SET balance = 'unterminated", "", "PRAGMA foreign_keys=ON"])
def test_statements_that_do_not_parse_or_do_not_matter_are_skipped(pg: TraceAnalyser, sql: str) -> None:
    pg.begin("c")
    assert pg.execute("c", sql, None, site=at(10)) == []


def test_state_is_bounded(pg: TraceAnalyser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace.analyser, "MAX_CONNECTIONS", 5)
    for n in range(20):
        pg.execute(f"conn{n}", SELECT, (n,), site=at(10))
    assert pg.connections() == 5
    pg.begin("c")
    for n in range(trace.WINDOW + 50):
        pg.execute("c", SELECT, (n,), site=at(10))
    assert len(pg._states["c"].window) == trace.WINDOW


def test_connections_are_independent(pg: TraceAnalyser) -> None:
    pg.begin("a")
    pg.begin("b")
    read(pg, 10, {"id": 1, "balance": 100}, conn="a")
    assert pg.execute("b", SET_BALANCE, (90, 1), site=at(11)) == []
    assert codes(pg.execute("a", SET_BALANCE, (90, 1), site=at(12))) == ["TX101"]
