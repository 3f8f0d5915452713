"""`.sql` files as their client program runs them, stored routine bodies, and the dialect a file asks for.

The labelled cases (flagged shapes and near misses) are in `fixtures/sql_scripts/`; these tests pin
the pieces: what the client reads itself, where statements are cut, which routine facts a body
gives, and that the lines of findings after client commands stay right.
"""

from __future__ import annotations

import random

import pytest

from pipeline_support import check_text
from txlint.frontends.sql_script import dialect_of
from txlint.sql import parse_file
from txlint.sql.client import Directive, read_client_script
from txlint.sql.facts import SqlError, Statement
from txlint.sql.routine_facts import AssignStep, BranchStep, ExitStep, LoopStep, Routine, SqlStep, TransactionStep, VariableRef

PSQL_SCRIPT = """\\set ON_ERROR_STOP on
\\connect shop
\\echo it's a \\\\ test
SELECT 1 AS one \\gset
\\if :one
\\echo yes
\\else
\\echo no
\\endif
\\i other.sql
BEGIN;
SELECT stock FROM items WHERE id = :'item';
UPDATE items SET stock = 4 WHERE id = :'item';
COMMIT;
"""


def statements(text: str, dialect: str = "postgres") -> list[Statement]:
    items = parse_file(text, dialect).items
    assert not [i for i in items if isinstance(i, SqlError)], items
    return [i for i in items if isinstance(i, Statement)]


def routine(text: str, dialect: str = "postgres") -> Routine:
    found = [s.routine for s in statements(text, dialect) if s.routine is not None]
    assert len(found) == 1, found
    return found[0]


# ---- what the client reads itself


def test_meta_commands_are_blanked_in_place() -> None:
    script = read_client_script(PSQL_SCRIPT, "postgres")
    assert len(script.text) == len(PSQL_SCRIPT)
    assert script.text.splitlines()[0].strip() == ""
    assert [len(line) for line in script.text.splitlines()] == [len(line) for line in PSQL_SCRIPT.splitlines()]
    assert script.text.splitlines()[3] == "SELECT 1 AS one ;    "  # `\gset` sends the statement: a `;` in its place
    assert script.directives == (
        Directive("connect", 2),
        Directive("if", 5),
        Directive("branch", 7),
        Directive("endif", 9),
        Directive("include", 10),
    )


def test_statements_after_meta_commands_keep_their_lines() -> None:
    found = statements(PSQL_SCRIPT)
    assert [(s.kind, s.line) for s in found] == [("select", 4), ("begin", 11), ("select", 12), ("update", 13), ("commit", 14)]


def test_a_parse_error_after_meta_commands_is_reported_on_its_own_line() -> None:
    items = parse_file("\\set x 1\n\\echo hi\nSELEC 1;\nSELECT 2;\n", "postgres").items
    errors = [i for i in items if isinstance(i, SqlError)]
    assert [e.line for e in errors] == [3]


@pytest.mark.parametrize(
    "text",
    [
        "SELECT E'a \\\\ backslash \\' quote' AS x;\n",
        "SELECT 'plain \\' AS x;\n",
        "SELECT $$ \\set inside $$ AS x;\n",
        "SELECT $body$ \\i x $body$ AS x;\n",
        'SELECT "odd\\name" FROM t;\n',
        "-- \\set in a comment\nSELECT 1;\n",
        "/* \\connect /* nested */ still a comment */ SELECT 1;\n",
    ],
)
def test_backslashes_in_strings_and_comments_are_sql(text: str) -> None:
    assert read_client_script(text, "postgres").text == text


def test_copy_data_is_input_not_sql() -> None:
    text = "COPY items (id, name) FROM stdin;\n1\tit's; odd \\\n2\t\\N\n\\.\nSELECT 1;\n\\copy items from stdin\n3\tx\n\\.\nSELECT 2;\n"
    found = statements(text)
    assert [(s.kind, s.line) for s in found] == [("other", 1), ("select", 5), ("select", 9)]


def test_a_delimiter_keyword_inside_a_statement_is_sql() -> None:
    text = "COPY t FROM '/tmp/x.csv' WITH (FORMAT csv,\nDELIMITER ';');\nSELECT 1;\n"
    assert read_client_script(text, "postgres").text == text


@pytest.mark.parametrize("delimiter", ["//", "$$", ";;", "|"])
def test_mysql_delimiter_keeps_a_routine_whole(delimiter: str) -> None:
    text = (
        f"DELIMITER {delimiter}\n"
        "CREATE PROCEDURE p(IN a INT)\nBEGIN\n  UPDATE t SET x = a WHERE id = 1;\n  UPDATE t SET y = a WHERE id = 2;\n"
        f"END{delimiter}\nDELIMITER ;\nSELECT 1;\n"
    )
    found = statements(text, "mysql")
    assert [(s.kind, s.line, s.end_line) for s in found] == [("other", 2, 6), ("select", 8, 8)]
    assert found[0].routine is not None and found[0].routine.body is not None and len(found[0].routine.body) == 2


def test_mysql_client_commands() -> None:
    text = "source load.sql\n\\. other.sql\nSELECT 1;\n"
    script = read_client_script(text, "mysql")
    assert script.text.splitlines()[:2] == ["               ", "            "]
    assert [d.kind for d in script.directives] == ["include", "include"]


def test_sqlite_dot_commands() -> None:
    text = ".mode csv\n.read seed.sql\nSELECT 1;\n"
    assert [(s.kind, s.line) for s in statements(text, "sqlite")] == [("select", 3)]


def test_extension_script_names() -> None:
    (update,) = statements("UPDATE @extschema@.part_config SET retention = NULL;")
    assert update.kind == "update" and update.table == "part_config"


# ---- where statements are cut


def test_a_sqlite_trigger_body_is_one_statement() -> None:
    text = "CREATE TRIGGER t AFTER INSERT ON moves\nBEGIN\n  UPDATE parts SET qty = qty - NEW.qty WHERE id = NEW.part_id;\n  SELECT CASE WHEN 1 THEN 2 END;\nEND;\nSELECT 1;\n"
    found = statements(text, "sqlite")
    assert [(s.kind, s.line) for s in found] == [("other", 1), ("select", 6)]
    assert found[0].routine is not None and found[0].routine.kind == "trigger"


def test_a_mysql_procedure_without_delimiter_is_one_statement() -> None:
    text = "CREATE PROCEDURE p()\nlbl: BEGIN\n  IF 1 THEN LEAVE lbl; END IF;\n  WHILE 0 DO SET @x = 1; END WHILE;\nEND lbl;\nSELECT 1;\n"
    assert [(s.kind, s.line) for s in statements(text, "mysql")] == [("other", 1), ("select", 6)]


def test_a_body_that_never_ends_does_not_swallow_the_file() -> None:
    text = "CREATE PROCEDURE p() BEGIN SELECT 1;\nBEGIN;\nSELECT 2;\nCOMMIT;\n"
    kinds = [getattr(i, "kind", "error") for i in parse_file(text, "mysql").items]
    assert kinds[-3:] == ["begin", "select", "commit"]


def test_a_table_named_event_is_no_routine() -> None:
    text = "CREATE TABLE event (begin_at int, `begin` int);\nBEGIN;\nSELECT 1;\nEND;\n"
    assert [s.kind for s in statements(text, "mysql")] == ["other", "begin", "select", "commit"]


# ---- routine facts


def test_plpgsql_function_facts() -> None:
    found = routine(
        "CREATE OR REPLACE FUNCTION public.withdraw(p_id bigint, IN p_amount numeric DEFAULT 0, double precision)\n"
        "RETURNS void LANGUAGE plpgsql AS $fn$\n"
        "DECLARE v numeric;\nBEGIN\n"
        "  SELECT balance INTO STRICT v FROM accounts WHERE id = p_id;\n"
        "  IF v < p_amount THEN RAISE EXCEPTION 'no'; ELSIF NOT FOUND THEN RETURN; ELSE RAISE NOTICE 'ok'; END IF;\n"
        "  v := v - p_amount;\n"
        "  FOR r IN SELECT id FROM accounts WHERE id = p_id LOOP NULL; END LOOP;\n"
        "  UPDATE accounts SET balance = v WHERE id = p_id RETURNING balance INTO v;\n"
        "END\n$fn$;"
    )
    assert (found.kind, found.name, found.grammar, found.params) == ("function", "withdraw", "plpgsql", ("p_id", "p_amount", ""))
    assert found.body is not None
    read, branch, assign, loop, write = found.body
    assert isinstance(read, SqlStep) and read.into == (VariableRef("v"),) and read.statement.line == 5
    assert [op.operand.placeholder for op in read.statement.predicates] == [read.variables[0][0]]
    assert isinstance(branch, BranchStep) and len(branch.arms) == 3
    assert isinstance(branch.arms[0].steps[0], ExitStep) and branch.arms[0].steps[0].action == "raise"
    assert branch.arms[1].test is not None and branch.arms[1].test.row_count
    assert branch.arms[2].steps == ()  # RAISE NOTICE only logs
    assert isinstance(assign, AssignStep) and assign.uses == (VariableRef("v"), VariableRef("p_amount"))
    assert isinstance(loop, LoopStep) and loop.query is not None and loop.query.into == (VariableRef("r"),)
    assert isinstance(write, SqlStep) and write.returning and write.into == (VariableRef("v"),)
    assert write.statement.sets[0].column == "balance"  # the SET target stays a column


def test_mysql_procedure_facts() -> None:
    found = routine(
        "CREATE DEFINER=`app`@`%` PROCEDURE pay(IN p_id INT, OUT p_ok INT)\n"
        "proc: BEGIN\n"
        "  DECLARE v INT DEFAULT 0;\n"
        "  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;\n"
        "  START TRANSACTION;\n"
        "  SELECT balance FROM accounts WHERE id = p_id FOR UPDATE INTO v;\n"
        "  IF v < 1 THEN ROLLBACK; LEAVE proc; END IF;\n"
        "  SET v = v - 1, p_ok = 1;\n"
        "  COMMIT;\n"
        "END proc",
        "mysql",
    )
    assert (found.kind, found.grammar, found.params) == ("procedure", "psm", ("p_id", "p_ok"))
    assert found.body is not None
    default, begin, read, branch, first, second, commit = found.body
    assert isinstance(default, AssignStep) and default.target == VariableRef("v")
    assert isinstance(begin, TransactionStep) and begin.action == "begin"
    assert isinstance(read, SqlStep) and read.statement.lock == "exclusive" and read.into == (VariableRef("v"),)
    assert isinstance(branch, BranchStep)
    rollback, leave = branch.arms[0].steps
    assert isinstance(rollback, TransactionStep) and isinstance(leave, ExitStep) and leave.action == "return"
    assert isinstance(first, AssignStep) and isinstance(second, AssignStep) and second.target == VariableRef("p_ok")
    assert isinstance(commit, TransactionStep) and commit.action == "commit"


@pytest.mark.parametrize(
    ("text", "dialect", "kind"),
    [
        ("CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN UPDATE t SET a = 1; RETURN NEW; END $$ LANGUAGE plpgsql;", "postgres", "trigger"),
        ("CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION f();", "postgres", "trigger"),
        ("CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN UPDATE y SET a = 1; END", "mysql", "trigger"),
        ("CREATE FUNCTION add_c(int, int) RETURNS int AS 'MODULE_PATHNAME', 'add_c' LANGUAGE C STRICT;", "postgres", "function"),
        ("CREATE FUNCTION q() RETURNS void AS ' BEGIN UPDATE t SET a = 1; END; ' LANGUAGE plpgsql;", "postgres", "function"),
        ("CREATE FUNCTION d(t text) RETURNS void AS $$ BEGIN EXECUTE format('UPDATE %I SET a = 1', t); END $$ LANGUAGE plpgsql;", "postgres", "function"),
        ("CREATE FUNCTION r() RETURNS int AS $$ BEGIN RETURN (SELECT count(*) FROM t); END $$ LANGUAGE plpgsql;", "postgres", "function"),
        ("CREATE FUNCTION py() RETURNS void AS $$ plpy.execute('UPDATE t SET a = 1') $$ LANGUAGE plpython3u;", "postgres", "function"),
    ],
)
def test_bodies_that_are_not_read(text: str, dialect: str, kind: str) -> None:
    found = routine(text, dialect)
    assert found.kind == kind and found.body is None


def test_sql_language_bodies() -> None:
    plain = routine("CREATE FUNCTION f(a int) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$ UPDATE t SET x = x - a WHERE id = 1; $$;")
    atomic = routine("CREATE FUNCTION g(a int) RETURNS void LANGUAGE sql BEGIN ATOMIC UPDATE t SET x = x - a WHERE id = 1; END;")
    for found in (plain, atomic):
        assert found.grammar == "sql" and found.body is not None and len(found.body) == 1
    block = routine("DO $$ BEGIN UPDATE t SET x = 1 WHERE id = 1; END $$;")
    assert (block.kind, block.grammar) == ("do", "plpgsql")


# ---- the dialect a file asks for


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("db/ledger.mysql.sql", "SELECT 1;", "mysql"),
        ("db/ledger.MariaDB.sql", "SELECT 1;", "mysql"),
        ("schema.pg.sql", "SELECT 1;", "postgres"),
        ("schema.postgresql.sql", "SELECT 1;", "postgres"),
        ("schema.psql.sql", "SELECT 1;", "postgres"),
        ("local.sqlite.sql", "SELECT 1;", "sqlite"),
        ("plain.sql", "SELECT 1;", "tsql"),
        ("v1.2.sql", "SELECT 1;", "tsql"),
        ("ledger.mysql.sql", "-- txlint: dialect=sqlite\nSELECT 1;", "sqlite"),
        ("ledger.mysql.sql", "-- txlint: dialect=nonsense\nSELECT 1;", "mysql"),
    ],
)
def test_the_dialect_of_a_file(path: str, text: str, expected: str) -> None:
    assert dialect_of(text, "tsql", path) == expected


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("INSERT INTO `t` (`a`) VALUES (1);", "", "mysql"),  # a MySQL dump, no dialect configured
        ("SELECT s.`name` FROM s;", "", "mysql"),
        ("SELECT '`quoted` in a string';", "", "postgres"),  # not where a name stands
        ("SELECT 1;", "", "postgres"),
        ("INSERT INTO `t` (`a`) VALUES (1);", "postgres", "postgres"),  # configured: the choice stays
        ("INSERT INTO `t` (`a`) VALUES (1);", "sqlite", "sqlite"),
        ("-- txlint: dialect=postgres\nSELECT `a` FROM t;", "", "postgres"),  # said explicitly
    ],
)
def test_backtick_identifiers_mean_mysql_when_no_dialect_is_configured(text: str, default: str, expected: str) -> None:
    assert dialect_of(text, default, "dump.sql") == expected


# ---- through the whole run


def test_findings_after_client_commands_are_on_their_lines() -> None:
    result = check_text("script.sql", PSQL_SCRIPT)
    assert [(f.code, f.line) for f in result.findings] == [("TX101", 13)]


def test_findings_inside_a_routine_are_on_their_lines() -> None:
    text = (
        "-- a comment\n\n"
        "CREATE FUNCTION w(p_id bigint, p_amount numeric) RETURNS void AS $$\n"
        "DECLARE v numeric;\nBEGIN\n"
        "    SELECT balance INTO v FROM accounts WHERE id = p_id;\n"
        "    UPDATE accounts SET balance = v - p_amount WHERE id = p_id;\n"
        "END $$ LANGUAGE plpgsql;\n"
    )
    result = check_text("w.sql", text)
    assert [(f.code, f.line, f.column) for f in result.findings] == [("TX101", 7, 5)]
    assert [(r.line, r.column) for r in result.findings[0].related] == [(6, 5)]


def test_client_reading_never_raises() -> None:
    pieces = ["\\set x 1\n", "DELIMITER //\n", "DELIMITER ;\n", "END //", "$$", "'", '"', "`", "--", "/*", "*/", "\\.", "\n",
              "COPY t FROM stdin;\n", "BEGIN;", "CREATE PROCEDURE p() BEGIN ", "END;", "SELECT 1;", ":'v'", "\\gset", "#", "@extschema@"]  # fmt: skip
    rng = random.Random(14)
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        for dialect in ("postgres", "mysql", "sqlite"):
            assert len(read_client_script(text, dialect).text) == len(text)
            parse_file(text, dialect)


def test_mysql_select_into_session_variables_is_a_read() -> None:
    (read,) = statements("SELECT amount, price INTO @inventory, @price FROM products WHERE id = @product FOR UPDATE;", "mysql")
    assert (read.kind, read.table, read.columns, read.lock) == ("select", "products", ("amount", "price"), "exclusive")
