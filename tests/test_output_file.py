"""`--output-file FILE`: the report goes to a file (as CI uploads it), notices still to stderr.

A CI job reads the file after txlint exits, so it must hold the whole report
or nothing (written atomically), and the exit status must be the same as
without the option.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from conftest import LOCKED_UPDATE, LOST_UPDATE_LINE


def test_text_report_goes_to_the_file_not_stdout(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--output-file", "report.txt", ".")
    assert run.exit_code == 1, run.output
    assert run.stdout == ""
    report = (project.root / "report.txt").read_text(encoding="utf-8")
    assert f"app.py:{LOST_UPDATE_LINE}:" in report and "Found 1 finding" in report


def test_the_file_holds_exactly_what_stdout_would(project, run_txlint):
    project.write("app.py")
    for output_format in ("text", "json", "sarif", "github"):
        expected = run_txlint("check", "--format", output_format, ".").stdout
        run_txlint("check", "--format", output_format, "-o", f"report.{output_format}", ".")
        assert (project.root / f"report.{output_format}").read_text(encoding="utf-8") == expected


def test_sarif_file_is_valid_json(project, run_txlint):
    project.write("app.py")
    run_txlint("check", "--format", "sarif", "--output-file", "txlint.sarif", ".")
    document = json.loads((project.root / "txlint.sarif").read_text(encoding="utf-8"))
    assert document["version"] == "2.1.0"
    assert [r["ruleId"] for r in document["runs"][0]["results"]] == ["TX101"]


def test_no_findings_still_writes_the_file_and_exits_0(project, run_txlint):
    project.write("app.py", LOCKED_UPDATE)
    run = run_txlint("check", "--format", "json", "--output-file", "report.json", ".")
    assert run.exit_code == 0
    assert json.loads((project.root / "report.json").read_text(encoding="utf-8")) == []


def test_exit_zero_with_output_file(project, run_txlint):
    project.write("app.py")
    assert run_txlint("check", "--exit-zero", "--output-file", "r.txt", ".").exit_code == 0


def test_notices_still_go_to_stderr(project, run_txlint):
    project.write("app.py")
    project.write("blob.py", b"\0\0binary")
    run = run_txlint("check", "--output-file", "report.txt", ".")
    assert "blob.py" in run.stderr and "binary" in run.stderr
    assert "blob.py" not in (project.root / "report.txt").read_text(encoding="utf-8")


def test_statistics_go_to_the_file(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--statistics", "--format", "json", "--output-file", "stats.json", ".")
    assert run.exit_code == 1 and run.stdout == ""
    assert json.loads((project.root / "stats.json").read_text(encoding="utf-8")) == [{"code": "TX101", "name": "lost-update", "count": 1}]


def test_missing_folders_are_created(project, run_txlint):
    project.write("app.py")
    run_txlint("check", "--output-file", "reports/txlint/out.txt", ".")
    assert (project.root / "reports/txlint/out.txt").is_file()


def test_an_existing_report_is_replaced_whole_and_no_temporary_file_is_left(project, run_txlint):
    project.write("app.py", LOCKED_UPDATE)
    project.write("report.txt", "an old and much longer report\n" * 100)
    run_txlint("check", "--output-file", "report.txt", "app.py")
    assert (project.root / "report.txt").read_text(encoding="utf-8") == "No findings (1 file checked).\n"
    assert sorted(set(os.listdir(project.root)) - {".txlint_cache"}) == ["app.py", "report.txt"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_new_report_gets_the_usual_permissions(project, run_txlint):
    project.write("app.py")
    umask = os.umask(0o022)
    try:
        run_txlint("check", "--output-file", "report.txt", ".")
    finally:
        os.umask(umask)
    assert (project.root / "report.txt").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0o600


def test_an_unwritable_destination_exits_2_naming_it(project, run_txlint):
    project.write("app.py")
    project.mkdir("taken")
    project.write("blocker", "a file where a folder should be")
    for destination in ("taken", "blocker/report.txt"):
        run = run_txlint("check", "--output-file", destination, ".")
        assert run.exit_code == 2, run.output
        assert run.stderr.startswith("txlint: error: ") or "Error" in run.stderr
        assert destination in run.stderr and "Traceback" not in run.output


def test_script_output_file(project, run_script):
    project.write("app.py")
    run = run_script("check", "--format", "github", "--output-file", "annotations.txt", ".")
    assert run.exit_code == 1 and run.stdout == ""
    assert "::error file=app.py" in (project.root / "annotations.txt").read_text(encoding="utf-8")
