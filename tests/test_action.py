"""What a user installs from, as the README shows it: the GitHub Action (`action.yml`), the
pre-commit `rev`, the `pip install` commands. All name the one repository
(`txlint.core.links.REPOSITORY_URL`) at one release tag, `v` + `txlint.__version__`; the tag
itself is made when the version is released (git cannot be asked here whether the public
repository has it).

The action's run step is run for real, with bash, as the runner would run it after the install
step (which needs the network and GitHub's runner, so it is only read).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from conftest import LOST_UPDATE
from txlint import __version__
from txlint.core.links import REPOSITORY_URL

yaml = pytest.importorskip("yaml", reason="PyYAML (a dependency of pre-commit) is not installed")

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TAG = f"v{__version__}"
ACTION_NAME = REPOSITORY_URL.removeprefix("https://github.com/")  # owner/name, as `uses:` spells it
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")



def _action() -> dict[str, Any]:
    action: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return action


def _steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _action()["runs"]["steps"]
    return steps


def _run_step() -> dict[str, Any]:
    (step,) = [s for s in _steps() if re.search(r"\btxlint\"? check\b", s.get("run", ""))]
    return step


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def _yaml_blocks(text: str) -> list[Any]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def test_action_is_a_composite_action_with_its_inputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert action["inputs"]["args"]["default"] == "."
    assert action["inputs"]["format"]["default"] == "github"
    assert all(input_["description"] for input_ in action["inputs"].values())
    assert action["name"] and action["description"]


def test_action_sets_up_python_and_installs_txlint_from_its_own_checkout() -> None:
    steps = _steps()
    (setup,) = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert setup["with"]["update-environment"] is False  # the job's own Python is left as it was
    (install,) = [s for s in steps if "pip install" in s.get("run", "")]
    assert install["env"]["TXLINT_SOURCE"] == "${{ github.action_path }}"
    assert '-m pip install --disable-pip-version-check --quiet "$TXLINT_SOURCE"' in install["run"]
    assert steps.index(setup) < steps.index(install) < steps.index(_run_step())


def test_action_run_step_calls_txlint_check_with_the_inputs() -> None:
    step = _run_step()
    assert step["shell"] == "bash"
    assert step["env"]["TXLINT_ARGS"] == "${{ inputs.args }}"
    assert step["env"]["TXLINT_FORMAT"] == "${{ inputs.format }}"
    assert '"$TXLINT_BIN/txlint" check --format "$TXLINT_FORMAT" $TXLINT_ARGS' in step["run"]
    assert not EXPRESSION.search(step["run"]), "an input spliced into the script could inject shell code"


def _run_as_the_runner(step: dict[str, Any], inputs: dict[str, str], bin_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The step's script under bash, its `env:` expressions evaluated for these inputs."""
    values = {f"inputs.{name}": value for name, value in inputs.items()} | {"steps.install.outputs.bin": str(bin_dir)}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({name: EXPRESSION.sub(lambda m: values[m.group(1)], value) for name, value in step["env"].items()})
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def txlint_bin(tmp_path: Path) -> Path:
    script = Path(sys.executable).parent / "txlint"
    if not script.is_file() or shutil.which("bash") is None:
        pytest.skip("needs bash and the `txlint` console script of this environment")
    return script.parent


def test_action_run_step_runs_txlint_with_the_default_inputs(tmp_path: Path, txlint_bin: Path) -> None:
    (tmp_path / "wallet.py").write_text(LOST_UPDATE, encoding="utf-8")
    defaults = {name: spec["default"] for name, spec in _action()["inputs"].items()}
    result = _run_as_the_runner(_run_step(), defaults, txlint_bin, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr  # findings fail the step
    assert result.stdout.startswith("::error file=wallet.py,line=7,"), result.stdout


def test_action_run_step_splits_args_and_expands_no_globs(tmp_path: Path, txlint_bin: Path) -> None:
    (tmp_path / "wallet.py").write_text(LOST_UPDATE, encoding="utf-8")
    inputs = {"args": "--exit-zero  --output-file out.sarif\twallet.py", "format": "sarif"}
    result = _run_as_the_runner(_run_step(), inputs, txlint_bin, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"ruleId": "TX101"' in (tmp_path / "out.sarif").read_text(encoding="utf-8")
    # A file really named `*.py`, with nothing to report: a shell glob would add wallet.py to it.
    (tmp_path / "*.py").write_text("def nothing():\n    return 1\n", encoding="utf-8")
    literal = _run_as_the_runner(_run_step(), {"args": "*.py", "format": "github"}, txlint_bin, tmp_path)
    assert literal.returncode == 0 and literal.stdout == "", literal.stdout + literal.stderr


def test_readme_workflow_uses_the_action_at_the_release_tag() -> None:
    (workflow,) = _yaml_blocks(_section("CI (GitHub Actions)"))
    inputs = set(_action()["inputs"])
    uses = [step for job in workflow["jobs"].values() for step in job["steps"] if step.get("uses", "").startswith(f"{ACTION_NAME}@")]
    assert len(uses) == len(workflow["jobs"]), "every job runs the action"
    for step in uses:
        assert step["uses"] == f"{ACTION_NAME}@{TAG}"
        assert set(step.get("with", {})) <= inputs
    sarif_job = workflow["jobs"]["code-scanning"]["steps"]
    (txlint_step,) = [s for s in sarif_job if s.get("uses", "").startswith(ACTION_NAME)]
    (upload,) = [s for s in sarif_job if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert txlint_step["with"]["format"] == "sarif"
    assert f"--output-file {upload['with']['sarif_file']}" in txlint_step["with"]["args"]


def test_readme_pre_commit_rev_is_the_release_tag_of_this_repository() -> None:
    (config,) = _yaml_blocks(_section("pre-commit"))
    (repo,) = config["repos"]
    assert repo["repo"] == REPOSITORY_URL
    assert repo["rev"] == TAG, f"the README's pre-commit rev must be the tag of this version, {TAG}"
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [h["id"] for h in repo["hooks"]] == [hook["id"]]


def test_readme_install_commands_name_this_repository_and_its_extras() -> None:
    install = _section("Install")
    assert "pip install .  " in install
    git_urls = set(re.findall(r'"txlint(?:\[[a-z,]+\])? @ (git\+\S+)"', README))
    assert git_urls == {f"git+{REPOSITORY_URL}@{TAG}"}, git_urls
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"])
    named = set(re.findall(r"^- `([a-z]+)`:", install, re.M))
    assert named == {"runtime", "fast", "lsp"} and named <= extras
