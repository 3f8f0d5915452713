"""The SQL adapter's facts: what front-ends learn from a statement, per dialect.

Tests assert facts (`Statement`, `Predicate`, `TableSchema` fields), never
sqlglot's tree shapes, so they survive sqlglot upgrades.
"""

from __future__ import annotations

import random

import pytest

from txlint import sql as sql_adapter
from txlint.sql import check_script, parse_script, parse_statements, table_schemas
from txlint.sql.facts import Change, Operand, Predicate, SqlError, Statement, TableSchema
from txlint.sql.tokens import INTERNAL_ERROR

DIALECTS = ("postgres", "mysql", "sqlite")
# The positional placeholder style of each dialect's usual driver (psycopg, pymysql/mysqlclient, sqlite3).
POSITIONAL = {"postgres": "%s", "mysql": "%s", "sqlite": "?"}


def one(sql: str, dialect: str) -> Statement:
    result = parse_statements(sql, dialect)
    assert not isinstance(result, SqlError), result
    (statement,) = result
    return statement


def ph(sql: str, dialect: str) -> str:
    """Write `{p}` for the dialect's positional placeholder."""
    return sql.replace("{p}", POSITIONAL[dialect])


def placeholder(key: int | str) -> Operand:
    return Operand("placeholder", placeholder=key, placeholders=(key,))


def literal(value: float | str | bool) -> Operand:
    return Operand("literal", literal=value)


# --------------------------------------------------------------------------- row locks


LOCKS = [
    # (dialects, sql, lock, lock_tables, lock_wait)
    (DIALECTS, "SELECT balance FROM accounts WHERE id = {p} FOR UPDATE", "exclusive", ("accounts",), None),
    (("postgres",), "SELECT balance FROM accounts WHERE id = {p} FOR NO KEY UPDATE", "exclusive", ("accounts",), None),
    (("postgres", "mysql"), "SELECT balance FROM accounts WHERE id = {p} FOR SHARE", "share", ("accounts",), None),
    (("postgres",), "SELECT balance FROM accounts WHERE id = {p} FOR KEY SHARE", "share", ("accounts",), None),
    (("mysql",), "SELECT balance FROM accounts WHERE id = {p} LOCK IN SHARE MODE", "share", ("accounts",), None),
    (
        ("postgres", "mysql"),
        "SELECT id FROM jobs WHERE status = 'queued' LIMIT 1 FOR UPDATE SKIP LOCKED",
        "exclusive",
        ("jobs",),
        "skip locked",
    ),
    (("postgres", "mysql"), "SELECT balance FROM accounts WHERE id = {p} FOR UPDATE NOWAIT", "exclusive", ("accounts",), "nowait"),
    (
        ("postgres", "mysql"),
        "SELECT a.balance FROM accounts a JOIN users u ON u.id = a.user_id WHERE a.id = {p} FOR UPDATE OF a",
        "exclusive",
        ("accounts",),
        None,
    ),
    (
        ("postgres",),
        "SELECT a.balance FROM accounts a JOIN users u ON u.id = a.user_id WHERE a.id = {p} FOR SHARE OF u NOWAIT",
        "share",
        ("users",),
        "nowait",
    ),
    (
        ("postgres", "mysql"),
        "SELECT a.balance FROM accounts a JOIN users u ON u.id = a.user_id WHERE a.id = {p} FOR UPDATE",
        "exclusive",
        ("accounts", "users"),
        None,
    ),
    (DIALECTS, "SELECT balance FROM accounts WHERE id = {p}", None, (), None),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "lock", "lock_tables", "lock_wait"),
    [(d, sql, lock, tables, wait) for dialects, sql, lock, tables, wait in LOCKS for d in dialects],
)
def test_row_lock_clauses(dialect: str, sql: str, lock: str | None, lock_tables: tuple[str, ...], lock_wait: str | None) -> None:
    statement = one(ph(sql, dialect), dialect)
    assert statement.kind == "select"
    assert (statement.lock, statement.lock_tables, statement.lock_wait) == (lock, lock_tables, lock_wait)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_lock_inside_a_subquery_does_not_lock_the_outer_read(dialect: str) -> None:
    sql = ph("SELECT balance FROM accounts WHERE id IN (SELECT account_id FROM holds WHERE id = {p} FOR UPDATE)", dialect)
    statement = one(sql, dialect)
    assert statement.lock is None and statement.lock_tables == ()
    assert statement.table == "accounts" and statement.tables == ("accounts", "holds")


def test_a_lock_inside_a_cte_does_not_lock_the_outer_read() -> None:
    statement = one("WITH h AS (SELECT id FROM holds FOR UPDATE) SELECT * FROM h JOIN accounts a ON a.id = h.id", "postgres")
    assert statement.lock is None
    assert statement.tables == ("holds", "accounts")  # the CTE name `h` is not a table


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_locking_subquery_in_an_update_leaves_the_update_unlocked(dialect: str) -> None:
    sql = "UPDATE jobs SET status = 'running' WHERE id = (SELECT id FROM jobs WHERE status = 'queued' LIMIT 1 FOR UPDATE)"
    statement = one(sql, dialect)
    assert statement.kind == "update" and statement.lock is None


# --------------------------------------------------------------------------- UPDATE: deltas, guards, placeholders


@pytest.mark.parametrize("dialect", DIALECTS)
def test_guarded_decrement(dialect: str) -> None:
    sql = ph("UPDATE accounts SET balance = balance - {p} WHERE id = {p} AND balance >= {p}", dialect)
    statement = one(sql, dialect)
    assert statement.kind == "update" and statement.table == "accounts"
    (assignment,) = statement.sets
    assert assignment.column == "balance"
    assert assignment.change == Change("balance", "-", placeholder(0))
    assert assignment.operand.placeholders == (0,) and assignment.operand.columns == ("balance",)
    assert statement.predicates == (Predicate("id", "=", placeholder(1)), Predicate("balance", ">=", placeholder(2)))
    assert not statement.where_opaque
    assert statement.placeholders == (0, 1, 2)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_value_cas_write(dialect: str) -> None:
    statement = one(ph("UPDATE accounts SET balance = {p} WHERE id = {p} AND balance = {p}", dialect), dialect)
    (assignment,) = statement.sets
    assert assignment.operand == placeholder(0) and assignment.change is None
    assert statement.predicates == (Predicate("id", "=", placeholder(1)), Predicate("balance", "=", placeholder(2)))


@pytest.mark.parametrize(("dialect", "named"), [("postgres", "%(v)s"), ("mysql", "%(v)s"), ("sqlite", ":v")])
def test_version_increment_with_named_placeholder(dialect: str, named: str) -> None:
    statement = one(f"UPDATE orders SET version = version + 1, status = 'paid' WHERE version = {named}", dialect)
    version, status = statement.sets
    assert version.change == Change("version", "+", literal(1.0))
    assert status == statement.sets[1] and status.operand == literal("paid") and status.change is None
    assert statement.predicates == (Predicate("version", "=", placeholder("v")),)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_increment_written_amount_first(dialect: str) -> None:
    (assignment,) = one(ph("UPDATE stock SET qty = {p} + qty WHERE sku = {p}", dialect), dialect).sets
    assert assignment.change == Change("qty", "+", placeholder(0))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_subtracting_the_column_from_something_is_not_a_delta(dialect: str) -> None:
    (assignment,) = one(ph("UPDATE t SET n = {p} - n WHERE id = 1", dialect), dialect).sets
    assert assignment.change is None


def test_coalesce_of_the_column_is_still_a_delta() -> None:
    (assignment,) = one("UPDATE t SET n = COALESCE(n, 0) - %s WHERE id = 1", "postgres").sets
    assert assignment.change == Change("n", "-", placeholder(0))


def test_a_delta_on_another_column_is_not_a_delta() -> None:
    (assignment,) = one("UPDATE t SET a = b - 1 WHERE id = 1", "postgres").sets
    assert assignment.change is None and assignment.operand.columns == ("b",)


@pytest.mark.parametrize(
    ("condition", "guards", "opaque"),
    [
        ("%s <= balance", (Predicate("balance", ">=", placeholder(0)),), False),
        ("5 > qty", (Predicate("qty", "<", literal(5.0)),), False),
        ("status <> 'done'", (Predicate("status", "!=", literal("done")),), False),
        ("deleted_at IS NULL", (Predicate("deleted_at", "is null", Operand("null")),), False),
        ("deleted_at IS NOT NULL", (Predicate("deleted_at", "is not null", Operand("null")),), False),
        ("id IN (%s)", (Predicate("id", "in", placeholder(0)),), False),
        ("id IN %s", (Predicate("id", "in", placeholder(0)),), False),
        ("id IN (%s, %s)", (Predicate("id", "in", Operand("expression", placeholders=(0, 1))),), False),
        ("n BETWEEN 1 AND %s", (Predicate("n", ">=", literal(1.0)), Predicate("n", "<=", placeholder(0))), False),
        ("is_active", (Predicate("is_active", "=", literal(True)),), False),
        ("NOT is_locked", (Predicate("is_locked", "=", literal(False)),), False),
        ("paid = true", (Predicate("paid", "=", literal(True)),), False),
        ("delta >= -3", (Predicate("delta", ">=", literal(-3.0)),), False),
        ("(id = %s) AND (qty > 0)", (Predicate("id", "=", placeholder(0)), Predicate("qty", ">", literal(0.0))), False),
        ("id = %s AND (a = 1 OR b = 2)", (Predicate("id", "=", placeholder(0)),), True),
        ("lower(email) = %s", (), True),
        ("id NOT IN (1, 2)", (), True),
        ("name LIKE 'a%%'", (), True),
    ],
)
def test_where_conjuncts(condition: str, guards: tuple[Predicate, ...], opaque: bool) -> None:
    statement = one(f"SELECT * FROM t WHERE {condition}", "postgres")
    assert statement.predicates == guards
    assert statement.where_opaque is opaque


def test_no_where_means_no_guards_and_nothing_opaque() -> None:
    statement = one("UPDATE t SET n = n - 1", "postgres")
    assert statement.predicates == () and not statement.where_opaque


def test_guard_remembers_the_qualifying_table_through_aliases() -> None:
    sql = "UPDATE accounts a SET balance = a.balance - 1 FROM users u WHERE a.user_id = u.id AND u.status = 'ok'"
    statement = one(sql, "postgres")
    assert statement.table == "accounts" and statement.tables == ("accounts", "users")
    user_id, status = statement.predicates
    assert (user_id.column, user_id.table, user_id.operand.kind, user_id.operand.column) == ("user_id", "accounts", "column", "id")
    assert (status.column, status.table) == ("status", "users")
    assert statement.sets[0].change == Change("balance", "-", literal(1.0))


@pytest.mark.parametrize(
    ("dialect", "sql", "keys"),
    [
        ("postgres", "UPDATE t SET a = $2 WHERE id = $1", (1, 0)),
        ("postgres", "UPDATE t SET a = %(a)s WHERE id = %(id)s", ("a", "id")),
        ("mysql", "UPDATE t SET a = %(a)s WHERE id = %(id)s", ("a", "id")),
        ("sqlite", "UPDATE t SET a = :a WHERE id = :id", ("a", "id")),
        ("sqlite", "UPDATE t SET a = ?2 WHERE id = ?1", (1, 0)),
        ("sqlite", "UPDATE t SET a = $a WHERE id = @id", ("a", "id")),
        ("mysql", "UPDATE t SET a = ? WHERE id = ?", (0, 1)),
        ("postgres", "UPDATE t SET a = :a WHERE id = :id", ("a", "id")),
        ("postgres", "UPDATE t SET a = %s::numeric WHERE id = CAST(%s AS int)", (0, 1)),
    ],
)
def test_placeholder_styles(dialect: str, sql: str, keys: tuple[int | str, ...]) -> None:
    statement = one(sql, dialect)
    assert statement.placeholders == keys
    assert statement.sets[0].operand == placeholder(keys[0])
    assert statement.predicates == (Predicate("id", "=", placeholder(keys[1])),)


def test_positional_numbering_runs_across_the_statements_of_one_string() -> None:
    result = parse_statements("UPDATE a SET n = n - %s WHERE id = %s; UPDATE b SET n = n + %s WHERE id = %s", "mysql")
    assert not isinstance(result, SqlError)
    assert [s.placeholders for s in result] == [(0, 1), (2, 3)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_placeholder_lookalikes_in_strings_and_comments_are_not_placeholders(dialect: str) -> None:
    sql = ph("SELECT '%s', 'it''s ?', a FROM t -- %s ?\n WHERE b = {p} /* ? %(x)s */ AND c = {p}", dialect)
    statement = one(sql, dialect)
    assert statement.placeholders == (0, 1)
    assert statement.predicates == (Predicate("b", "=", placeholder(0)), Predicate("c", "=", placeholder(1)))
    assert statement.columns == ("a",)


def test_postgres_jsonb_question_mark_is_an_operator_not_a_placeholder() -> None:
    statement = one("SELECT data FROM t WHERE data ? 'key' AND id = %s", "postgres")
    assert statement.placeholders == (0,)
    assert statement.predicates == (Predicate("id", "=", placeholder(0)),) and statement.where_opaque


@pytest.mark.parametrize("dialect", ("mysql", "sqlite"))
def test_doubled_percent_is_a_literal_percent(dialect: str) -> None:
    statement = one("SELECT a %% 2 FROM t WHERE id = %s", dialect)
    assert statement.placeholders == (0,) and statement.columns == ("a",)


# --------------------------------------------------------------------------- SELECT facts


@pytest.mark.parametrize("dialect", DIALECTS)
def test_select_columns_table_and_tables(dialect: str) -> None:
    statement = one(ph("SELECT a.balance, a.currency AS cur, u.* FROM accounts a JOIN users u ON u.id = a.user_id WHERE a.id = {p}", dialect), dialect)
    assert statement.table == "accounts" and statement.tables == ("accounts", "users")
    assert statement.columns == ("balance", "currency", "*")
    assert statement.predicates == (Predicate("id", "=", placeholder(0), table="accounts"),)
    assert not statement.aggregate


@pytest.mark.parametrize("dialect", DIALECTS)
def test_count_is_an_aggregate(dialect: str) -> None:
    statement = one(ph("SELECT count(*) FROM orders WHERE user_id = {p} AND status = 'open'", dialect), dialect)
    assert statement.aggregate and statement.table == "orders" and statement.columns == ()
    assert [g.column for g in statement.predicates] == ["user_id", "status"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_sum_is_an_aggregate_that_reads_its_column(dialect: str) -> None:
    statement = one("SELECT sum(amount) FROM payments", dialect)
    assert statement.aggregate and statement.columns == ("amount",)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_select_exists_reports_the_checked_table_and_key(dialect: str) -> None:
    statement = one(ph("SELECT EXISTS (SELECT 1 FROM refunds WHERE order_id = {p})", dialect), dialect)
    assert statement.aggregate and statement.table == "refunds"
    assert statement.predicates == (Predicate("order_id", "=", placeholder(0)),)


@pytest.mark.parametrize(
    ("dialect", "sql", "keys"),
    [
        ("postgres", "SELECT pg_advisory_xact_lock(%s)", (placeholder(0),)),
        ("postgres", "SELECT pg_advisory_lock(42)", (literal(42.0),)),
        ("postgres", "SELECT pg_try_advisory_xact_lock(hashtext(%s))", (Operand("expression", placeholders=(0,)),)),
        ("mysql", "SELECT GET_LOCK(%s, 10)", (placeholder(0), literal(10.0))),
    ],
)
def test_advisory_locks(dialect: str, sql: str, keys: tuple[Operand, ...]) -> None:
    statement = one(sql, dialect)
    assert statement.kind == "select" and statement.advisory_lock
    assert statement.advisory_keys == keys
    assert statement.lock is None and statement.table is None


def test_an_ordinary_function_is_not_an_advisory_lock() -> None:
    assert not one("SELECT now()", "postgres").advisory_lock


# --------------------------------------------------------------------------- INSERT


@pytest.mark.parametrize("dialect", ("postgres", "sqlite"))
def test_insert_on_conflict_do_nothing(dialect: str) -> None:
    statement = one(ph("INSERT INTO payments (request_id, amount) VALUES ({p}, {p}) ON CONFLICT (request_id) DO NOTHING", dialect), dialect)
    assert statement.kind == "insert" and statement.table == "payments"
    assert statement.columns == ("request_id", "amount")
    assert statement.on_conflict_nothing and not statement.upsert
    assert statement.conflict_columns == ("request_id",)
    assert [(a.column, a.operand) for a in statement.sets] == [("request_id", placeholder(0)), ("amount", placeholder(1))]


@pytest.mark.parametrize("dialect", ("postgres", "sqlite"))
def test_insert_on_conflict_do_update_is_an_upsert(dialect: str) -> None:
    sql = "INSERT INTO counters (k, n) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET n = counters.n + excluded.n RETURNING n"
    statement = one(sql, dialect)
    assert statement.upsert and not statement.on_conflict_nothing and statement.returning
    (update,) = statement.conflict_sets
    assert update.change is not None and update.change.sign == "+" and update.change.amount.column == "n"


def test_excluded_column_is_not_the_stored_value() -> None:
    (update,) = one("INSERT INTO t (k, n) VALUES (%s, 1) ON CONFLICT (k) DO UPDATE SET n = excluded.n - 1", "postgres").conflict_sets
    assert update.change is None


def test_insert_ignore() -> None:
    statement = one("INSERT IGNORE INTO payments (request_id) VALUES (%s)", "mysql")
    assert statement.on_conflict_nothing and not statement.upsert and statement.table == "payments"


def test_insert_or_ignore() -> None:
    statement = one("INSERT OR IGNORE INTO payments (request_id) VALUES (?)", "sqlite")
    assert statement.on_conflict_nothing and not statement.upsert


def test_on_duplicate_key_update() -> None:
    statement = one("INSERT INTO stock (sku, qty) VALUES (%s, %s) ON DUPLICATE KEY UPDATE qty = qty - %s", "mysql")
    assert statement.upsert and not statement.on_conflict_nothing
    assert statement.conflict_sets[0].change == Change("qty", "-", placeholder(2))


@pytest.mark.parametrize("dialect", ("mysql", "sqlite"))
def test_replace_into_is_an_upsert(dialect: str) -> None:
    statement = one(ph("REPLACE INTO sessions (id, data) VALUES ({p}, {p})", dialect), dialect)
    assert statement.kind == "insert" and statement.upsert and statement.table == "sessions"
    assert statement.placeholders == (0, 1)


def test_plain_insert_and_multi_row_insert() -> None:
    statement = one("INSERT INTO log (a, b) VALUES (%s, 1), (%s, 2)", "postgres")
    assert not statement.on_conflict_nothing and not statement.upsert
    assert statement.sets == ()  # several rows: no single value per column
    assert statement.placeholders == (0, 1)


def test_insert_select() -> None:
    statement = one("INSERT INTO archive (id) SELECT id FROM orders WHERE created < %s", "postgres")
    assert statement.table == "archive" and statement.tables == ("archive", "orders")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_delete(dialect: str) -> None:
    statement = one(ph("DELETE FROM holds WHERE id = {p}", dialect), dialect)
    assert statement.kind == "delete" and statement.table == "holds"
    assert statement.predicates == (Predicate("id", "=", placeholder(0)),)


def test_delete_returning() -> None:
    assert one("DELETE FROM jobs WHERE id = $1 RETURNING *", "postgres").returning


# --------------------------------------------------------------------------- transaction control


TRANSACTION_CONTROL = [
    (DIALECTS, "BEGIN", "begin"),
    (("postgres", "mysql"), "START TRANSACTION", "begin"),
    (("postgres", "sqlite"), "BEGIN TRANSACTION", "begin"),
    (("postgres", "mysql"), "BEGIN WORK", "begin"),
    (DIALECTS, "COMMIT", "commit"),
    (("postgres", "mysql"), "COMMIT WORK", "commit"),
    (("postgres", "sqlite"), "END", "commit"),
    (DIALECTS, "ROLLBACK", "rollback"),
    (("postgres",), "ABORT", "rollback"),
    (DIALECTS, "SAVEPOINT sp1", "savepoint"),
    (DIALECTS, "RELEASE SAVEPOINT sp1", "savepoint"),
    (DIALECTS, "ROLLBACK TO SAVEPOINT sp1", "savepoint"),
    (DIALECTS, "SET x = 1", "set"),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "kind"), [(d, sql, kind) for dialects, sql, kind in TRANSACTION_CONTROL for d in dialects]
)
def test_transaction_control(dialect: str, sql: str, kind: str) -> None:
    statement = one(sql, dialect)
    assert statement.kind == kind and statement.table is None and statement.tables == ()


@pytest.mark.parametrize(
    ("sql", "action"),
    [("SAVEPOINT sp1", "create"), ("RELEASE SAVEPOINT sp1", "release"), ("RELEASE sp1", "release"), ("ROLLBACK TO sp1", "rollback_to")],
)
def test_savepoint_actions(sql: str, action: str) -> None:
    statement = one(sql, "postgres")
    assert (statement.savepoint, statement.savepoint_action) == ("sp1", action)


@pytest.mark.parametrize(
    ("dialect", "sql", "isolation"),
    [
        ("postgres", "BEGIN ISOLATION LEVEL SERIALIZABLE", "serializable"),
        ("postgres", "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE", "repeatable read"),
        ("postgres", "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "read committed"),
        ("mysql", "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE", "serializable"),
        ("mysql", "SET SESSION transaction_isolation = 'REPEATABLE-READ'", "repeatable read"),
        ("postgres", "SET default_transaction_isolation = 'serializable'", "serializable"),
        ("postgres", "BEGIN", None),
    ],
)
def test_isolation_level(dialect: str, sql: str, isolation: str | None) -> None:
    assert one(sql, dialect).isolation == isolation


@pytest.mark.parametrize(("sql", "autocommit"), [("SET autocommit = 0", False), ("SET autocommit=1", True), ("SET @@autocommit = ON", True)])
def test_mysql_autocommit(sql: str, autocommit: bool) -> None:
    statement = one(sql, "mysql")
    assert statement.kind == "set" and statement.autocommit is autocommit


@pytest.mark.parametrize(("sql", "lock"), [("BEGIN IMMEDIATE", "exclusive"), ("BEGIN EXCLUSIVE", "exclusive"), ("BEGIN DEFERRED", None)])
def test_sqlite_begin_immediate_takes_the_write_lock(sql: str, lock: str | None) -> None:
    statement = one(sql, "sqlite")
    assert statement.kind == "begin" and statement.lock == lock


@pytest.mark.parametrize(
    ("dialect", "sql", "lock", "tables", "wait"),
    [
        ("postgres", "LOCK TABLE accounts", "exclusive", ("accounts",), None),
        ("postgres", "LOCK accounts, ledger IN SHARE ROW EXCLUSIVE MODE NOWAIT", "exclusive", ("accounts", "ledger"), "nowait"),
        ("postgres", "LOCK TABLE ONLY public.accounts IN SHARE MODE", "share", ("accounts",), None),
        ("postgres", "LOCK TABLE accounts IN ROW EXCLUSIVE MODE", None, ("accounts",), None),
        ("mysql", "LOCK TABLES accounts WRITE, ledger AS l READ", "exclusive", ("accounts", "ledger"), None),
        ("mysql", "LOCK TABLES accounts READ", "share", ("accounts",), None),
    ],
)
def test_lock_table(dialect: str, sql: str, lock: str | None, tables: tuple[str, ...], wait: str | None) -> None:
    statement = one(sql, dialect)
    assert statement.kind == "lock_table" and statement.tables == tables and statement.table == tables[0]
    assert (statement.lock, statement.lock_wait) == (lock, wait)
    assert statement.lock_tables == (tables if lock else ())
    assert statement.text == sql


def test_unlock_tables_and_other_commands_are_other() -> None:
    assert one("UNLOCK TABLES", "mysql").kind == "other"
    call = one("CALL transfer(%s, %s)", "mysql")
    assert call.kind == "other" and call.placeholders == (0, 1)


# --------------------------------------------------------------------------- scripts, lines, text


SCRIPT = """\
-- txlint: dialect=postgres
BEGIN;

/* read the balance */
SELECT balance
  FROM accounts
 WHERE id = 1;   -- trailing comment

UPDATE accounts SET balance = balance - 10 WHERE id = 1;
;
COMMIT;
"""


@pytest.mark.parametrize("dialect", DIALECTS)
def test_script_statement_lines_and_text(dialect: str) -> None:
    result = parse_statements(SCRIPT, dialect)
    assert not isinstance(result, SqlError), result
    assert [(s.kind, s.line, s.end_line) for s in result] == [
        ("begin", 2, 2),
        ("select", 5, 7),
        ("update", 9, 9),
        ("commit", 11, 11),
    ]
    assert result[1].text == "SELECT balance FROM accounts WHERE id = 1"


def test_text_keeps_string_literals_and_placeholders_as_written() -> None:
    statement = one("UPDATE  t\n\tSET note = 'two  spaces -- not a comment'   /* c */ WHERE id = %(id)s", "postgres")
    assert statement.text == "UPDATE t SET note = 'two  spaces -- not a comment' WHERE id = %(id)s"


def test_lines_count_within_multi_line_strings() -> None:
    result = parse_statements("SELECT 'a\nb\nc';\nSELECT 2", "postgres")
    assert not isinstance(result, SqlError)
    assert [(s.line, s.end_line) for s in result] == [(1, 3), (4, 4)]


def test_parse_script_keeps_going_after_a_bad_statement() -> None:
    results = parse_script("BEGIN;\nUPDATE accounts SET balance = WHERE id = 1;\nCOMMIT;", "postgres")
    begin, error, commit = results
    assert isinstance(begin, Statement) and begin.kind == "begin"
    assert isinstance(error, SqlError) and error.line == 2
    assert isinstance(commit, Statement) and commit.kind == "commit" and commit.line == 3


def test_results_are_cached_per_text_and_dialect() -> None:
    text = "SELECT balance FROM accounts WHERE id = %s -- cached"
    assert parse_script(text, "postgres") is parse_script(text, "postgres")
    assert parse_script(text, "mysql") is not parse_script(text, "postgres")


def test_empty_text_has_no_statements() -> None:
    assert parse_statements("", "postgres") == ()
    assert parse_statements("  -- only a comment\n;;", "postgres") == ()


# --------------------------------------------------------------------------- errors never raise


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unterminated_string_is_an_error_at_the_quote(dialect: str) -> None:
    error = parse_statements("SELECT 1;\nSELECT 'abc FROM t", dialect)
    assert isinstance(error, SqlError)
    assert (error.line, error.column) == (2, 8)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unterminated_comment_is_an_error(dialect: str) -> None:
    assert isinstance(parse_statements("SELECT 1 /* never closed", dialect), SqlError)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql", ["SELECT FROM WHERE", "UPDATE t SET x =", "SELECT (1", "INSERT INTO t VALUES (", "SELECT 1 +"])
def test_invalid_sql_is_an_error(dialect: str, sql: str) -> None:
    result = parse_statements(sql, dialect)
    assert isinstance(result, SqlError) and result.message and result.line == 1


def test_error_position_is_that_of_the_offending_token() -> None:
    error = parse_statements("SELECT a\nFROM t\nWHERE x = = 1", "postgres")
    assert isinstance(error, SqlError) and error.line == 3


def test_unknown_dialect_is_an_error() -> None:
    assert isinstance(parse_statements("SELECT 1", "no-such-dialect"), SqlError)
    assert table_schemas("CREATE TABLE t (id int PRIMARY KEY)", "no-such-dialect") == ()


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "text",
    [
        "SELECT " + "(" * 20_000 + "1" + ")" * 20_000,
        "SELECT " + "(" * 20_000,
        "SELECT * FROM t WHERE " + " AND ".join(f"c{i} = %s" for i in range(3000)),
        "\x00\x01\x02",
        "%(",
        "%(unclosed",
        "$",
        "?",
        ":",
        "'",
        '"',
        "`",
        "$$",
        "/*",
        "--",
        "é ü 中文",
    ],
    ids=lambda text: text[:12],
)
def test_odd_input_never_raises(dialect: str, text: str) -> None:
    result = parse_statements(text, dialect)
    assert isinstance(result, (tuple, SqlError))
    assert isinstance(table_schemas(text, dialect), tuple)


ONE_MEGABYTE_TEXTS = {
    "string-literal": "SELECT '" + "x" * 1_000_000 + "' FROM t WHERE id = %s",
    "unterminated": "SELECT '" + "x" * 1_000_000,
    "comment": "-- " + "x" * 1_000_000 + "\nSELECT 1",
    "garbage": "".join(random.Random(0).choice("()';\"`%s?:$1 ,.-*/=<>!#\n\x00é") for _ in range(1_000_000)),
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(ONE_MEGABYTE_TEXTS))
def test_one_megabyte_strings_return(dialect: str, name: str) -> None:
    text = ONE_MEGABYTE_TEXTS[name]
    assert len(text) >= 1_000_000
    assert isinstance(parse_statements(text, dialect), (tuple, SqlError))
    assert isinstance(table_schemas(text, dialect), tuple)


def test_one_megabyte_insert_parses() -> None:
    text = "INSERT INTO t (a, b) VALUES " + ",".join(["('" + "x" * 40 + "', %s)"] * 21_000)
    assert len(text) >= 1_000_000
    (statement,) = parse_statements(text, "postgres")  # type: ignore[misc]
    assert statement.kind == "insert" and len(statement.placeholders) == 21_000


FUZZ_SEEDS = [
    "SELECT a FROM t WHERE id = %s FOR UPDATE OF t SKIP LOCKED",
    "UPDATE accounts SET balance = balance - ? WHERE id = ? AND ? <= balance",
    "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = t.b + excluded.b RETURNING id",
    "REPLACE INTO t (a) VALUES (:x); LOCK TABLES a WRITE; LOCK TABLE t IN SHARE MODE",
    "BEGIN ISOLATION LEVEL SERIALIZABLE; SAVEPOINT s; ROLLBACK TO s; RELEASE s; SET autocommit = 0",
    "SELECT EXISTS(SELECT 1 FROM t WHERE k = %(k)s AND n BETWEEN 1 AND 2 AND x IS NOT NULL)",
    "CREATE TABLE t (id int PRIMARY KEY, b int CHECK (b >= 0), UNIQUE (b, id)); CREATE UNIQUE INDEX i ON t (lower(b))",
    "SELECT 'it''s %s', $$ ; $$, a[1:n], data ? 'k' FROM t -- %s\n WHERE a = ?",
]
FUZZ_PIECES = [*list("()';\"`%s?:$1 ,.-*/=<>!#\n"), "SELECT", "FOR UPDATE", "%(", ")s", "$$", "/*", "--", "LOCK", "BEGIN", "SET"]


@pytest.mark.parametrize("seed", range(8))
def test_mutated_sql_never_raises_nor_hits_an_internal_error(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(40):
        text = rnd.choice(FUZZ_SEEDS)
        for _ in range(rnd.randint(1, 4)):
            at = rnd.randint(0, len(text))
            text = text[:at] + rnd.choice(FUZZ_PIECES) + text[at:] if rnd.random() < 0.5 else text[:at] + text[at + rnd.randint(1, 6):]
        for dialect in DIALECTS:
            for result in parse_script(text, dialect):
                assert not (isinstance(result, SqlError) and result.message.startswith(INTERNAL_ERROR)), (text, result)
            table_schemas(text, dialect)


# --------------------------------------------------------------------------- DDL


@pytest.mark.parametrize("dialect", DIALECTS)
def test_create_table_constraints(dialect: str) -> None:
    ddl = """
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            email VARCHAR(200) NOT NULL UNIQUE,
            balance NUMERIC(12, 2) NOT NULL CHECK (balance >= 0),
            points INTEGER,
            tenant_id INTEGER,
            external_id VARCHAR(40),
            CONSTRAINT uq_tenant_ext UNIQUE (tenant_id, external_id),
            CHECK (points > 0)
        )
    """
    (schema,) = table_schemas(ddl, dialect)
    assert schema == TableSchema(
        "accounts",
        unique_columns=(("id",), ("email",), ("tenant_id", "external_id")),
        non_negative=("balance", "points"),
        columns=("id", "email", "balance", "points", "tenant_id", "external_id"),
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_composite_primary_key_and_unique_index(dialect: str) -> None:
    ddl = """
        CREATE TABLE room_actions (user_id INTEGER, appointment_id INTEGER, PRIMARY KEY (user_id, appointment_id));
        CREATE TABLE payments (id INTEGER, request_id VARCHAR(40));
        CREATE UNIQUE INDEX ux_payments_request ON payments (request_id);
        CREATE INDEX ix_payments_id ON payments (id);
    """
    schemas = {s.name: s for s in table_schemas(ddl, dialect)}
    assert schemas["room_actions"].unique_columns == (("user_id", "appointment_id"),)
    assert schemas["payments"].unique_columns == (("request_id",),)
    assert schemas["payments"].columns == ("id", "request_id")


@pytest.mark.parametrize("dialect", ("postgres", "mysql"))
def test_alter_table_add_constraint(dialect: str) -> None:
    ddl = """
        CREATE TABLE wallets (id INTEGER, user_id INTEGER, coupons INTEGER);
        ALTER TABLE wallets ADD CONSTRAINT uq_wallet_user UNIQUE (user_id);
        ALTER TABLE wallets ADD CONSTRAINT ck_coupons CHECK (0 <= coupons);
        ALTER TABLE wallets ADD PRIMARY KEY (id);
    """
    (schema,) = table_schemas(ddl, dialect)
    assert schema.unique_columns == (("user_id",), ("id",))
    assert schema.non_negative == ("coupons",)


def test_unique_expression_index_and_checks_that_are_not_lower_bounds() -> None:
    ddl = """
        CREATE TABLE users (email TEXT, a INT CHECK (a >= -1), b INT CHECK (b <= 100), c INT CHECK (c BETWEEN 0 AND 9));
        CREATE UNIQUE INDEX IF NOT EXISTS ux_email ON users (lower(email));
    """
    (schema,) = table_schemas(ddl, "postgres")
    assert schema.unique_columns == (("email",),)
    assert schema.non_negative == ("c",)


def test_mysql_unique_key_and_unsigned_columns() -> None:
    ddl = "CREATE TABLE stock (id INT AUTO_INCREMENT PRIMARY KEY, sku VARCHAR(20), qty INT UNSIGNED, UNIQUE KEY uk_sku (sku))"
    (schema,) = table_schemas(ddl, "mysql")
    assert schema.unique_columns == (("id",), ("sku",))
    assert schema.non_negative == ("qty",)


def test_ddl_skips_statements_that_do_not_parse() -> None:
    ddl = "CREATE TABLE a (id INT PRIMARY KEY); CREATE GIBBERISH ((; CREATE TABLE b (k TEXT UNIQUE)"
    assert [s.name for s in table_schemas(ddl, "postgres")] == ["a", "b"]


def test_ddl_with_a_tokenizer_error_is_empty() -> None:
    assert table_schemas("CREATE TABLE a (id INT PRIMARY KEY); SELECT 'oops", "postgres") == ()


def test_table_schemas_of_non_ddl_is_empty() -> None:
    assert table_schemas("SELECT 1; UPDATE t SET a = 1", "postgres") == ()


# --------------------------------------------------------------------------- the adapter boundary


def test_check_script_still_works() -> None:
    assert check_script("SELECT 1; SELECT 2", "postgres") is None
    error = check_script("SELECT 'abc", "postgres")
    assert isinstance(error, SqlError) and error is not None
    assert sql_adapter.SqlError is SqlError
    assert "postgres" in sql_adapter.dialect_names()


# -- scopes: a subquery or CTE has its own aliases ----------------------------------------------


def test_an_alias_reused_in_a_subquery_does_not_move_the_outer_lock_or_predicates() -> None:
    statement = one(
        "SELECT a.balance FROM accounts a WHERE a.id = %s AND a.owner IN (SELECT a.owner FROM audit a) FOR UPDATE OF a",
        "postgres",
    )
    assert statement.table == "accounts" and statement.lock == "exclusive"
    assert statement.lock_tables == ("accounts",)
    assert [(p.column, p.table) for p in statement.predicates] == [("id", "accounts"), ("owner", "accounts")]
    assert statement.tables == ("accounts", "audit")


def test_an_alias_defined_only_in_a_cte_is_not_the_outer_table() -> None:
    statement = one(
        "WITH recent AS (SELECT b.id FROM bookings b WHERE b.day > now()) "
        "UPDATE seats b SET held = true WHERE b.id IN (SELECT id FROM recent) AND b.held = false",
        "postgres",
    )
    assert statement.kind == "update" and statement.table == "seats"
    assert [(p.column, p.table) for p in statement.predicates][1] == ("held", "seats")


def test_predicates_of_a_joined_table_keep_their_own_table() -> None:
    statement = one("UPDATE accounts a SET balance = a.balance - 1 FROM audit b WHERE a.id = b.account AND b.kind = 'x'", "postgres")
    assert statement.table == "accounts"
    assert [(p.column, p.table) for p in statement.predicates] == [("id", "accounts"), ("kind", "audit")]


def test_lock_of_names_the_joined_table_by_its_alias() -> None:
    statement = one("SELECT * FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = 1 FOR UPDATE OF i", "postgres")
    assert statement.lock_tables == ("order_items",)


def test_exists_reads_the_inner_block_with_its_own_aliases() -> None:
    statement = one("SELECT EXISTS (SELECT 1 FROM coupons c WHERE c.code = %s AND c.used = false)", "postgres")
    assert statement.table == "coupons" and statement.aggregate
    assert [(p.column, p.table) for p in statement.predicates] == [("code", "coupons"), ("used", "coupons")]
