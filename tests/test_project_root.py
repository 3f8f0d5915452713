"""The project a check belongs to comes from the checked paths, not from the working folder.

`cd /tmp && txlint check ~/proj` must read the configuration, build the index
and keep the cache exactly as `cd ~/proj && txlint check .` does; only the
paths shown differ (relative to the working folder when under it, else as
given). The projects here are git work trees (a `.git` folder) with and
without a configuration file, since both decide the root.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import LOST_UPDATE, LOST_UPDATE_LINE

MODELS = "from django.db import models\nclass Product(models.Model):\n    views = models.IntegerField()\n    title = models.CharField()\n"
COUNTER = 'from django.db.models import F\nfrom shop.models import Product\ndef seen(pk):\n    Product.objects.filter(pk=pk).update(views=F("views") + 1)\n'
# TX111 only with the project index: `views` is updated atomically in another file.
RETITLE = "from shop.models import Product\ndef retitle(pk, title):\n    p = Product.objects.get(pk=pk)\n    p.title = title\n    p.save()\n"


@pytest.fixture(params=["git", "config"])
def shop(request, project):
    """A project whose root is marked by `.git` only, or by a configuration file (inside a work tree)."""
    project.mkdir(".git")
    if request.param == "config":
        project.config('per-file-ignores = { "legacy/**" = ["TX101"] }\n')
    project.write("shop/models.py", MODELS)
    project.write("shop/counters.py", COUNTER)
    project.write("shop/views.py", RETITLE)
    project.write("wallet/views.py", LOST_UPDATE)
    project.write("legacy/old.py", LOST_UPDATE)
    project.write("tests/helpers.py", LOST_UPDATE)  # a test helper: read, not judged
    return project


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def _findings(run, root: Path) -> list[tuple[str, str, int]]:
    """(code, path below the project root, line), whatever folder the run was made from."""
    assert run.exit_code in (0, 1), run.output
    return sorted((code, Path(os.path.abspath(path)).relative_to(root).as_posix(), line) for code, path, line in run.findings())


def test_a_check_from_elsewhere_finds_what_a_check_from_inside_finds(shop, run_txlint, elsewhere, monkeypatch):
    inside = _findings(run_txlint("check", "--format", "json", "."), shop.root)
    monkeypatch.chdir(elsewhere)
    outside = _findings(run_txlint("check", "--format", "json", str(shop.root)), shop.root)
    assert outside == inside
    assert ("TX111", "shop/views.py", 5) in inside
    assert ("TX101", "wallet/views.py", LOST_UPDATE_LINE) in inside
    assert not any(path.startswith("tests/") for _, path, _ in inside)


def test_named_files_from_elsewhere_are_judged_against_their_project(shop, run_txlint, elsewhere, monkeypatch):
    """The pre-commit hook and editors pass files: the index still comes from the file's project."""
    inside = run_txlint("check", "--format", "json", "shop/views.py")
    assert inside.findings() == [("TX111", "shop/views.py", 5)]
    monkeypatch.chdir(elsewhere)
    outside = run_txlint("check", "--format", "json", str(shop.root / "shop" / "views.py"))
    assert outside.findings() == [("TX111", str(shop.root / "shop" / "views.py"), 5)]


def test_stdin_from_elsewhere_is_judged_against_the_project_of_its_name(shop, run_txlint, elsewhere, monkeypatch):
    monkeypatch.chdir(elsewhere)
    name = str(shop.root / "shop" / "views.py")
    run = run_txlint("check", "--format", "json", "--stdin-filename", name, input=RETITLE)
    assert run.findings() == [("TX111", name, 5)]


def test_the_cache_goes_to_the_project_not_the_working_folder(shop, run_txlint, elsewhere, monkeypatch):
    monkeypatch.chdir(elsewhere)
    assert run_txlint("check", str(shop.root / "shop")).exit_code == 1
    assert (shop.root / ".txlint_cache" / "CACHEDIR.TAG").is_file()
    assert not (elsewhere / ".txlint_cache").exists()


def test_without_git_or_configuration_the_cache_goes_to_the_checked_folder(project, run_txlint, elsewhere, monkeypatch):
    project.write("app.py")
    monkeypatch.chdir(elsewhere)
    assert run_txlint("check", str(project.root)).exit_code == 1
    assert (project.root / ".txlint_cache").is_dir()
    assert not (elsewhere / ".txlint_cache").exists()


def test_the_configuration_of_the_checked_project_applies_from_elsewhere(project, run_txlint, elsewhere, monkeypatch):
    project.config('ignore = ["TX101"]\n')
    project.write("app.py")
    (elsewhere / "pyproject.toml").write_text('[tool.txlint]\nselect = ["TX2"]\n', encoding="utf-8")  # the cwd's: not this project's
    monkeypatch.chdir(elsewhere)
    assert run_txlint("check", "--format", "json", str(project.root)).json() == []
    assert run_txlint("check", "--format", "json", str(project.root), "--ignore", "TX000").json() == []


def test_show_settings_from_elsewhere_names_the_project(shop, run_txlint, elsewhere, monkeypatch):
    inside = run_txlint("check", "--show-settings", ".").stdout
    monkeypatch.chdir(elsewhere)
    outside = run_txlint("check", "--show-settings", str(shop.root)).stdout
    assert outside == inside
    assert f"Project root: {shop.root.resolve()}" in inside
    assert f"Cache folder: {shop.root.resolve() / '.txlint_cache'}" in inside


def test_shown_paths_stay_relative_to_the_working_folder(shop, run_txlint, monkeypatch):
    monkeypatch.chdir(shop.root.parent)
    run = run_txlint("check", "--format", "json", "project/wallet")
    assert run.findings() == [("TX101", "project/wallet/views.py", LOST_UPDATE_LINE)]


def test_sarif_and_baseline_paths_from_elsewhere_are_the_projects(shop, run_txlint, elsewhere, monkeypatch):
    inside = json.loads(run_txlint("check", "--format", "sarif", ".").stdout)
    assert run_txlint("check", "--write-baseline", "baseline.json", ".").exit_code == 0
    monkeypatch.chdir(elsewhere)
    outside = json.loads(run_txlint("check", "--format", "sarif", str(shop.root)).stdout)

    def uris(document):
        return sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in document["runs"][0]["results"])

    assert uris(outside) == uris(inside)
    assert "wallet/views.py" in uris(inside)
    gated = run_txlint("check", "--baseline", str(shop.root / "baseline.json"), "--format", "json", str(shop.root))
    assert gated.exit_code == 0, gated.output
    assert gated.json() == []
