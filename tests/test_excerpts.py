"""The source line and carets under each finding in the `full` text format (ruff's `full`).

The carets must stand under the code a finding names whatever the line holds
(tabs, wide characters, control characters, a very long line), and a line
that cannot be had (a file gone, undecodable, shorter than the finding says)
gives no excerpt rather than a wrong one.
"""

from __future__ import annotations

import pytest

from conftest import LOST_UPDATE, LOST_UPDATE_LINE
from txlint.cli.reporters.excerpt import CUT, MAX_CHARACTERS, Excerpt, excerpt
from txlint.cli.source_lines import SourceLines


def _under(shown: Excerpt) -> str:
    """The text the carets stand under, on a line of one-cell characters."""
    start = len(shown.carets) - len(shown.carets.lstrip())
    return shown.text[start : len(shown.carets)]


@pytest.mark.parametrize(
    ("line", "column", "cells_before"),
    [
        pytest.param("        acct.save()", 9, 8, id="spaces"),
        pytest.param("\t\tacct.save()", 3, 8, id="tabs"),
        pytest.param("  \tx = acct.save()", 8, 8, id="tab-after-spaces"),
        pytest.param("名前 = acct.save()", 6, 7, id="wide-characters"),
        pytest.param("x = 'e\u0301' + acct.save()", 12, 10, id="combining-mark"),
        pytest.param("x = '\x1b[2J' or acct.save()", 15, 17, id="control-character-escaped"),
    ],
)
def test_carets_stand_under_the_span(line, column, cells_before):
    shown = excerpt([line], 1, column, 1, column + len("acct.save()"))
    assert shown is not None
    assert shown.carets == " " * cells_before + "^" * len("acct.save()")
    assert shown.text.endswith("acct.save()")
    assert "\t" not in shown.text and "\x1b" not in shown.text


def test_carets_under_one_cell_characters_cover_exactly_the_span():
    shown = excerpt(["\tx = acct.save() + 1"], 1, 6, 1, 17)
    assert shown is not None
    assert _under(shown) == "acct.save()"


def test_a_point_gets_one_caret_and_a_column_past_the_end_is_kept_at_the_end():
    assert excerpt(["x = 1"], 1, 3, 1, 3) == Excerpt(1, "x = 1", "  ^")
    assert excerpt(["abc"], 1, 10, 1, 12) == Excerpt(1, "abc", "   ^")


def test_a_span_over_several_lines_is_underlined_to_the_end_of_its_first_line():
    shown = excerpt(["    if state == 'pending':   ", "        pay()"], 1, 5, 2, 14)
    assert shown == Excerpt(1, "    if state == 'pending':   ", "    ^^^^^^^^^^^^^^^^^^^^^^")


@pytest.mark.parametrize("line", [0, 3, 99])
def test_a_line_that_is_not_there_gives_no_excerpt(line):
    assert excerpt(["a", "b"], line, 1, line, 2) is None


def test_a_very_long_line_is_cut_around_the_span():
    line = "x" * 5000 + " acct.save() " + "y" * 5000
    shown = excerpt([line], 1, 5002, 1, 5013)
    assert shown is not None
    assert shown.text.startswith(CUT) and shown.text.endswith(CUT)
    assert len(shown.text) <= MAX_CHARACTERS + 2 * len(CUT)
    assert _under(shown) == "acct.save()"


# -- reading the lines -------------------------------------------------------------------------


def test_lines_are_split_as_python_counts_them(project):
    project.write("a.py", "one\r\ntwo\rthree\x0cstill three\u2028\nfour\n".encode())
    lines = SourceLines(10_000)("a.py")
    assert lines is not None
    assert lines[:4] == ["one", "two", "three\x0cstill three\u2028", "four"]


def test_a_pep_263_encoding_is_honoured_and_undecodable_files_give_nothing(project):
    project.write("latin.py", "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1"))
    project.write("broken.py", b"name = '\xff\xfe'\n")
    project.write("binary.py", b"\x00\x01")
    lookup = SourceLines(10_000)
    assert lookup("latin.py")[1] == "name = 'café'"  # type: ignore[index]
    assert lookup("broken.py") is None
    assert lookup("binary.py") is None
    assert lookup("gone.py") is None


def test_each_file_is_read_once(project, monkeypatch):
    project.write("a.py", "x = 1\n")
    reads = []
    from txlint.cli import source_lines

    real = source_lines.read_source
    monkeypatch.setattr(source_lines, "read_source", lambda *args: reads.append(args[1]) or real(*args))
    lookup = SourceLines(10_000)
    assert lookup("a.py") == lookup("a.py") == ["x = 1", ""]
    assert reads == ["a.py"]


def test_the_stdin_bytes_are_used_for_its_name(project):
    project.write("app.py", "on disk\n")
    assert SourceLines(10_000, {"app.py": b"from stdin\n"})("app.py") == ["from stdin", ""]


# -- through the command line ------------------------------------------------------------------


def test_a_file_indented_with_tabs(project, run_txlint):
    project.write("app.py", LOST_UPDATE.replace("    ", "\t"))
    lines = run_txlint("check", ".").stdout.splitlines()
    source, carets = lines[3], lines[4]
    assert source == f"{LOST_UPDATE_LINE} |         acct.save()"
    assert carets == "  |         ^^^^^^^^^^^"


def test_a_file_that_is_not_utf8_still_reports_its_findings(project, run_txlint):
    project.write("app.py", b"# -*- coding: latin-1 -*-\n" + LOST_UPDATE.replace("acct.save()", "acct.save()  # café").encode("latin-1"))
    run = run_txlint("check", ".")
    assert run.exit_code == 1, run.output
    assert "|         acct.save()  # café" in run.stdout


def test_quiet_keeps_the_full_format_without_the_summary(project, run_txlint):
    project.write("app.py")
    loud = run_txlint("check", ".").stdout.splitlines()
    quiet = run_txlint("check", "--quiet", ".").stdout.splitlines()
    assert quiet == loud[:-1]
    assert "^^^^^^^^^^^" in quiet[4]
