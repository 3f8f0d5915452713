"""The command line a user and a CI job rely on: exit status, options, sub-commands.

Most tests run in-process (`run_txlint`); the `test_script_*` ones run the
installed console script as a subprocess, so the real entry point is covered.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

from conftest import (
    BROKEN_PYTHON,
    LOCKED_UPDATE,
    LOST_UPDATE,
    LOST_UPDATE_COLUMN,
    LOST_UPDATE_LINE,
    LOST_UPDATE_READ_LINE,
)

# -- exit status ----------------------------------------------------------------------------


def test_no_findings_exits_0(project, run_txlint):
    project.write("app.py", LOCKED_UPDATE)
    run = run_txlint("check", "--format", "json", ".")
    assert run.exit_code == 0, run.output
    assert run.json() == []


def test_a_finding_exits_1_and_is_printed_as_path_line_column(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "app.py")
    assert run.exit_code == 1, run.output
    assert f"app.py:{LOST_UPDATE_LINE}:{LOST_UPDATE_COLUMN}: TX101 [lost-update] " in run.stdout
    assert f"app.py:{LOST_UPDATE_READ_LINE}:" in run.stdout  # the related read


def test_check_without_paths_checks_the_working_folder(project, run_txlint):
    project.write("pkg/app.py")
    run = run_txlint("check", "--format", "json")
    assert run.exit_code == 1, run.output
    assert run.findings() == [("TX101", "pkg/app.py", LOST_UPDATE_LINE)]


def test_exit_zero_reports_but_exits_0(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--exit-zero", "--format", "json", ".")
    assert run.exit_code == 0, run.output
    assert run.codes() == ["TX101"]


def test_exit_zero_does_not_hide_usage_errors(project, run_txlint):
    run = run_txlint("check", "--exit-zero", "missing.py")
    assert run.exit_code == 2


def test_unknown_option_is_a_usage_error(project, run_txlint):
    run = run_txlint("check", "--no-such-option", ".")
    assert run.exit_code == 2
    assert "--no-such-option" in run.output


def test_unknown_format_is_a_usage_error(project, run_txlint):
    run = run_txlint("check", "--format", "xml", ".")
    assert run.exit_code == 2
    assert "xml" in run.output


# -- selection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "reported"),
    [
        pytest.param([], True, id="default"),
        pytest.param(["--select", "TX101"], True, id="select-code"),
        pytest.param(["--select", "TX1"], True, id="select-prefix"),
        pytest.param(["--select", "tx101"], True, id="select-lowercase"),
        pytest.param(["--select", "TX000"], False, id="select-other-code"),
        pytest.param(["--select", "TX000,TX101"], True, id="select-comma-list"),
        pytest.param(["--select", "TX000", "--select", "TX101"], True, id="select-repeated"),
        pytest.param(["--ignore", "TX101"], False, id="ignore-code"),
        pytest.param(["--ignore", "TX1"], False, id="ignore-prefix"),
        pytest.param(["--ignore", "TX000"], True, id="ignore-other-code"),
        pytest.param(["--select", "TX1", "--ignore", "TX101"], False, id="select-prefix-ignore-code"),
        pytest.param(["--select", "TX000", "--extend-select", "TX101"], True, id="extend-select-code"),
        pytest.param(["--select", "TX000", "--extend-select", "TX1"], True, id="extend-select-prefix"),
        pytest.param(["--select", "ALL"], True, id="select-all"),
    ],
)
def test_select_ignore_extend_select(project, run_txlint, args, reported):
    project.write("app.py")
    run = run_txlint("check", "--format", "json", *args, ".")
    assert run.exit_code == (1 if reported else 0), run.output
    assert ("TX101" in run.codes()) is reported


def test_selection_keeps_other_codes(project, run_txlint):
    project.write("app.py")
    project.write("broken.py", BROKEN_PYTHON)
    assert sorted(run_txlint("check", "--format", "json", ".").codes()) == ["TX000", "TX101"]
    assert run_txlint("check", "--format", "json", "--ignore", "TX000", ".").codes() == ["TX101"]
    assert run_txlint("check", "--format", "json", "--select", "TX0", ".").codes() == ["TX000"]


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
@pytest.mark.parametrize("selector", ["TX999", "NOPE1"])
def test_unknown_selector_exits_2_naming_it(project, run_txlint, option, selector):
    project.write("app.py")
    run = run_txlint("check", option, selector, ".")
    assert run.exit_code == 2
    assert selector in run.stderr
    assert run.stdout == ""
    assert "Traceback" not in run.output


def test_one_unknown_selector_in_a_list_is_named(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--select", "TX101,TX998", ".")
    assert run.exit_code == 2
    assert "TX998" in run.stderr


# -- output options ---------------------------------------------------------------------------


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github"])
def test_every_format_reports_the_finding(project, run_txlint, output_format):
    project.write("app.py")
    run = run_txlint("check", "--format", output_format, ".")
    assert run.exit_code == 1, run.output
    assert "TX101" in run.stdout
    if output_format in {"json", "sarif"}:
        json.loads(run.stdout)


def test_statistics_counts_findings_per_code(project, run_txlint):
    project.write("a.py")
    project.write("b.py")
    project.write("broken.py", BROKEN_PYTHON)
    run = run_txlint("check", "--statistics", ".")
    assert run.exit_code == 1, run.output
    rows = {line.split()[1]: line.split()[0] for line in run.stdout.splitlines() if line.strip()}
    assert rows == {"TX101": "2", "TX000": "1"}
    assert "a.py" not in run.stdout  # counts instead of the findings


def test_statistics_as_json(project, run_txlint):
    project.write("a.py")
    project.write("b.py")
    run = run_txlint("check", "--statistics", "--format", "json", ".")
    assert run.exit_code == 1, run.output
    assert run.json() == [{"code": "TX101", "name": "lost-update", "count": 2}]


def test_statistics_with_no_findings_exits_0(project, run_txlint):
    project.write("app.py", LOCKED_UPDATE)
    run = run_txlint("check", "--statistics", ".")
    assert run.exit_code == 0, run.output
    assert "TX101" not in run.stdout


def test_statistics_refuses_formats_it_cannot_print(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--statistics", "--format", "sarif", ".")
    assert run.exit_code == 2
    assert "--statistics" in run.stderr


def test_quiet_prints_findings_only(project, run_txlint):
    project.write("app.py")
    project.write("binary.py", b"\x00\x01\x02")
    loud = run_txlint("check", ".")
    quiet = run_txlint("check", "--quiet", ".")
    assert loud.exit_code == quiet.exit_code == 1
    summary = loud.stdout.splitlines()[-1]
    assert summary not in quiet.stdout
    assert quiet.stdout.splitlines() == loud.stdout.splitlines()[:-1]
    assert "binary.py" in loud.stderr
    # A file that could not be analysed is shown even with --quiet (issue 14: never dropped unseen).
    assert quiet.stderr.count("binary.py: skipped") == 1


def test_quiet_with_no_findings_prints_nothing(project, run_txlint):
    project.write("app.py", LOCKED_UPDATE)
    run = run_txlint("check", "-q", ".")
    assert run.exit_code == 0
    assert run.stdout == ""


def test_quiet_json_is_still_valid_json(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--quiet", "--format", "json", ".")
    assert run.findings() == [("TX101", "app.py", LOST_UPDATE_LINE)]


# -- stdin ------------------------------------------------------------------------------------


def test_stdin_is_reported_under_stdin_filename(project, run_txlint):
    run = run_txlint("check", "-", "--stdin-filename", "app/views.py", "--format", "json", input=LOST_UPDATE)
    assert run.exit_code == 1, run.output
    assert run.findings() == [("TX101", "app/views.py", LOST_UPDATE_LINE)]
    assert run.json()[0]["related"][0]["path"] == "app/views.py"


def test_stdin_text_format_uses_the_name(project, run_txlint):
    run = run_txlint("check", "-", "--stdin-filename", "app/views.py", input=LOST_UPDATE)
    assert run.exit_code == 1
    assert run.stdout.startswith(f"app/views.py:{LOST_UPDATE_LINE}:{LOST_UPDATE_COLUMN}: TX101 ")


def test_stdin_does_not_read_the_file_on_disk(project, run_txlint):
    project.write("app/views.py", LOCKED_UPDATE)  # the saved version is fine, the buffer is not
    run = run_txlint("check", "-", "--stdin-filename", "app/views.py", "--format", "json", input=LOST_UPDATE)
    assert run.findings() == [("TX101", "app/views.py", LOST_UPDATE_LINE)]


def test_stdin_clean_source_exits_0(project, run_txlint):
    run = run_txlint("check", "-", "--stdin-filename", "app/views.py", input=LOCKED_UPDATE)
    assert run.exit_code == 0, run.output


def test_stdin_without_a_name(project, run_txlint):
    run = run_txlint("check", "-", "--format", "json", input=LOST_UPDATE)
    assert run.exit_code == 1, run.output
    assert [(code, line) for code, _, line in run.findings()] == [("TX101", LOST_UPDATE_LINE)]


def test_stdin_sql_name_is_parsed_as_sql(project, run_txlint):
    run = run_txlint("check", "-", "--stdin-filename", "db/report.sql", "--format", "json", input="SELECT 'oops;\n")
    assert run.exit_code == 1, run.output
    assert run.findings() == [("TX000", "db/report.sql", 1)]


def test_stdin_honours_per_file_ignores_for_its_name(project, run_txlint):
    project.config('per-file-ignores = { "legacy/**" = ["TX101"] }\n')
    ignored = run_txlint("check", "-", "--stdin-filename", "legacy/old.py", input=LOST_UPDATE)
    reported = run_txlint("check", "-", "--stdin-filename", "new/app.py", input=LOST_UPDATE)
    assert ignored.exit_code == 0, ignored.output
    assert reported.exit_code == 1, reported.output


def test_stdin_cannot_be_combined_with_paths(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "-", "app.py", input=LOST_UPDATE)
    assert run.exit_code == 2
    assert run.stdout == ""


# -- rules, explain, version ------------------------------------------------------------------


def test_rules_lists_code_name_severity_and_default(project, run_txlint):
    run = run_txlint("rules")
    assert run.exit_code == 0
    rows = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines()[1:] if line.strip()}
    assert rows["TX101"] == ["lost-update", "error", "on"]
    assert rows["TX000"] == ["parse-error", "error", "on"]


def test_rules_as_json(project, run_txlint):
    run = run_txlint("rules", "--format", "json")
    assert run.exit_code == 0
    rows = {row["code"]: row for row in run.json()}
    assert rows["TX101"]["name"] == "lost-update"
    assert rows["TX101"]["severity"] == "error"
    assert rows["TX101"]["default_enabled"] is True
    assert len(rows) == len(run.json())  # no code listed twice


HEADINGS = ["What it does", "Why is this bad?", "Example", "Use instead"]


@pytest.mark.parametrize("code", ["TX101", "tx101"])
def test_explain_prints_the_rule_doc_with_its_headings(project, run_txlint, code):
    run = run_txlint("explain", code)
    assert run.exit_code == 0
    headings = [line.lstrip("#").strip() for line in run.stdout.splitlines() if line.startswith("#")]
    found = [h for h in headings if h in HEADINGS]
    assert found == HEADINGS  # each once, in this order
    assert "select_for_update" in run.stdout  # the "use instead" code is there


def test_explain_every_rule(project, run_txlint):
    codes = [row["code"] for row in run_txlint("rules", "--format", "json").json()]
    for code in codes:
        run = run_txlint("explain", code)
        assert run.exit_code == 0, code
        headings = {line.lstrip("#").strip() for line in run.stdout.splitlines() if line.startswith("#")}
        assert set(HEADINGS) <= headings, code


def test_explain_unknown_code_exits_2(project, run_txlint):
    run = run_txlint("explain", "TX999")
    assert run.exit_code == 2
    assert "TX999" in run.stderr
    assert run.stdout == ""


def test_version(project, run_txlint):
    run = run_txlint("--version")
    assert run.exit_code == 0
    assert version("txlint") in run.stdout


def test_help_lists_the_commands(project, run_txlint):
    run = run_txlint("--help")
    assert run.exit_code == 0
    for command in ("check", "rules", "explain"):
        assert command in run.stdout


# -- the real console script ------------------------------------------------------------------


def test_script_version(run_script):
    run = run_script("--version")
    assert run.exit_code == 0, run.output
    assert version("txlint") in run.stdout


def test_script_reports_a_finding_and_exits_1(project, run_script):
    project.write("app.py")
    run = run_script("check", "--format", "json", ".")
    assert run.exit_code == 1, run.output
    assert run.findings() == [("TX101", "app.py", LOST_UPDATE_LINE)]
    assert run.json()[0]["column"] == LOST_UPDATE_COLUMN


def test_script_clean_project_exits_0(project, run_script):
    project.write("app.py", LOCKED_UPDATE)
    run = run_script("check", ".")
    assert run.exit_code == 0, run.output


def test_script_exit_zero(project, run_script):
    project.write("app.py")
    run = run_script("check", "--exit-zero", ".")
    assert run.exit_code == 0, run.output
    assert "TX101" in run.stdout


def test_script_unknown_selector_exits_2(project, run_script):
    project.write("app.py")
    run = run_script("check", "--select", "TX999", ".")
    assert run.exit_code == 2
    assert "TX999" in run.stderr
    assert "Traceback" not in run.output


def test_script_bad_config_exits_2(project, run_script):
    project.config('selct = ["TX1"]\n')
    project.write("app.py")
    run = run_script("check", ".")
    assert run.exit_code == 2
    assert "selct" in run.stderr
    assert "Traceback" not in run.output


def test_script_stdin(project, run_script):
    run = run_script("check", "-", "--stdin-filename", "app/views.py", input=LOST_UPDATE)
    assert run.exit_code == 1, run.output
    assert run.stdout.startswith(f"app/views.py:{LOST_UPDATE_LINE}:{LOST_UPDATE_COLUMN}: TX101 ")


def test_script_explain(run_script):
    good = run_script("explain", "TX101")
    bad = run_script("explain", "TX999")
    assert good.exit_code == 0
    assert "What it does" in good.stdout
    assert bad.exit_code == 2
    assert "TX999" in bad.stderr


def test_script_syntax_error_and_other_files(project, run_script):
    project.write("broken.py", BROKEN_PYTHON)
    project.write("app.py")
    run = run_script("check", "--format", "json", ".")
    assert run.exit_code == 1, run.output
    assert sorted(run.findings()) == [("TX000", "broken.py", 1), ("TX101", "app.py", LOST_UPDATE_LINE)]
    assert "Traceback" not in run.output


def test_python_dash_m_runs_the_cli(project):
    project.write("app.py")
    completed = subprocess.run([sys.executable, "-m", "txlint", "check", "."], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1, completed.stderr
    assert "TX101" in completed.stdout
