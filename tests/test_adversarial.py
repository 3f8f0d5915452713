"""Adversarial inputs (issue 8): each ends in a clear finding or notice, and the rest of the run is still checked.

Every case puts its awkward input beside a known-bad file (`app.py`, the
lost update of `conftest.py`) whose finding must still be reported, so a
case that stopped, or silently emptied, the run fails. `test_robustness.py`
already covers the common cases (broken syntax, invalid UTF-8, a latin-1
file, binary `.py` files, NUL bytes late in a file, symlink loops and broken
links, unreadable files and folders, 3 000 nested brackets, a 200 000-term
`+` chain); these are the harder ones. Speed is not asserted here: that a
large input takes time in proportion to its size is measured by
`bench/scaling.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest

from conftest import LOST_UPDATE, LOST_UPDATE_LINE
from pipeline_support import (
    CONTROL,
    assert_sound,
    check_paths,
    check_text,
    escape_visible,
    render_all,
    unescape_github,
)
from txlint import sql as sql_adapter
from txlint.project.discovery import discover
from txlint.project.sources import Unreadable, read_regular_file

APP = ("TX101", "app.py", LOST_UPDATE_LINE)
POSIX = os.name == "posix"


def check_beside_app(project, run, *args: str):
    """Run `check --format json` with `app.py` beside the awkward input; app.py's finding must be there."""
    project.write("app.py")
    result = run("check", "--format", "json", *args, ".")
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    assert APP in result.findings(), result.output
    return result


def reported(result, name: str) -> str:
    """How the run reported `name`: "finding" (a TX000 or other finding), "notice" (once, on stderr)."""
    if any(path == name for _, path, _ in result.findings()):
        return "finding"
    notices = [line for line in result.stderr.splitlines() if line.startswith(f"{name}: ")]
    assert len(notices) == 1, (name, result.stderr)
    return "notice"


def in_a_function(expression: str) -> str:
    """`expression` inside database code, so the prefilter sends the file through libcst and the walker."""
    return f"import sqlite3\n\n\ndef deep(cur):\n    x = {expression}\n    cur.execute('UPDATE t SET a = %s', (x,))\n"


# -- 10 000 levels of nesting -----------------------------------------------------------------

DEPTH = 10_000
NESTED_PYTHON = {
    "parentheses": "(" * DEPTH + "1" + ")" * DEPTH,
    "lists": "[" * DEPTH + "]" * DEPTH,
    "calls": "f(" * DEPTH + ")" * DEPTH,
    "unary minus": "-" * DEPTH + "1",
    "not": "not " * DEPTH + "1",
    "lambdas": "lambda: " * DEPTH + "1",
    "conditionals": "1" + " if a else 1" * DEPTH,
    "attribute chain": "a" + ".b" * DEPTH,
    "queryset chain": "Account.objects" + ".filter(pk=1)" * DEPTH,
    "subscripts": "a" + "[0]" * DEPTH,
    "await chain": "await " * DEPTH + "x",
    "dict values": "{1: " * DEPTH + "1" + "}" * DEPTH,
}


@pytest.mark.parametrize("shape", sorted(NESTED_PYTHON))
def test_10000_levels_of_nesting_in_python(project, run_txlint, shape):
    project.write("deep.py", in_a_function(NESTED_PYTHON[shape]))
    result = check_beside_app(project, run_txlint)
    assert reported(result, "deep.py") in {"finding", "notice"}


def test_deep_indentation(project, run_txlint):
    """CPython allows 100 levels of indentation; deeper is its syntax error (TX000), not a crash."""
    source = "import sqlite3\n" + "".join("    " * i + f"def f{i}(cur):\n" for i in range(120)) + "    " * 120 + "cur.execute('SELECT 1')\n"
    project.write("deep.py", source)
    result = check_beside_app(project, run_txlint)
    assert [code for code, path, _ in result.findings() if path == "deep.py"] == ["TX000"]


def test_99_nested_functions_are_analysed(project, run_txlint):
    """Just inside CPython's limit: every level is walked, and the innermost lost update is found."""
    depth = 95
    lines = ["from django.db import transaction", ""]
    lines += ["    " * i + f"def f{i}(account_id, amount):" for i in range(depth)]
    lines += ["    " * (depth - 1) + line for line in LOST_UPDATE.split("\n", 2)[2].splitlines()[1:]]
    project.write("nested.py", "\n".join(lines) + "\n")
    result = check_beside_app(project, run_txlint)
    assert ("TX101", "nested.py", len(lines)) in result.findings()


NESTED_SQL = {
    "parentheses": "SELECT " + "(" * DEPTH + "1" + ")" * DEPTH,
    "subqueries": "SELECT id FROM t WHERE id IN (" + "SELECT id FROM t WHERE id IN (" * DEPTH + "1" + ")" * (DEPTH + 1),
    "not": "SELECT " + "NOT " * DEPTH + "1",
    "case": "SELECT " + "CASE WHEN a THEN " * (DEPTH // 2) + "1" + " END" * (DEPTH // 2),
}


@pytest.mark.parametrize("shape", sorted(NESTED_SQL))
def test_10000_levels_of_nesting_in_a_sql_file(project, run_txlint, shape):
    project.write("deep.sql", NESTED_SQL[shape] + ";\n")
    result = check_beside_app(project, run_txlint)
    assert {code for code, path, _ in result.findings() if path == "deep.sql"} <= {"TX000"}


@pytest.mark.parametrize("shape", sorted(NESTED_SQL))
def test_10000_levels_of_nesting_in_cursor_execute(project, run_txlint, shape):
    """SQL that cannot be read inside Python is dynamic-looking SQL: no finding; the rest of the file still counts."""
    source = f"import sqlite3\n\n\ndef deep(cur):\n    cur.execute({NESTED_SQL[shape]!r})\n\n\n" + LOST_UPDATE
    project.write("deep.py", source)
    result = check_beside_app(project, run_txlint)
    assert [(code, line) for code, path, line in result.findings() if path == "deep.py"] == [("TX101", LOST_UPDATE_LINE + 7)]


# -- 200 000 terms ----------------------------------------------------------------------------

TERMS = 200_000
LONG_PYTHON = {
    "and chain": " and ".join(["a"] * TERMS),
    "or chain": " or ".join(["a"] * TERMS),
    "implicit string concatenation": " ".join(['"a"'] * TERMS),
    "list display": "[" + ", ".join(["1"] * TERMS) + "]",  # flat: read by libcst and walked, a few seconds
    "plus chain": " + ".join(["a"] * TERMS),
}


@pytest.mark.parametrize("shape", sorted(LONG_PYTHON))
def test_200000_term_expressions(project, run_txlint, shape):
    """Each ends analysed (nothing to report), or as a notice that names why; never an internal error."""
    project.write("long.py", in_a_function(LONG_PYTHON[shape]))
    result = check_beside_app(project, run_txlint)
    assert not [f for f in result.findings() if f[1] == "long.py"]  # valid code: never a TX000
    assert "internal error" not in result.stderr
    assert result.stderr.count("long.py") <= 1


def test_long_boolean_chain_is_a_notice_not_an_internal_error():
    """Regression: 200 000 `and`s passed CPython's nesting check (a flat node there) and overflowed the walk."""
    result = check_text("long.py", in_a_function(LONG_PYTHON["and chain"]))
    assert [n.reason for n in result.notices] == ["skipped: code nested too deeply to analyse (an expression of about 1 500 operators or more)"]
    assert result.findings == []


def test_string_concatenation_libcst_cannot_parse_is_a_notice_not_tx000():
    """Regression: valid Python that libcst's parser refuses was reported as a syntax error (TX000)."""
    result = check_text("long.py", in_a_function(" ".join(['"a"'] * 20_000)))
    assert result.findings == []
    (notice,) = result.notices
    assert notice.reason.startswith("skipped: libcst cannot parse this file, which Python itself reads")


def test_a_file_of_60000_functions_is_analysed_to_its_end(project, run_txlint):
    """The lost update after 60 000 plain functions is found at its line: the whole file was read and walked."""
    plain = "".join(f"def f{n}(x): return x\n" for n in range(60_000))
    project.write("generated.py", plain + LOST_UPDATE)
    result = check_beside_app(project, run_txlint)
    assert ("TX101", "generated.py", 60_000 + LOST_UPDATE_LINE) in result.findings()


# -- bytes and encodings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf16.py", "\ufeff".encode("utf-16-le") + LOST_UPDATE.encode("utf-16-le")),  # what some Windows editors save
        ("png.sql", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))),
        ("nul.sql", b"SELECT 1;\n" * 1000 + b"SELECT '\x00';\n"),
        ("bom-and-cookie.py", b"\xef\xbb\xbf# -*- coding: latin-1 -*-\nx = 1\n"),  # a UTF-8 BOM and another cookie: CPython refuses it
        ("cookie-utf8-latin1-bytes.py", b"# -*- coding: utf-8 -*-\nNAME = 'caf\xe9'\n"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_unusable_bytes_are_a_notice(project, run_txlint, name, data):
    project.write(name, data)
    result = check_beside_app(project, run_txlint)
    assert reported(result, name) == "notice"


@pytest.mark.parametrize(
    ("name", "data", "line"),
    [
        ("vim-cookie.py", b"#!/usr/bin/env python\n# vim: set fileencoding=latin-1 :\nNAME = 'caf\xe9'\n" + LOST_UPDATE.encode(), LOST_UPDATE_LINE + 3),
        ("cp1252.py", b"# coding=cp1252\nQUOTE = '\x93hi\x94'\n" + LOST_UPDATE.encode(), LOST_UPDATE_LINE + 2),
        ("cr-only.py", LOST_UPDATE.replace("\n", "\r").encode(), LOST_UPDATE_LINE),
        ("form-feed.py", LOST_UPDATE.replace("    acct.save()", "\x0c    acct.save()").encode(), LOST_UPDATE_LINE),
        ("trojan-source.py", LOST_UPDATE.replace("acct.save()", "acct.save()  # \u202e }) lla nruter \u2066").encode(), LOST_UPDATE_LINE),
        ("bom.sql", b"\xef\xbb\xbfBEGIN;\nSELECT stock FROM accounts WHERE id = 1;\nUPDATE accounts SET stock = 4 WHERE id = 1;\nCOMMIT;\n", 3),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_odd_but_valid_encodings_are_analysed(project, run_txlint, name, data, line):
    project.write(name, data)
    result = check_beside_app(project, run_txlint)
    assert ("TX101", name, line) in result.findings()
    assert result.stderr == ""


# -- special files: they must not hang the run -------------------------------------------------


# These ran forever before their fix (or read until memory ran out): they run in a child process
# with a time limit and, on POSIX, a memory limit, so a regression fails the test, not the machine.
GUARD_SECONDS = 120
GUARD_MEMORY = 4 * 1024**3


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (GUARD_MEMORY, GUARD_MEMORY))


def run_guarded(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, timeout=GUARD_SECONDS, check=False,
        preexec_fn=_limit_memory if POSIX else None,
    )  # fmt: skip


def check_guarded(project, *paths: str) -> tuple[list[tuple[str, str, int]], str]:
    """`txlint check --format json PATHS` in a guarded child: (findings, stderr)."""
    done = run_guarded([str(Path(sys.executable).parent / "txlint"), "check", "--no-cache", "--format", "json", *paths], project.root)
    assert done.returncode == 1, done.stderr
    findings = [(f["code"], f["path"], f["line"]) for f in json.loads(done.stdout)]
    return findings, done.stderr.decode()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_on_the_command_line_is_a_notice(project):
    """Regression: reading a FIFO waited for a writer forever."""
    os.mkfifo(project.root / "pipe.py")
    project.write("app.py")
    findings, stderr = check_guarded(project, "pipe.py", "app.py")
    assert findings == [APP]
    assert stderr.count("pipe.py: skipped: not a regular file (a pipe)") == 1


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_symlink_to_an_endless_device_is_a_notice(project):
    """Regression: `zero.py -> /dev/zero` named on the command line was read until memory ran out."""
    os.symlink("/dev/zero", project.root / "zero.py")
    project.write("app.py")
    findings, stderr = check_guarded(project, "zero.py", "app.py")
    assert findings == [APP]
    assert stderr.count("zero.py: skipped: not a regular file (a device)") == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_gitignore_is_not_read(project):
    """Regression: discovery read `.gitignore` with a plain read, which waits forever on a FIFO."""
    os.mkfifo(project.root / ".gitignore")
    project.write("app.py")
    findings, stderr = check_guarded(project, ".")
    assert findings == [APP]
    assert stderr == ""


def test_read_stops_at_the_size_limit_whatever_the_size_said(tmp_path):
    """A file that grows after it is measured (here: a /proc file, whose size reads 0) is never read past the limit."""
    proc = Path("/proc/self/status")
    if not proc.exists():
        pytest.skip("no /proc here")
    with pytest.raises(Unreadable, match="grew past the 10-byte limit"):
        read_regular_file(proc, 10)


def test_a_folder_is_not_read_as_a_file(tmp_path):
    with pytest.raises(Unreadable, match="folder"):
        read_regular_file(tmp_path, 1000)


def test_symlinks_to_each_other(project, run_txlint):
    os.symlink("b.py", project.root / "a.py")
    os.symlink("a.py", project.root / "b.py")
    result = check_beside_app(project, run_txlint)
    assert result.findings() == [APP]
    for name in ("a.py", "b.py"):
        assert reported(result, name) == "notice"


def test_symlink_loop_named_on_the_command_line(project, run_txlint):
    os.symlink("loop.py", project.root / "loop.py")
    project.write("app.py")
    result = run_txlint("check", "--format", "json", "loop.py", "app.py")
    assert result.findings() == [APP]
    assert reported(result, "loop.py") == "notice"


# -- files that change while the run goes on ---------------------------------------------------


def _discovered(project) -> list[Path]:
    project.write("app.py")
    project.write("gone.py")
    project.write("later/deep.py", "def f(:\n")
    return discover([project.root], project.root, ()).files


def _run(files: list[Path]):
    result = check_paths(files)
    assert_sound(result, [str(f) for f in files])
    render_all(result.findings, result.files_checked)
    return result


def _codes(result) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in result.findings:
        found.setdefault(Path(f.path).name, []).append(f.code)
    return found


def test_file_deleted_after_discovery(project):
    files = _discovered(project)
    (project.root / "gone.py").unlink()
    result = _run(files)
    assert _codes(result) == {"app.py": ["TX101"], "deep.py": ["TX000"]}
    (notice,) = result.notices
    assert notice.path.endswith("gone.py") and "disappeared" in notice.reason


def test_folder_deleted_after_discovery(project):
    files = _discovered(project)
    shutil.rmtree(project.root / "later")
    result = _run(files)
    assert _codes(result) == {"app.py": ["TX101"], "gone.py": ["TX101"]}
    assert [n.path.endswith("deep.py") for n in result.notices] == [True]


def test_file_replaced_by_a_folder_after_discovery(project):
    files = _discovered(project)
    (project.root / "gone.py").unlink()
    (project.root / "gone.py").mkdir()
    result = _run(files)
    assert _codes(result) == {"app.py": ["TX101"], "deep.py": ["TX000"]}
    (notice,) = result.notices
    assert "not a regular file (a folder)" in notice.reason


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_file_replaced_by_a_fifo_after_discovery(project):
    files = _discovered(project)
    (project.root / "gone.py").unlink()
    os.mkfifo(project.root / "gone.py")
    result = _run(files)
    assert _codes(result) == {"app.py": ["TX101"], "deep.py": ["TX000"]}
    (notice,) = result.notices
    assert "not a regular file (a pipe)" in notice.reason


def test_file_made_unreadable_after_discovery(project, monkeypatch):
    files = _discovered(project)
    real_open = os.open

    def open_(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(path).endswith("gone.py"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    result = _run(files)
    assert _codes(result) == {"app.py": ["TX101"], "deep.py": ["TX000"]}
    (notice,) = result.notices
    assert "Permission denied" in notice.reason


def test_folder_removed_while_it_is_walked(project, monkeypatch):
    project.write("app.py")
    project.write("vanishing/mod.py")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if os.path.basename(os.fspath(path)) == "vanishing":
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = discover([project.root], project.root, ())
    assert [p.name for p in found.files] == ["app.py"]
    (notice,) = found.notices
    assert notice.path.endswith("vanishing")


# -- SQL sqlglot rejects, and SQL of a megabyte -------------------------------------------------

# Each is a `SqlError` for sqlglot (checked below), so the DB-API front-end cannot read it.
REJECTED_SQL = ["SELEC id FROM accounts", "INSERT INTO t VALUES (1", "SELECT * FROM WHERE", "SELECT (((1", "SELECT 'unterminated", "UPDATE accounts SET = 1 WHERE"]


@pytest.mark.parametrize("sql", REJECTED_SQL)
def test_sql_sqlglot_rejects_in_cursor_execute_does_not_hide_the_file(project, run_txlint, sql):
    assert isinstance(sql_adapter.parse_statements(sql, "postgres"), sql_adapter.SqlError)
    project.write("views.py", f"import sqlite3\n\n\ndef report(cur):\n    cur.execute({sql!r})\n\n\n" + LOST_UPDATE)
    result = check_beside_app(project, run_txlint)
    assert ("TX101", "views.py", LOST_UPDATE_LINE + 7) in result.findings()


def test_rejected_statements_between_good_blocks_of_a_script(project, run_txlint):
    block = "BEGIN;\nSELECT stock FROM accounts WHERE id = 1;\nUPDATE accounts SET stock = 4 WHERE id = 1;\nCOMMIT;\n"
    project.write("script.sql", block + "SELEC id FROM accounts;\nINSERT INTO t VALUES (1;\n" + block)
    result = check_beside_app(project, run_txlint)
    assert sorted(f for f in result.findings() if f[1] == "script.sql") == [
        ("TX000", "script.sql", 5), ("TX000", "script.sql", 6), ("TX101", "script.sql", 3), ("TX101", "script.sql", 9),
    ]  # fmt: skip


@pytest.mark.parametrize("statement", ["''", '""', "$$$$", "E''", "'' ''"])
def test_statement_of_empty_literals(statement):
    """Regression (found by the fuzz test): a statement whose tokens are all empty literals raised IndexError
    inside the SQL adapter, which made it a TX000 "internal error" in a script and silently unreadable in Python."""
    for items in (sql_adapter.parse_script(f"{statement};\nSELECT 1;", "postgres"), sql_adapter.parse_statements(statement, "mysql")):
        assert not isinstance(items, sql_adapter.SqlError)
        assert [getattr(item, "kind", item) for item in items][:1] == ["other"]
    result = check_text("q.sql", f"BEGIN;\n{statement};\nSELECT stock FROM accounts WHERE id = 1;\nUPDATE accounts SET stock = 4 WHERE id = 1;\nCOMMIT;\n")
    assert_sound(result, ["q.sql"])
    assert [(f.code, f.line) for f in result.findings] == [("TX101", 4)]


MEGABYTE = 1_000_000


def test_a_megabyte_sql_statement_in_a_script(project, run_txlint):
    """A 1 MB statement (a payload in a literal) and the transaction after it is still read, at its line."""
    huge = "INSERT INTO audit (note) VALUES ('" + "x" * MEGABYTE + "');\n"
    block = "BEGIN;\nSELECT stock FROM accounts WHERE id = 1;\nUPDATE accounts SET stock = 4 WHERE id = 1;\nCOMMIT;\n"
    project.write("big.sql", huge + "-- " + "y" * MEGABYTE + "\n" + block)
    result = check_beside_app(project, run_txlint)
    assert [f for f in result.findings() if f[1] == "big.sql"] == [("TX101", "big.sql", 5)]


def test_a_megabyte_sql_string_in_cursor_execute(project, run_txlint):
    huge = "INSERT INTO audit (note) VALUES ('" + "x" * MEGABYTE + "')"
    project.write("views.py", f"import sqlite3\n\n\ndef audit(cur):\n    cur.execute({huge!r})\n\n\n" + LOST_UPDATE)
    result = check_beside_app(project, run_txlint)
    assert [f for f in result.findings() if f[1] == "views.py"] == [("TX101", "views.py", LOST_UPDATE_LINE + 7)]


# -- hostile .gitignore patterns ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "slow", "matching"),
    [
        ("a" + "*a" * 16 + "b", "a" * 250 + ".py", "x/" + "a" * 250 + "b"),
        ("/".join(["a", "**"] * 8) + "/b", "/".join(["a"] * 120) + "/c.py", "/".join(["a"] * 120) + "/b"),
    ],
    ids=["stars in a name", "folders"],
)
def test_gitignore_pattern_that_would_backtrack_for_hours(project, pattern, slow, matching):
    """Regression: pathspec's regex for these patterns backtracked exponentially (hours for one path)."""
    code = f"from txlint.project.discovery import ignore_spec; s = ignore_spec([{pattern!r}]); print(s.match_file({slow!r}), s.match_file({matching!r}))"
    done = run_guarded([sys.executable, "-c", code], project.root)
    assert done.stdout.split() == [b"False", b"True"], done.stderr


def test_hostile_gitignore_in_a_project(project):
    project.write(".gitignore", "a" + "*a" * 16 + "b\n")
    project.write("a" * 200 + ".py", LOST_UPDATE)
    project.write("app.py")
    findings, stderr = check_guarded(project, ".")
    assert sorted(findings) == [("TX101", "a" * 200 + ".py", LOST_UPDATE_LINE), APP]
    assert stderr == ""


# -- nothing is executed ----------------------------------------------------------------------

# Modules txlint or the libraries it loads import: a file of that name at the top of the checked
# repository must never be imported in their place.
SHADOWING_NAMES = ("json", "csv", "email", "zipfile", "textwrap", "click", "sqlglot", "libcst", "pathspec", "tomllib", "typing_extensions", "yaml")
SIDE_EFFECT_FILES = (
    "app_side_effect.py", "conftest.py", "setup.py", "manage.py", "sitecustomize.py", "usercustomize.py",
    "pkg/__init__.py", "pkg/models.py", "pkg/__main__.py", "migrations/0001_initial.py", "evil.py", "evil.sql",
)  # fmt: skip


def _plant_side_effects(root: Path) -> Path:
    """Files that each create a marker when imported or run; return the marker folder."""
    markers = root.parent / "markers"
    markers.mkdir()
    for name in (*SIDE_EFFECT_FILES, *(f"{module}.py" for module in SHADOWING_NAMES)):
        marker = markers / name.replace("/", "_")
        body = (
            f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
            "from django.db import models, transaction\n\n\n"
            "class Account(models.Model):\n"
            f"    pathlib.Path({str(marker)!r} + '-class').write_text('ran')\n\n\n"
            "@transaction.atomic\n"
            "def run():\n    acct = Account.objects.get(pk=1)\n    acct.balance -= 1\n    acct.save()\n"
        )
        if name.endswith(".sql"):
            body = f"-- \\! touch {marker}\nSELECT pg_sleep(0);\n"
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return markers


def _config_that_names_the_planted_code(root: Path) -> None:
    (root / "pyproject.toml").write_text(
        "[tool.txlint]\n"
        'lock-functions = ["evil.run", "pkg.models.Account", "os.system"]\n'
        'lock-parents = { "evil" = "os.system" }\n'
        'per-file-ignores = { "evil.py" = ["TX2"] }\n'
        'exclude = ["$(touch /tmp/x)", "`id`"]\n',
        encoding="utf-8",
    )


@pytest.mark.parametrize("how", ["console script", "python -m txlint", "in-process"])
def test_nothing_in_the_checked_tree_is_imported_or_run(project, run_txlint, how):
    markers = _plant_side_effects(project.root)
    _config_that_names_the_planted_code(project.root)
    project.write("app.py")
    before = set(sys.modules)
    if how == "in-process":
        result = run_txlint("check", "--format", "json", "--no-cache", ".")
        status, output = result.exit_code, result.stdout
    else:
        command = [str(Path(sys.executable).parent / "txlint")] if how == "console script" else [sys.executable, "-m", "txlint"]
        done = subprocess.run([*command, "check", "--format", "json", "--no-cache", "."], cwd=project.root, capture_output=True, timeout=300, check=False)
        status, output = done.returncode, done.stdout.decode()
    assert status == 1, output
    assert ("TX101", "app.py", LOST_UPDATE_LINE) in [(f["code"], f["path"], f["line"]) for f in json.loads(output)]
    assert sorted(p.name for p in markers.iterdir()) == []
    planted = {Path(name).stem for name in SIDE_EFFECT_FILES} | {"pkg", "evil"}
    assert not planted & (set(sys.modules) - before)


def test_python_m_version_imports_nothing_from_the_working_folder(project):
    markers = _plant_side_effects(project.root)
    done = subprocess.run([sys.executable, "-m", "txlint", "--version"], cwd=project.root, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in markers.iterdir()) == []


# -- output escaping --------------------------------------------------------------------------

AWKWARD_NAMES = {
    "newline": "new\nline.py",
    "carriage return": "cr\rname.py",
    "ansi": "red\x1b[31m\x1b[2Jname.py",
    "c1 csi": "c1\x9b31mname.py",
    "bidi": "bidi\u202eyp.py",
    "line separator": "ls\u2028name.py",
    "workflow command": "x,line=1::forged\n::error file=y.py,line=2::forged.py",
    "percent": "100%0A%3A%25.py",
    "colon comma": "a,b:c.py",
    "backslash": "back\\slash.py",
}
FORMATS = ["text", "concise", "json", "sarif", "github"]


def _write_awkward(project, name: str) -> None:
    try:
        project.write(name)
    except OSError as error:  # pragma: no cover - a file system that refuses the name
        pytest.skip(f"cannot create {name!r} here: {error}")


@pytest.mark.parametrize("output_format", FORMATS)
@pytest.mark.parametrize("key", sorted(AWKWARD_NAMES))
def test_awkward_file_names_in_every_format(project, run_txlint, key, output_format):
    name = AWKWARD_NAMES[key]
    _write_awkward(project, name)
    result = run_txlint("check", "--format", output_format, ".")
    assert result.exit_code == 1, result.output
    output = result.stdout
    if output_format in ("text", "concise"):
        assert not CONTROL.search(output.replace("\n", ""))
        # the finding, its note, (`full`: the source line between two gutter lines, a blank line,) the
        # summary and its line on the fix (locking the read: unsafe)
        assert len(output.splitlines()) == (8 if output_format == "text" else 4)
        assert output.splitlines()[-1] == "1 fixable with --fix --unsafe-fixes."
        assert output.startswith(escape_visible(name).replace("\r", "\\r").replace("\n", "\\n") + ":")
    elif output_format == "json":
        (finding,) = json.loads(output)
        assert finding["path"] == name
    elif output_format == "sarif":
        (found,) = json.loads(output)["runs"][0]["results"]
        uri = found["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert unquote_to_bytes(uri) == os.fsencode(name)
        assert not CONTROL.search(uri) and ":" not in uri
    else:
        (line,) = output.splitlines()
        properties = dict(part.split("=", 1) for part in line.split("::")[1].split(" ", 1)[1].split(","))
        assert list(properties) == ["file", "line", "col", "endLine", "endColumn", "title"]
        assert unescape_github(properties["file"]).replace(os.sep, "/") == escape_visible(name).replace(os.sep, "/")
        assert not CONTROL.search(output.replace("\n", ""))


def test_messages_quoting_source_text_cannot_forge_or_inject():
    """A lock key (source text the message quotes) with escapes, a newline and a forged command."""
    key = '"""lock:\x1b[2J\x9b1m\n::error file=x.py,line=1::forged %0A %25"""'
    source = f"import redis\nr = redis.Redis()\n\n\ndef take(order_id):\n    if r.setnx({key}, 1):\n        r.expire({key}, 30)\n"
    result = check_text("locks.py", source)
    assert "TX201" in {f.code for f in result.findings}
    assert any("\x1b" in f.message for f in result.findings)  # the raw text reaches the reporters...
    outputs = render_all(result.findings)  # ...which escape it (asserted inside)
    assert "%0A %25" not in outputs["github"]


@pytest.mark.skipif(not POSIX, reason="only POSIX file names can hold bytes that are not UTF-8")
@pytest.mark.parametrize("output_format", FORMATS)
def test_a_file_name_that_is_not_utf8_on_a_strict_utf8_stdout(project, output_format):
    """Regression: the GitHub format wrote the file name's lone surrogate to stdout: UnicodeEncodeError, exit 2."""
    project.write(b"caf\xe9\x1b[31m.py")
    project.write("app.py")
    environment = {**os.environ, "PYTHONIOENCODING": "utf-8", "LC_ALL": "C.UTF-8"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "txlint"), "check", "--no-cache", "--format", output_format, "."],
        cwd=project.root, capture_output=True, timeout=300, env=environment, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert b"internal error" not in done.stderr
    assert b"\x1b" not in done.stdout
    assert done.stdout.decode("utf-8")  # valid UTF-8 throughout
    if output_format == "github":
        assert len(done.stdout.splitlines()) == 2


def test_reporters_never_write_into_the_checked_tree(project, run_txlint):
    """Output goes to stdout only: with the cache off, a run in every format leaves the tree as it was."""
    project.write("app.py")
    before = {p: p.stat().st_mtime_ns for p in project.root.rglob("*")}
    for output_format in FORMATS:
        assert run_txlint("check", "--no-cache", "--format", output_format, ".").exit_code == 1
    assert {p: p.stat().st_mtime_ns for p in project.root.rglob("*")} == before
