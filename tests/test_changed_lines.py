"""`--changed-since REF`: report only findings on lines changed since a git revision.

Every test runs real git on a throw-away repository: what a pull-request gate
sees is what `git diff` says, renames, untracked files and quoted file names
included.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import LOCKED_UPDATE, LOST_UPDATE, LOST_UPDATE_LINE, LOST_UPDATE_READ_LINE
from txlint.cli.changed_lines import ChangedLinesError, changed_since, parse_diff

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

# Variables that would point git at another repository (set when the suite runs inside a git hook).
_LEAKY = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_PREFIX")

# A file with two functions: the lost update in `withdraw`, and the same bug in `refund`.
TWO_BUGS = LOST_UPDATE + """

def refund(account_id, amount):
    with transaction.atomic():
        acct = Account.objects.get(pk=account_id)
        acct.balance += amount
        acct.save()
"""
REFUND_SAVE_LINE = 14


@pytest.fixture
def repo(project, monkeypatch: pytest.MonkeyPatch):
    """The project folder as a git repository with one commit of `app.py` (TWO_BUGS) on branch main."""
    for name in _LEAKY:
        monkeypatch.delenv(name, raising=False)
    project.write("app.py", TWO_BUGS)
    git(project.root, "init", "-q")
    git(project.root, "symbolic-ref", "HEAD", "refs/heads/main")
    commit(project.root, "init")
    return project


def git(root: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-c", "user.name=txlint tests", "-c", "user.email=tests@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "-m", message)


def reported(run_txlint, *args: str) -> list[tuple[str, str, int]]:
    run = run_txlint("check", "--format", "json", *args)
    assert run.exit_code in (0, 1), run.output
    return run.findings()


# -- what counts as changed ------------------------------------------------------------------------


def test_nothing_changed_reports_nothing(repo, run_txlint):
    assert len(reported(run_txlint, ".")) == 2  # the bugs are there
    run = run_txlint("check", "--format", "json", "--changed-since", "HEAD", ".")
    assert run.exit_code == 0, run.output
    assert run.json() == []


def test_a_modified_line_reports_its_finding_only(repo, run_txlint):
    repo.write("app.py", TWO_BUGS.replace("        acct.balance += amount\n        acct.save()", "        acct.balance += amount\n        acct.save()  # refunds"))
    assert reported(run_txlint, "--changed-since", "HEAD", ".") == [("TX101", "app.py", REFUND_SAVE_LINE)]


def test_changing_the_read_reports_the_finding_on_the_unchanged_save(repo, run_txlint):
    """Removing the row lock is the change that brings the lost update in, though the save did not change."""
    repo.write("app.py", LOCKED_UPDATE)
    commit(repo.root, "lock the read")
    repo.write("app.py", LOST_UPDATE)
    assert reported(run_txlint, "--changed-since", "HEAD", ".") == [("TX101", "app.py", LOST_UPDATE_LINE)]


def test_lines_inserted_above_do_not_make_old_findings_changed(repo, run_txlint):
    repo.write("app.py", "import os\n" + TWO_BUGS)
    assert reported(run_txlint, "--changed-since", "HEAD", ".") == []


def test_staged_and_unstaged_changes_both_count(repo, run_txlint):
    staged = TWO_BUGS.replace("acct.save()", "acct.save()  # staged", 1)
    repo.write("app.py", staged)
    git(repo.root, "add", "app.py")
    repo.write("app.py", staged.replace("acct.save()\n", "acct.save()  # not staged\n"))
    lines = [line for _, _, line in reported(run_txlint, "--changed-since", "HEAD", ".")]
    assert lines == [LOST_UPDATE_LINE, REFUND_SAVE_LINE]


def test_committed_changes_since_an_older_ref_count(repo, run_txlint):
    repo.write("new.py", LOST_UPDATE)
    commit(repo.root, "add new.py")
    assert reported(run_txlint, "--changed-since", "HEAD~1", ".") == [("TX101", "new.py", LOST_UPDATE_LINE)]
    assert reported(run_txlint, "--changed-since", "HEAD", ".") == []


def test_an_untracked_file_counts_as_wholly_changed(repo, run_txlint):
    repo.write("pkg/new.py", LOST_UPDATE)
    assert reported(run_txlint, "--changed-since", "HEAD", ".") == [("TX101", "pkg/new.py", LOST_UPDATE_LINE)]


def test_an_ignored_untracked_file_is_not_changed(repo, run_txlint):
    repo.write(".gitignore", "generated.py\n")
    commit(repo.root, "ignore")
    repo.write("generated.py", LOST_UPDATE)
    assert reported(run_txlint, "--changed-since", "HEAD", "generated.py") == []


def test_a_renamed_file_is_not_changed(repo, run_txlint):
    git(repo.root, "mv", "app.py", "wallet.py")
    assert reported(run_txlint, "--changed-since", "HEAD", ".") == []


def test_a_renamed_and_edited_file_reports_the_edited_lines_under_its_new_name(repo, run_txlint):
    git(repo.root, "mv", "app.py", "wallet.py")
    repo.write("wallet.py", TWO_BUGS.replace("        acct.balance += amount\n        acct.save()", "        acct.balance += amount\n        acct.save()  # edited"))
    assert reported(run_txlint, "--changed-since", "HEAD", ".") == [("TX101", "wallet.py", REFUND_SAVE_LINE)]


def test_a_branch_is_compared_with_its_merge_base_not_the_moved_target(repo, run_txlint):
    """main moved on after the branch was cut: its own changes are not the branch's."""
    git(repo.root, "checkout", "-q", "-b", "feature")
    repo.write("feature.py", LOST_UPDATE)
    commit(repo.root, "feature work")
    git(repo.root, "checkout", "-q", "main")
    repo.write("app.py", TWO_BUGS.replace("acct.save()", "acct.save()  # main's edit"))
    commit(repo.root, "main moves on")
    git(repo.root, "checkout", "-q", "feature")
    assert reported(run_txlint, "--changed-since", "main", ".") == [("TX101", "feature.py", LOST_UPDATE_LINE)]


def test_changed_since_is_an_alias(repo, run_txlint):
    repo.write("new.py", LOST_UPDATE)
    assert reported(run_txlint, "--changed-since", "HEAD", ".") == [("TX101", "new.py", LOST_UPDATE_LINE)]


def test_paths_are_matched_from_a_subfolder(repo, run_txlint, monkeypatch):
    repo.write("pkg/sub/mod.py", LOST_UPDATE)
    commit(repo.root, "add mod")
    repo.write("pkg/sub/mod.py", LOST_UPDATE.replace("acct.save()", "acct.save()  # edited"))
    monkeypatch.chdir(repo.root / "pkg")
    assert reported(run_txlint, "--changed-since", "HEAD", ".") == [("TX101", os.path.join("sub", "mod.py"), LOST_UPDATE_LINE)]


def test_a_path_into_the_repository_from_outside_it(repo, run_txlint, monkeypatch, tmp_path):
    repo.write("new.py", LOST_UPDATE)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert [line for _, _, line in reported(run_txlint, "--changed-since", "HEAD", str(repo.root))] == [LOST_UPDATE_LINE]


@pytest.mark.parametrize("name", ["with space.py", "café.py", 'quo"te.py'])
def test_unusual_file_names(repo, run_txlint, name):
    repo.write(name, LOCKED_UPDATE)
    commit(repo.root, "add")
    repo.write(name, LOST_UPDATE)
    assert reported(run_txlint, "--changed-since", "HEAD", ".") == [("TX101", name, LOST_UPDATE_LINE)]


def test_sql_files(repo, run_txlint):
    repo.write("ledger.sql", "BEGIN;\nUPDATE accounts SET balance = balance - 10 WHERE id = 7 AND balance >= 10;\nCOMMIT;\n")
    commit(repo.root, "sql")
    repo.write("ledger.sql", "BEGIN;\nUPDATE accounts SET balance = balance - 10 WHERE id = 7 AND balance >= 10;\nCOMMIT;\n\nBEGIN;\nUPDATE wallets SET balance = balance - 5 WHERE id = 1;\nCOMMIT;\n")
    findings = reported(run_txlint, "--changed-since", "HEAD", "ledger.sql")
    assert findings and {line for _, _, line in findings} == {6}
    assert len(reported(run_txlint, "ledger.sql")) > len(findings)


# -- combined with the other options ----------------------------------------------------------------


def test_diff_with_github_annotations(repo, run_txlint):
    repo.write("new.py", LOST_UPDATE)
    run = run_txlint("check", "--format", "github", "--changed-since", "HEAD", ".")
    assert run.exit_code == 1
    assert "file=new.py" in run.stdout and "file=app.py" not in run.stdout


def test_diff_with_statistics(repo, run_txlint):
    repo.write("new.py", LOST_UPDATE)
    run = run_txlint("check", "--statistics", "--format", "json", "--changed-since", "HEAD", ".")
    assert run.json() == [{"code": "TX101", "name": "lost-update", "count": 1}]


def test_diff_with_baseline(repo, run_txlint):
    assert run_txlint("check", "--write-baseline", "baseline.json", ".").exit_code == 0
    edited = TWO_BUGS.replace("Account.objects.get(pk=account_id)", "Account.objects.get(pk=account_id)  # edited", 1)
    repo.write("app.py", "import os\n" + edited)
    assert len(reported(run_txlint, "--changed-since", "HEAD", ".")) == 1  # its read changed
    # ... but it is in the baseline: not reported.
    run = run_txlint("check", "--format", "json", "--changed-since", "HEAD", "--baseline", "baseline.json", ".")
    assert run.exit_code == 0, run.output
    assert run.json() == []


def test_diff_with_exit_zero(repo, run_txlint):
    repo.write("new.py", LOST_UPDATE)
    assert run_txlint("check", "--exit-zero", "--changed-since", "HEAD", ".").exit_code == 0


# -- errors -----------------------------------------------------------------------------------------


def test_an_unknown_ref_exits_2_naming_it(repo, run_txlint):
    run = run_txlint("check", "--changed-since", "no-such-branch", ".")
    assert run.exit_code == 2
    assert run.stderr.startswith("txlint: error: ") and "no-such-branch" in run.stderr
    assert run.stdout == "" and "Traceback" not in run.output


def test_a_ref_that_looks_like_an_option_exits_2(repo, run_txlint):
    run = run_txlint("check", "--changed-since=--output=/tmp/x", ".")
    assert run.exit_code == 2
    assert "not a git revision" in run.stderr


def test_outside_a_git_repository_exits_2(project, run_txlint, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(project.root.parent))
    project.write("app.py")
    run = run_txlint("check", "--changed-since", "HEAD", ".")
    assert run.exit_code == 2
    assert "git repository" in run.stderr and "Traceback" not in run.output


def test_without_git_exits_2(repo, run_txlint, monkeypatch):
    monkeypatch.setenv("PATH", str(repo.root / "no-bin"))
    run = run_txlint("check", "--changed-since", "HEAD", ".")
    assert run.exit_code == 2
    assert "git" in run.stderr and "not found" in run.stderr


def test_a_repository_without_commits_exits_2(project, run_txlint, monkeypatch):
    for name in _LEAKY:
        monkeypatch.delenv(name, raising=False)
    git(project.root, "init", "-q")
    project.write("app.py")
    run = run_txlint("check", "--changed-since", "HEAD", ".")
    assert run.exit_code == 2 and "HEAD" in run.stderr


def test_unrelated_history_falls_back_to_the_ref_with_a_notice(repo, run_txlint):
    git(repo.root, "checkout", "-q", "--orphan", "other")
    git(repo.root, "rm", "-q", "-r", "--cached", ".")
    (repo.root / "app.py").unlink()
    repo.write("other.py", LOCKED_UPDATE)
    commit(repo.root, "unrelated root")
    git(repo.root, "checkout", "-q", "main")
    run = run_txlint("check", "--format", "json", "--changed-since", "other", ".")
    assert "no merge base" in run.stderr
    assert {path for _, path, _ in run.findings()} == {"app.py"}  # app.py does not exist in `other`: all new


# -- the diff reader --------------------------------------------------------------------------------


def test_parse_diff_skips_hunk_bodies_by_their_counts():
    diff = [
        b"diff --git a/x.py b/x.py",
        b"--- a/x.py",
        b"+++ b/x.py",
        b"@@ -3 +3,2 @@ def f():",
        b"-old",
        b"+++ b/not-a-header.py",  # a content line "++ b/not-a-header.py" that was added
        b"+second",
        b"@@ -10,2 +10,0 @@",
        b"-gone",
        b"-gone too",
        b"diff --git a/y.py b/y.py",
        b"deleted file mode 100644",
        b"--- a/y.py",
        b"+++ /dev/null",
        b"@@ -1 +0,0 @@",
        b"-bye",
    ]
    assert dict(parse_diff(diff)) == {"x.py": frozenset({3, 4})}


def test_parse_diff_reads_quoted_names_and_missing_newline_markers():
    diff = [
        b'diff --git "a/caf\\303\\251 \\"q\\".py" "b/caf\\303\\251 \\"q\\".py"',
        b'--- "a/caf\\303\\251 \\"q\\".py"',
        b'+++ "b/caf\\303\\251 \\"q\\".py"',
        b"@@ -1 +1 @@",
        b"-a",
        b"\\ No newline at end of file",
        b"+b",
        b"\\ No newline at end of file",
        b"diff --git a/with space.py b/with space.py",
        b"--- a/with space.py\t",
        b"+++ b/with space.py\t",
        b"@@ -0,0 +1 @@",
        b"+new",
    ]
    assert dict(parse_diff(diff)) == {'café "q".py': frozenset({1}), "with space.py": frozenset({1})}


def test_changed_since_api_from_another_folder(repo, tmp_path):
    repo.write("new.py", LOST_UPDATE)
    changed, notice = changed_since("HEAD", repo.root)
    assert notice is None
    assert changed.changed(str(repo.root / "new.py"), 1)
    assert not changed.changed(str(repo.root / "app.py"), LOST_UPDATE_READ_LINE)
    with pytest.raises(ChangedLinesError, match="nope"):
        changed_since("nope", repo.root)
