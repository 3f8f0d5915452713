"""Inline suppression comments on the reported line."""

from __future__ import annotations

import pytest

from conftest import LOST_UPDATE, LOST_UPDATE_LINE
from txlint.engine.suppression import Suppressions

SAVE = "        acct.save()"
assert LOST_UPDATE.splitlines()[LOST_UPDATE_LINE - 1] == SAVE


def with_comment(comment: str, line: int = LOST_UPDATE_LINE) -> str:
    lines = LOST_UPDATE.splitlines()
    lines[line - 1] += "  " + comment
    return "\n".join(lines) + "\n"


def tx101_lines(project, run_txlint, source: str) -> list[int]:
    project.write("app.py", source)
    run = run_txlint("check", "--format", "json", "app.py")
    assert run.exit_code == (1 if run.json() else 0), run.output
    return [line for code, _, line in run.findings() if code == "TX101"]


def test_unsuppressed_baseline(project, run_txlint):
    assert tx101_lines(project, run_txlint, LOST_UPDATE) == [LOST_UPDATE_LINE]


@pytest.mark.parametrize(
    "comment",
    [
        "# txlint: ignore[TX101]",
        "# txlint: ignore",
        "# noqa: TX101",
        "# txlint: ignore[TX101,TX108]",
        "# txlint: ignore[TX108, TX101]",
        "# txlint:ignore[tx101]",
        "#txlint: ignore[TX101]",
        "# TXLINT: IGNORE[TX101]",
        "# noqa:TX101",
        "# NOQA: TX101",
        "# noqa: E501, TX101",
        "# noqa: E501,TX101",
        "# txlint: ignore[TX101] -- reviewed, the row is locked by the caller",
        "# type: ignore[attr-defined]  # noqa: TX101",
        "# pragma: no cover  # txlint: ignore",
    ],
)
def test_suppressed_on_the_reported_line(project, run_txlint, comment):
    assert tx101_lines(project, run_txlint, with_comment(comment)) == []


@pytest.mark.parametrize(
    "comment",
    [
        "# txlint: ignore[TX999]",
        "# txlint: ignore[TX102]",
        "# txlint: ignore[TX1010]",
        "# noqa: E501",
        "# noqa: TX102",
        "# txlint ignore",
        "# ignore[TX101]",
        "# a note about txlint",
    ],
)
def test_not_suppressed_by_other_codes_or_other_comments(project, run_txlint, comment):
    assert tx101_lines(project, run_txlint, with_comment(comment)) == [LOST_UPDATE_LINE]


@pytest.mark.parametrize("line", [LOST_UPDATE_LINE - 2, LOST_UPDATE_LINE - 1, LOST_UPDATE_LINE + 1])
def test_comment_on_another_line_does_not_suppress(project, run_txlint, line):
    source = LOST_UPDATE + "# txlint: ignore\n" if line > len(LOST_UPDATE.splitlines()) else with_comment("# txlint: ignore", line)
    assert tx101_lines(project, run_txlint, source) == [LOST_UPDATE_LINE]


def test_suppression_text_inside_a_string_is_not_a_comment(project, run_txlint):
    source = LOST_UPDATE.replace(SAVE, SAVE + '; note = "# txlint: ignore"')
    assert tx101_lines(project, run_txlint, source) == [LOST_UPDATE_LINE]


def test_suppression_is_per_finding(project, run_txlint):
    second = LOST_UPDATE.split("\n", 2)[2].replace("withdraw", "deposit").replace("-=", "+=")
    source = with_comment("# txlint: ignore[TX101]") + "\n\n" + second
    second_save = len(source.splitlines())  # the last line: deposit's `acct.save()`
    assert source.splitlines()[second_save - 1] == SAVE
    assert tx101_lines(project, run_txlint, source) == [second_save]


def test_suppression_works_on_stdin(project, run_txlint):
    run = run_txlint("check", "-", "--stdin-filename", "app/views.py", input=with_comment("# noqa: TX101"))
    assert run.exit_code == 0, run.output


def test_suppressed_findings_are_not_counted(project, run_txlint):
    project.write("a.py", with_comment("# txlint: ignore"))
    project.write("b.py")
    run = run_txlint("check", "--statistics", "--format", "json", ".")
    assert run.json() == [{"code": "TX101", "name": "lost-update", "count": 1}]


# -- the parser of the comments, directly -----------------------------------------------------


def test_python_suppressions_by_line():
    source = "a = 1  # txlint: ignore[TX101]\nb = 2  # noqa: TX102\nc = 3\nd = '# txlint: ignore'\n"
    suppressions = Suppressions.of_python(source)
    assert suppressions.suppressed("TX101", 1)
    assert not suppressions.suppressed("TX102", 1)
    assert suppressions.suppressed("TX102", 2)
    assert not suppressions.suppressed("TX101", 3)
    assert not suppressions.suppressed("TX101", 4)


def test_python_suppressions_survive_untokenizable_source():
    suppressions = Suppressions.of_python('x = 1  # txlint: ignore\ny = """unterminated\n')
    assert not suppressions.suppressed("TX101", 2)


def test_sql_suppressions_by_line():
    suppressions = Suppressions.of_sql("SELECT 1; -- txlint: ignore[TX201]\nSELECT 2;\nSELECT 3; -- txlint: ignore\n")
    assert suppressions.suppressed("TX201", 1)
    assert not suppressions.suppressed("TX202", 1)
    assert not suppressions.suppressed("TX201", 2)
    assert suppressions.suppressed("TX999", 3)
