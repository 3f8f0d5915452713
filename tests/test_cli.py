"""The command line a user and a CI job rely on: exit status, options, sub-commands.

Most tests run in-process (`run_txlint`); the `test_script_*` ones run the
installed console script as a subprocess, so the real entry point is covered.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from dataclasses import fields
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
from txlint.core.config import Config

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


@pytest.mark.parametrize("output_format", ["full", "concise", "json", "sarif", "github"])
def test_output_format_is_ruffs_name_for_format(project, run_txlint, output_format):
    project.write("app.py")
    assert run_txlint("check", "--output-format", output_format, ".").stdout == run_txlint("check", "--format", output_format, ".").stdout
    both = run_txlint("check", "--format", output_format, "--output-format", output_format, ".")
    assert both.exit_code == 1, both.output


def test_format_and_output_format_must_agree(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--format", "json", "--output-format", "sarif", ".")
    assert run.exit_code == 2
    assert "--format" in run.stderr and "--output-format" in run.stderr
    assert run.stdout == ""
    assert run_txlint("check", "--format", "text", "--output-format", "full", ".").exit_code == 1  # two names of one format


def test_output_format_counts_as_a_format_for_the_gate_options(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--add-ignore", "--output-format", "json", ".")
    assert run.exit_code == 2 and "--add-ignore" in run.stderr


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


def test_stdin_filename_alone_reads_stdin(project, run_txlint):
    """As ruff: `--stdin-filename NAME` without `-` reads the buffer from stdin, never the saved file."""
    project.write("app/views.py", LOCKED_UPDATE)
    run = run_txlint("check", "--stdin-filename", "app/views.py", "--format", "json", input=LOST_UPDATE)
    assert run.exit_code == 1, run.output
    assert run.findings() == [("TX101", "app/views.py", LOST_UPDATE_LINE)]
    clean = run_txlint("check", "--stdin-filename", "app/views.py", input=LOCKED_UPDATE)
    assert clean.exit_code == 0, clean.output
    assert clean.stdout == "No findings (1 file checked).\n"


def test_stdin_filename_alone_cannot_take_add_ignore(project, run_txlint):
    run = run_txlint("check", "--add-ignore", "--stdin-filename", "app.py", input=LOST_UPDATE)
    assert run.exit_code == 2
    assert "--add-ignore" in run.stderr


def test_stdin_filename_for_a_file_not_on_disk_yet(project, run_txlint):
    run = run_txlint("check", "--stdin-filename", "new/module.py", "--format", "json", input=LOST_UPDATE)
    assert run.findings() == [("TX101", "new/module.py", LOST_UPDATE_LINE)]


@pytest.mark.parametrize("args", [["app.py"], ["-", "app.py"], [".", "-"]])
def test_stdin_filename_with_other_paths_is_refused(project, run_txlint, args):
    project.write("app.py")
    run = run_txlint("check", "--stdin-filename", "views.py", *args, input=LOST_UPDATE)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "--stdin-filename" in run.stderr and next(p for p in args if p != "-") in run.stderr


# -- colour -----------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [
        pytest.param([], {}, False, id="auto-not-a-terminal"),
        pytest.param([], {"FORCE_COLOR": "1"}, True, id="force-color"),
        pytest.param([], {"FORCE_COLOR": ""}, False, id="empty-force-color"),
        pytest.param([], {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False, id="no-color-wins"),
        pytest.param(["--color", "always"], {}, True, id="always"),
        pytest.param(["--color", "always"], {"NO_COLOR": "1"}, True, id="always-beats-no-color"),
        pytest.param(["--color", "never"], {"FORCE_COLOR": "1"}, False, id="never-beats-force-color"),
        pytest.param(["--color", "always", "--format", "concise"], {}, True, id="concise"),
    ],
)
def test_colour_choice(project, run_txlint, monkeypatch, args, env, coloured):
    project.write("app.py")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    run = run_txlint("check", *args, ".")
    assert run.exit_code == 1
    assert bool(ANSI.search(run.stdout)) is coloured
    plain = run_txlint("check", *[a for a in args if a not in ("--color", "always", "never")], "--color", "never", ".")
    assert ANSI.sub("", run.stdout) == plain.stdout  # the same report, coloured or not


def test_colour_marks_the_path_bold_and_the_code_by_severity(project, run_txlint):
    project.write("app.py")
    first = run_txlint("check", "--color", "always", ".").stdout.splitlines()[0]
    assert first.startswith("\x1b[1mapp.py\x1b[0m:")
    assert "\x1b[31m\x1b[1mTX101\x1b[0m" in first  # an error: bold red


@pytest.mark.parametrize("output_format", ["json", "sarif", "github"])
def test_machine_formats_are_never_coloured(project, run_txlint, monkeypatch, output_format):
    project.write("app.py")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert not ANSI.search(run_txlint("check", "--color", "always", "--format", output_format, ".").stdout)


def test_output_file_and_statistics_are_never_coloured(project, run_txlint):
    project.write("app.py")
    assert run_txlint("check", "--color", "always", "--output-file", "report.txt", ".").exit_code == 1
    assert not ANSI.search((project.root / "report.txt").read_text(encoding="utf-8"))
    assert not ANSI.search(run_txlint("check", "--color", "always", "--statistics", ".").stdout)


def test_script_force_color_through_a_pipe(project, run_script, monkeypatch):
    """The real console script writes colour to a pipe when asked (click strips it otherwise)."""
    project.write("app.py")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert ANSI.search(run_script("check", ".").stdout)
    monkeypatch.delenv("FORCE_COLOR")
    assert not ANSI.search(run_script("check", ".").stdout)


# -- --show-settings, --show-files ------------------------------------------------------------


def _settings_table(output: str) -> dict[str, object]:
    """The `[tool.txlint]` part of `--show-settings`, read back as TOML."""
    return tomllib.loads(output[output.index("[tool.txlint]") :])["tool"]["txlint"]


def test_show_settings_names_the_file_root_cache_codes_and_every_key(project, run_txlint):
    config = project.config('ignore = ["TX105"]\nexclude = ["legacy/"]\ndialect = "mysql"\nper-file-ignores = { "tests/**" = ["TX101"] }\n')
    project.write("app.py")
    run = run_txlint("check", "--show-settings", "--select", "TX1")
    assert run.exit_code == 0, run.output
    lines = run.stdout.splitlines()
    assert f"Settings file: {config.resolve()}" in lines
    assert f"Project root: {project.root.resolve()}" in lines
    assert f"Cache folder: {project.root.resolve() / '.txlint_cache'}" in lines
    enabled = next(line for line in lines if line.startswith("Enabled codes"))
    assert "TX101" in enabled and "TX105" not in enabled and "TX201" not in enabled
    table = _settings_table(run.stdout)
    assert {key.replace("-", "_") for key in table} | {"root", "source"} == {f.name for f in fields(Config)}
    assert table["select"] == ["TX1"] and table["ignore"] == ["TX105"] and table["exclude"] == ["legacy/"]
    assert table["dialect"] == "mysql" and table["per-file-ignores"] == {"tests/**": ["TX101"]}
    assert table["max-file-size"] == Config().max_file_size and table["include-tests"] is False
    assert not (project.root / ".txlint_cache").exists()  # nothing was checked


def test_show_settings_without_a_config_file(project, run_txlint):
    run = run_txlint("check", "--show-settings", "--no-cache")
    assert run.exit_code == 0, run.output
    assert "Settings file: none (the defaults)" in run.stdout
    assert "Cache folder: none (--no-cache)" in run.stdout
    assert "# select: not set" in run.stdout
    assert "select" not in _settings_table(run.stdout)


def test_show_files_lists_what_a_check_reads(project, run_txlint):
    project.config('exclude = ["legacy/"]\n')
    project.write("b.py")
    project.write("a/app.py")
    project.write("db/schema.sql", "SELECT 1;\n")
    project.write("legacy/old.py")
    project.write("notes.txt", "hello\n")
    run = run_txlint("check", "--show-files")
    assert run.exit_code == 0, run.output
    assert run.stdout.splitlines() == ["a/app.py", "b.py", "db/schema.sql"]
    assert not (project.root / ".txlint_cache").exists()


def test_show_files_marks_the_files_read_for_the_index_only(project, run_txlint):
    project.config("")
    project.write("shop/views.py")
    project.write("shop/models.py", LOCKED_UPDATE)
    run = run_txlint("check", "--show-files", "shop/views.py")
    assert run.exit_code == 0, run.output
    assert run.stdout.splitlines() == ["shop/views.py", "shop/models.py (index only)"]
    alone = run_txlint("check", "--show-files", "--no-project-index", "shop/views.py")
    assert alone.stdout.splitlines() == ["shop/views.py"]
    stdin = run_txlint("check", "--show-files", "--no-project-index", "--stdin-filename", "shop/new.py")
    assert stdin.stdout.splitlines() == ["shop/new.py (stdin)"]


def test_show_settings_and_files_together(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--show-settings", "--show-files")
    assert run.exit_code == 0, run.output
    assert run.stdout.startswith("Settings file:") and run.stdout.endswith("\napp.py\n")


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


def test_script_stdin_filename_without_dash(project, run_script):
    project.write("app/views.py", LOCKED_UPDATE)
    run = run_script("check", "--stdin-filename", "app/views.py", input=LOST_UPDATE)
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
