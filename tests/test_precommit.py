"""The `txlint` pre-commit hook, run for real by pre-commit on a temporary git
repository.

pre-commit installs a hook from a repository's committed content: the hook
repository here is this source tree at its HEAD commit, so what is tested is
what a user pinning that commit as `rev:` gets. Uncommitted changes are not
covered (a warning says so). Slow (about a minute): pre-commit builds the
hook's own virtualenv and installs txlint and its dependencies into it from
the package index.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}
MANIFEST = ".pre-commit-hooks.yaml"

LOST_UPDATE = """\
from django.db import transaction

def withdraw(account_id, amount):
    with transaction.atomic():
        acct = Account.objects.get(pk=account_id)
        acct.balance -= amount
        acct.save()
"""
LOCKED = LOST_UPDATE.replace("Account.objects.get(", "Account.objects.select_for_update().get(")
CLEAN_SQL = "SELECT id, balance FROM accounts WHERE id = 1 FOR UPDATE;\n"

# Variables that would point git or pre-commit somewhere else, or skip the hook.
_LEAKY = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_PREFIX", "SKIP", "PRE_COMMIT_HOME", "PRE_COMMIT_COLOR", "PYTHONPATH")


def _require(tool: str, present: bool) -> None:
    if present:
        return
    if IN_CI:
        pytest.fail(f"{tool} is not installed, and CI=true requires it")
    pytest.skip(f"{tool} is not installed")


def _git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def _hook_source() -> str:
    """The HEAD commit of the source tree; skips when it is not a git work tree with a commit."""
    top = _git("rev-parse", "--show-toplevel", cwd=ROOT)
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != ROOT:
        pytest.skip(f"{ROOT} is not the top of a git work tree; pre-commit installs hooks from git")
    head = _git("rev-parse", "--verify", "HEAD", cwd=ROOT)
    if head.returncode != 0:
        pytest.skip(f"{ROOT} has no commit yet; pre-commit installs hooks from a commit")
    sha = head.stdout.strip()
    if _git("cat-file", "-e", f"{sha}:{MANIFEST}", cwd=ROOT).returncode != 0:
        pytest.fail(f"{MANIFEST} is not in HEAD ({sha[:12]}): pre-commit reads hooks from committed content; commit it")
    dirty = _git("status", "--porcelain", "--", "pyproject.toml", MANIFEST, "txlint", "rules", cwd=ROOT).stdout.strip()
    if dirty:
        warnings.warn(f"the pre-commit hook was tested at HEAD {sha[:12]}; these uncommitted changes are not covered:\n{dirty}", stacklevel=2)
    return sha


@pytest.fixture(scope="module")
def hook_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A git repository whose `.pre-commit-config.yaml` uses this source tree's HEAD as the hook repo."""
    _require("git", shutil.which("git") is not None)
    _require("pre-commit", importlib.util.find_spec("pre_commit") is not None)
    sha = _hook_source()

    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env.update(PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")), PRE_COMMIT_COLOR="never", PYTHONIOENCODING="utf-8")
    repo = tmp_path_factory.mktemp("project")
    for args in (("init", "-q"), ("config", "user.email", "ci@example.com"), ("config", "user.name", "txlint CI"), ("config", "commit.gpgsign", "false")):
        result = _git(*args, cwd=repo, env=env)
        assert result.returncode == 0, result.stderr
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT.as_posix()}\n    rev: {sha}\n    hooks:\n      - id: txlint\n",
        encoding="utf-8",
    )
    (repo / "README.md").write_text("demo\n", encoding="utf-8")
    for args in (("add", "-A"), ("commit", "-q", "--no-verify", "-m", "init")):
        result = _git(*args, cwd=repo, env=env)
        assert result.returncode == 0, result.stderr

    # Build the hook's environment once, outside the timed assertions below.
    install = _pre_commit(repo, env, "install-hooks", timeout=900)
    assert install.returncode == 0, f"pre-commit could not install the txlint hook:\n{install.stdout}\n{install.stderr}"
    return repo, env


def _pre_commit(repo: Path, env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)


def test_manifest_is_valid_for_pre_commit() -> None:
    _require("pre-commit", importlib.util.find_spec("pre_commit") is not None)
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(ROOT / MANIFEST)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    import yaml  # a dependency of pre-commit

    (hook,) = yaml.safe_load((ROOT / MANIFEST).read_text(encoding="utf-8"))
    assert hook["id"] == "txlint"
    assert hook["entry"] == "txlint check"
    assert hook["language"] == "python"
    assert set(hook["types_or"]) == {"python", "pyi", "sql"}
    assert hook["require_serial"] is True


def test_hook_fails_a_commit_with_a_lost_update(hook_project: tuple[Path, dict[str, str]]) -> None:
    repo, env = hook_project
    (repo / "wallet.py").write_text(LOST_UPDATE, encoding="utf-8")
    assert _git("add", "wallet.py", cwd=repo, env=env).returncode == 0
    try:
        # No file arguments: the staged files, as the installed git hook runs it.
        result = _pre_commit(repo, env, "run")
    finally:
        _git("rm", "-q", "--cached", "wallet.py", cwd=repo, env=env)
        (repo / "wallet.py").unlink()
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "TX101" in output, output
    assert "wallet.py" in output, output


def test_hook_passes_locked_code_and_sql(hook_project: tuple[Path, dict[str, str]]) -> None:
    repo, env = hook_project
    (repo / "locked.py").write_text(LOCKED, encoding="utf-8")
    (repo / "queries.sql").write_text(CLEAN_SQL, encoding="utf-8")
    result = _pre_commit(repo, env, "run", "--files", "locked.py", "queries.sql")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "TX101" not in output, output
    assert "txlint" in output and "Passed" in output, output  # the hook ran, it was not skipped
