"""Fuzzing the whole static pipeline: no input makes a run raise, hang, or print something broken.

Each test feeds generated input through read → parse → IR → every rule →
every reporter (text, json, sarif, github), in-process, and checks that the
run ends with a list of well-formed findings, that JSON and SARIF parse,
that the GitHub output is exactly one workflow command per finding and that
nothing reaches a terminal as a control character (`pipeline_support.py`).

The inputs:

- Python programs from hypothesmith's grammar-based generators (from the
  Python grammar, and from libcst's node types), behind an import header so
  the prefilter sends them through libcst and the recognisers;
- database code from a generator of this module: functions made of Django,
  SQLAlchemy, DB-API, Redis and cache calls inside transactions, branches,
  loops, `try` blocks and early exits, which reaches the rules far more often
  than random Python does;
- mutations of the labelled files (`tests/fixtures`, `examples/`,
  `../shared/corpus` when present): lines deleted, duplicated, swapped or
  re-indented, tokens inserted, text cut short;
- SQL: statements assembled from a small grammar, token soup and arbitrary
  text, as `.sql` files and inside `cursor.execute()` in Python;
- raw bytes named `.py` and `.sql`;
- gitignore patterns and paths, to check that the rewrite which keeps
  pathspec's regexes from backtracking exponentially (`discovery.py`)
  matches exactly what pathspec matches.

Budget: `TXLINT_FUZZ_EXAMPLES` examples per test (default 25, which keeps
the whole module well under a minute). For a real hunt, run e.g.

    TXLINT_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest tests/test_fuzz.py -q

No example database is written (`database=None`); a failure prints the
failing input and a `@reproduce_failure` blob to paste over the test.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import hypothesmith
import pathspec
import pytest
from hypothesis import HealthCheck, Phase, example, find, given, settings
from hypothesis import strategies as st

from pipeline_support import assert_sound, check_paths, check_text, render_all
from txlint.project.discovery import ignore_spec

# hypothesmith compiles what it generates, and CPython warns about some of it (`"str"()`).
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

EXAMPLES = int(os.environ.get("TXLINT_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much, HealthCheck.large_base_example],
)

TESTS = Path(__file__).parent
LABELLED = sorted(
    [*TESTS.glob("fixtures/*.py"), *TESTS.glob("fixtures/*.sql"), *TESTS.parent.glob("examples/**/*.py"), *TESTS.parent.glob("examples/**/*.sql"), *(TESTS.parent.parent / "shared" / "corpus").glob("**/*.py"), *(TESTS.parent.parent / "shared" / "corpus").glob("**/*.sql")]
)
LABELLED = [path for path in LABELLED if path.name != "score.py"]

# Makes the prefilter send a generated program through libcst, and gives the recognisers names to resolve.
HEADER = """\
import sqlite3
import redis
from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import F
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
"""


def run_and_report(name: str, data: str | bytes) -> None:
    """The pipeline on one input, with every invariant checked."""
    result = check_text(name, data)
    assert_sound(result, [name])
    render_all(result.findings, result.files_checked)


# -- generated Python ------------------------------------------------------------------------


@FUZZ
@given(hypothesmith.from_grammar())
def test_programs_from_the_python_grammar(source):
    run_and_report("generated.py", HEADER + source)


@FUZZ
@given(hypothesmith.from_node())
def test_programs_from_libcst_nodes(source):
    run_and_report("generated.py", HEADER + source)


# -- generated database code -----------------------------------------------------------------

NAMES = st.sampled_from(["acct", "row", "item", "order", "lock", "data", "n", "total", "result"])
MODELS = st.sampled_from(["Account", "Order", "Wallet", "Ticket"])
FIELDS = st.sampled_from(["balance", "stock", "status", "version", "amount", "nickname", "id"])
ARGS = st.sampled_from(["account_id", "amount", "order_id", "key", "1", "0", "None", "request.POST['n']"])
KEYS = st.sampled_from(['"lock:order"', 'f"lock:{order_id}"', '"counter:" + str(account_id)', "key"])

SQL_TEMPLATES = st.sampled_from([
    "SELECT {f} FROM {t} WHERE id = %s",
    "SELECT {f} FROM {t} WHERE id = %s FOR UPDATE",
    "SELECT {f}, id FROM {t} WHERE id = ? FOR SHARE SKIP LOCKED",
    "UPDATE {t} SET {f} = %s WHERE id = %s",
    "UPDATE {t} SET {f} = {f} - %s WHERE id = %s AND {f} >= %s",
    "UPDATE {t} SET {f} = %(v)s, version = version + 1 WHERE id = %(id)s AND version = %(old)s",
    "INSERT INTO {t} (id, {f}) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
    "DELETE FROM {t} WHERE id = $1",
    "SELECT pg_advisory_xact_lock(%s)",
    "BEGIN",
    "COMMIT",
])  # fmt: skip


@st.composite
def sql_statement(draw: st.DrawFn) -> str:
    """A DB-API SQL string a program might really run."""
    template = draw(SQL_TEMPLATES)
    return template.format(f=draw(FIELDS), t=draw(st.sampled_from(["accounts", "orders", "wallets"])))


@st.composite
def simple_statement(draw: st.DrawFn) -> str:
    """One line of database code: a read, a change, a write, a lock, a cache call, an exit."""
    v, m, f, a, k = draw(NAMES), draw(MODELS), draw(FIELDS), draw(ARGS), draw(KEYS)
    choices = [
        f"{v} = {m}.objects.get(pk={a})",
        f"{v} = {m}.objects.select_for_update().get(pk={a})",
        f"{v} = {m}.objects.filter(pk={a}).select_for_update().first()",
        f"{v} = get_object_or_404({m}, pk={a})",
        f"{v}.{f} -= {a}",
        f"{v}.{f} = {v}.{f} + {a}",
        f"{v}.{f} = {a}",
        f"{v}.save()",
        f'{v}.save(update_fields=["{f}"])',
        f"{v}.refresh_from_db()",
        f'{m}.objects.filter(pk={a}).update({f}=F("{f}") - {a})',
        f"{m}.objects.create({f}={a})",
        f"{v}, created = {m}.objects.get_or_create({f}={a})",
        f"{v} = {m}.objects.filter({f}={a}).exists()",
        "cur = connection.cursor()",
        f"cur.execute({draw(sql_statement())!r}, ({a}, {a}))",
        f"{v} = cur.fetchone()",
        f"{v} = cur.rowcount",
        "connection.commit()",
        "connection.rollback()",
        "transaction.set_autocommit(False)",
        f"{v} = session.get({m}, {a}, with_for_update={draw(st.booleans())})",
        f"{v} = session.scalars(select({m}).where({m}.id == {a}).with_for_update()).one()",
        f"{v} = session.execute(update({m}).where({m}.{f} == {a}).values({f}={a}))",
        "session.commit()",
        f"{v} = r.setnx({k}, 1)",
        f"r.expire({k}, 30)",
        f"r.set({k}, 1, nx=True, ex=30)",
        f"r.delete({k})",
        f"{v} = r.lock({k}, timeout=10)",
        f"{v}.acquire()",
        f"{v}.release()",
        f"{v} = cache.get({k})",
        f"cache.set({k}, {a})",
        f"cache.incr({k})",
        f"return {v}",
        "raise ValueError('no')",
        "pass",
        "await asyncio.sleep(0)",
    ]
    return draw(st.sampled_from(choices))


@st.composite
def read_modify_write(draw: st.DrawFn) -> list[str]:
    """A coherent read, change and write of one row (locked or not), as the bugs txlint finds are made."""
    v, m, f, a = draw(NAMES), draw(MODELS), draw(FIELDS), draw(ARGS)
    lock = draw(st.sampled_from(["", ".select_for_update()"]))
    change = draw(st.sampled_from([f"{v}.{f} -= {a}", f"{v}.{f} = {v}.{f} + {a}", f"{v}.{f} = {a}"]))
    return [f"{v} = {m}.objects{lock}.get(pk={a})", change, draw(st.sampled_from([f"{v}.save()", f'{v}.save(update_fields=["{f}"])']))]


LINES = st.one_of(simple_statement().map(lambda line: [line]), read_modify_write())


def _joined(parts: list[list[str]]) -> list[str]:
    return [line for part in parts for line in part]


CONDITIONS = st.sampled_from(["{v}", "not {v}", "{v}.{f} < {a}", "{v} is None", "{v}.{f} >= 0 and {a}", "cur.rowcount == 0"])
HEADS = st.sampled_from([
    "with transaction.atomic():",
    'with transaction.atomic(using="other"):',
    "with session.begin():",
    "with connection:",
    "with r.lock({k}):",
    "if {c}:",
    "while {c}:",
    "for {v} in {m}.objects.select_for_update().filter(pk={a}):",
    "try:",
])  # fmt: skip


def block(statements: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    """A compound statement around a body; `try` gets an `except` and a `finally`, `if` an `else`."""

    @st.composite
    def build(draw: st.DrawFn) -> list[str]:
        values = {"v": draw(NAMES), "f": draw(FIELDS), "a": draw(ARGS), "m": draw(MODELS), "k": draw(KEYS)}
        values["c"] = draw(CONDITIONS).format(**values)
        head = draw(HEADS).format(**values)
        body = ["    " + line for line in draw(statements)] or ["    pass"]
        lines = [head, *body]
        if head == "try:":
            lines += ["except Exception:", *("    " + line for line in draw(statements) or ["pass"])]
            lines += ["finally:", *("    " + line for line in draw(statements) or ["pass"])]
        elif head.startswith("if") and draw(st.booleans()):
            lines += ["else:", *("    " + line for line in draw(statements) or ["pass"])]
        return lines

    return build()


STATEMENTS = st.recursive(
    st.lists(LINES, min_size=1, max_size=4).map(_joined),
    lambda inner: st.lists(st.one_of(inner, block(inner)), min_size=1, max_size=3).map(_joined),
    max_leaves=12,
)


@st.composite
def database_module(draw: st.DrawFn) -> str:
    """A module of a few functions of database code (sync or async, decorated or not, methods too)."""
    functions = []
    for number in range(draw(st.integers(1, 3))):
        decorator = draw(st.sampled_from(["", "@transaction.atomic\n", "@transaction.atomic()\n"]))
        kind = draw(st.sampled_from(["def", "async def"]))
        body = "".join(f"    {line}\n" for line in draw(STATEMENTS))
        functions.append(f"{decorator}{kind} f{number}(request, account_id, amount, order_id, key, session: Session):\n{body}")
    if draw(st.booleans()):
        methods = "".join("    " + line + "\n" for f in functions for line in f.replace("(request", "(self, request").splitlines())
        return HEADER + "\nr = redis.Redis()\n\n\nclass Service:\n" + methods
    return HEADER + "\nr = redis.Redis()\n\n\n" + "\n\n".join(functions)


@FUZZ
@given(database_module())
def test_generated_database_code(source):
    run_and_report("services.py", source)


@pytest.mark.parametrize("code", ["TX101", "TX202"])
def test_the_database_code_generator_reaches_the_rules(code):
    """Guards the generator itself: some of its programs must be findings, or the test above fuzzes little."""
    found = find(
        database_module(),
        lambda source: code in {f.code for f in check_text("services.py", source).findings},
        # No shrinking: any program with the finding will do, and each shrink step is a whole run.
        settings=settings(max_examples=300, database=None, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)),
    )
    assert code in {f.code for f in check_text("services.py", found).findings}


# -- mutations of the labelled files ---------------------------------------------------------

MUTATIONS = ("delete", "duplicate", "swap", "indent", "dedent", "insert", "truncate", "replace")
TOKENS = ("(", ")", "[", "]", ":", ",", "'", '"', '"""', "\\", "#", "--", "/*", ";", " ", "\t", "\n", "\x00", "\u2028", "é", "lambda", "yield", "await", "async", "with", "FOR UPDATE", "%s", "?", "BEGIN;", "COMMIT;", "\x1b[31m")


@st.composite
def mutated_labelled_file(draw: st.DrawFn) -> tuple[str, str]:
    """A labelled fixture or corpus file with a few lines or characters broken."""
    path = draw(st.sampled_from(LABELLED))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 6))):
        lines = _mutate(lines, draw(st.sampled_from(MUTATIONS)), draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)), draw(st.sampled_from(TOKENS)))
    return path.name, "".join(lines)


def _mutate(lines: list[str], how: str, a: int, b: int, token: str) -> list[str]:
    if not lines:
        return [token]
    i, j = a % len(lines), b % len(lines)
    lines = list(lines)
    if how == "delete":
        del lines[i]
    elif how == "duplicate":
        lines.insert(i, lines[i])
    elif how == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "indent":
        lines[i] = "    " + lines[i]
    elif how == "dedent":
        lines[i] = lines[i].lstrip(" ")
    elif how == "insert":
        column = b % (len(lines[i]) + 1)
        lines[i] = lines[i][:column] + token + lines[i][column:]
    elif how == "truncate":
        lines = lines[: i + 1]
        lines[i] = lines[i][: b % (len(lines[i]) + 1)]
    else:
        column = b % max(len(lines[i]), 1)
        lines[i] = lines[i][:column] + token + lines[i][column + 1 :]
    return lines


@pytest.mark.skipif(not LABELLED, reason="no labelled files found")
@FUZZ
@given(mutated_labelled_file())
def test_mutated_labelled_files(named):
    name, text = named
    run_and_report(name, text)


@FUZZ
@given(st.lists(mutated_labelled_file(), min_size=2, max_size=4, unique_by=lambda named: named[0]))
def test_mutated_files_checked_together(files):
    """Several broken files in one run: the project index joins facts across them."""
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name, text in files:
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            paths.append(path)
        result = check_paths(paths)
        assert_sound(result, [str(p) for p in paths])
        render_all(result.findings, result.files_checked, Path(folder))


# -- generated SQL ---------------------------------------------------------------------------

SQL_WORDS = (
    "SELECT", "UPDATE", "INSERT", "INTO", "VALUES", "DELETE", "FROM", "WHERE", "SET", "AND", "OR", "NOT",
    "FOR", "UPDATE", "SHARE", "NOWAIT", "SKIP", "LOCKED", "BEGIN", "COMMIT", "ROLLBACK", "START", "TRANSACTION",
    "SAVEPOINT", "RELEASE", "LOCK", "TABLE", "IN", "EXCLUSIVE", "MODE", "CREATE", "ALTER", "ADD", "CONSTRAINT",
    "UNIQUE", "CHECK", "PRIMARY", "KEY", "INDEX", "ON", "CONFLICT", "DO", "NOTHING", "RETURNING", "WITH", "AS",
    "JOIN", "GROUP", "BY", "HAVING", "LIMIT", "CASE", "WHEN", "THEN", "ELSE", "END", "NULL", "COALESCE",
    "accounts", "orders", "balance", "stock", "id", "version", "t", "a.b", '"quoted"', "`back`",
    "1", "0", "-1", "2.5", "'x'", "'it''s'", "E'\\n'", "$$body$$", "%s", "%(name)s", "?", "?1", "$1", ":name",
    "(", ")", ",", ";", "=", "<>", ">=", "<=", "-", "+", "*", "/", "||", "::", ".", "--", "/*", "*/", "'", "\n",
)  # fmt: skip

SQL_TOKEN_SOUP = st.lists(st.sampled_from(SQL_WORDS), max_size=40).map(" ".join)


@st.composite
def sql_script(draw: st.DrawFn) -> str:
    """A script of statements from the grammar, sometimes in BEGIN/COMMIT blocks, sometimes with a dialect line."""
    statements = []
    for _ in range(draw(st.integers(1, 6))):
        sql = draw(sql_statement()).replace("%(v)s", "7").replace("%(id)s", "1").replace("%(old)s", "3")
        sql = sql.replace("%s", draw(st.sampled_from(["1", "'a'", "%s", "?", "$1"]))).replace("$1", "5")
        statements.append(sql + ";")
    if draw(st.booleans()):
        statements = ["BEGIN;", *statements, draw(st.sampled_from(["COMMIT;", "ROLLBACK;", ""]))]
    dialect = draw(st.sampled_from(["", "-- txlint: dialect=mysql\n", "-- txlint: dialect=sqlite\n", "-- txlint: dialect=nosuch\n"]))
    return dialect + "\n".join(statements) + "\n"


ANY_SQL = st.one_of(sql_script(), SQL_TOKEN_SOUP, st.text(max_size=200))


@FUZZ
@given(ANY_SQL)
@example(sql="''")  # found by this test: a statement of empty literals was an internal error (IndexError)
def test_sql_files(sql):
    run_and_report("queries.sql", sql)


@FUZZ
@given(st.lists(ANY_SQL, min_size=1, max_size=3), st.sampled_from(["%s", "?", "(1, 2)", "{'id': 1}", "params"]))
def test_sql_inside_cursor_execute(statements, params):
    body = "".join(f"    cur.execute({sql!r}, {params})\n    row = cur.fetchone()\n" for sql in statements)
    source = HEADER + "\n\ndef pay(conn, params):\n    cur = conn.cursor()\n" + body + "    conn.commit()\n"
    run_and_report("pay.py", source)


@FUZZ
@given(st.lists(ANY_SQL, min_size=1, max_size=3))
def test_sql_inside_sqlalchemy_text(statements):
    body = "".join(f"    session.execute(text({sql!r}))\n" for sql in statements)
    run_and_report("pay.py", HEADER + "\n\ndef pay(session: Session):\n" + body + "    session.commit()\n")


# -- raw bytes -------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=400), st.sampled_from(["blob.py", "blob.pyi", "blob.sql"]))
def test_raw_bytes(data, name):
    run_and_report(name, data)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_after_the_header(text):
    run_and_report("text.py", HEADER + text)


# -- gitignore patterns ----------------------------------------------------------------------

GLOB_PIECES = st.sampled_from(["a", "b", "*", "**", "?", "/", "!", "\\*", ".", "[ab]", " "])
PATTERN = st.lists(GLOB_PIECES, min_size=1, max_size=10).map("".join)
PATH = st.lists(st.lists(st.sampled_from(["a", "b", "*", ".", "[", " "]), min_size=1, max_size=6).map("".join), min_size=1, max_size=6).map("/".join)


@settings(FUZZ, max_examples=EXAMPLES * 8)
@given(st.lists(PATTERN, min_size=1, max_size=3), st.lists(PATH, min_size=1, max_size=6))
def test_gitignore_rewrite_matches_what_pathspec_matches(lines, paths):
    """Discovery's patterns match in polynomial time; they must still match exactly what pathspec's do."""
    try:
        original = pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:  # a pattern pathspec itself refuses
        return
    ours = ignore_spec(lines)
    for path in paths:
        for candidate in (path, path + "/"):
            expected = original.match_file(candidate)
            assert (ours.match_file(candidate) if ours is not None else False) == expected, (lines, candidate)
