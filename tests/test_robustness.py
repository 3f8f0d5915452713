"""A bad file never ends the run: it is a TX000 finding or a one-line notice, and the rest is checked.

Each test puts one awkward file next to the lost-update example `app.py` and
checks that the awkward file is handled (reported once, no traceback) and
that `app.py` is still analysed.
"""

from __future__ import annotations

import os

import pytest

from conftest import LOST_UPDATE, LOST_UPDATE_COLUMN, LOST_UPDATE_LINE

APP = ("TX101", "app.py", LOST_UPDATE_LINE)


def check_with_app(project, run, *args: str):
    """Run on the project (with `app.py` added) and assert the run survived and app.py was analysed."""
    project.write("app.py")
    result = run("check", "--format", "json", *args, ".")
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    assert APP in result.findings(), result.output
    return result


def assert_skipped_once(result, name: str) -> None:
    assert result.stderr.count(name) == 1, result.stderr
    assert name not in result.stdout


# -- parse errors are findings ----------------------------------------------------------------


def test_syntax_error_is_tx000_with_its_position(project, run_txlint):
    project.write("broken.py", "import os\n\ndef withdraw(account_id amount):\n    pass\n")
    result = check_with_app(project, run_txlint)
    (finding,) = [f for f in result.json() if f["path"] == "broken.py"]
    assert finding["code"] == "TX000"
    assert finding["name"] == "parse-error"
    assert finding["line"] == 3
    assert finding["column"] >= 1
    assert finding["message"]


def test_several_broken_files_are_each_reported(project, run_txlint):
    project.write("a.py", "def f(:\n")
    project.write("b.py", "x = = 1\n")
    project.write("c.py", "if True:\nprint(1)\n")  # an indentation error
    project.write("d.py", 'x = "unterminated\n')
    result = check_with_app(project, run_txlint)
    assert sorted(f for f in result.findings() if f[0] == "TX000") == [
        ("TX000", "a.py", 1), ("TX000", "b.py", 1), ("TX000", "c.py", 2), ("TX000", "d.py", 1),
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["\U00031350", "x\U000e01f0y"])  # code points newer than this Python's Unicode
def test_a_name_python_refuses_is_tx000_not_an_internal_error(project, run_txlint, name):
    project.write("odd.py", f"from django.db import transaction\n{name} = 1\n")
    result = check_with_app(project, run_txlint)
    assert [f for f in result.findings() if f[1] == "odd.py"] == [("TX000", "odd.py", 2)]
    assert "internal error" not in result.output


def test_syntax_error_only_exits_1(project, run_txlint):
    project.write("broken.py", "def f(:\n")
    result = run_txlint("check", ".")
    assert result.exit_code == 1


def test_sql_with_an_unterminated_string_is_tx000(project, run_txlint):
    project.write("db/report.sql", "SELECT id FROM accounts;\nSELECT 'unterminated FROM accounts;\n")
    result = check_with_app(project, run_txlint)
    (finding,) = [f for f in result.json() if f["path"] == "db/report.sql"]
    assert finding["code"] == "TX000"
    assert finding["line"] >= 1 and finding["column"] >= 1


@pytest.mark.parametrize(
    "sql",
    ["SELEC id FROM accounts;\n", "SELECT (((1;\n", "SELECT * FROM WHERE;\n", "INSERT INTO t VALUES (1;\n", "SELECT \"unterminated;\n"],
)
def test_broken_sql_is_tx000(project, run_txlint, sql):
    project.write("q.sql", sql)
    result = check_with_app(project, run_txlint)
    assert [f[0] for f in result.findings() if f[1] == "q.sql"] == ["TX000"]


def test_valid_sql_is_silent(project, run_txlint):
    project.write("q.sql", "BEGIN;\nUPDATE accounts SET nickname = 'x' WHERE id = 1;\nCOMMIT;\n")
    project.write("empty.sql", "")
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]


def test_empty_and_comment_only_files(project, run_txlint):
    project.write("empty.py", "")
    project.write("comments.py", "# nothing here\n")
    project.write("pkg/__init__.py", "")
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert result.stderr == ""


# -- unusable files are notices ---------------------------------------------------------------


def test_invalid_utf8_is_reported_once_and_skipped(project, run_txlint):
    project.write("latin.py", b'NAME = "caf\xe9"\n')
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert_skipped_once(result, "latin.py")


def test_invalid_utf8_sql_is_reported_once_and_skipped(project, run_txlint):
    project.write("q.sql", b"SELECT '\xff\xfe';\n")
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert_skipped_once(result, "q.sql")


def test_binary_file_named_py_is_reported_once_and_skipped(project, run_txlint):
    project.write("blob.py", b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 4)
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert_skipped_once(result, "blob.py")


def test_nul_byte_late_in_a_text_file(project, run_txlint):
    project.write("late.py", "x = 1\n" * 5000 + "\x00\n")
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert_skipped_once(result, "late.py")


def test_unknown_encoding_declaration(project, run_txlint):
    project.write("odd.py", "# -*- coding: no-such-codec -*-\nx = 1\n")
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert_skipped_once(result, "odd.py")


def test_file_over_the_size_limit(project, run_txlint):
    project.config("max-file-size = 1000\n")
    project.write("huge.py", "x = 1\n" * 1000)
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert_skipped_once(result, "huge.py")


def test_default_size_limit_is_2_mib(project, run_txlint):
    project.write("huge.py", b"#" * (2 * 1024 * 1024) + b"\ndef f(:\n")
    project.write("fits.py", b"#" * (2 * 1024 * 1024 - 20) + b"\ndef f(:\n")
    result = check_with_app(project, run_txlint)
    assert sorted(result.findings()) == [("TX000", "fits.py", 2), APP]
    assert_skipped_once(result, "huge.py")


@pytest.mark.skipif(os.name == "posix" and os.geteuid() == 0, reason="running as root: chmod 000 does not stop root reading the file")
def test_unreadable_file(project, run_txlint):
    path = project.write("secret.py")
    path.chmod(0)
    try:
        result = check_with_app(project, run_txlint)
    finally:
        path.chmod(0o644)
    assert result.findings() == [APP]
    assert_skipped_once(result, "secret.py")


@pytest.mark.skipif(os.name == "posix" and os.geteuid() == 0, reason="running as root: chmod 000 does not stop root listing the folder")
def test_unreadable_folder(project, run_txlint):
    folder = project.mkdir("private")
    project.write("private/app.py")
    folder.chmod(0)
    try:
        result = check_with_app(project, run_txlint)
    finally:
        folder.chmod(0o755)
    assert result.findings() == [APP]
    assert_skipped_once(result, "private")


def test_read_error_is_reported_once_even_as_root(project, run_txlint, monkeypatch):
    """The same path as an unreadable file, simulated so that it also runs as root."""
    real_open = os.open

    def open_(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.path.basename(os.fspath(path)) == "secret.py":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    project.write("secret.py")
    monkeypatch.setattr(os, "open", open_)
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert_skipped_once(result, "secret.py")


def test_folder_read_error_is_reported_once_even_as_root(project, run_txlint, monkeypatch):
    """The same path as an unreadable folder, simulated so that it also runs as root."""
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if os.path.basename(os.fspath(path)) == "private":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    project.write("private/app.py")
    monkeypatch.setattr(os, "scandir", scandir)
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert_skipped_once(result, "private")


def test_latin1_file_with_a_coding_declaration_is_analysed(project, run_txlint):
    source = b'# -*- coding: latin-1 -*-\nGREETING = "caf\xe9"\n' + LOST_UPDATE.encode()
    project.write("views.py", source)
    result = check_with_app(project, run_txlint)
    assert ("TX101", "views.py", LOST_UPDATE_LINE + 2) in result.findings()
    assert result.stderr == ""


def test_utf8_bom_crlf_and_cr_line_endings(project, run_txlint):
    project.write("bom.py", b"\xef\xbb\xbf" + LOST_UPDATE.encode())
    project.write("crlf.py", LOST_UPDATE.replace("\n", "\r\n").encode())
    project.write("tabs.py", LOST_UPDATE.replace("    ", "\t").encode())
    result = check_with_app(project, run_txlint)
    by_path = {f["path"]: f for f in result.json()}
    for name in ("bom.py", "crlf.py"):
        assert (by_path[name]["line"], by_path[name]["column"]) == (LOST_UPDATE_LINE, LOST_UPDATE_COLUMN), name
    assert by_path["tabs.py"]["line"] == LOST_UPDATE_LINE
    assert result.stderr == ""


def test_symlink_loop_is_reported_once(project, run_txlint):
    project.write("pkg/mod.py", "def f(:\n")
    os.symlink("..", project.root / "pkg" / "up", target_is_directory=True)
    result = check_with_app(project, run_txlint)
    assert sorted(result.findings()) == [("TX000", "pkg/mod.py", 1), APP]
    assert_skipped_once(result, "pkg/up")


def test_symlink_to_itself(project, run_txlint):
    os.symlink("self.py", project.root / "self.py")
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert_skipped_once(result, "self.py")


def test_broken_symlink(project, run_txlint):
    os.symlink("gone.py", project.root / "link.py")
    result = check_with_app(project, run_txlint)
    assert result.findings() == [APP]
    assert_skipped_once(result, "link.py")


def test_file_name_with_control_characters_does_not_corrupt_notices(project, run_txlint):
    project.write("bad\x1b[31m\nname.py", b"\x00")
    result = check_with_app(project, run_txlint)
    notices = [line for line in result.stderr.splitlines() if "name.py" in line]
    assert len(notices) == 1
    assert "\x1b" not in result.stderr


# -- stdin ------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"\x00\x01binary", b'x = "\xff"\n'], ids=["binary", "invalid-utf8"])
def test_unusable_stdin_is_a_notice(project, run_txlint, data):
    # Not analysed: shown, and the run fails (issue 14: a skipped file is never silent).
    result = run_txlint("check", "-", "--stdin-filename", "app/views.py", input=data)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("app/views.py") == 1


def test_syntax_error_on_stdin(project, run_txlint):
    result = run_txlint("check", "-", "--stdin-filename", "app/views.py", "--format", "json", input="def f(:\n")
    assert result.exit_code == 1
    assert result.findings() == [("TX000", "app/views.py", 1)]


# -- deep nesting -----------------------------------------------------------------------------
# Run through the console script: a crash in the parser must not take pytest down with it.


def test_long_operator_chain_does_not_end_the_run(project, run_script):
    project.write("generated.py", "QUERY = " + " + ".join(['"a"'] * 1500) + "\n")
    result = check_with_app(project, run_script)
    assert "generated.py" in result.stderr and "nested" in result.stderr  # skipped, with why


def test_a_200000_term_expression_ends_in_a_finding_or_notice(project, run_script):
    project.write("huge.py", "QUERY = " + " + ".join(["a"] * 200_000) + "\n")
    result = check_with_app(project, run_script)
    assert "huge.py" in result.output


def test_deeply_nested_brackets_do_not_crash(project, run_script):
    project.write("nested.py", "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n")
    result = check_with_app(project, run_script)
    assert ("TX000", "nested.py", 1) in result.findings()


def test_deeply_nested_sql_is_tx000(project, run_script):
    project.write("nested.sql", "SELECT " + "(" * 3000 + "1" + ")" * 3000 + ";\n")
    result = check_with_app(project, run_script)
    assert ("TX000", "nested.sql", 1) in result.findings()


def test_no_traceback_from_the_console_script_on_a_mixed_tree(project, run_script):
    project.write("broken.py", "def f(:\n")
    project.write("blob.py", b"\x00\x00")
    project.write("latin.py", b"x = '\xe9'\n")
    project.write("q.sql", "SELECT 'x;\n")
    os.symlink(".", project.root / "loop", target_is_directory=True)
    result = check_with_app(project, run_script)
    assert {f[1] for f in result.findings()} == {"app.py", "broken.py", "q.sql"}
    for name in ("blob.py", "latin.py", "loop"):
        assert name in result.stderr



def test_syntax_newer_than_the_running_python_is_analysed_when_libcst_reads_it(project, run_txlint):
    # PEP 695 generics (Python 3.12): CPython 3.11 refuses them, libcst's grammar reads them.
    import sys

    if sys.version_info >= (3, 12):
        pytest.skip("the running Python reads PEP 695 itself")
    project.write("generic.py", "def first[T](items: list[T]) -> T:\n    return items[0]\n")
    result = check_with_app(project, run_txlint)
    assert not [f for f in result.findings() if f[1] == "generic.py"]


def test_ddl_sqlglot_cannot_read_is_not_a_parse_error(project, run_txlint):
    project.write("fn.sql", "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;\n")
    result = check_with_app(project, run_txlint)
    assert not [f for f in result.findings() if f[1] == "fn.sql"]
