"""`--add-ignore`: a suppression comment for every current finding, written without ever damaging a file.

The promise to the user: after `txlint check --add-ignore` the same check
reports none of those findings; nothing else in the file changes (code,
other comments, encoding, line endings, permissions); a line that cannot
take a comment is named, not mangled; a file edited meanwhile is left alone.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from conftest import BROKEN_PYTHON, LOST_UPDATE, LOST_UPDATE_LINE
from txlint.cli import add_ignore
from txlint.cli.add_ignore import Stamp, add_ignores
from txlint.core.ftypes import Finding, Severity

SAVE = "        acct.save()"
SAVE_IGNORED = "        acct.save()  # txlint: ignore[TX101]"

# The save's line ends inside a triple-quoted string: no comment can go there.
SAVE_IN_STRING = LOST_UPDATE.replace("acct.save()", 'acct.save(using="""default\n""")')
# The save's line ends with a backslash continuation.
SAVE_BEFORE_BACKSLASH = LOST_UPDATE.replace("acct.save()", "acct.save(); done = \\\n            True")

UNGUARDED_SQL = "BEGIN;\nUPDATE wallets SET balance = balance - 10.00 WHERE id = 7;\nCOMMIT;\n"


def add(run_txlint, *args: str):
    return run_txlint("check", "--add-ignore", *(args or (".",)))


def codes_after(run_txlint, *paths: str) -> list[str]:
    return run_txlint("check", "--format", "json", *(paths or (".",))).codes()


def test_adds_the_comment_and_a_rerun_reports_nothing(project, run_txlint):
    path = project.write("app.py")
    run = add(run_txlint)
    assert run.exit_code == 0, run.output
    assert path.read_text(encoding="utf-8") == LOST_UPDATE.replace(SAVE + "\n", SAVE_IGNORED + "\n")
    assert "Added 1 ignore comment to 1 file" in run.stderr
    assert run.stdout == ""
    assert codes_after(run_txlint) == []


def test_every_finding_of_a_project_is_suppressed(project, run_txlint):
    examples = Path(__file__).resolve().parents[1] / "examples"
    shutil.copytree(examples, project.root / "examples")
    before = run_txlint("check", "--format", "json", "examples").findings()
    assert len(before) > 3
    run = add(run_txlint, "examples")
    assert run.exit_code == 0, run.output
    lines = {(path, line) for _, path, line in before}
    files = {path for _, path, _ in before}
    assert f"Added {len(lines)} ignore comments to {len(files)} files" in run.stderr
    assert codes_after(run_txlint, "examples") == []
    # A second run has nothing left to do.
    assert "Added 0 ignore comments to 0 files" in add(run_txlint, "examples").stderr


def test_several_codes_on_one_line_share_one_comment(project, run_txlint):
    path = project.write("wallet.sql", UNGUARDED_SQL)
    found = run_txlint("check", "--format", "json", ".").findings()
    assert len(found) == 2 and len({line for _, _, line in found}) == 1
    add(run_txlint)
    line = path.read_text(encoding="utf-8").splitlines()[1]
    assert line == "UPDATE wallets SET balance = balance - 10.00 WHERE id = 7;  -- txlint: ignore[TX105, TX106]"
    assert codes_after(run_txlint) == []


def test_merges_into_an_existing_txlint_comment(project, run_txlint):
    path = project.write("app.py", LOST_UPDATE.replace(SAVE, SAVE + "  # txlint: ignore[TX108]"))
    add(run_txlint)
    assert SAVE + "  # txlint: ignore[TX101, TX108]\n" in path.read_text(encoding="utf-8")
    assert codes_after(run_txlint) == []


def test_keeps_another_comment_on_the_line(project, run_txlint):
    path = project.write("app.py", LOST_UPDATE.replace(SAVE, SAVE + "  # type: ignore[attr-defined]"))
    add(run_txlint)
    assert SAVE + "  # type: ignore[attr-defined]  # txlint: ignore[TX101]\n" in path.read_text(encoding="utf-8")
    assert codes_after(run_txlint) == []


def test_keeps_what_a_noqa_comment_suppressed(project, run_txlint):
    """A txlint comment takes precedence over noqa, so the noqa's txlint codes move into it."""
    path = project.write("app.py", LOST_UPDATE.replace(SAVE, SAVE + "  # noqa: TX108, E501"))
    add(run_txlint)
    assert SAVE + "  # noqa: TX108, E501  # txlint: ignore[TX101, TX108]\n" in path.read_text(encoding="utf-8")


def test_a_multi_line_call_gets_the_comment_on_the_reported_line(project, run_txlint):
    source = LOST_UPDATE.replace("acct.save()", "acct.save(\n            update_fields=['balance'],\n        )")
    path = project.write("app.py", source)
    add(run_txlint)
    assert codes_after(run_txlint) == []
    assert path.read_text(encoding="utf-8").splitlines()[LOST_UPDATE_LINE - 1] == "        acct.save(  # txlint: ignore[TX101]"


@pytest.mark.parametrize("source", [SAVE_IN_STRING, SAVE_BEFORE_BACKSLASH], ids=["inside-a-string", "backslash"])
def test_a_line_that_cannot_take_a_comment_is_skipped_and_named(project, run_txlint, source):
    path = project.write("app.py", source)
    run = add(run_txlint)
    assert run.exit_code == 1, run.output  # the finding is still there
    assert f"app.py:{LOST_UPDATE_LINE}: TX101 not suppressed" in run.stderr
    assert path.read_text(encoding="utf-8") == source
    assert codes_after(run_txlint) == ["TX101"]


def test_skipped_lines_do_not_stop_the_other_files(project, run_txlint):
    project.write("a.py", SAVE_IN_STRING)
    project.write("b.py")
    run = add(run_txlint)
    assert run.exit_code == 1
    assert "Added 1 ignore comment to 1 file" in run.stderr
    assert run_txlint("check", "--format", "json", ".").findings() == [("TX101", "a.py", LOST_UPDATE_LINE)]


def test_exit_zero_with_skipped_lines(project, run_txlint):
    project.write("app.py", SAVE_IN_STRING)
    assert add(run_txlint, "--exit-zero", ".").exit_code == 0


def test_a_parse_error_is_not_suppressed(project, run_txlint):
    path = project.write("broken.py", BROKEN_PYTHON)
    run = add(run_txlint)
    assert run.exit_code == 1
    assert "TX000 not suppressed" in run.stderr and "syntax" in run.stderr
    assert path.read_text(encoding="utf-8") == BROKEN_PYTHON


# -- nothing else in the file changes ------------------------------------------------------------------


def test_crlf_line_endings_are_kept(project, run_txlint):
    path = project.write("app.py", LOST_UPDATE.replace("\n", "\r\n").encode())
    add(run_txlint)
    assert path.read_bytes() == LOST_UPDATE.replace(SAVE + "\n", SAVE_IGNORED + "\n").replace("\n", "\r\n").encode()


def test_a_declared_encoding_and_a_bom_are_kept(project, run_txlint):
    latin = ("# -*- coding: latin-1 -*-\n# Café\n" + LOST_UPDATE).encode("latin-1")
    latin_path = project.write("latin.py", latin)
    bom_path = project.write("bom.py", b"\xef\xbb\xbf" + ("# Café\n" + LOST_UPDATE).encode())
    add(run_txlint)
    assert latin_path.read_bytes() == latin.replace(SAVE.encode(), SAVE_IGNORED.encode())
    assert bom_path.read_bytes().startswith(b"\xef\xbb\xbf# Caf\xc3\xa9\n")
    assert codes_after(run_txlint) == []


def test_a_file_without_a_final_newline(project, run_txlint):
    path = project.write("app.py", LOST_UPDATE.rstrip("\n"))
    add(run_txlint)
    assert path.read_text(encoding="utf-8") == LOST_UPDATE.rstrip("\n").replace(SAVE, SAVE_IGNORED)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_permissions_are_kept_and_no_temporary_file_is_left(project, run_txlint):
    path = project.write("app.py")
    path.chmod(0o750)
    add(run_txlint)
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert sorted(set(os.listdir(project.root)) - {".txlint_cache"}) == ["app.py"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_a_symlink_stays_a_symlink(project, run_txlint):
    target = project.write("real/app.py")
    link = project.root / "app.py"
    link.symlink_to(target)
    add(run_txlint, "app.py")
    assert link.is_symlink()
    assert SAVE_IGNORED in target.read_text(encoding="utf-8")


# -- never damage a file ----------------------------------------------------------------------------------


def _finding(path: str, line: int = LOST_UPDATE_LINE, code: str = "TX101") -> Finding:
    return Finding(code, "lost-update", Severity.ERROR, "m", path, line, 9, line, 20)


def test_a_file_changed_since_the_analysis_is_not_touched(project):
    path = project.write("app.py")
    stamp = Stamp.of(path)
    assert stamp is not None
    path.write_text("# edited by someone else\n" + LOST_UPDATE, encoding="utf-8")
    os.utime(path, ns=(stamp.mtime_ns + 10**9, stamp.mtime_ns + 10**9))
    outcome = add_ignores([_finding("app.py")], dialect="postgres", stamps={"app.py": stamp})
    assert outcome.comments == 0 and len(outcome.skipped) == 1
    assert "changed" in outcome.skipped[0].reason
    assert path.read_text(encoding="utf-8") == "# edited by someone else\n" + LOST_UPDATE


def test_a_file_changed_while_the_comments_are_prepared_is_not_touched(project, monkeypatch):
    path = project.write("app.py")
    verify = add_ignore._FileEdit._verify

    def editor_saves_meanwhile(self, old, new, edits):
        verify(self, old, new, edits)
        path.write_text(LOST_UPDATE + "# saved by an editor\n", encoding="utf-8")

    monkeypatch.setattr(add_ignore._FileEdit, "_verify", editor_saves_meanwhile)
    outcome = add_ignores([_finding("app.py")], dialect="postgres")
    assert outcome.comments == 0 and "changed" in outcome.skipped[0].reason
    assert path.read_text(encoding="utf-8") == LOST_UPDATE + "# saved by an editor\n"


def test_an_edit_that_would_change_the_code_is_refused(project, monkeypatch):
    """The last safety net: if the placement check were wrong, the re-parse still refuses."""
    path = project.write("app.py", SAVE_IN_STRING)
    monkeypatch.setattr(add_ignore, "_python_comments", lambda text: dict.fromkeys(range(1, 20), (-1, "")))
    outcome = add_ignores([_finding("app.py")], dialect="postgres")
    assert outcome.comments == 0 and "parse" in outcome.skipped[0].reason
    assert path.read_text(encoding="utf-8") == SAVE_IN_STRING


def test_an_sql_edit_inside_a_string_is_refused(project):
    source = "BEGIN;\nUPDATE wallets SET note = 'a\nb', balance = balance - 1 WHERE id = 7;\nCOMMIT;\n"
    path = project.write("w.sql", source)
    outcome = add_ignores([_finding("w.sql", line=2, code="TX106")], dialect="postgres")
    assert outcome.comments == 0 and "parse" in outcome.skipped[0].reason
    assert path.read_text(encoding="utf-8") == source


def test_a_line_past_the_end_is_skipped(project):
    project.write("app.py")
    outcome = add_ignores([_finding("app.py", line=99)], dialect="postgres")
    assert outcome.comments == 0 and "no line 99" in outcome.skipped[0].reason


# -- with the other options ----------------------------------------------------------------------------------


def test_with_a_baseline_only_new_findings_get_comments(project, run_txlint):
    old = project.write("old.py")
    assert run_txlint("check", "--write-baseline", "b.json", ".").exit_code == 0
    new = project.write("new.py")
    run = add(run_txlint, "--baseline", "b.json", ".")
    assert run.exit_code == 0, run.output
    assert old.read_text(encoding="utf-8") == LOST_UPDATE
    assert SAVE_IGNORED in new.read_text(encoding="utf-8")


@pytest.mark.parametrize("other", [["--statistics"], ["--output-file", "out.txt"], ["--format", "json"]])
def test_add_ignore_refuses_report_options(project, run_txlint, other):
    path = project.write("app.py")
    run = add(run_txlint, *other, ".")
    assert run.exit_code == 2 and "--add-ignore" in run.stderr
    assert path.read_text(encoding="utf-8") == LOST_UPDATE


def test_add_ignore_refuses_stdin(project, run_txlint):
    run = run_txlint("check", "--add-ignore", "-", "--stdin-filename", "app.py", input=LOST_UPDATE)
    assert run.exit_code == 2 and "stdin" in run.stderr


def test_script_add_ignore(project, run_script):
    project.write("app.py")
    run = run_script("check", "--add-ignore", ".")
    assert run.exit_code == 0, run.output
    assert run_script("check", ".").exit_code == 0
