"""`--write-baseline` / `--baseline`: a CI gate that fails on new findings only.

What a user relies on: code that only moved is not new, a second copy of a
recorded bug is, fixing a bug breaks nothing, and a missing or damaged
baseline stops the gate with a message naming the file (never a silent pass).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import LOCKED_UPDATE, LOST_UPDATE, LOST_UPDATE_LINE

BASELINE = "txlint-baseline.json"

# A second function with the same bug as LOST_UPDATE's `withdraw`.
OTHER_FUNCTION = """

def refund(account_id, amount):
    with transaction.atomic():
        acct = Account.objects.get(pk=account_id)
        acct.balance += amount
        acct.save()
"""


def write_baseline(run_txlint, *paths: str):
    run = run_txlint("check", "--write-baseline", BASELINE, *(paths or (".",)))
    assert run.exit_code == 0, run.output
    return run


def gate(run_txlint, *paths: str):
    """The gate run, in JSON."""
    return run_txlint("check", "--baseline", BASELINE, "--format", "json", *(paths or (".",)))


def test_write_baseline_records_findings_and_exits_0_without_a_report(project, run_txlint):
    project.write("app.py")
    run = write_baseline(run_txlint)
    assert run.stdout == ""
    document = json.loads((project.root / BASELINE).read_text(encoding="utf-8"))
    assert document["version"] == 1
    (entry,) = document["findings"]
    assert entry["code"] == "TX101" and entry["path"] == "app.py" and entry["fingerprint"]
    assert "line" not in entry  # line numbers would make every unrelated edit a baseline change


def test_baseline_hides_the_recorded_findings(project, run_txlint):
    project.write("app.py")
    write_baseline(run_txlint)
    run = gate(run_txlint)
    assert run.exit_code == 0, run.output
    assert run.json() == []
    assert BASELINE in run.stderr and "1 finding in the baseline not reported" in run.stderr


def test_without_the_baseline_the_findings_are_still_there(project, run_txlint):
    project.write("app.py")
    write_baseline(run_txlint)
    assert run_txlint("check", "--format", "json", ".").codes() == ["TX101"]


def test_a_moved_function_is_not_new(project, run_txlint):
    project.write("app.py")
    write_baseline(run_txlint)
    header, body = LOST_UPDATE.split("\n\n", 1)
    project.write("app.py", header + "\n\nTIMEOUT = 30\nRETRIES = 3\n\n\n" + body)
    # The finding really moved: without the baseline it is on a later line.
    assert run_txlint("check", "--format", "json", ".").findings() == [("TX101", "app.py", LOST_UPDATE_LINE + 4)]
    run = gate(run_txlint)
    assert run.exit_code == 0, run.output
    assert run.json() == []


def test_reindented_code_is_not_new(project, run_txlint):
    project.write("app.py")
    write_baseline(run_txlint)
    project.write("app.py", LOST_UPDATE.replace("        acct.save()", "        acct.save(  )"))
    assert gate(run_txlint).json() == []


def test_the_same_bug_in_another_function_is_new(project, run_txlint):
    project.write("app.py")
    write_baseline(run_txlint)
    project.write("app.py", LOST_UPDATE + OTHER_FUNCTION)
    run = gate(run_txlint)
    assert run.exit_code == 1, run.output
    new_line = (LOST_UPDATE + OTHER_FUNCTION).splitlines().index("        acct.save()", LOST_UPDATE_LINE) + 1
    assert run.findings() == [("TX101", "app.py", new_line)]


def test_a_second_identical_copy_in_the_same_function_is_new(project, run_txlint):
    project.write("app.py")
    write_baseline(run_txlint)
    project.write("app.py", LOST_UPDATE + "        acct.balance -= amount\n        acct.save()\n")
    run = gate(run_txlint)
    assert run.exit_code == 1, run.output
    assert run.findings() == [("TX101", "app.py", LOST_UPDATE_LINE + 2)]  # the copy; the recorded one is still hidden


def test_the_same_bug_in_a_new_file_is_new(project, run_txlint):
    project.write("app.py")
    write_baseline(run_txlint)
    project.write("copy.py")
    run = gate(run_txlint)
    assert run.findings() == [("TX101", "copy.py", LOST_UPDATE_LINE)]


def test_a_fixed_finding_breaks_nothing_and_is_reported_as_stale(project, run_txlint):
    project.write("app.py")
    write_baseline(run_txlint)
    project.write("app.py", LOCKED_UPDATE)
    run = gate(run_txlint)
    assert run.exit_code == 0, run.output
    assert run.json() == []
    assert "entries that match no finding any more: 1" in run.stderr


def test_entries_of_files_not_checked_are_not_stale(project, run_txlint):
    project.write("a.py")
    project.write("b.py")
    write_baseline(run_txlint)
    run = gate(run_txlint, "a.py")
    assert run.exit_code == 0, run.output
    assert "match no finding" not in run.stderr and "2 findings in the baseline" not in run.stderr


def test_rewriting_the_baseline_drops_fixed_entries(project, run_txlint):
    project.write("a.py")
    project.write("b.py")
    write_baseline(run_txlint)
    project.write("b.py", LOCKED_UPDATE)
    write_baseline(run_txlint)
    document = json.loads((project.root / BASELINE).read_text(encoding="utf-8"))
    assert [e["path"] for e in document["findings"]] == ["a.py"]


def test_the_file_is_sorted_and_stable(project, run_txlint):
    for name in ("z.py", "a.py", "pkg/m.py"):
        project.write(name, LOST_UPDATE + OTHER_FUNCTION)
    write_baseline(run_txlint)
    first = (project.root / BASELINE).read_bytes()
    document = json.loads(first)
    keys = [(e["path"], e["code"], e["fingerprint"]) for e in document["findings"]]
    assert keys == sorted(keys) and len(keys) == 6 and len(set(keys)) == 6
    write_baseline(run_txlint)
    assert (project.root / BASELINE).read_bytes() == first
    assert sorted(p.name for p in project.root.iterdir() if p.name != ".txlint_cache") == sorted(["z.py", "a.py", "pkg", BASELINE])  # no temporary file left


def test_write_baseline_replaces_an_existing_file(project, run_txlint):
    project.write(BASELINE, "old content")
    project.write("app.py")
    write_baseline(run_txlint)
    assert json.loads((project.root / BASELINE).read_text(encoding="utf-8"))["version"] == 1


def test_write_baseline_into_a_missing_folder_exits_2(project, run_txlint):
    project.write("app.py")
    run = run_txlint("check", "--write-baseline", "no/such/folder/b.json", ".")
    assert run.exit_code == 2
    assert "no/such/folder/b.json" in run.stderr and "Traceback" not in run.output


# -- a baseline that cannot be used stops the gate ---------------------------------------------


def test_missing_baseline_exits_2_naming_the_file(project, run_txlint):
    project.write("app.py")
    run = gate(run_txlint)
    assert run.exit_code == 2
    assert run.stderr.startswith("txlint: error: ") and BASELINE in run.stderr
    assert "--write-baseline" in run.stderr  # says how to create it
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param("{not json", "not valid JSON", id="corrupt"),
        pytest.param("", "not valid JSON", id="empty"),
        pytest.param("[]", "not a txlint baseline", id="a-list"),
        pytest.param('{"findings": []}', "not a txlint baseline", id="no-version"),
        pytest.param('{"version": 99, "findings": []}', "version 99", id="future-version"),
        pytest.param('{"version": 1, "findings": {}}', "must be a list", id="findings-not-a-list"),
        pytest.param('{"version": 1, "findings": [{"code": "TX101"}]}', "entry 1", id="entry-without-fingerprint"),
    ],
)
def test_damaged_baseline_exits_2_naming_the_file(project, run_txlint, content, problem):
    project.write("app.py")
    project.write(BASELINE, content)
    run = gate(run_txlint)
    assert run.exit_code == 2, run.output
    assert BASELINE in run.stderr and problem in run.stderr
    assert run.stdout == "" and "Traceback" not in run.output


def test_baseline_not_utf8_exits_2(project, run_txlint):
    project.write("app.py")
    project.write(BASELINE, b'{"version": 1, "findings": [], "x": "\xff"}')
    run = gate(run_txlint)
    assert run.exit_code == 2 and "UTF-8" in run.stderr


def test_a_damaged_baseline_fails_even_with_exit_zero(project, run_txlint):
    project.write("app.py")
    project.write(BASELINE, "{")
    assert run_txlint("check", "--exit-zero", "--baseline", BASELINE, ".").exit_code == 2


@pytest.mark.parametrize("other", [["--baseline", "old.json"], ["--changed-since", "HEAD"], ["--add-ignore"], ["--statistics"], ["--output-file", "x"]])
def test_write_baseline_refuses_options_it_cannot_honour(project, run_txlint, other):
    project.write("app.py")
    run = run_txlint("check", "--write-baseline", BASELINE, *other, ".")
    assert run.exit_code == 2
    assert "--write-baseline" in run.stderr
    assert not (project.root / BASELINE).exists()


# -- with the other outputs ----------------------------------------------------------------------


def test_statistics_count_only_new_findings(project, run_txlint):
    project.write("app.py")
    write_baseline(run_txlint)
    project.write("copy.py")
    run = run_txlint("check", "--baseline", BASELINE, "--statistics", "--format", "json", ".")
    assert run.exit_code == 1
    assert run.json() == [{"code": "TX101", "name": "lost-update", "count": 1}]


@pytest.mark.parametrize("output_format", ["github", "sarif", "text"])
def test_other_formats_show_only_new_findings(project, run_txlint, output_format):
    project.write("app.py")
    write_baseline(run_txlint)
    project.write("copy.py")
    run = run_txlint("check", "--baseline", BASELINE, "--format", output_format, ".")
    assert run.exit_code == 1
    assert "copy.py" in run.stdout
    assert "app.py" not in run.stdout


def test_entry_paths_are_relative_to_the_project_root_not_the_cwd(project, run_txlint, monkeypatch):
    project.write("pyproject.toml", "[tool.txlint]\n")
    project.write("src/app.py")
    monkeypatch.chdir(project.root / "src")
    assert run_txlint("check", "--write-baseline", str(project.root / BASELINE), ".").exit_code == 0
    document = json.loads((project.root / BASELINE).read_text(encoding="utf-8"))
    assert [e["path"] for e in document["findings"]] == ["src/app.py"]


def test_the_baseline_works_from_another_folder(project, run_txlint, monkeypatch):
    project.write("pyproject.toml", "[tool.txlint]\n")
    project.write("src/app.py")
    write_baseline(run_txlint, "src")
    monkeypatch.chdir(project.root / "src")
    run = run_txlint("check", "--baseline", os.path.join("..", BASELINE), "--format", "json", ".")
    assert run.json() == []


def test_script_baseline_round_trip(project, run_script):
    """The installed console script, as a CI job runs it."""
    project.write("app.py")
    assert run_script("check", "--write-baseline", BASELINE, ".").exit_code == 0
    assert run_script("check", "--baseline", BASELINE, ".").exit_code == 0
    project.write("copy.py")
    run = run_script("check", "--baseline", BASELINE, ".")
    assert run.exit_code == 1 and "copy.py" in run.stdout
    assert Path(project.root / BASELINE).exists()
